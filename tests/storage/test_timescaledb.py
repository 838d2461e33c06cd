"""TimescaleDB only: its scheduler runs the policy jobs, and compression and retention do what the policy says.

Skipped as not applicable where no TimescaleDB server is available (see conftest.py).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from storage import queries, timescale
from storage.backend import Backend
from storage.migrate import migrate
from storage.policy import RetentionPolicy
from storage.queries import Resolution
from tests.storage.conftest import insert, reading

DAY = timedelta(days=1)


def _job_stats(conn: psycopg.Connection) -> dict[int, tuple[str | None, int, int]]:
    ids = [j.job_id for j in timescale.existing_jobs(conn)]
    return {r[0]: (r[1], int(r[2] or 0), int(r[3] or 0)) for r in conn.execute(
        "SELECT job_id, last_run_status, total_successes, total_failures FROM timescaledb_information.job_stats"
        " WHERE job_id = ANY(%s)", (ids,))}


def _pause_jobs(conn: psycopg.Connection) -> None:
    """Unschedule this schema's jobs and wait until none is running, so the test runs them itself."""
    ts = sql.SQL(timescale.extension_schema(conn))
    ids = [j.job_id for j in timescale.existing_jobs(conn)]
    for job_id in ids:
        conn.execute(sql.SQL("SELECT {}.alter_job(%s, scheduled => false)").format(ts), (job_id,))
    deadline = time.monotonic() + 30
    while conn.execute("SELECT count(*) FROM timescaledb_information.job_stats"
                       " WHERE job_id = ANY(%s) AND job_status = 'Running'", (ids,)).fetchone() != (0,):
        assert time.monotonic() < deadline, "a job kept running"
        time.sleep(0.2)


def test_timescaledb_scheduler_runs_every_job(tsdb_db: psycopg.Connection) -> None:
    # A new job runs at once. On PostgreSQL 15.20 every background job failed
    # ("cannot drop portal ... while it is being set up") unless the extension
    # was built with the fix in docs/release-notes.md: this catches that build.
    jobs = timescale.existing_jobs(tsdb_db)
    assert len(jobs) == 15
    deadline = time.monotonic() + 90
    while True:
        stats = _job_stats(tsdb_db)
        done = {i for i, (status, ok, _) in stats.items() if status == "Success" and ok >= 1}
        failed = {i: s for i, s in stats.items() if s[2] > 0}
        assert not failed, f"jobs failed: {failed} (see the server log)"
        if len(done) == len(jobs):
            break
        assert time.monotonic() < deadline, f"jobs not run by the scheduler: {set(stats) - done or stats}"
        time.sleep(0.5)


def test_timescaledb_compression_and_retention_jobs(tsdb_empty_dsn: str) -> None:
    policy = RetentionPolicy(raw_days=30)  # compress after 7 days, aggregates kept 400 days
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    old, compressible, recent = now - 40 * DAY, now - 10 * DAY, now - timedelta(hours=1)
    with psycopg.connect(tsdb_empty_dsn, autocommit=True) as conn:
        migrate(conn, Backend.TIMESCALEDB, policy)
        _pause_jobs(conn)
        for t in (old, compressible, recent):
            insert(conn, [reading(t + timedelta(minutes=i), 60 + i) for i in range(30)])
        timescale.refresh_aggregates(conn, None, now)

        def answers(t: datetime) -> list[object]:
            return [queries.vital_trend(conn, "P1", "heart_rate", t, t + timedelta(hours=1), r).points
                    for r in Resolution]

        before = answers(compressible)
        bytes_before = timescale.hypertable_bytes(conn, "readings")
        assert timescale.run_jobs(conn, "compression") and timescale.run_jobs(conn, "retention")

        chunks = conn.execute(
            "SELECT range_start, range_end, is_compressed FROM timescaledb_information.chunks"
            " WHERE hypertable_schema = current_schema() AND hypertable_name = 'readings' ORDER BY range_start"
        ).fetchall()
        # The 40-day-old chunk is dropped (30-day retention), the 10-day-old one compressed, today's not.
        assert [(a <= compressible < b, a <= recent < b, c) for a, b, c in chunks] == [
            (True, False, True), (False, True, False)]
        assert conn.execute("SELECT count(*) FROM readings WHERE measured_at < %s", (now - 30 * DAY,)).fetchone() == (0,)
        assert answers(compressible) == before  # same answers from compressed chunks
        assert timescale.hypertable_bytes(conn, "readings") < bytes_before
        # Aggregates outlive raw rows: the dropped hour is still in the hourly trend.
        hourly = queries.vital_trend(conn, "P1", "heart_rate", old, old + timedelta(hours=1), Resolution.HOUR)
        assert [(p.t, p.n, p.min, p.max) for p in hourly.points] == [(old, 30, 60.0, 89.0)]
        # Writing into a compressed chunk stays idempotent: a replay adds nothing, a new reading lands.
        assert insert(conn, [reading(compressible + timedelta(minutes=5), 65)]) == 0
        assert insert(conn, [reading(compressible + timedelta(minutes=45), 99)]) == 1
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (61,)


def test_timescaledb_changed_policy_replaces_only_the_changed_jobs(tsdb_db_dsn: str) -> None:
    from storage import maintain
    from tests.storage.conftest import TSDB_TEST_POLICY

    with psycopg.connect(tsdb_db_dsn, autocommit=True) as conn:
        jobs = {(j.proc_name, j.relation): j.job_id for j in timescale.existing_jobs(conn)}
        report = maintain.run_once(conn, TSDB_TEST_POLICY)
        assert report.jobs is not None and (report.jobs.added, report.jobs.replaced, report.jobs.kept) == ([], [], 15)
        changed = RetentionPolicy(**{**{f: getattr(TSDB_TEST_POLICY, f) for f in TSDB_TEST_POLICY.__dataclass_fields__},
                                     "refresh_lookback_days": 3, "chunk_days": 2})
        report = maintain.run_once(conn, changed)
        assert report.jobs is not None
        assert sorted(report.jobs.replaced) == ["refresh readings_1h", "refresh readings_1m"]
        assert report.jobs.chunk_intervals_set == ["readings", "window_features"]
        after = {(j.proc_name, j.relation): j.job_id for j in timescale.existing_jobs(conn)}
        kept = {k for k in jobs if jobs[k] == after[k]}
        assert len(kept) == 11 and all(p != "policy_refresh_continuous_aggregate" for p, _ in kept)
