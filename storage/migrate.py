"""Versioned migrations: numbered SQL files applied once each, in order.

Safe to run on every start: applied versions are recorded in
``schema_migrations`` and an advisory lock serialises concurrent starts.
Migrations apply to the schema first on the connection's search_path, which
is how tests get an isolated schema each.

A file ``NNNN_name.sql`` applies to both backends; ``NNNN_name.postgres.sql``
and ``NNNN_name.timescaledb.sql`` are the two variants of one version (both
must exist). After the SQL, the retention/partition policy is applied
(storage.maintain), so a fresh schema has its partitions or policies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

import psycopg

from storage import maintain, timescale
from storage.backend import Backend, detect, ensure_extension, recorded
from storage.policy import RetentionPolicy

log = logging.getLogger(__name__)
_LOCK_KEY = 0x52504D  # "RPM"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def _parse_name(filename: str) -> tuple[int, str, Backend | None]:
    stem = filename.removesuffix(".sql")
    stem, _, variant = stem.partition(".")
    version, _, name = stem.partition("_")
    return int(version), name, Backend(variant) if variant else None


def available(backend: Backend = Backend.POSTGRES) -> list[Migration]:
    """The migrations for ``backend``, in order; fails on a version with one variant missing."""
    common: dict[int, Migration] = {}
    variants: dict[int, dict[Backend, Migration]] = {}
    for entry in resources.files("storage.migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        version, name, variant = _parse_name(entry.name)
        m = Migration(version, name, entry.read_text(encoding="utf-8"))
        if variant is None:
            common[version] = m
        else:
            variants.setdefault(version, {})[variant] = m
    for version, by_backend in variants.items():
        if set(by_backend) != set(Backend) or version in common:
            raise RuntimeError(f"migration {version:04d} needs exactly one variant per backend")
    out = list(common.values()) + [v[backend] for v in variants.values()]
    return sorted(out, key=lambda m: m.version)


def migrate(
    conn: psycopg.Connection,
    backend: Backend | None = None,
    policy: RetentionPolicy | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Apply pending migrations and the policy; return the versions applied now.

    ``backend`` None = the recorded one, else detected. Asking for a backend
    other than the one recorded is an error, never a silent switch.
    """
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL, backend text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        chosen = _choose(conn, backend)
        if chosen is Backend.TIMESCALEDB:
            # Until the end of this transaction: TimescaleDB's functions resolve
            # without being on the connection's own search_path.
            conn.execute("SELECT set_config('search_path', current_schema() || ', ' || %s, true)",
                         (timescale.extension_schema(conn),))
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for m in available(chosen):
            if m.version in done:
                continue
            log.info("applying migration", extra={"version": m.version, "migration": m.name, "backend": chosen})
            conn.execute(m.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, backend) VALUES (%s, %s, %s)",
                (m.version, m.name, chosen.value),
            )
            applied_now.append(m.version)
    maintain.apply_policy(conn, chosen, policy or RetentionPolicy(), now)
    return applied_now


def _choose(conn: psycopg.Connection, wanted: Backend | None) -> Backend:
    have = recorded(conn)
    if have is not None:
        if wanted is not None and wanted != have:
            raise RuntimeError(f"schema was migrated for {have}, not {wanted}")
        return have
    chosen = wanted or detect(conn)
    if chosen is Backend.TIMESCALEDB:
        ensure_extension(conn)
    return chosen
