"""The /fhir routes: metadata, SMART configuration, token endpoint, read and search of four resource types.

Every read of patient data goes through the console's access rules
(``alerts.console.access``: ward scope, a patient's own record, 403 that
never reveals whether a patient exists) and is written to audit_log in the
same transaction as the read, as the console does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated
from urllib.parse import urlencode

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource

from alerts.console import access, alarms
from alerts.console.context import console
from alerts.console.users import CLINICAL, Scope
from alerts.fhir import ids, resources, search, store
from alerts.fhir.errors import FHIR_JSON, FhirError, FhirMetrics, console_refusals
from alerts.fhir.oauth import Client, client, issue
from alerts.fhir.observations import BP_PANEL, CODES, LOINC, NEWS2_CODE, SNOMED
from alerts.fhir.store import ALL_KINDS, devices_of, observation, search_observations
from storage import audit

# Not in the console's OpenAPI document: FHIR clients discover this API by its CapabilityStatement, and
# its access matrix is tested on its own (tests/interop/test_fhir_api.py).
router = APIRouter(prefix="/fhir", tags=["FHIR R4"], include_in_schema=False)
Caller = Annotated[Client, Depends(client)]
# Open alarms as a Flag search sees them: the console's window for open alarms.
FLAG_WINDOW = timedelta(days=7)
_CODE_KINDS: dict[tuple[str, str], str] = {
    **{(LOINC, code): kind for kind, c in CODES.items() if kind not in ("bp_systolic", "bp_diastolic")
       for code, _ in c.loinc},
    (LOINC, BP_PANEL[0]): "bp", (LOINC, "8480-6"): "bp", (LOINC, "8462-4"): "bp", (SNOMED, NEWS2_CODE[0]): "news2",
}
_CATEGORY_KINDS = {"vital-signs": {"heart_rate", "resp_rate", "spo2", "temperature", "bp"},
                   "laboratory": {"glucose"}, "survey": {"news2"}}


def _metrics(request: Request) -> FhirMetrics:
    m: FhirMetrics = request.app.state.fhir_metrics
    return m


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _json(resource: Resource, status: int = 200) -> JSONResponse:
    return JSONResponse(resource.model_dump(mode="json", exclude_none=True), status_code=status, media_type=FHIR_JSON)


def _software_version() -> str:
    try:
        return version("iomt-rpm")
    except PackageNotFoundError:
        return "0"


@router.get("/metadata")
def metadata(request: Request) -> JSONResponse:
    """CapabilityStatement (no token needed, as FHIR requires)."""
    base = _base(request)
    return _json(resources.capability(base, base + "/auth/token", _software_version(),
                                      datetime.now(UTC).date().isoformat()))


@router.get("/.well-known/smart-configuration")
def smart_configuration(request: Request) -> JSONResponse:
    base = _base(request)
    return JSONResponse({
        "token_endpoint": base + "/auth/token", "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": [f"system/{t}.rs" for t in ("Patient", "Observation", "Device", "Flag")]
        + ["system/*.rs", "patient/*.rs"],
        "capabilities": ["client-confidential-symmetric", "permission-v2", "permission-v1"],
    })


_OAUTH_ERRORS = {"invalid_client": "invalid_client", "rate_limited": "invalid_client"}


@router.post("/auth/token")
async def token(request: Request) -> JSONResponse:
    """OAuth2 token endpoint (RFC 6749 section 4.4, client credentials)."""
    try:
        issued = await issue(request)
    except FhirError as e:
        _metrics(request).refused[e.reason].inc()
        code = _OAUTH_ERRORS.get(e.reason, "invalid_scope" if "scope" in e.message else "invalid_request")
        headers = {**e.headers, **({"WWW-Authenticate": 'Basic realm="rpm-fhir"'} if e.status == 401 else {})}
        return JSONResponse({"error": code, "error_description": e.message}, status_code=e.status, headers=headers)
    return JSONResponse({"access_token": issued.access_token, "token_type": "Bearer", "expires_in": issued.expires_in,
                         "scope": issued.scope}, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


# ------------------------------------------------------------------ helpers


def _patient_id(value: str) -> str:
    try:
        return ids.parse_simple(search.reference_id(value, "Patient"))
    except ids.BadId as e:
        raise FhirError(404, "not_found", str(e)) from e


def _open_patient(request: Request, conn: psycopg.Connection, c: Client, patient_id: str) -> access.PatientRef:
    with console_refusals(request):
        ref = access.patient(conn, c.principal, patient_id)
    return ref


def _params(request: Request, allowed: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():
        if k not in allowed and k not in ("_count", "_offset", "_format"):
            raise FhirError(400, "bad_search", f"search parameter {k!r} is not supported")
        out.setdefault(k, []).append(v)
    return out


def _one(params: dict[str, list[str]], name: str) -> str | None:
    vals = params.get(name)
    return vals[-1] if vals else None


def _bundle(request: Request, type_: str, found: list[Resource], count: int, offset: int, more: bool) -> JSONResponse:
    base = _base(request)
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("_count", "_offset")]
    def link(off: int) -> str:
        return f"{base}/{type_}?" + urlencode([*query, ("_count", str(count)), ("_offset", str(off))])
    links = [{"relation": "self", "url": link(offset)}]
    if more:
        links.append({"relation": "next", "url": link(offset + count)})
    if offset > 0:
        links.append({"relation": "previous", "url": link(max(0, offset - count))})
    metrics = _metrics(request)
    metrics.served[type_].inc(len(found))
    bundle = Bundle.model_validate({
        "resourceType": "Bundle", "type": "searchset", "timestamp": datetime.now(UTC).isoformat(), "link": links,
        "entry": [{"fullUrl": f"{base}/{type_}/{r.id}", "resource": r, "search": {"mode": "match"}} for r in found],
    })
    return _json(bundle)


def _paging(params: dict[str, list[str]]) -> tuple[int, int]:
    try:
        return search.count(_one(params, "_count")), search.offset(_one(params, "_offset"))
    except search.SearchError as e:
        raise FhirError(400, "bad_search", str(e)) from e


# ------------------------------------------------------------------ Patient


@router.get("/Patient/{fid}")
def read_patient(fid: str, request: Request, c: Caller) -> JSONResponse:
    c.need("Patient", "r")
    pid = _patient_id(fid)
    with console(request).connect() as conn:
        ref = _open_patient(request, conn, c, pid)
        with conn.transaction():
            audit.append(conn, c.principal.user_id, "fhir.read", ref.id, {"type": "Patient"})
    _metrics(request).served["Patient"].inc()
    return _json(resources.patient(ref))


@router.get("/Patient")
def search_patients(request: Request, c: Caller) -> JSONResponse:
    c.need("Patient", "s")
    params = _params(request, {"_id", "identifier"})
    count, offset = _paging(params)
    wanted = [_patient_id(v) for v in params.get("_id", [])] + [
        t.code for v in params.get("identifier", []) for t in search.tokens(v)]
    user = c.principal
    scope = user.scope(CLINICAL)
    with console(request).connect() as conn, conn.transaction():
        if user.has("patient") and not user.has(*CLINICAL):
            rows = [(user.patient_id,)] if user.patient_id else []
        else:
            rows = conn.execute(
                "SELECT id FROM patients WHERE (%(all)s OR ward_id = ANY(%(wards)s)) ORDER BY id",
                {"all": scope.every_ward, "wards": sorted(scope.wards)}).fetchall()
        pids = [r[0] for r in rows if not wanted or r[0] in wanted]
        page = pids[offset:offset + count]
        refs = [access.patient(conn, user, pid) for pid in page]
        if refs:
            audit.append(conn, user.user_id, "fhir.search", None, {"type": "Patient", "patients": [r.id for r in refs]})
    return _bundle(request, "Patient", [resources.patient(r) for r in refs], count, offset, len(pids) > offset + count)


# ------------------------------------------------------------------ Observation


def _kinds(params: dict[str, list[str]]) -> set[str]:
    kinds = set(ALL_KINDS)
    for value in params.get("code", []):
        chosen = set()
        for t in search.tokens(value):
            chosen |= {k for (system, code), k in _CODE_KINDS.items() if code == t.code and t.system in (None, system)}
        kinds &= chosen
    for value in params.get("category", []):
        kinds &= set().union(*(_CATEGORY_KINDS.get(t.code, set()) for t in search.tokens(value)))
    return kinds


@router.get("/Observation/{fid}")
def read_observation(fid: str, request: Request, c: Caller) -> JSONResponse:
    c.need("Observation", "r")
    try:
        key = ids.parse_observation(fid)
    except ids.BadId as e:
        raise FhirError(404, "not_found", str(e)) from e
    with console(request).connect() as conn:
        ref = _open_patient(request, conn, c, key.patient_id)
        with conn.transaction():
            row = observation(conn, key)
            if row is None:
                raise FhirError(404, "not_found", f"Observation/{fid} does not exist")
            audit.append(conn, c.principal.user_id, "fhir.read", ref.id, {"type": "Observation", "id": fid})
    _metrics(request).served["Observation"].inc()
    return _json(resources.observation(row))


@router.get("/Observation")
def search_observation(request: Request, c: Caller) -> JSONResponse:
    c.need("Observation", "s")
    params = _params(request, {"patient", "subject", "code", "category", "date", "_sort"})
    subject = _one(params, "patient") or _one(params, "subject")
    if subject is None:
        raise FhirError(400, "bad_search", "Observation search needs patient (or subject)")
    count, offset = _paging(params)
    sort = _one(params, "_sort") or "date"
    if sort not in ("date", "-date"):
        raise FhirError(400, "bad_search", "_sort supports date and -date")
    try:
        span = search.date_range(params.get("date", []))
    except search.SearchError as e:
        raise FhirError(400, "bad_search", str(e)) from e
    kinds = _kinds(params)
    with console(request).connect() as conn:
        ref = _open_patient(request, conn, c, _patient_id(subject))
        with conn.transaction():
            rows = search_observations(conn, ref.id, kinds, span.start, span.end, count + 1, offset, sort == "-date") \
                if kinds and count else []
            audit.append(conn, c.principal.user_id, "fhir.search", ref.id, {
                "type": "Observation", "start": span.start, "end": span.end, "kinds": sorted(kinds),
                "returned": min(len(rows), count)})
    found: list[Resource] = [resources.observation(r) for r in rows[:count]]
    return _bundle(request, "Observation", found, count, offset, len(rows) > count)


# ------------------------------------------------------------------ Device


@router.get("/Device/{fid}")
def read_device(fid: str, request: Request, c: Caller) -> JSONResponse:
    c.need("Device", "r")
    try:
        device_id = ids.parse_simple(fid)
    except ids.BadId as e:
        raise FhirError(404, "not_found", str(e)) from e
    with console(request).connect() as conn:
        row = store.device(conn, device_id)
        if row is None or row.patient_id is None:
            # Only a device assigned to a patient the caller may see is readable: that patient's check decides.
            if c.principal.scope(CLINICAL).every_ward:
                raise FhirError(404, "not_found", f"Device/{fid} does not exist or is not assigned")
            raise FhirError(403, "forbidden", "not a device of your patients")
        ref = _open_patient(request, conn, c, row.patient_id)
        with conn.transaction():
            audit.append(conn, c.principal.user_id, "fhir.read", ref.id, {"type": "Device", "id": device_id})
    _metrics(request).served["Device"].inc()
    return _json(resources.device(row))


@router.get("/Device")
def search_devices(request: Request, c: Caller) -> JSONResponse:
    c.need("Device", "s")
    params = _params(request, {"patient"})
    subject = _one(params, "patient")
    if subject is None:
        raise FhirError(400, "bad_search", "Device search needs patient")
    count, offset = _paging(params)
    with console(request).connect() as conn:
        ref = _open_patient(request, conn, c, _patient_id(subject))
        with conn.transaction():
            rows = devices_of(conn, ref.id)
            audit.append(conn, c.principal.user_id, "fhir.search", ref.id, {"type": "Device"})
    page = rows[offset:offset + count]
    return _bundle(request, "Device", [resources.device(d) for d in page], count, offset, len(rows) > offset + count)


# ------------------------------------------------------------------ Flag (active alarms)


@router.get("/Flag/{fid}")
def read_flag(fid: str, request: Request, c: Caller) -> JSONResponse:
    c.need("Flag", "r")
    with console(request).connect() as conn:
        with console_refusals(request):
            ref = access.alert_patient(conn, c.principal, fid)
        with conn.transaction():
            alarm = alarms.one(conn, fid)
            audit.append(conn, c.principal.user_id, "fhir.read", ref.id, {"type": "Flag", "id": fid})
    if alarm is None:
        raise FhirError(404, "not_found", f"Flag/{fid} does not exist")
    _metrics(request).served["Flag"].inc()
    return _json(resources.flag(alarm))


@router.get("/Flag")
def search_flags(request: Request, c: Caller) -> JSONResponse:
    c.need("Flag", "s")
    params = _params(request, {"patient", "status"})
    subject = _one(params, "patient")
    if subject is None:
        raise FhirError(400, "bad_search", "Flag search needs patient")
    status = _one(params, "status") or "active"
    if status != "active":
        raise FhirError(400, "bad_search", "only active Flags (open alarms) are served")
    count, offset = _paging(params)
    now = datetime.now(UTC)
    with console(request).connect() as conn:
        ref = _open_patient(request, conn, c, _patient_id(subject))
        with conn.transaction():
            # Scope(True): this patient was already allowed; the query then keeps to the patient's alarms.
            rows = [a for a in alarms.open_alarms(conn, Scope(True), now, FLAG_WINDOW) if a.patient_id == ref.id]
            audit.append(conn, c.principal.user_id, "fhir.search", ref.id, {"type": "Flag", "open": len(rows)})
    page = rows[offset:offset + count]
    return _bundle(request, "Flag", [resources.flag(a) for a in page], count, offset, len(rows) > offset + count)
