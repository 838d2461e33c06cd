"""The cross-backend check tool: its sample gives the same answers live and
materialised on each backend, and the tool compares plain PostgreSQL with the
``backend`` under test (on two plain schemas in the ``[pg]`` variant; plain
against TimescaleDB in ``[tsdb]``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from storage import crosscheck
from storage.backend import Backend


def test_answers_do_not_depend_on_materialisation(db: psycopg.Connection, backend: Backend) -> None:
    end = crosscheck.sample_end()
    crosscheck.load_sample(db, end)
    assert db.execute("SELECT count(*) FROM readings").fetchone() == (3 * 1440 * 2 * 2 + 3 * 288 * 2,)
    live = crosscheck.snapshot(db, end)
    if backend is Backend.POSTGRES:
        pending = db.execute("SELECT count(*) FROM agg_pending").fetchone()
        assert pending == (2 * 3 * 72,)  # every (patient, vital, hour) of the sample
    crosscheck.bring_up_to_date(db, end)
    if backend is Backend.POSTGRES:
        assert db.execute("SELECT count(*) FROM agg_pending").fetchone() == (0,)
    assert crosscheck.differences(crosscheck.snapshot(db, end), live) == []
    hours = live["trend P1 1h"]
    assert isinstance(hours, list) and len(hours) == 72
    # Minute i is flagged when i % 97 == 0: of minutes 0..59 only minute 0.
    assert hours[0][4:] == (59, 1)
    days = live["daily P1"]
    assert isinstance(days, list) and len(days) == crosscheck.DAYS + 1
    assert sum(d["metrics"]["n"] for d in days) == 3 * 288


def test_sample_lies_inside_the_retention_whenever_it_runs() -> None:
    now = datetime(2027, 1, 1, 0, 5, tzinfo=UTC)
    end = crosscheck.sample_end(now)
    assert end == datetime(2026, 12, 31, 12, tzinfo=UTC)
    assert now - (end - timedelta(days=crosscheck.DAYS)) < timedelta(days=7)  # not even compressed


def test_floats_compare_with_a_tolerance_and_everything_else_exactly() -> None:
    a = {"daily": [{"sd": 47.123456789012344, "n": 288}], "t": (1.0, "x")}
    assert crosscheck.differences(a, {"daily": [{"sd": 47.12345678901235, "n": 288}], "t": (1.0, "x")}) == []
    assert crosscheck.differences(a, {"daily": [{"sd": 47.1235, "n": 288}], "t": (1.0, "x")}) == ["daily"]
    assert crosscheck.differences(a, {"daily": [{"sd": 47.123456789012344, "n": 287}], "t": (1.0, "x")}) == ["daily"]
    assert crosscheck.differences(a, {"daily": [], "t": (1.0, "x")}) == ["daily"]
    assert crosscheck.differences(a, {"daily": a["daily"]}) == ["t"]


def test_tool_compares_two_databases(plain_empty_dsn: str, empty_dsn: str, backend: Backend) -> None:
    assert crosscheck.main([plain_empty_dsn, empty_dsn]) == 0
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT DISTINCT backend FROM schema_migrations").fetchall() == [(backend.value,)]
