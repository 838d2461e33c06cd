"""`rpm db maintain` and the sink's maintenance thread.

Plain PostgreSQL: create partitions ahead, adopt late rows from DEFAULT
partitions, drop partitions past retention, refresh the aggregate tables.
TimescaleDB: add the policy jobs that are missing or changed
(storage.timescale); TimescaleDB's own scheduler then compresses, refreshes
and drops on the jobs' schedules.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from storage import aggregates, partitions, timescale
from storage.backend import Backend, recorded
from storage.policy import RetentionPolicy, partition_specs

log = logging.getLogger(__name__)
_MAINTAIN_LOCK = 0x52504D02  # one maintainer at a time across sink instances


@dataclass(slots=True)
class MaintainReport:
    backend: Backend
    partitions: dict[str, partitions.Report] = field(default_factory=dict)
    refresh: aggregates.RefreshReport | None = None
    jobs: timescale.JobsReport | None = None


@contextmanager
def exclusive(conn: psycopg.Connection, wait: bool = True) -> Iterator[bool]:
    """Hold the maintenance lock (session level: maintenance spans transactions).

    Yields False when ``wait`` is off and another process holds it."""
    if wait:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MAINTAIN_LOCK,))
        got = True
    else:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_MAINTAIN_LOCK,)).fetchone()
        got = bool(row and row[0])
    try:
        yield got
    finally:
        if got and not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MAINTAIN_LOCK,))


def apply_policy(
    conn: psycopg.Connection, backend: Backend, policy: RetentionPolicy, now: datetime | None = None
) -> MaintainReport:
    """Partitions (plain) or policy jobs (TimescaleDB); ``conn`` must be in autocommit mode."""
    now = now or datetime.now(UTC)
    with exclusive(conn):
        return _apply_policy(conn, backend, policy, now)


def _apply_policy(
    conn: psycopg.Connection, backend: Backend, policy: RetentionPolicy, now: datetime, lock_timeout_ms: int = 5000,
) -> MaintainReport:
    report = MaintainReport(backend)
    if backend is Backend.TIMESCALEDB:
        report.jobs = timescale.apply_policy(conn, policy)
        return report
    for spec in partition_specs(policy):
        report.partitions[spec.table] = partitions.apply(conn, spec, now, lock_timeout_ms)
    return report


def run_once(
    conn: psycopg.Connection, policy: RetentionPolicy, now: datetime | None = None,
    settle: timedelta = timedelta(minutes=5), lock_timeout_ms: int = 5000,
) -> MaintainReport:
    """One full maintenance pass (waits for another maintainer to finish first)."""
    with exclusive(conn):
        return _run_unlocked(conn, policy, now, settle, lock_timeout_ms)


def _run_unlocked(
    conn: psycopg.Connection, policy: RetentionPolicy, now: datetime | None = None,
    settle: timedelta = timedelta(minutes=5), lock_timeout_ms: int = 5000,
) -> MaintainReport:
    now = now or datetime.now(UTC)
    backend = recorded(conn)
    if backend is None:
        raise RuntimeError("schema is not migrated: run `rpm db migrate` first")
    report = _apply_policy(conn, backend, policy, now, lock_timeout_ms)
    if backend is Backend.POSTGRES:
        report.refresh = aggregates.refresh(conn, now, timedelta(days=policy.raw_days), settle)
    return report


def start_thread(
    dsn: str, policy: RetentionPolicy, stop: threading.Event, every_s: float, application_name: str,
) -> threading.Thread:
    """Maintain every ``every_s`` seconds until ``stop``; survives database outages."""

    def loop() -> None:
        while not stop.is_set():
            try:
                with (psycopg.connect(dsn, autocommit=True, connect_timeout=5,
                                      application_name=application_name) as conn,
                      exclusive(conn, wait=False) as got):
                    if got:  # else another sink is maintaining right now
                        _run_unlocked(conn, policy)
            except psycopg.Error as e:
                log.warning("maintenance failed, will retry", extra={"error": str(e)[:200]})
            stop.wait(every_s)

    t = threading.Thread(target=loop, name="storage-maintenance", daemon=True)
    t.start()
    return t
