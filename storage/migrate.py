"""Versioned migrations: numbered SQL files applied once each, in order.

Safe to run on every start: applied versions are recorded in
``schema_migrations`` and an advisory lock serialises concurrent starts.
Migrations apply to the schema first on the connection's search_path, which
is how tests get an isolated schema each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

import psycopg

log = logging.getLogger(__name__)
_LOCK_KEY = 0x52504D  # "RPM"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    out = []
    for entry in resources.files("storage.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version, _, name = entry.name.removesuffix(".sql").partition("_")
            out.append(Migration(int(version), name, entry.read_text(encoding="utf-8")))
    return sorted(out, key=lambda m: m.version)


def migrate(conn: psycopg.Connection) -> list[int]:
    """Apply pending migrations; return the versions applied now."""
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for m in available():
            if m.version in done:
                continue
            log.info("applying migration", extra={"version": m.version, "migration": m.name})
            conn.execute(m.sql.encode())
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (m.version, m.name))
            applied_now.append(m.version)
    return applied_now
