"""May this user see this patient or alert? Answers that never reveal whether a patient exists.

- A ward-scoped user (nurse, charge nurse) asking for a patient outside her
  wards gets 403, and so does one asking for an id that does not exist:
  both are "not one of yours".
- A patient asking for anyone but themself gets 403 likewise.
- Only a user who may see every ward gets 404 for an unknown id: it could
  exist for them, so the answer reveals nothing they could not see anyway.
Refusals are written to audit_log as ``access.denied``.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from alerts.console.errors import ApiError
from alerts.console.users import CLINICAL, Principal
from storage import audit


@dataclass(frozen=True, slots=True)
class PatientRef:
    id: str
    display_name: str
    ward_id: str | None
    bed: str | None
    spo2_scale: int


def _deny(conn: psycopg.Connection, user: Principal, subject: str, what: str) -> ApiError:
    with conn.transaction():
        audit.append(conn, user.user_id, "access.denied", subject, {"what": what})
    return ApiError(403, "error.forbidden_patient")


def patient(conn: psycopg.Connection, user: Principal, patient_id: str) -> PatientRef:
    row = conn.execute(
        "SELECT id, display_name, ward_id, bed, spo2_scale FROM patients WHERE id = %s", (patient_id,)
    ).fetchone()
    ref = PatientRef(*row) if row else None
    if user.has("patient") and user.patient_id == patient_id and ref is not None:
        return ref
    scope = user.scope(CLINICAL)
    if ref is not None and scope.allows(ref.ward_id):
        return ref
    if scope.every_ward and ref is None:
        raise ApiError(404, "error.no_patient")
    raise _deny(conn, user, patient_id, "patient")


def ward(conn: psycopg.Connection, user: Principal, ward_id: str) -> str:
    """The ward's name if the user's clinical roles reach it (same 403/404 rule as patients)."""
    row = conn.execute("SELECT name FROM wards WHERE id = %s", (ward_id,)).fetchone()
    scope = user.scope(CLINICAL)
    if row is not None and scope.allows(ward_id):
        return str(row[0])
    if scope.every_ward and row is None:
        raise ApiError(404, "error.no_ward")
    raise _deny(conn, user, f"ward:{ward_id}", "ward")


def alert_patient(conn: psycopg.Connection, user: Principal, alert_id: str) -> PatientRef:
    """The patient of an alert the user may act on (403 for an unknown alert unless every ward is in scope)."""
    row = conn.execute("SELECT patient_id FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    scope = user.scope(CLINICAL)
    if row is None:
        if scope.every_ward:
            raise ApiError(404, "error.no_alert")
        raise _deny(conn, user, f"alert:{alert_id}", "alert")
    if user.has("patient") and not user.has(*CLINICAL):
        raise _deny(conn, user, f"alert:{alert_id}", "alert")
    return patient(conn, user, str(row[0]))
