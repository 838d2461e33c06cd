"""Server-side sessions in PostgreSQL: opaque tokens that expire (idle and absolute) and can be revoked.

The browser holds the token in an HttpOnly, SameSite=Strict cookie; API
clients send it as ``Authorization: Bearer``. The database keeps only its
SHA-256, next to the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

# last_seen is written at most this often per session: a busy console must not write on every request.
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    csrf_token: str
    expires_at: datetime


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create(
    conn: psycopg.Connection, user_id: str, now: datetime, max_age: timedelta, user_agent: str | None = None,
) -> tuple[str, Session]:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = now + max_age
    conn.execute(
        "INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, last_seen, expires_at, user_agent)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (_digest(token), user_id, csrf, now, now, expires, (user_agent or "")[:200]),
    )
    return token, Session(user_id, csrf, expires)


def lookup(conn: psycopg.Connection, token: str, now: datetime, idle: timedelta) -> Session | None:
    """The live session for ``token``, touching its idle clock; None if unknown, revoked or expired."""
    if not token or len(token) > 200:
        return None
    row = conn.execute(
        "SELECT user_id, csrf_token, expires_at, last_seen FROM console_sessions"
        " WHERE token_hash = %s AND revoked_at IS NULL AND expires_at > %s AND last_seen > %s",
        (_digest(token), now, now - idle),
    ).fetchone()
    if row is None:
        return None
    user_id, csrf, expires, last_seen = row
    if now - last_seen >= TOUCH_EVERY:
        conn.execute("UPDATE console_sessions SET last_seen = %s WHERE token_hash = %s", (now, _digest(token)))
    return Session(user_id, csrf, expires)


def revoke(conn: psycopg.Connection, token: str, now: datetime) -> bool:
    cur = conn.execute(
        "UPDATE console_sessions SET revoked_at = %s WHERE token_hash = %s AND revoked_at IS NULL",
        (now, _digest(token)),
    )
    return cur.rowcount > 0


def purge(conn: psycopg.Connection, now: datetime, keep: timedelta = timedelta(days=30)) -> int:
    """Delete sessions that ended more than ``keep`` ago (sign-ins stay in audit_log)."""
    cur = conn.execute(
        "DELETE FROM console_sessions WHERE expires_at < %s OR revoked_at < %s", (now - keep, now - keep)
    )
    return cur.rowcount
