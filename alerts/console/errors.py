"""Errors in the user's language: one exception for refusals, handlers for API and pages.

API answers carry ``error`` (a stable key), ``message`` (localised) and, for
validation, ``fields`` (each bad field with its own localised message).
401 means "sign in"; 403 means "not for you" and is also what a ward-scoped
user gets for a patient id that does not exist, so neither answer tells
whether a patient exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from alerts.console import i18n


class ApiError(Exception):
    def __init__(self, status: int, key: str, headers: dict[str, str] | None = None, **params: object) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.headers = headers or {}
        self.params = params

    @classmethod
    def of(cls, status: int, key: str, params: Mapping[str, object]) -> ApiError:
        """From a refusal that carries its own catalog key and parameters (e.g. users.UserError)."""
        err = cls(status, key)
        err.params = dict(params)
        return err


def request_locale(request: Request) -> str:
    user = getattr(request.state, "principal", None)
    if user is not None:
        return str(user.locale)
    return i18n.negotiate(request.headers.get("accept-language"), request.cookies.get("rpm_lang"))


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


# Pydantic error types -> catalog keys for form and API validation messages.
_VALIDATION_KEYS = {
    "missing": "validation.missing",
    "string_too_short": "validation.too_short",
    "string_too_long": "validation.too_long",
    "string_pattern_mismatch": "validation.pattern",
    "greater_than": "validation.too_small",
    "greater_than_equal": "validation.too_small",
    "less_than": "validation.too_large",
    "less_than_equal": "validation.too_large",
    "literal_error": "validation.choice",
    "enum": "validation.choice",
    "json_invalid": "validation.json",
    "extra_forbidden": "validation.extra",
}


def field_errors(errors: list[Any], locale: str) -> list[dict[str, object]]:
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")]
        name = ".".join(loc) or "body"
        key = _VALIDATION_KEYS.get(str(e.get("type")), "validation.invalid")
        ctx = e.get("ctx") or {}
        params = {k: v for k, v in ctx.items() if isinstance(v, (int, float, str))}
        label = i18n.t(locale, f"field.{loc[-1]}") if loc else name
        out.append({"field": name, "type": e.get("type"),
                    "message": i18n.t(locale, key, field=label, **params)})
    return out


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        locale = request_locale(request)
        message = i18n.t(locale, exc.key, **exc.params)
        if exc.status == 401 and not _is_api(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if not _is_api(request):
            from alerts.console.pages import error_page

            return error_page(request, exc.status, message)
        body = {"error": exc.key.removeprefix("error."), "message": message}
        headers = dict(exc.headers)
        if exc.status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="rpm"')
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        locale = request_locale(request)
        fields = field_errors(list(exc.errors()), locale)
        summary = "; ".join(str(f["message"]) for f in fields)
        body = {"error": "validation", "message": i18n.t(locale, "validation.summary", errors=summary),
                "fields": fields, "detail": _plain(exc.errors())}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Framework answers (404 for an unknown path, 405) in the user's language too.
        locale = request_locale(request)
        key = {404: "error.not_found", 405: "error.method"}.get(exc.status_code)
        message = i18n.t(locale, key) if key else str(exc.detail)
        if not _is_api(request) and exc.status_code == 404:
            from alerts.console.pages import error_page

            return error_page(request, 404, message)
        return JSONResponse({"error": str(exc.detail), "message": message, "detail": exc.detail},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))


def _plain(errors: Any) -> list[dict[str, object]]:
    # Pydantic puts exception objects in ctx; keep what serialises.
    out = []
    for e in errors:
        out.append({k: (v if k != "ctx" else {ck: str(cv) for ck, cv in v.items()}) for k, v in e.items()
                    if k in ("type", "loc", "msg", "ctx")})
    return out
