"""TimescaleDB upkeep: policy jobs kept in line with the RetentionPolicy, aggregate refresh, compression.

TimescaleDB's functions live in the schema the extension was created in
(normally ``public``); application connections (and the tests and benches,
which set only their own schema) need not have it on their search_path, so
every call here is qualified with that schema.

Jobs are applied idempotently: a job that already exists with the wanted
settings is left alone (its schedule and run history continue); only a
missing or changed one is (re)created. Re-creating every job on each
`rpm db maintain` (the sink runs it every minute) would reset each job's
next start, so compression and retention would run every minute instead of
on their schedules.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from psycopg import sql

from storage.policy import (
    PROC_NAME,
    RetentionPolicy,
    TimescaleJob,
    chunk_intervals,
    timescale_jobs,
)


class NotTimescale(RuntimeError):
    pass


def extension_schema(conn: psycopg.Connection) -> str:
    """The schema holding TimescaleDB's functions, quoted for use in SQL text."""
    row = conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'timescaledb'"
    ).fetchone()
    if row is None:
        raise NotTimescale("the timescaledb extension is not created in this database")
    return sql.Identifier(row[0]).as_string(conn)


def version(conn: psycopg.Connection) -> str | None:
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return row[0] if row else None


@dataclass(slots=True)
class JobsReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: int = 0
    chunk_intervals_set: list[str] = field(default_factory=list)


# Jobs of this schema's hypertables and continuous aggregates (a cagg's jobs
# are attached to its materialisation hypertable in _timescaledb_internal).
_EXISTING = """
SELECT j.job_id, j.proc_name, coalesce(c.view_name, j.hypertable_name)::text AS relation,
       (j.config ->> 'drop_after')::interval, (j.config ->> 'compress_after')::interval,
       (j.config ->> 'start_offset')::interval, (j.config ->> 'end_offset')::interval, j.schedule_interval
FROM timescaledb_information.jobs j
LEFT JOIN timescaledb_information.continuous_aggregates c
  ON c.materialization_hypertable_schema = j.hypertable_schema
 AND c.materialization_hypertable_name = j.hypertable_name
WHERE (c.view_schema IS NULL AND j.hypertable_schema = current_schema()) OR c.view_schema = current_schema()
ORDER BY j.job_id
"""


@dataclass(frozen=True, slots=True)
class ExistingJob:
    job_id: int
    proc_name: str
    relation: str
    after: timedelta | None
    end_offset: timedelta | None
    schedule: timedelta | None


def existing_jobs(conn: psycopg.Connection) -> list[ExistingJob]:
    out = []
    for job_id, proc, rel, drop_after, compress_after, start_offset, end_offset, every in conn.execute(_EXISTING):
        after = drop_after if drop_after is not None else compress_after if compress_after is not None else start_offset
        out.append(ExistingJob(job_id, proc, rel, after, end_offset, every))
    return out


def apply_policy(conn: psycopg.Connection, policy: RetentionPolicy) -> JobsReport:
    """Bring chunk intervals and jobs in line with ``policy``, in one transaction."""
    report = JobsReport()
    with conn.transaction():
        ts = extension_schema(conn)
        _chunk_intervals(conn, ts, policy, report)
        have: dict[tuple[str, str], list[ExistingJob]] = {}
        for j in existing_jobs(conn):
            have.setdefault((j.proc_name, j.relation), []).append(j)
        for want in timescale_jobs(policy):
            found = have.get((want.proc_name, want.relation), [])
            if len(found) == 1 and want.matches(found[0].after, found[0].end_offset, found[0].schedule):
                report.kept += 1
                continue
            _replace(conn, ts, want)
            (report.replaced if found else report.added).append(f"{want.kind} {want.relation}")
    return report


def _replace(conn: psycopg.Connection, ts: str, job: TimescaleJob) -> None:
    conn.execute(job.remove_sql(ts).encode())
    conn.execute(job.add_sql(ts).encode())


