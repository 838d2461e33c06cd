"""Editable alarm configuration: responders, the roster, per-patient limits. Every change is audited.

Each edit and its ``audit_log`` row commit in one transaction: there is no
change without a record of who made it and why. Who may make an edit is the
caller's check (alerts.console.access); what may be stored is checked here
(a limit inside its clinically safe range, alerts.limit_safety).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from alerts.alarm_model import StaffRole
from alerts.limit_safety import safe_range
from storage import audit
from wire.rules import Rule


class ConfigError(ValueError):
    """A refused edit; ``key`` names the message in the console's i18n catalogs, ``params`` fill it."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(f"{key} {params}" if params else key)
        self.key = key
        self.params = params


@dataclass(frozen=True, slots=True)
class ShiftRow:
    id: int
    responder_id: str
    role: StaffRole
    ward_id: str | None
    beds: tuple[str, ...] | None
    starts_at: datetime
    ends_at: datetime
    created_by: str

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "responder_id": self.responder_id, "role": self.role.value, "ward_id": self.ward_id,
                "beds": list(self.beds) if self.beds is not None else None, "starts_at": self.starts_at.isoformat(),
                "ends_at": self.ends_at.isoformat(), "created_by": self.created_by}


def upsert_responder(
    conn: psycopg.Connection, actor: str, responder_id: str, display_name: str, phone: str | None, locale: str
) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO responders (id, display_name, phone, locale) VALUES (%s, %s, %s, %s) ON CONFLICT (id)"
            " DO UPDATE SET display_name = EXCLUDED.display_name, phone = EXCLUDED.phone, locale = EXCLUDED.locale",
            (responder_id, display_name, phone, locale),
        )
        audit.append(conn, actor, "responder.upsert", f"responder:{responder_id}", {
                     "responder_id": responder_id, "locale": locale,
                                                      "phone_set": phone is not None})


def add_shift(
    conn: psycopg.Connection, actor: str, responder_id: str, role: StaffRole, ward_id: str | None,
    beds: tuple[str, ...] | None, starts_at: datetime, ends_at: datetime,
) -> int:
    if ends_at <= starts_at:
        raise ConfigError("error.shift_order")
    if role is not StaffRole.RAPID_RESPONSE and ward_id is None:
        raise ConfigError("error.shift_ward", role=role.value)
    with conn.transaction():
        try:
            row = conn.execute(
                "INSERT INTO roster_shifts (responder_id, role, ward_id, beds, starts_at, ends_at, created_by)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (responder_id, role.value, ward_id, list(beds) if beds is not None else None, starts_at, ends_at,
                 actor),
            ).fetchone()
        except psycopg.errors.ForeignKeyViolation as e:
            raise ConfigError("error.shift_refs", detail=e.diag.message_detail or "") from None
        assert row is not None
        audit.append(conn, actor, "roster.add", f"ward:{ward_id}" if ward_id else None, {
                     "shift_id": row[0], "responder_id": responder_id,
                                                   "role": role.value, "beds": beds, "starts_at": starts_at,
                                                   "ends_at": ends_at})
        return int(row[0])


def remove_shift(conn: psycopg.Connection, actor: str, shift_id: int) -> bool:
    with conn.transaction():
        row = conn.execute("DELETE FROM roster_shifts WHERE id = %s RETURNING ward_id, responder_id, role",
                           (shift_id,)).fetchone()
        if row is None:
            return False
        audit.append(conn, actor, "roster.remove", f"ward:{row[0]}" if row[0] else None,
                     {"shift_id": shift_id, "responder_id": row[1], "role": row[2]})
        return True


def list_shifts(conn: psycopg.Connection, wards: frozenset[str] | None, since: datetime) -> list[ShiftRow]:
    """Shifts not yet ended in ``wards`` (None: every ward), with the hospital-wide ones."""
    rows = conn.execute(
        "SELECT id, responder_id, role, ward_id, beds, starts_at, ends_at, created_by FROM roster_shifts"
        " WHERE (%(all)s OR ward_id = ANY(%(w)s) OR ward_id IS NULL) AND ends_at > %(since)s"
        " ORDER BY starts_at, id",
        {"all": wards is None, "w": sorted(wards or ()), "since": since},
    ).fetchall()
    return [ShiftRow(r[0], r[1], StaffRole(r[2]), r[3], tuple(r[4]) if r[4] is not None else None, r[5], r[6], r[7])
            for r in rows]


