"""Which time-series backend a database uses: TimescaleDB or plain PostgreSQL.

Chosen once, when the schema is first migrated, by detecting the extension;
recorded in ``schema_migrations`` and reused ever after, so installing the
extension later never flips a live plain schema (that is a data migration,
see docs/storage.md).
"""

from __future__ import annotations

from enum import StrEnum

import psycopg


class Backend(StrEnum):
    POSTGRES = "postgres"
    TIMESCALEDB = "timescaledb"


class BackendUnavailable(RuntimeError):
    pass


def detect(conn: psycopg.Connection) -> Backend:
    """TimescaleDB when the extension is created, or can be (installed and preloaded)."""
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
        return Backend.TIMESCALEDB
    if _installable(conn):
        return Backend.TIMESCALEDB
    return Backend.POSTGRES


def _installable(conn: psycopg.Connection) -> bool:
    available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    row = conn.execute("SELECT current_setting('shared_preload_libraries', true)").fetchone()
    preload = (row[0] if row else "") or ""
    # The extension refuses to load unless preloaded: an installed but not
    # preloaded package means plain PostgreSQL, not a failed migration.
    return available is not None and "timescaledb" in preload


def ensure_extension(conn: psycopg.Connection) -> None:
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
        return
    if not _installable(conn):
        raise BackendUnavailable(
            "timescaledb requested but the extension is not installed and preloaded on this server"
        )
    # In public, not in the first schema of the search_path: the extension
    # belongs to the database, not to the schema being migrated (which may be
    # dropped with everything in it).
    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb SCHEMA public")


def recorded(conn: psycopg.Connection) -> Backend | None:
    """The backend this schema was migrated with, None for an empty schema."""
    row = conn.execute(
        "SELECT to_regclass('schema_migrations') IS NOT NULL"
    ).fetchone()
    if not row or not row[0]:
        return None
    got = conn.execute("SELECT DISTINCT backend FROM schema_migrations").fetchall()
    if not got:
        return None
    if len(got) > 1:
        raise RuntimeError(f"schema_migrations mixes backends: {sorted(r[0] for r in got)}")
    return Backend(got[0][0])
