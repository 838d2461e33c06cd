"""Demo accounts for `rpm up`: one per role, with fresh random passwords printed once at start."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from alerts.console import passwords, users
from alerts.console.users import Grant


@dataclass(frozen=True, slots=True)
class DemoUser:
    user_id: str
    role: str
    password: str


def seed_demo_users(conn: psycopg.Connection, ward_id: str, patient_id: str | None) -> list[DemoUser]:
    """Create the demo users if missing and give each a new password (the old one stops working)."""
    plan: list[tuple[str, str, str, Grant, str | None]] = [
        ("nurse", "Điều dưỡng Lan", "vi", Grant("nurse", ward_id), None),
        ("charge", "Điều dưỡng trưởng Hoa", "vi", Grant("charge_nurse", ward_id), None),
        ("doctor", "BS. Minh", "vi", Grant("clinician", None), None),
        ("admin", "Quản trị hệ thống", "en", Grant("admin", None), None),
    ]
    if patient_id is not None:
        plan.append(("patient", "Bệnh nhân demo", "vi", Grant("patient", None), patient_id))
    out = []
    for user_id, name, locale, grant, pid in plan:
        password = passwords.generate()
        if conn.execute("SELECT 1 FROM users WHERE id = %s", (user_id,)).fetchone() is None:
            users.create_user(conn, "rpm-up", user_id, name, password, [grant], locale, pid)
        else:
            users.set_password(conn, "rpm-up", user_id, password)
        out.append(DemoUser(user_id, grant.role, password))
    return out


def print_demo_users(demo: list[DemoUser]) -> None:
    """Printed once by `rpm up`: the passwords are stored only as Argon2 hashes."""
    import sys

    print("Demo sign-ins (new passwords at every start):", file=sys.stderr)
    for u in demo:
        print(f"      {u.role:<13} {u.user_id:<8} {u.password}", file=sys.stderr)
    print("", file=sys.stderr, flush=True)