def set_limit(
    conn: psycopg.Connection, actor: str, patient_id: str, rule: str, limit: float, reason: str,
    expires_at: datetime | None,
) -> None:
    """A clinician's limit for one patient and threshold rule (e.g. SpO2 85 % for a COPD patient).

    Refused outside the rule's clinically safe range; the audit row keeps the
    previous limit and reason beside the new ones.
    """
    check_limit(rule, limit)
    if not reason.strip():
        raise ConfigError("error.limit_reason")
    if expires_at is not None and expires_at <= datetime.now(expires_at.tzinfo):
        raise ConfigError("error.limit_expired")
    with conn.transaction():
        before = conn.execute("SELECT limit_value, reason FROM patient_alarm_limits WHERE patient_id = %s"
                              " AND rule = %s FOR UPDATE", (patient_id, rule)).fetchone()
        try:
            conn.execute(
                "INSERT INTO patient_alarm_limits (patient_id, rule, limit_value, reason, set_by, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (patient_id, rule) DO UPDATE SET"
                " limit_value = EXCLUDED.limit_value, reason = EXCLUDED.reason, set_by = EXCLUDED.set_by,"
                " set_at = now(), expires_at = EXCLUDED.expires_at",
                (patient_id, rule, limit, reason, actor, expires_at),
            )
        except psycopg.errors.ForeignKeyViolation:
            raise ConfigError("error.unknown_patient", patient=patient_id) from None
        audit.append(conn, actor, "alarm_limit.set", patient_id, {
            "rule": rule, "limit": limit, "previous": before[0] if before else None,
            "previous_reason": before[1] if before else None, "reason": reason, "expires_at": expires_at})


def check_limit(rule: str, limit: float) -> None:
    """Refuse a rule without per-patient limits, or a limit outside the rule's safe range."""
    rng = safe_range(Rule(rule)) if rule in Rule._value2member_map_ else None
    if rng is None:
        raise ConfigError("error.limit_rule", rule=rule)
    if not rng.allows(limit):
        raise ConfigError("error.limit_range", rule=rule, low=f"{rng.low:g}", high=f"{rng.high:g}", unit=rng.unit,
                          limit=f"{limit:g}")


def clear_limit(conn: psycopg.Connection, actor: str, patient_id: str, rule: str, reason: str) -> bool:
    with conn.transaction():
        row = conn.execute("DELETE FROM patient_alarm_limits WHERE patient_id = %s AND rule = %s"
                           " RETURNING limit_value", (patient_id, rule)).fetchone()
        if row is None:
            return False
        audit.append(conn, actor, "alarm_limit.clear", patient_id, {"rule": rule, "previous": row[0],
                                                                     "reason": reason})
        return True


@dataclass(frozen=True, slots=True)
class LimitRow:
    rule: str
    limit: float
    reason: str
    set_by: str
    set_at: datetime
    expires_at: datetime | None


def list_limits(conn: psycopg.Connection, patient_id: str) -> list[LimitRow]:
    rows = conn.execute(
        "SELECT rule, limit_value, reason, set_by, set_at, expires_at FROM patient_alarm_limits"
        " WHERE patient_id = %s ORDER BY rule", (patient_id,),
    ).fetchall()
    return [LimitRow(*r) for r in rows]


def responder_wards(conn: psycopg.Connection, responder_id: str, now: datetime) -> tuple[bool, frozenset[str]]:
    """(exists, wards of the responder's current and future shifts; "" for a hospital-wide shift)."""
    exists = conn.execute("SELECT 1 FROM responders WHERE id = %s", (responder_id,)).fetchone() is not None
    rows = conn.execute("SELECT DISTINCT coalesce(ward_id, '') FROM roster_shifts WHERE responder_id = %s"
                        " AND ends_at > %s", (responder_id, now)).fetchall()
    return exists, frozenset(str(r[0]) for r in rows)


def shift_ward(conn: psycopg.Connection, shift_id: int) -> tuple[bool, str | None]:
    """(exists, the shift's ward; None for a hospital-wide shift)."""
    row = conn.execute("SELECT ward_id FROM roster_shifts WHERE id = %s", (shift_id,)).fetchone()
    return (row is not None, row[0] if row else None)
