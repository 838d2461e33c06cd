"""May this user see or change this patient, ward, alert or roster? Answers that never reveal what exists.

The one place the console (and any other API on the same users, e.g. FHIR)
decides ward and patient scope. Each function returns what was asked for or
raises ``ApiError`` (401/403/404 with a catalog key); every refusal is written
to audit_log as ``access.denied``. The caller audits the read or change it
then makes (storage.audit.append, same transaction).

- ``patient(conn, user, id, roles=READERS)``: the patient, if one of the
  user's ``roles`` reaches the patient's ward (or it is the user's own
  record, for reads). ``roles=LIMIT_EDITORS`` for alarm limits.
- ``ward(conn, user, id, roles=READERS)``: the ward's name.
- ``alert_patient(conn, user, alert_id)``: the patient of an alert.
- ``wards_editable(conn, user, wards, roles=ROSTER_EDITORS, subject)``: every
  ward in ``wards`` (None = hospital-wide) within the user's editing scope.
- ``require(conn, user, roles)``: the user holds at least one of ``roles``.
- ``chain_scope(conn, user, scope, roles)``: an escalation-chain scope (a
  ward, or ``*``/``home`` for admins of every ward only).

Rules:
- A ward-scoped user asking for a patient outside her wards gets 403, and so
  does one asking for an id that does not exist: both are "not one of yours".
- A patient asking for anyone but themself gets 403 likewise.
- Only a user who may see every ward gets 404 for an unknown id: it could
  exist for them, so the answer reveals nothing they could not see anyway.
- A user who may see the patient but lacks the role for a change (a ward
  nurse editing alarm limits) gets 403 ``error.forbidden_role``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg

from alerts.console.errors import ApiError
from alerts.console.users import CLINICAL, Principal
from storage import audit

# Who reads a ward's patients and alarms.
READERS = CLINICAL
# Changing a patient's alarm limits is a clinical decision: the charge nurse of the
# patient's ward, or a clinician caring for that ward (ward-scoped or hospital-wide).
LIMIT_EDITORS = frozenset({"charge_nurse", "clinician"})
# The roster and responders are the ward's staffing: its charge nurse, or an admin.
ROSTER_EDITORS = frozenset({"charge_nurse", "admin"})
# Escalation chains decide who is called when nobody answers: the ward's charge nurse for her ward,
# an admin for any ward and alone for the hospital-wide scopes ('*' every ward's default, 'home').
CHAIN_EDITORS = frozenset({"charge_nurse", "admin"})
# Reading a ward's chain (whom my unanswered alarm goes to next): its staff, and the admins.
CHAIN_READERS = READERS | {"admin"}
# Scopes that are no ward: only an admin of every ward reads or changes them.
HOSPITAL_SCOPES = frozenset({"*", "home"})


@dataclass(frozen=True, slots=True)
class PatientRef:
    id: str
    display_name: str
    ward_id: str | None
    bed: str | None
    spo2_scale: int


def _deny(conn: psycopg.Connection, user: Principal, subject: str, what: str,
          key: str = "error.forbidden_patient") -> ApiError:
    with conn.transaction():
        audit.append(conn, user.user_id, "access.denied", subject, {"what": what})
    return ApiError(403, key)


def require(conn: psycopg.Connection, user: Principal, roles: frozenset[str], subject: str | None = None,
            what: str = "role") -> None:
    """403 ``error.forbidden`` (audited) unless the user holds one of ``roles`` somewhere."""
    if not user.has(*roles):
        with conn.transaction():
            audit.append(conn, user.user_id, "access.denied", subject, {"what": what})
        raise ApiError(403, "error.forbidden")


def patient(conn: psycopg.Connection, user: Principal, patient_id: str,
            roles: frozenset[str] = READERS) -> PatientRef:
    """The patient if ``roles`` of the user reach the patient's ward; a patient reads only their own record."""
    row = conn.execute(
        "SELECT id, display_name, ward_id, bed, spo2_scale FROM patients WHERE id = %s", (patient_id,)
    ).fetchone()
    ref = PatientRef(*row) if row else None
    reading = roles == READERS
    if reading and user.has("patient") and user.patient_id == patient_id and ref is not None:
        return ref
    scope = user.scope(roles)
    if ref is not None and scope.allows(ref.ward_id):
        return ref
    readers = user.scope(READERS)
    if ref is None and readers.every_ward:
        raise ApiError(404, "error.no_patient")
    if ref is not None and not reading and readers.allows(ref.ward_id):
        # One of the ward's own staff, without the role this change needs.
        raise _deny(conn, user, patient_id, "role", "error.forbidden_role")
    raise _deny(conn, user, patient_id, "patient")


def ward(conn: psycopg.Connection, user: Principal, ward_id: str, roles: frozenset[str] = READERS) -> str:
    """The ward's name if the user's ``roles`` reach it (same 403/404 rule as patients)."""
    row = conn.execute("SELECT name FROM wards WHERE id = %s", (ward_id,)).fetchone()
    scope = user.scope(roles)
    if row is not None and scope.allows(ward_id):
        return str(row[0])
    if scope.every_ward and row is None:
        raise ApiError(404, "error.no_ward")
    raise _deny(conn, user, f"ward:{ward_id}", "ward")


def wards_editable(conn: psycopg.Connection, user: Principal, wards: Iterable[str | None],
                   roles: frozenset[str] = ROSTER_EDITORS, subject: str | None = None) -> None:
    """403 (audited) unless every ward is in the user's ``roles`` scope; None (hospital-wide) needs every ward."""
    scope = user.scope(roles)
    if scope.empty:
        require(conn, user, frozenset(), subject, "role")
    for w in wards:
        if not (scope.every_ward if w is None else scope.allows(w)):
            raise _deny(conn, user, subject or f"ward:{w}", "ward", "error.forbidden")


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


def chain_scope(conn: psycopg.Connection, user: Principal, scope: str, roles: frozenset[str]) -> str:
    """The scope (a ward id, ``*`` or ``home``) if ``roles`` of the user reach it.

    ``*`` and ``home`` are no ward: an admin of every ward only, 403 for
    anyone else. A ward follows ``ward``'s 403/404 rule; the ward's own staff
    asking for a change they lack the role for get ``error.forbidden_role``.
    """
    subject = f"escalation:{scope}" if scope in HOSPITAL_SCOPES else f"ward:{scope}"
    if scope in HOSPITAL_SCOPES:
        if user.scope(frozenset({"admin"})).every_ward:
            return scope
        raise _deny(conn, user, subject, "escalation_scope", "error.forbidden")
    if roles != CHAIN_READERS and not user.scope(roles).allows(scope) and user.scope(CHAIN_READERS).allows(scope):
        if conn.execute("SELECT 1 FROM wards WHERE id = %s", (scope,)).fetchone() is not None:
            raise _deny(conn, user, subject, "role", "error.forbidden_chain_role")
    ward(conn, user, scope, roles)
    return scope
