"""Export of the period a clinician is looking at: CSV (what the charts show) and FHIR R4 Observations."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from alerts.console import access, fhir_export
from alerts.console.auth import current_user
from alerts.console.context import console
from alerts.console.errors import ApiError
from alerts.console.params import PatientId
from alerts.console.periods import CHARTED, RangeName, period
from alerts.console.users import CLINICAL, Principal
from storage import audit, queries
from storage.queries import Resolution, Trend

router = APIRouter(prefix="/api/patients", tags=["export"])
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}, 422: {}}
# Validating each Observation costs ~0.3 ms: a bundle is kept under this many by coarser buckets.
FHIR_MAX_OBSERVATIONS = 5000
_COARSER = {Resolution.RAW: Resolution.MINUTE, Resolution.MINUTE: Resolution.HOUR}


def _trends(conn: object, patient_id: PatientId, start: datetime, stop: datetime,
            resolution: Resolution | None = None) -> list[Trend]:
    return [queries.vital_trend(conn, patient_id, t, start, stop, resolution) for t in CHARTED]  # type: ignore[arg-type]


def _disposition(patient_id: PatientId, start: datetime, ext: str) -> str:
    """``Content-Disposition`` for a download (RFC 6266): an ASCII-only ``filename`` with anything unsafe
    replaced, and the exact name percent-encoded in ``filename*`` (RFC 8187), so no id can break the header."""
    name = f"{patient_id}-{start:%Y%m%dT%H%M}Z.{ext}"
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/{patient_id}/export.csv", responses={**_ERRORS, 200: {"content": {"text/csv": {}}}})
def export_csv(patient_id: PatientId, request: Request, range: RangeName = "24h", end: datetime | None = Query(None),
               user: Principal = Depends(current_user)) -> Response:
    """The shown period as CSV: one row per chart point (raw reading or bucket), canonical units."""
    start, stop = period(range, end)
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id)
        if not user.has(*CLINICAL):
            raise ApiError(403, "error.forbidden")
        with conn.transaction():
            audit.append(conn, user.user_id, "patient.export_csv", ref.id, {"start": start, "end": stop})
            trends = _trends(conn, ref.id, start, stop)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["patient_id", "type", "time_utc", "resolution", "value", "min", "max", "n", "unit"])
    for tr in trends:
        for p in tr.points:
            w.writerow([ref.id, tr.type, p.t.astimezone(UTC).isoformat(), tr.resolution.value,
                        "" if p.value is None else f"{p.value:.4g}", "" if p.min is None else f"{p.min:.4g}",
                        "" if p.max is None else f"{p.max:.4g}", p.n, tr.unit])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": _disposition(ref.id, start, "csv")})


@router.get("/{patient_id}/export.fhir.json", responses={**_ERRORS, 200: {"content": {"application/fhir+json": {}}}})
def export_fhir(patient_id: PatientId, request: Request, range: RangeName = "24h", end: datetime | None = Query(None),
                user: Principal = Depends(current_user)) -> Response:
    """The shown period as a FHIR R4 Bundle (collection) of vital-signs Observations."""
    start, stop = period(range, end)
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id)
        if not user.has(*CLINICAL):
            raise ApiError(403, "error.forbidden")
        with conn.transaction():
            audit.append(conn, user.user_id, "patient.export_fhir", ref.id, {"start": start, "end": stop})
            trends = _trends(conn, ref.id, start, stop)
            res = trends[0].resolution
            while sum(len(t.points) for t in trends) > FHIR_MAX_OBSERVATIONS and res in _COARSER:
                res = _COARSER[res]
                trends = _trends(conn, ref.id, start, stop, res)
    body = fhir_export.bundle(ref.id, trends, datetime.now(UTC)).model_dump_json(exclude_none=True)
    return Response(body, media_type="application/fhir+json", headers={
        "Content-Disposition": _disposition(ref.id, start, "fhir.json")})