def _chunk_intervals(conn: psycopg.Connection, ts: str, policy: RetentionPolicy, report: JobsReport) -> None:
    current: dict[str, timedelta] = dict(conn.execute(
        "SELECT hypertable_name::text, time_interval FROM timescaledb_information.dimensions"
        " WHERE hypertable_schema = current_schema() AND dimension_number = 1"
    ).fetchall())
    for table, interval in chunk_intervals(policy).items():
        if current.get(table) != interval:
            conn.execute(sql.SQL("SELECT {}.set_chunk_time_interval(%s::regclass, %s::interval)").format(
                sql.SQL(ts)), (table, interval))
            report.chunk_intervals_set.append(table)


def refresh_aggregates(conn: psycopg.Connection, start: datetime | None, end: datetime | None) -> None:
    """Materialise readings_1m then readings_1h (built on it) over [start, end); None = unbounded.

    ``conn`` must be in autocommit mode: refresh_continuous_aggregate refuses to run in a transaction block."""
    ts = extension_schema(conn)
    for view in ("readings_1m", "readings_1h"):
        conn.execute(sql.SQL("CALL {}.refresh_continuous_aggregate(%s::regclass, %s::timestamptz, %s::timestamptz)")
                     .format(sql.SQL(ts)), (view, start, end))


def compress_chunks(conn: psycopg.Connection, relation: str, older_than: timedelta | datetime) -> int:
    """Compress the chunks of ``relation`` older than ``older_than`` now (what the compression job does)."""
    ts = sql.SQL(extension_schema(conn))
    arg = "%s::interval" if isinstance(older_than, timedelta) else "%s::timestamptz"
    rows = conn.execute(
        sql.SQL("SELECT {ts}.compress_chunk(c, if_not_compressed => true)"
                " FROM {ts}.show_chunks(%s::regclass, older_than => " + arg + ") c").format(ts=ts),
        (relation, older_than),
    ).fetchall()
    return len(rows)


def hypertable_bytes(conn: psycopg.Connection, relation: str) -> int:
    """On-disk size of a hypertable (every chunk, compressed or not, with indexes and TOAST)."""
    ts = sql.SQL(extension_schema(conn))
    row = conn.execute(sql.SQL("SELECT {}.hypertable_size(%s::regclass)").format(ts), (relation,)).fetchone()
    return int(row[0] or 0) if row else 0


def run_jobs(conn: psycopg.Connection, kind: str) -> list[int]:
    """Run this schema's jobs of one kind now (as the scheduler would), returning their ids."""
    ts = sql.SQL(extension_schema(conn))
    ids = [j.job_id for j in existing_jobs(conn) if j.proc_name == PROC_NAME[kind]]
    for job_id in ids:
        conn.execute(sql.SQL("CALL {}.run_job(%s)").format(ts), (job_id,))
    return ids


def compression_stats(conn: psycopg.Connection, relation: str) -> tuple[int, int, int]:
    """(compressed chunks, their bytes before compression, after), from hypertable_compression_stats."""
    ts = sql.SQL(extension_schema(conn))
    row = conn.execute(sql.SQL(
        "SELECT number_compressed_chunks, before_compression_total_bytes, after_compression_total_bytes"
        " FROM {}.hypertable_compression_stats(%s::regclass)").format(ts), (relation,)).fetchone()
    if row is None:
        return 0, 0, 0
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


def drop_schema(conn: psycopg.Connection, schema: str, attempts: int = 10) -> None:
    """DROP SCHEMA ... CASCADE that also works while TimescaleDB jobs of the schema run.

    A job updating its catalogue rows while the schema is dropped makes the
    DROP fail with "tuple concurrently deleted": delete the schema's jobs
    first (delete_job waits for a running one), and retry the DROP briefly."""
    name = sql.Identifier(schema)
    if version(conn) is not None:
        ts = sql.SQL(extension_schema(conn))
        ids = [r[0] for r in conn.execute(
            "SELECT j.job_id FROM timescaledb_information.jobs j"
            " LEFT JOIN timescaledb_information.continuous_aggregates c"
            "   ON c.materialization_hypertable_schema = j.hypertable_schema"
            "  AND c.materialization_hypertable_name = j.hypertable_name"
            " WHERE j.hypertable_schema = %s OR c.view_schema = %s", (schema, schema))]
        for job_id in ids:
            conn.execute(sql.SQL("SELECT {}.delete_job(%s)").format(ts), (job_id,))
    for attempt in range(attempts):
        try:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(name))
            return
        except psycopg.errors.InternalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
