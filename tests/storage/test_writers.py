"""Idempotent writes: readings (COPY + ON CONFLICT) and derived rows."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from storage import derived, readings
from storage.derived import GlucoseMetricsRow, News2Row, WindowFeatureRow
from tests.storage.conftest import NOW, insert, reading


def test_replayed_and_repeated_readings_add_no_rows(db: psycopg.Connection) -> None:
    rows = [reading(NOW + timedelta(seconds=i), 70 + i) for i in range(5)]
    assert insert(db, rows) == 5
    assert insert(db, rows) == 0
    # The same reading twice in one batch, plus one new: one row added.
    again = [rows[0], rows[0], reading(NOW + timedelta(seconds=9), 99)]
    assert insert(db, again) == 1
    assert db.execute("SELECT count(*) FROM readings").fetchone() == (6,)
    # A second device measuring the same patient at the same instant is a different reading.
    assert insert(db, [reading(NOW, 71, device="D2")]) == 1


def test_write_refuses_to_run_outside_a_transaction(db: psycopg.Connection) -> None:
    with pytest.raises(RuntimeError, match="inside the caller's transaction"):
        readings.write(db, [reading(NOW, 70)])
    assert db.execute("SELECT count(*) FROM readings").fetchone() == (0,)


def test_insert_marks_hours_for_refresh_only_for_new_rows(db: psycopg.Connection) -> None:
    insert(db, [reading(NOW + timedelta(minutes=5), 70), reading(NOW + timedelta(hours=1, minutes=1), 72)])
    db.execute("DELETE FROM agg_pending")
    insert(db, [reading(NOW + timedelta(minutes=5), 70)])  # a replay: nothing new, nothing to refresh
    assert db.execute("SELECT count(*) FROM agg_pending").fetchone() == (0,)
    insert(db, [reading(NOW + timedelta(minutes=7), 71, patient="P2")])
    assert db.execute("SELECT patient_id, type, hour FROM agg_pending").fetchall() == [("P2", "heart_rate", NOW)]


def test_derived_rows_are_idempotent(db: psycopg.Connection) -> None:
    score = News2Row("P1", NOW, 5, "medium", False, True, 1, 1, 0, 2, 0, 1, 0, 1)
    incomplete = News2Row("P1", NOW + timedelta(minutes=5), 3, "low-medium", True, False, 1,
                          3, None, 0, 0, 0, 0, None, ("spo2", "temperature"))
    with db.transaction():
        assert derived.write(db, [score, incomplete]) == 2
    with db.transaction():
        assert derived.write(db, [score]) == 0
    assert db.execute("SELECT total, spo2, not_scored FROM news2_scores ORDER BY scored_at").fetchall() == [
        (5, 0, []), (3, None, ["spo2", "temperature"])]
    feature = WindowFeatureRow("P1", "heart_rate", NOW, NOW + timedelta(minutes=1), 60, 2, 71.5, 71.0, 65, 80, 3.2)
    metrics = GlucoseMetricsRow("P1", NOW, NOW + timedelta(days=1), 280, 288, 97.2, 140, 30, 21.4, 6.66,
                                0, 1.1, 80.0, 18.9, 2.0)
    with db.transaction():
        assert derived.write(db, [feature]) == 1
        assert derived.write(db, [metrics]) == 1
        assert derived.write(db, [feature]) == 0
    assert db.execute("SELECT n, median FROM window_features").fetchall() == [(60, 71.0)]
    assert db.execute("SELECT cv_pct FROM glucose_metrics").fetchall() == [(21.4,)]
