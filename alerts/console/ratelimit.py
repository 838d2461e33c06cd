"""Sign-in rate limiting: wrong passwords lock a user name (and a client) out for a growing time.

Counted in PostgreSQL (login_attempts), so the limit holds across console
replicas and restarts. After ``max_failures`` wrong passwords within the
window the name is locked for ``lockout``, doubling with each further
failure (capped at the window); a successful sign-in starts the count anew.
A client address gets four times the allowance, which stops one machine
from trying many names. While locked, even the right password is refused,
so guessing gains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

CLIENT_FACTOR = 4


@dataclass(frozen=True, slots=True)
class Limits:
    max_failures: int
    window: timedelta
    lockout: timedelta


def _retry_after(conn: psycopg.Connection, column: str, key: str, now: datetime, limit: int, lim: Limits) -> float:
    # column is one of two fixed names, never user input.
    row = conn.execute(
        f"SELECT count(*), max(at) FROM login_attempts WHERE {column} = %(k)s AND NOT ok AND at > %(since)s"
        f" AND at > coalesce((SELECT max(at) FROM login_attempts WHERE {column} = %(k)s AND ok), '-infinity')",
        {"k": key, "since": now - lim.window},
    ).fetchone()
    failures: int = int(row[0]) if row else 0
    last: datetime | None = row[1] if row else None
    if failures < limit or last is None:
        return 0.0
    lock = min(lim.lockout * (2 ** (failures - limit)), lim.window)
    return float(max(0.0, (last + lock - now).total_seconds()))


def retry_after(conn: psycopg.Connection, username: str, client: str, now: datetime, lim: Limits) -> float:
    """Seconds until this user name and client may try again (0 = now)."""
    return float(max(
        _retry_after(conn, "username", username, now, lim.max_failures, lim),
        _retry_after(conn, "client", client, now, lim.max_failures * CLIENT_FACTOR, lim),
    ))


def record(conn: psycopg.Connection, username: str, client: str, ok: bool, now: datetime) -> None:
    conn.execute(
        "INSERT INTO login_attempts (at, username, client, ok) VALUES (%s, %s, %s, %s)",
        (now, username[:64], client[:64], ok),
    )
