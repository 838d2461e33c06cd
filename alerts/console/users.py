"""Console users, their roles (optionally per ward) and what they may see.

Users, roles and user_roles are storage's tables (migration 0001, plus the
charge_nurse role in 0200). A role granted with a ward applies to that ward
only; without one, to every ward. Every change is written to audit_log by
the caller's actor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg

from alerts.console import passwords
from storage import audit

USER_ID = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
ROLES = ("nurse", "charge_nurse", "clinician", "patient", "auditor", "admin")
# Roles that care for patients in a ward and see their records and alarms.
CLINICAL = frozenset({"nurse", "charge_nurse", "clinician"})
# Roles that act on alarms (acknowledge, pause).
RESPONDERS = frozenset({"nurse", "charge_nurse", "clinician"})


class UserError(ValueError):
    """A refused change; ``key`` names the message in the i18n catalogs."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True, slots=True)
class Grant:
    role: str
    ward_id: str | None


@dataclass(frozen=True, slots=True)
class Scope:
    """Wards a set of roles reaches: every ward, or the listed ones."""

    every_ward: bool
    wards: frozenset[str] = frozenset()

    def allows(self, ward_id: str | None) -> bool:
        return self.every_ward or (ward_id is not None and ward_id in self.wards)

    @property
    def empty(self) -> bool:
        return not self.every_ward and not self.wards


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user as every request sees it."""

    user_id: str
    display_name: str
    locale: str
    patient_id: str | None
    grants: tuple[Grant, ...]
    csrf_token: str = field(default="", repr=False)
    # "cookie" sessions need a CSRF token on actions; "bearer" ones cannot be sent by a browser on its own.
    via: str = "cookie"

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def scope(self, roles: frozenset[str] = CLINICAL) -> Scope:
        chosen = [g for g in self.grants if g.role in roles]
        if any(g.ward_id is None for g in chosen):
            return Scope(True)
        return Scope(False, frozenset(g.ward_id for g in chosen if g.ward_id))

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


@dataclass(frozen=True, slots=True)
class UserRow:
    user_id: str
    display_name: str
    locale: str
    patient_id: str | None
    disabled: bool
    grants: tuple[Grant, ...]


def _check_grants(conn: psycopg.Connection, grants: list[Grant]) -> None:
    for g in grants:
        if g.role not in ROLES:
            raise UserError("error.unknown_role", role=g.role)
        if g.ward_id is not None and conn.execute("SELECT 1 FROM wards WHERE id = %s", (g.ward_id,)).fetchone() is None:
            raise UserError("error.unknown_ward", ward=g.ward_id)


def create_user(
    conn: psycopg.Connection, actor: str, user_id: str, display_name: str, password: str,
    grants: list[Grant], locale: str = "vi", patient_id: str | None = None, check_strength: bool = True,
) -> None:
    if not USER_ID.match(user_id):
        raise UserError("error.bad_username")
    if not display_name.strip():
        raise UserError("error.required", field="display_name")
    if locale not in ("vi", "en"):
        raise UserError("error.bad_locale")
    if not grants:
        raise UserError("error.role_required")
    weak = passwords.weakness(password) if check_strength else None
    if weak:
        raise UserError(weak, min=passwords.MIN_LENGTH)
    if any(g.role == "patient" for g in grants):
        if patient_id is None:
            raise UserError("error.patient_required")
        if conn.execute("SELECT 1 FROM patients WHERE id = %s", (patient_id,)).fetchone() is None:
            raise UserError("error.unknown_patient", patient=patient_id)
    _check_grants(conn, grants)
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO users (id, display_name, locale, password_hash, patient_id) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO NOTHING RETURNING id",
            (user_id, display_name.strip(), locale, passwords.hash_password(password), patient_id),
        ).fetchone()
        if row is None:
            raise UserError("error.user_exists", user=user_id)
        for g in grants:
            _grant(conn, actor, user_id, g)
        audit.append(conn, actor, "user.create", f"user:{user_id}",
                     {"roles": [[g.role, g.ward_id] for g in grants], "patient_id": patient_id})


def _grant(conn: psycopg.Connection, actor: str, user_id: str, g: Grant) -> None:
    conn.execute(
        "INSERT INTO user_roles (user_id, role_id, ward_id, granted_by) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (user_id, g.role, g.ward_id, actor),
    )


def grant(conn: psycopg.Connection, actor: str, user_id: str, g: Grant) -> None:
    _check_grants(conn, [g])
    with conn.transaction():
        if conn.execute("SELECT 1 FROM users WHERE id = %s", (user_id,)).fetchone() is None:
            raise UserError("error.unknown_user", user=user_id)
        _grant(conn, actor, user_id, g)
        audit.append(conn, actor, "user.grant", f"user:{user_id}", {"role": g.role, "ward_id": g.ward_id})


def set_password(conn: psycopg.Connection, actor: str, user_id: str, password: str, check_strength: bool = True) -> None:
    weak = passwords.weakness(password) if check_strength else None
    if weak:
        raise UserError(weak, min=passwords.MIN_LENGTH)
    with conn.transaction():
        cur = conn.execute("UPDATE users SET password_hash = %s WHERE id = %s",
                           (passwords.hash_password(password), user_id))
        if cur.rowcount == 0:
            raise UserError("error.unknown_user", user=user_id)
        # A new password ends every session signed in with the old one.
        conn.execute("UPDATE console_sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
                     (user_id,))
        audit.append(conn, actor, "user.password", f"user:{user_id}", {})


def set_disabled(conn: psycopg.Connection, actor: str, user_id: str, disabled: bool) -> None:
    with conn.transaction():
        cur = conn.execute(
            "UPDATE users SET disabled_at = CASE WHEN %s THEN coalesce(disabled_at, now()) END WHERE id = %s",
            (disabled, user_id),
        )
        if cur.rowcount == 0:
            raise UserError("error.unknown_user", user=user_id)
        if disabled:
            conn.execute("UPDATE console_sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
                         (user_id,))
        audit.append(conn, actor, "user.disable" if disabled else "user.enable", f"user:{user_id}", {})


def set_locale(conn: psycopg.Connection, user_id: str, locale: str, chosen: bool = True) -> None:
    """``chosen``: the user picked it (it then follows them to every device); else only what the browser asked."""
    if locale not in ("vi", "en"):
        raise UserError("error.bad_locale")
    conn.execute("UPDATE users SET locale = %s, locale_chosen = (%s OR locale_chosen) WHERE id = %s",
                 (locale, chosen, user_id))


def locale_chosen(conn: psycopg.Connection, user_id: str) -> bool:
    row = conn.execute("SELECT locale_chosen FROM users WHERE id = %s", (user_id,)).fetchone()
    return bool(row and row[0])


def _grants(conn: psycopg.Connection, user_ids: list[str]) -> dict[str, tuple[Grant, ...]]:
    out: dict[str, list[Grant]] = {u: [] for u in user_ids}
    for uid, role, ward in conn.execute(
        "SELECT user_id, role_id, ward_id FROM user_roles WHERE user_id = ANY(%s) ORDER BY role_id, ward_id",
        (user_ids,),
    ):
        out[uid].append(Grant(role, ward))
    return {k: tuple(v) for k, v in out.items()}


def load_principal(conn: psycopg.Connection, user_id: str, csrf_token: str = "", via: str = "cookie") -> Principal | None:
    row = conn.execute(
        "SELECT id, display_name, locale, patient_id FROM users WHERE id = %s AND disabled_at IS NULL", (user_id,)
    ).fetchone()
    if row is None:
        return None
    return Principal(row[0], row[1], row[2], row[3], _grants(conn, [row[0]])[row[0]], csrf_token, via)


def list_users(conn: psycopg.Connection) -> list[UserRow]:
    rows = conn.execute(
        "SELECT id, display_name, locale, patient_id, disabled_at IS NOT NULL FROM users ORDER BY id"
    ).fetchall()
    grants = _grants(conn, [r[0] for r in rows])
    return [UserRow(r[0], r[1], r[2], r[3], r[4], grants[r[0]]) for r in rows]


def password_hash(conn: psycopg.Connection, user_id: str) -> str | None:
    row = conn.execute(
        "SELECT password_hash FROM users WHERE id = %s AND disabled_at IS NULL", (user_id,)
    ).fetchone()
    return row[0] if row else None
