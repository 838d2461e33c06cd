"""Policy -> TimescaleDB jobs and partition plans, without a database (the jobs
are also applied on a real TimescaleDB in test_timescaledb.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pglast
import pytest

from storage.backend import Backend
from storage.migrate import available
from storage.partitions import Partition, partition_name, plan
from storage.policy import (
    ORIGIN,
    PartitionSpec,
    RetentionPolicy,
    chunk_intervals,
    partition_specs,
    timescale_jobs,
)

DAY = timedelta(days=1)


def test_timescale_jobs_apply_every_setting() -> None:
    p = RetentionPolicy(raw_days=30, features_days=31, scores_days=200, agg_1m_days=300, agg_1h_days=2000,
                        compress_after_days=3, refresh_lookback_days=5, agg_compress_after_days=40, chunk_days=2)
    jobs = {(j.kind, j.relation): j for j in timescale_jobs(p)}
    assert len(jobs) == len(timescale_jobs(p)) == 15  # one job per kind and relation
    assert chunk_intervals(p) == {"readings": 2 * DAY, "window_features": 2 * DAY}
    stmts = [j.add_sql('"public"') for j in jobs.values()]
    assert "SELECT \"public\".add_retention_policy('readings', drop_after => INTERVAL '30 days')" in stmts
    assert "SELECT \"public\".add_retention_policy('window_features', drop_after => INTERVAL '31 days')" in stmts
    assert "SELECT \"public\".add_retention_policy('news2_scores', drop_after => INTERVAL '200 days')" in stmts
    assert "SELECT \"public\".add_retention_policy('readings_1m', drop_after => INTERVAL '300 days')" in stmts
    assert "SELECT \"public\".add_retention_policy('readings_1h', drop_after => INTERVAL '2000 days')" in stmts
    assert "SELECT \"public\".add_compression_policy('readings', compress_after => INTERVAL '3 days')" in stmts
    assert "SELECT \"public\".add_compression_policy('readings_1m', compress_after => INTERVAL '40 days')" in stmts
    # Raw waveforms: their own, shorter retention (RetentionPolicy.waveform_days), compressed after a day.
    assert "SELECT \"public\".add_retention_policy('waveform_snippets', drop_after => INTERVAL '7 days')" in stmts
    assert "SELECT \"public\".add_compression_policy('waveform_snippets', compress_after => INTERVAL '1 day')" in stmts
    assert ("SELECT \"public\".add_continuous_aggregate_policy('readings_1m', start_offset => INTERVAL '5 days',"
            " end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute')") in stmts
    assert jobs["retention", "readings"].remove_sql("ts") == (
        "SELECT ts.remove_retention_policy('readings', if_exists => true)")
    for j in jobs.values():
        pglast.parse_sql(j.add_sql("public"))  # valid PostgreSQL syntax
        pglast.parse_sql(j.remove_sql("public"))


def test_an_unchanged_job_is_kept_and_a_changed_one_is_not() -> None:
    jobs = {(j.kind, j.relation): j for j in timescale_jobs(RetentionPolicy())}
    retention, refresh = jobs["retention", "readings"], jobs["refresh", "readings_1h"]
    # TimescaleDB's own schedule of a retention job is not ours to compare.
    assert retention.matches(90 * DAY, None, DAY) and retention.matches(90 * DAY, None, None)
    assert not retention.matches(30 * DAY, None, DAY)
    assert refresh.matches(7 * DAY, timedelta(hours=1), timedelta(minutes=30))
    assert not refresh.matches(7 * DAY, timedelta(hours=1), timedelta(minutes=1))
    assert not refresh.matches(7 * DAY, timedelta(minutes=1), timedelta(minutes=30))


def test_timescaledb_migration_parses_and_mirrors_plain_columns() -> None:
    ts = available(Backend.TIMESCALEDB)
    for m in ts:
        pglast.parse_sql(m.sql)
    for m in available(Backend.POSTGRES):
        pglast.parse_sql(m.sql)
    ts_sql = ts[2].sql
    assert "timescaledb.compress_segmentby = 'patient_id'" in ts_sql
    assert ts_sql.count("timescaledb.materialized_only = false") == 2
    # Column lists of the query-facing relations are the same on both backends.
    for name in ("readings_1m", "readings_1h"):
        assert _select_columns(ts_sql, name) == ["patient_id", "type", "bucket", "n", "n_flagged", "sum", "min", "max"]
    assert _create_columns(ts_sql, "readings") == _create_columns(available(Backend.POSTGRES)[2].sql, "readings")
    for table in ("news2_scores", "window_features", "glucose_trends", "waveform_hr"):
        assert _create_columns(ts_sql, table) == _create_columns(available(Backend.POSTGRES)[2].sql, table)
    wave = {m.version: m.sql for m in ts}[400], {m.version: m.sql for m in available(Backend.POSTGRES)}[400]
    assert _create_columns(wave[0], "waveform_snippets") == _create_columns(wave[1], "waveform_snippets")
    assert "timescaledb.compress_segmentby = 'patient_id'" in wave[0] and "PARTITION BY RANGE (start_at)" in wave[1]


def _create_columns(script: str, table: str) -> list[str]:
    for stmt in pglast.parse_sql(script):
        node: Any = stmt.stmt  # pglast types every child as optional
        if type(node).__name__ == "CreateStmt" and node.relation.relname == table:
            return [e.colname for e in node.tableElts if type(e).__name__ == "ColumnDef"]
    raise AssertionError(f"no CREATE TABLE {table}")


def _select_columns(script: str, view: str) -> list[str]:
    for stmt in pglast.parse_sql(script):
        node: Any = stmt.stmt  # pglast types every child as optional
        if type(node).__name__ == "CreateTableAsStmt" and node.into.rel.relname == view:
            return [t.name or t.val.fields[-1].sval for t in node.query.targetList]
    raise AssertionError(f"no view {view}")


@pytest.mark.parametrize("bad", [
    {"refresh_lookback_days": 90},
    {"agg_1m_days": 30},
    {"agg_compress_after_days": 7},
    {"raw_days": 0},
    {"waveform_days": 1},  # compressed after 1 day: it would be dropped before
])
def test_policy_rejects_inconsistent_settings(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(**bad)


def test_partition_bounds_align_with_the_time_bucket_origin() -> None:
    specs = {s.table: s for s in partition_specs(RetentionPolicy())}
    t = datetime(2026, 3, 10, 23, 59, tzinfo=UTC)
    assert specs["readings"].floor(t) == datetime(2026, 3, 10, tzinfo=UTC)
    week = specs["news2_scores"].floor(t)
    assert week == datetime(2026, 3, 9, tzinfo=UTC) and week.weekday() == ORIGIN.weekday() == 0
    assert (specs["readings_1h_mat"].floor(t) - ORIGIN) % timedelta(days=28) == timedelta(0)


SPEC = PartitionSpec("readings", "measured_at", DAY, 10 * DAY, ahead=2)
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def _part(day: int) -> Partition:
    start = datetime(2026, 3, day, tzinfo=UTC)
    return Partition(partition_name(SPEC, start), start, start + DAY)


def test_plan_creates_current_and_ahead_only_once() -> None:
    p = plan(SPEC, NOW, [], [])
    assert [x.name for x in p.create] == ["readings_p20260310", "readings_p20260311", "readings_p20260312"]
    assert p.drop == ()
    assert plan(SPEC, NOW, [_part(10), _part(11), _part(12)], []).create == ()


def test_plan_adopts_late_rows_and_drops_expired() -> None:
    existing = [_part(d) for d in (1, 2, 9, 10, 11, 12)]
    late = [datetime(2026, 3, 5, 7, tzinfo=UTC), datetime(2026, 2, 20, tzinfo=UTC)]
    p = plan(SPEC, NOW, existing, late)
    # 5 March is inside retention (horizon 28 Feb 12:00): gets a partition;
    # 20 February is past retention: left in DEFAULT to be deleted.
    assert [x.name for x in p.create] == ["readings_p20260305"]
    # Partitions ending at or before the horizon are dropped; 28 Feb would straddle it.
    assert [x.name for x in p.drop] == []
    p = plan(SPEC, NOW + 2 * DAY, existing, [])
    assert [x.name for x in p.drop] == ["readings_p20260301"]
    assert [x.name for x in p.create] == ["readings_p20260313", "readings_p20260314"]
