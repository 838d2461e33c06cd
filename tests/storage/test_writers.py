"""Idempotent writes: readings (COPY + ON CONFLICT) and derived rows."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from storage import derived, readings
from tests.storage.conftest import NOW, insert, reading
from wire.derived import (
    GlucoseDaily,
    GlucoseTrend,
    News2Score,
    ScoreBatch,
    WaveformHeartRate,
    WindowFeatures,
    WindowStats,
)
from wire.messages import WaveformKind
from wire.units import ReadingType


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


def test_plain_insert_marks_hours_for_refresh_only_for_new_rows(plain_db: psycopg.Connection) -> None:
    db = plain_db  # agg_pending is the plain backend's refresh queue
    insert(db, [reading(NOW + timedelta(minutes=5), 70), reading(NOW + timedelta(hours=1, minutes=1), 72)])
    db.execute("DELETE FROM agg_pending")
    insert(db, [reading(NOW + timedelta(minutes=5), 70)])  # a replay: nothing new, nothing to refresh
    assert db.execute("SELECT count(*) FROM agg_pending").fetchone() == (0,)
    insert(db, [reading(NOW + timedelta(minutes=7), 71, patient="P2")])
    assert db.execute("SELECT patient_id, type, hour FROM agg_pending").fetchall() == [("P2", "heart_rate", NOW)]


def test_derived_records_become_rows_once(db: psycopg.Connection) -> None:
    end = NOW + timedelta(minutes=1)
    features = WindowFeatures(patient_id="P1", late_total=0, duplicates_total=0, windows=(
        WindowStats(type=ReadingType.HEART_RATE, length_s=60, start=NOW, end=end, count=58, received=60, rejected=2,
                    rejected_by={"artifact": 2}, mean=71.5, median=71.0, min=65, max=80, std=3.2, slope_per_h=1.5,
                    coverage=0.97, quality=0.97),))
    news2 = News2Score(scored_at=NOW, total=3, resp_rate=3, spo2=None, air_or_oxygen=0, systolic_bp=0, pulse=0,
                       consciousness=0, temperature=None, red_flag=True, red_flag_parameters=("resp_rate",),
                       band="low-medium", monitoring_frequency="hourly", clinical_response=("urgent ward review",),
                       spo2_scale=1, complete=False, missing=("spo2",), stale=("temperature",),
                       inputs={"resp_rate": 25.0})
    daily = GlucoseDaily(period_start=NOW, period_end=NOW + timedelta(days=1), n_samples=280, expected_samples=288,
                         coverage_pct=97.2, mean_mg_dl=140, sd_mg_dl=30, cv_pct=21.4, gmi_pct=6.66, below_54_pct=0,
                         below_70_pct=1.1, in_70_180_pct=80.0, above_180_pct=18.9, above_250_pct=2.0)
    trend = GlucoseTrend(at=NOW, mg_dl=75, rate_mg_dl_min=-2.1, trend="falling", predicted_20_mg_dl=33,
                         predicted_30_mg_dl=12, predicted_low=True)
    hr = WaveformHeartRate(at=NOW, device_id="D1", waveform=WaveformKind.PPG, hr_bpm=None, reason="poor quality",
                           good_windows=1, windows=8)
    rows = derived.rows_from_features(features) + derived.rows_from_scores(
        ScoreBatch(patient_id="P1", scores=(news2, daily, trend, hr)))
    with db.transaction():
        assert derived.write(db, rows) == {"window_features": 1, "news2_scores": 1, "glucose_metrics": 1,
                                           "glucose_trends": 1, "waveform_hr": 1}
    with db.transaction():  # re-emitted after a worker restart
        assert set(derived.write(db, rows).values()) == {0}
    assert db.execute("SELECT count, rejected_by, slope_per_h FROM window_features").fetchall() == [
        (58, {"artifact": 2}, 1.5)]
    assert db.execute("SELECT total, spo2, red_flag_parameters, missing, stale, inputs FROM news2_scores").fetchall() == [
        (3, None, ["resp_rate"], ["spo2"], ["temperature"], {"resp_rate": 25.0})]
    assert db.execute("SELECT cv_pct FROM glucose_metrics").fetchall() == [(21.4,)]
    assert db.execute("SELECT trend, predicted_low FROM glucose_trends").fetchall() == [("falling", True)]
    assert db.execute("SELECT waveform, hr_bpm, reason FROM waveform_hr").fetchall() == [("ppg", None, "poor quality")]
