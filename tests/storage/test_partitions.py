"""Partition upkeep on plain PostgreSQL only (TimescaleDB has chunks and jobs instead): ahead,
late rows adopted, retention, aggregates kept longer."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from storage import maintain, queries
from storage.backend import Backend
from storage.migrate import migrate
from storage.policy import RetentionPolicy
from storage.queries import Resolution
from tests.storage.conftest import NOW, insert, reading

DAY = timedelta(days=1)
POLICY = RetentionPolicy(raw_days=30, refresh_lookback_days=7)


def _where(conn: psycopg.Connection, t: object) -> str:
    row = conn.execute("SELECT tableoid::regclass::text FROM readings WHERE measured_at = %s", (t,)).fetchone()
    assert row is not None
    return str(row[0])


def _partitions(conn: psycopg.Connection, table: str) -> list[str]:
    return sorted(r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass", (table,)))


def test_plain_partitions_ahead_late_rows_and_retention(plain_empty_dsn: str) -> None:
    with psycopg.connect(plain_empty_dsn, autocommit=True) as conn:
        migrate(conn, Backend.POSTGRES, policy=POLICY, now=NOW)
        assert _partitions(conn, "readings") == [
            "readings_default", "readings_p20260310", "readings_p20260311", "readings_p20260312"]
        late, old, current = NOW - 20 * DAY, NOW - 40 * DAY, NOW + timedelta(minutes=1)
        insert(conn, [reading(late, 61), reading(old, 62), reading(current, 63)])
        assert _where(conn, late) == _where(conn, old) == "readings_default"
        assert _where(conn, current) == "readings_p20260310"

        r = maintain.run_once(conn, POLICY, now=NOW)
        # A partition is made for the late row; the one older than retention is deleted.
        assert r.partitions["readings"].created == ["readings_p20260218"]
        assert (r.partitions["readings"].rows_adopted, r.partitions["readings"].rows_expired) == (1, 1)
        assert _where(conn, late) == "readings_p20260218"
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (2,)

        # 25 days on: new partitions ahead, and the February one is past retention.
        r = maintain.run_once(conn, POLICY, now=NOW + 25 * DAY)
        assert "readings_p20260218" in r.partitions["readings"].dropped
        assert {"readings_p20260404", "readings_p20260405", "readings_p20260406"} <= set(
            _partitions(conn, "readings"))
        assert [p for p in _partitions(conn, "readings") if "_p2026" in p and p < "readings_p20260310"] == []
        assert conn.execute("SELECT value FROM readings").fetchall() == [(63.0,)]
        # Aggregates outlive raw rows: the late reading's hour is still in the 1 h trend.
        trend = queries.vital_trend(conn, "P1", "heart_rate", late - DAY, late + DAY, Resolution.HOUR)
        assert [(p.t, p.value, p.n) for p in trend.points] == [(late, 61.0, 1)]
        # Re-running changes nothing.
        again = maintain.run_once(conn, POLICY, now=NOW + 25 * DAY).partitions["readings"]
        assert (again.created, again.dropped, again.rows_adopted, again.rows_expired) == ([], [], 0, 0)


def test_plain_pending_hours_past_raw_retention_are_discarded(plain_db: psycopg.Connection) -> None:
    db = plain_db
    db.execute("INSERT INTO agg_pending VALUES ('P1', 'spo2', %s), ('P1', 'spo2', %s)", (NOW - 40 * DAY, NOW - 2 * DAY))
    r = maintain.run_once(db, POLICY, now=NOW)
    assert r.refresh is not None and (r.refresh.hours_discarded, r.refresh.hours_refreshed) == (1, 1)
    assert db.execute("SELECT count(*) FROM agg_pending").fetchone() == (0,)
