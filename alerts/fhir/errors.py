"""FHIR errors as OperationOutcome, each refusal counted by reason (never a patient id as a label)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fhir.resources.R4B.operationoutcome import OperationOutcome
from prometheus_client import CollectorRegistry, Counter

from alerts.console import i18n
from alerts.console.errors import ApiError, request_locale

FHIR_JSON = "application/fhir+json"
REASONS = ("unauthenticated", "invalid_token_request", "invalid_client", "insufficient_scope", "forbidden",
           "not_found", "bad_search", "rate_limited")
_ISSUE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 429: "throttled"}


class FhirError(Exception):
    def __init__(self, status: int, reason: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.headers = status, reason, message, headers or {}


class FhirMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        refused = Counter("rpm_fhir_refused", "FHIR API requests refused, by reason", ["reason"], registry=registry)
        self.refused = {r: refused.labels(r) for r in REASONS}
        served = Counter("rpm_fhir_resources_served", "FHIR resources returned, by type", ["type"], registry=registry)
        self.served = {t: served.labels(t) for t in ("Patient", "Observation", "Device", "Flag")}


def outcome(status: int, message: str) -> OperationOutcome:
    return OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": _ISSUE.get(status, "processing"), "diagnostics": message}]})


@contextmanager
def console_refusals(request: Request) -> Iterator[None]:
    """The console's access checks raise ApiError (403/404, already audited): answer them as OperationOutcome."""
    try:
        yield
    except ApiError as e:
        reason = {403: "forbidden", 404: "not_found", 429: "rate_limited", 401: "unauthenticated"}.get(e.status,
                                                                                                  "forbidden")
        raise FhirError(e.status, reason, i18n.t(request_locale(request), e.key, **e.params), e.headers) from e


def install_handler(app: FastAPI, metrics: FhirMetrics) -> None:
    @app.exception_handler(FhirError)
    async def fhir_error(_request: Request, exc: FhirError) -> Response:
        metrics.refused[exc.reason].inc()
        headers = dict(exc.headers)
        if exc.status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="rpm-fhir"')
        body = outcome(exc.status, exc.message).model_dump(mode="json", exclude_none=True)
        return JSONResponse(body, status_code=exc.status, headers=headers, media_type=FHIR_JSON)
