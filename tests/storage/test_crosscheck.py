"""The cross-backend check tool, run here on plain PostgreSQL: its sample gives the
same answers live (views over raw rows) and materialised, and in a second schema."""

from __future__ import annotations

import psycopg

from storage import crosscheck


def test_answers_do_not_depend_on_materialisation(db: psycopg.Connection) -> None:
    crosscheck.load_sample(db)
    assert db.execute("SELECT count(*) FROM readings").fetchone() == (3 * 1440 * 2 * 2 + 3 * 288 * 2,)
    live = crosscheck.snapshot(db)
    pending = db.execute("SELECT count(*) FROM agg_pending").fetchone()
    assert pending == (2 * 3 * 72,)  # every (patient, vital, hour) of the sample
    crosscheck.bring_up_to_date(db)
    assert db.execute("SELECT count(*) FROM agg_pending").fetchone() == (0,)
    assert crosscheck.snapshot(db) == live
    hours = live["trend P1 1h"]
    assert isinstance(hours, list) and len(hours) == 72
    # Minute i is flagged when i % 97 == 0: of minutes 0..59 only minute 0.
    assert hours[0][4:] == (59, 1)


def test_tool_compares_two_databases(empty_dsn: str, pg_server_dsn: str) -> None:
    import uuid

    from tests.conftest import with_search_path

    other = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {other}")
    try:
        assert crosscheck.main([empty_dsn, with_search_path(pg_server_dsn, other)]) == 0
    finally:
        with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {other} CASCADE")
