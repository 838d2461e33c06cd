"""Query API on hand-made data: every expected number below is worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from storage import derived, maintain, queries, readings
from storage.backend import Backend
from storage.derived import News2Row
from storage.policy import RetentionPolicy
from storage.queries import Resolution
from tests.storage.conftest import insert, materialise, materialised_1m, reading


def T(hh: int, mm: int = 0, ss: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=UTC)


def _p1_heart_rate(db: psycopg.Connection) -> None:
    insert(db, [
        reading(T(10, 0, 10), 60), reading(T(10, 0, 40), 64),
        reading(T(10, 1, 5), 70), reading(T(10, 1, 30), 200, flags=("artifact",)),
        reading(T(10, 59, 59), 80), reading(T(11, 0, 0), 90),
    ])


def _points(trend: queries.Trend) -> list[tuple[datetime, float | None, float | None, float | None, int, int]]:
    return [(p.t, p.value, p.min, p.max, p.n, p.n_flagged) for p in trend.points]


MINUTES = [
    (T(10, 0), 62.0, 60.0, 64.0, 2, 0),
    (T(10, 1), 70.0, 70.0, 70.0, 1, 1),  # the artifact is counted, not averaged
    (T(10, 59), 80.0, 80.0, 80.0, 1, 0),
    (T(11, 0), 90.0, 90.0, 90.0, 1, 0),
]
HOURS = [(T(10), 68.5, 60.0, 80.0, 4, 1), (T(11), 90.0, 90.0, 90.0, 1, 0)]


def test_trend_at_each_resolution_live_and_materialised(db: psycopg.Connection, backend: Backend) -> None:
    _p1_heart_rate(db)
    raw = queries.vital_trend(db, "P1", "heart_rate", T(10), T(10, 2))
    assert raw.resolution is Resolution.RAW and raw.unit == "/min"
    assert [(p.t, p.value, p.n, p.n_flagged, p.flags) for p in raw.points] == [
        (T(10, 0, 10), 60, 1, 0, ()), (T(10, 0, 40), 64, 1, 0, ()), (T(10, 1, 5), 70, 1, 0, ()),
        (T(10, 1, 30), 200, 0, 1, ("artifact",))]

    def check() -> None:
        assert _points(queries.vital_trend(db, "P1", "heart_rate", T(10), T(11, 1), Resolution.MINUTE)) == MINUTES
        assert _points(queries.vital_trend(db, "P1", "heart_rate", T(10), T(12), Resolution.HOUR)) == HOURS

    check()  # nothing materialised yet: computed from raw rows (plain: the views; TimescaleDB: real-time)
    materialise(db, backend, T(13))
    assert db.execute("SELECT count(*) FROM readings_1m WHERE patient_id = 'P1'").fetchone() == (4,)
    if backend is Backend.POSTGRES:
        assert db.execute("SELECT count(*) FROM agg_pending").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM readings_1m_mat").fetchone() == (4,)
    else:
        assert materialised_1m(db) == 4
    check()  # same answers from the materialised aggregates

    # A late reading for a refreshed hour: after the next refresh it is in the
    # aggregates on both backends. Plain PostgreSQL shows it at once (the views
    # compute marked hours from raw rows); TimescaleDB's real-time aggregates
    # only add rows newer than the refresh watermark, so until its refresh job
    # (every minute, over the last 7 days) it still shows the old bucket.
    insert(db, [reading(T(10, 30), 100)])
    late = [(T(10), 74.8, 60.0, 100.0, 5, 1), HOURS[1]]
    hourly = _points(queries.vital_trend(db, "P1", "heart_rate", T(10), T(12), Resolution.HOUR))
    assert hourly == (late if backend is Backend.POSTGRES else HOURS)
    materialise(db, backend, T(13))
    assert _points(queries.vital_trend(db, "P1", "heart_rate", T(10), T(12), Resolution.HOUR)) == late


def test_range_start_snaps_to_bucket(db: psycopg.Connection, backend: Backend) -> None:
    _p1_heart_rate(db)
    materialise(db, backend, T(11, 30))  # hour 11 still open
    got = queries.vital_trend(db, "P1", "heart_rate", T(10, 30), T(12), Resolution.HOUR)
    assert _points(got) == HOURS  # the 10:00 bucket is the one holding 10:30


def test_plain_open_hour_is_not_materialised(plain_db: psycopg.Connection) -> None:
    db = plain_db
    _p1_heart_rate(db)
    maintain.run_once(db, RetentionPolicy(), now=T(11, 30))  # hour 11 still open
    assert db.execute("SELECT hour FROM agg_pending").fetchall() == [(T(11),)]
    assert _points(queries.vital_trend(db, "P1", "heart_rate", T(10, 30), T(12), Resolution.HOUR)) == HOURS


def test_plain_refresh_skips_an_hour_a_writer_holds_and_catches_it_later(
    plain_db_dsn: str, plain_db: psycopg.Connection,
) -> None:
    db = plain_db
    _p1_heart_rate(db)
    with psycopg.connect(plain_db_dsn) as writer:
        writer.execute("SELECT 1")  # not autocommit: this opens the transaction, which stays open
        assert readings.write(writer, [reading(T(10, 45), 100)]) == 1
        report = maintain.run_once(db, RetentionPolicy(), now=T(13), lock_timeout_ms=100)
        # The writer holds the DEFAULT partition, which every ATTACH must check:
        # partition upkeep gives up on its lock and retries next run.
        assert "create readings_p20260310" in report.partitions["readings"].skipped
        # Hour 10 was locked by the writer: left pending, not refreshed without its row.
        assert db.execute("SELECT hour FROM agg_pending").fetchall() == [(T(10),)]
        writer.commit()
    maintain.run_once(db, RetentionPolicy(), now=T(13))
    assert db.execute("SELECT n, max FROM readings_1h_mat WHERE bucket = %s", (T(10),)).fetchone() == (5, 100.0)


def test_automatic_resolution() -> None:
    assert queries.choose_resolution(timedelta(minutes=30)) is Resolution.RAW
    assert queries.choose_resolution(timedelta(days=1)) is Resolution.MINUTE
    assert queries.choose_resolution(timedelta(days=7)) is Resolution.HOUR


def _news2(patient: str, at: datetime, total: int, band: str) -> News2Row:
    return News2Row(patient, at, total, band, False, (), True, 1, 1, 0, 0, 0, 1, 0, total - 2)


def test_ward_overview_latest_unflagged_vitals_and_news2(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO wards VALUES ('w1', 'Khoa Nội'), ('w2', 'Ward 2')")
    db.execute("INSERT INTO patients (id, display_name, ward_id, bed) VALUES"
               " ('P1', 'Trần Văn An', 'w1', '2'), ('P2', 'Lê Thị Bình', 'w1', '10'),"
               " ('P3', 'Phạm Minh', 'w1', '1'), ('P9', 'Elsewhere', 'w2', '1')")
    _p1_heart_rate(db)
    insert(db, [
        reading(T(10), 97, "spo2", unit="%"), reading(T(11, 10), 50, "spo2", unit="%", flags=("probe_off",)),
        reading(T(9, day=9), 120, patient="P2"),  # older than the 24 h lookback
        reading(T(11, 20), 110, patient="P2"),
        reading(T(11, 40), 130, patient="P2"),  # after "now"
        reading(T(11), 99, patient="P9"),
    ])
    with db.transaction():
        derived.write(db, [_news2("P1", T(10), 3, "low"), _news2("P1", T(11), 6, "medium")])
    beds = queries.ward_overview(db, "w1", now=T(11, 30))
    assert [(b.bed, b.patient_id, b.display_name) for b in beds] == [
        ("1", "P3", "Phạm Minh"), ("2", "P1", "Trần Văn An"), ("10", "P2", "Lê Thị Bình")]
    p3, p1, p2 = beds
    assert p3.vitals == () and p3.news2 is None
    assert [(v.type, v.value, v.unit, v.measured_at) for v in p1.vitals] == [
        ("heart_rate", 90, "/min", T(11)), ("spo2", 97, "%", T(10))]
    assert p1.news2 is not None and (p1.news2.scored_at, p1.news2.total, p1.news2.band) == (T(11), 6, "medium")
    assert dict(p1.news2.subscores)["temperature"] == 4
    assert [(v.type, v.value) for v in p2.vitals] == [("heart_rate", 110)] and p2.news2 is None


def test_news2_history(db: psycopg.Connection) -> None:
    with db.transaction():
        derived.write(db, [_news2("P1", T(10), 3, "low"), _news2("P1", T(11), 6, "medium"),
                           _news2("P2", T(10), 9, "high")])
    assert [(s.scored_at, s.total) for s in queries.news2_history(db, "P1", T(10), T(11))] == [(T(10), 3)]
    assert [(s.scored_at, s.total) for s in queries.news2_history(db, "P1", T(9), T(12))] == [
        (T(10), 3), (T(11), 6)]
