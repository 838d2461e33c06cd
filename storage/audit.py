"""The append-only audit log: who read or changed what, and when.

The console and API call ``append`` for every read of patient data, with the
user who asked; the database refuses updates, deletes and truncation.
"""

from __future__ import annotations

import json
from datetime import datetime

import psycopg


def append(
    conn: psycopg.Connection, actor: str, action: str, subject: str | None = None,
    detail: dict[str, object] | None = None,
) -> int:
    """Record one action; returns its id."""
    row = conn.execute(
        "INSERT INTO audit_log (actor, action, subject, detail) VALUES (%s, %s, %s, %s) RETURNING id",
        (actor, action, subject, json.dumps(detail or {}, default=str)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def entries(
    conn: psycopg.Connection, subject: str, since: datetime | None = None,
) -> list[tuple[datetime, str, str, dict[str, object]]]:
    """(at, actor, action, detail) about ``subject``, oldest first: who saw a patient's data."""
    rows = conn.execute(
        "SELECT at, actor, action, detail FROM audit_log WHERE subject = %s"
        " AND (%s::timestamptz IS NULL OR at >= %s) ORDER BY at, id",
        (subject, since, since),
    ).fetchall()
    return [(at, actor, action, detail) for at, actor, action, detail in rows]
