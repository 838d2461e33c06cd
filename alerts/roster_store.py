"""Editable alarm configuration: responders, the roster, per-patient limits. Every change is audited.

Each edit and its ``audit_log`` row commit in one transaction: there is no
change without a record of who made it and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg

from alerts.alarm_model import StaffRole
from alerts.suppression_policy import DEFAULTS, Direction
from wire.rules import Rule


class ConfigError(ValueError):
    pass


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


def audit(conn: psycopg.Connection, actor: str, action: str, subject: str | None, detail: dict[str, object]) -> None:
    conn.execute(
        "INSERT INTO audit_log (actor, action, subject, detail) VALUES (%s, %s, %s, %s)",
        (actor, action, subject, json.dumps(detail, default=str)),
    )


def upsert_responder(
    conn: psycopg.Connection, actor: str, responder_id: str, display_name: str, phone: str | None, locale: str
) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO responders (id, display_name, phone, locale) VALUES (%s, %s, %s, %s) ON CONFLICT (id)"
            " DO UPDATE SET display_name = EXCLUDED.display_name, phone = EXCLUDED.phone, locale = EXCLUDED.locale",
            (responder_id, display_name, phone, locale),
        )
        audit(conn, actor, "responder.upsert", None, {"responder_id": responder_id, "locale": locale,
                                                      "phone_set": phone is not None})


def add_shift(
    conn: psycopg.Connection, actor: str, responder_id: str, role: StaffRole, ward_id: str | None,
    beds: tuple[str, ...] | None, starts_at: datetime, ends_at: datetime,
) -> int:
    if ends_at <= starts_at:
        raise ConfigError("a shift must end after it starts")
    if role is not StaffRole.RAPID_RESPONSE and ward_id is None:
        raise ConfigError(f"a {role.value} shift needs a ward")
    with conn.transaction():
        try:
            row = conn.execute(
                "INSERT INTO roster_shifts (responder_id, role, ward_id, beds, starts_at, ends_at, created_by)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (responder_id, role.value, ward_id, list(beds) if beds is not None else None, starts_at, ends_at,
                 actor),
            ).fetchone()
        except psycopg.errors.ForeignKeyViolation as e:
            raise ConfigError(f"unknown responder or ward: {e.diag.message_detail}") from None
        assert row is not None
        audit(conn, actor, "roster.add", ward_id, {"shift_id": row[0], "responder_id": responder_id,
                                                   "role": role.value, "beds": beds, "starts_at": starts_at,
                                                   "ends_at": ends_at})
        return int(row[0])


def remove_shift(conn: psycopg.Connection, actor: str, shift_id: int) -> bool:
    with conn.transaction():
        row = conn.execute("DELETE FROM roster_shifts WHERE id = %s RETURNING ward_id, responder_id, role",
                           (shift_id,)).fetchone()
        if row is None:
            return False
        audit(conn, actor, "roster.remove", row[0], {"shift_id": shift_id, "responder_id": row[1], "role": row[2]})
        return True


def list_shifts(conn: psycopg.Connection, ward_id: str | None, since: datetime) -> list[ShiftRow]:
    rows = conn.execute(
        "SELECT id, responder_id, role, ward_id, beds, starts_at, ends_at, created_by FROM roster_shifts"
        " WHERE (%(w)s::text IS NULL OR ward_id = %(w)s OR ward_id IS NULL) AND ends_at > %(since)s"
        " ORDER BY starts_at, id",
        {"w": ward_id, "since": since},
    ).fetchall()
    return [ShiftRow(r[0], r[1], StaffRole(r[2]), r[3], tuple(r[4]) if r[4] is not None else None, r[5], r[6], r[7])
            for r in rows]


def set_limit(
    conn: psycopg.Connection, actor: str, patient_id: str, rule: str, limit: float, reason: str,
    expires_at: datetime | None,
) -> None:
    """A clinician's limit for one patient and threshold rule (e.g. SpO2 85 % for a COPD patient)."""
    if rule not in Rule._value2member_map_ or DEFAULTS[Rule(rule)].direction is Direction.NONE:
        raise ConfigError(f"{rule!r} is not a threshold rule with a per-patient limit")
    if not reason.strip():
        raise ConfigError("a limit override needs a reason")
    with conn.transaction():
        before = conn.execute("SELECT limit_value FROM patient_alarm_limits WHERE patient_id = %s AND rule = %s",
                              (patient_id, rule)).fetchone()
        try:
            conn.execute(
                "INSERT INTO patient_alarm_limits (patient_id, rule, limit_value, reason, set_by, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (patient_id, rule) DO UPDATE SET"
                " limit_value = EXCLUDED.limit_value, reason = EXCLUDED.reason, set_by = EXCLUDED.set_by,"
                " set_at = now(), expires_at = EXCLUDED.expires_at",
                (patient_id, rule, limit, reason, actor, expires_at),
            )
        except psycopg.errors.ForeignKeyViolation:
            raise ConfigError(f"unknown patient {patient_id!r}") from None
        audit(conn, actor, "alarm_limit.set", patient_id, {"rule": rule, "limit": limit, "previous":
                                                           before[0] if before else None, "reason": reason,
                                                           "expires_at": expires_at})


def clear_limit(conn: psycopg.Connection, actor: str, patient_id: str, rule: str, reason: str) -> bool:
    with conn.transaction():
        row = conn.execute("DELETE FROM patient_alarm_limits WHERE patient_id = %s AND rule = %s"
                           " RETURNING limit_value", (patient_id, rule)).fetchone()
        if row is None:
            return False
        audit(conn, actor, "alarm_limit.clear", patient_id, {"rule": rule, "previous": row[0], "reason": reason})
        return True


def list_limits(conn: psycopg.Connection, patient_id: str) -> list[dict[str, object]]:
    rows = conn.execute(
        "SELECT rule, limit_value, reason, set_by, set_at, expires_at FROM patient_alarm_limits"
        " WHERE patient_id = %s ORDER BY rule", (patient_id,),
    ).fetchall()
    return [{"rule": r[0], "limit": r[1], "reason": r[2], "set_by": r[3], "set_at": r[4].isoformat(),
             "expires_at": r[5].isoformat() if r[5] else None} for r in rows]
