"""CGM analytics tests. Expected numbers are worked out by hand in the comments."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from streams.glucose import (
    GlucoseSample,
    TrendArrow,
    glucose_metrics,
    mmol_l_to_mg_dl,
    predict_glucose,
    predicted_low,
    rate_of_change,
    trend_arrow,
)
from streams.glucose_episodes import (
    EpisodeDefinition,
    EpisodeKind,
    consensus_episodes,
    find_episodes,
)

T0 = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HYPO1 = EpisodeDefinition(kind=EpisodeKind.HYPO, level=1, threshold=70)
HYPER2 = EpisodeDefinition(kind=EpisodeKind.HYPER, level=2, threshold=250)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def trace(values: Sequence[float], step_min: float = 5, t0_min: float = 0) -> list[GlucoseSample]:
    return [GlucoseSample(at=at(t0_min + i * step_min), mg_dl=v) for i, v in enumerate(values)]


def timed(points: list[tuple[float, float]]) -> list[GlucoseSample]:
    return [GlucoseSample(at=at(t), mg_dl=v) for t, v in points]


# --- consensus metrics ------------------------------------------------------


def test_metrics_hand_computed_trace() -> None:
    vals = [50, 60, 70, 100, 180, 181, 250, 251, 300, 120]
    r = glucose_metrics(trace(vals))
    assert r.n_samples == 10
    # sum = 1562 -> mean 156.2
    assert r.mean_mg_dl == pytest.approx(156.2)
    # GMI = 3.31 + 0.02392 * 156.2 = 3.31 + 3.736304
    assert r.gmi_pct == pytest.approx(7.046304)
    # squared deviations from 156.2 sum to 72077.6 (by hand); sample SD divides by n-1 = 9
    assert r.sd_mg_dl == pytest.approx(math.sqrt(72077.6 / 9))
    assert r.sd_mg_dl == pytest.approx(89.4909, abs=1e-4)
    assert r.cv_pct == pytest.approx(89.4909 / 156.2 * 100, abs=1e-3)  # 57.29%
    assert r.below_54_pct == pytest.approx(10.0)  # 50
    assert r.below_70_pct == pytest.approx(20.0)  # 50, 60 (includes <54)
    assert r.in_70_180_pct == pytest.approx(40.0)  # 70, 100, 180, 120: both ends inclusive
    assert r.above_180_pct == pytest.approx(40.0)  # 181, 250, 251, 300 (includes >250)
    assert r.above_250_pct == pytest.approx(20.0)  # 251, 300; 250 is not > 250
    # 10 readings over [0, 50 min) at 5 min = 10 expected
    assert r.expected_samples == pytest.approx(10) and r.coverage_pct == pytest.approx(100.0)
    assert r.start == T0 and r.end == at(50)


def test_single_reading_has_no_cv() -> None:
    r = glucose_metrics(trace([110]))
    assert r.mean_mg_dl == 110 and r.sd_mg_dl is None and r.cv_pct is None
    assert r.coverage_pct == pytest.approx(100.0)


def test_coverage_explicit_period_excludes_outside_readings() -> None:
    samples = trace([100] * 6, step_min=5) + timed([(-5, 40), (60, 400)])
    r = glucose_metrics(samples, start=T0, end=at(60))
    # 6 readings in [0, 60) at 5-min interval: 6 / 12 expected = 50%
    assert r.n_samples == 6 and r.coverage_pct == pytest.approx(50.0)
    assert r.mean_mg_dl == 100 and r.below_54_pct == 0 and r.above_250_pct == 0


def test_coverage_with_gap_and_cap() -> None:
    r = glucose_metrics(timed([(0, 100), (5, 100), (10, 100), (60, 100), (65, 100)]))
    # period [0, 70) -> 14 expected, 5 present -> 35.714...%
    assert r.coverage_pct == pytest.approx(500 / 14)
    one_min = glucose_metrics(trace([100] * 10, step_min=1))
    assert one_min.coverage_pct == 100.0  # 10 / 2.8 expected, capped


def test_metrics_errors() -> None:
    with pytest.raises(ValueError):
        glucose_metrics([])
    with pytest.raises(ValueError):
        glucose_metrics(trace([100]), start=at(10), end=at(20))  # nothing in period
    with pytest.raises(ValueError):
        glucose_metrics(trace([100]), start=T0)  # only one bound
    with pytest.raises(ValueError):
        glucose_metrics(trace([100, 101]), interval=timedelta(0))


def test_duplicates() -> None:
    s = trace([100, 120])
    r = glucose_metrics([*s, s[1]])  # QoS-1 redelivery
    assert r.n_samples == 2 and r.mean_mg_dl == 110
    with pytest.raises(ValueError, match="conflicting"):
        glucose_metrics([*s, GlucoseSample(at=s[1].at, mg_dl=121)])


@pytest.mark.parametrize("bad", [0, -5, "-5", float("nan"), "nan", float("inf"), 2000, True])
def test_invalid_sample_values(bad: object) -> None:
    with pytest.raises(ValidationError):
        GlucoseSample(at=T0, mg_dl=bad)


def test_naive_time_rejected() -> None:
    with pytest.raises(ValidationError):
        GlucoseSample(at=datetime(2024, 1, 1), mg_dl=100)


# --- unit conversion --------------------------------------------------------


@pytest.mark.parametrize(
    "mmol,mg",
    [(3.0, 54), (2.9, 52), (3.9, 70), (3.8, 68), (10.0, 180), (10.1, 182), (13.9, 250),
     (14.0, 252), (5.5, 99)],
)  # fmt: skip
def test_mmol_conversion_rounded(mmol: float, mg: float) -> None:
    assert mmol_l_to_mg_dl(mmol) == mg


def test_mmol_conversion_unrounded_and_errors() -> None:
    assert mmol_l_to_mg_dl(10.0, round_to_integer=False) == pytest.approx(180.182)
    with pytest.raises(ValueError):
        mmol_l_to_mg_dl(-1)


def test_mmol_thresholds_classify_like_consensus_mmol_table() -> None:
    # Battelino 2019 in mmol/L: <3.0, <3.9, 3.9-10.0, >10.0, >13.9 at 0.1 resolution.
    for k in range(10, 331):
        mmol = k / 10
        mg = mmol_l_to_mg_dl(mmol)
        assert (mg < 54) == (k < 30), mmol
        assert (mg < 70) == (k < 39), mmol
        assert (70 <= mg <= 180) == (39 <= k <= 100), mmol
        assert (mg > 180) == (k > 100), mmol
        assert (mg > 250) == (k > 139), mmol


# --- rate of change and arrows ---------------------------------------------


@pytest.mark.parametrize(
    "rate,arrow",
    [
        (10, TrendArrow.RISING_RAPIDLY), (3.0, TrendArrow.RISING_RAPIDLY),
        (2.99, TrendArrow.RISING), (2.0, TrendArrow.RISING),
        (1.99, TrendArrow.RISING_SLOWLY), (1.0, TrendArrow.RISING_SLOWLY),
        (0.99, TrendArrow.STEADY), (0.0, TrendArrow.STEADY), (-0.99, TrendArrow.STEADY),
        (-1.0, TrendArrow.FALLING_SLOWLY), (-1.99, TrendArrow.FALLING_SLOWLY),
        (-2.0, TrendArrow.FALLING), (-2.99, TrendArrow.FALLING),
        (-3.0, TrendArrow.FALLING_RAPIDLY), (-10, TrendArrow.FALLING_RAPIDLY),
    ],
)  # fmt: skip
def test_trend_arrow_edges(rate: float, arrow: TrendArrow) -> None:
    assert trend_arrow(rate) is arrow


def test_rate_exact_one_is_rising_slowly_not_steady() -> None:
    s = trace([100, 105, 110, 115])  # +5 per 5 min
    rate = rate_of_change(s, at(15))
    assert rate == 1.0 and trend_arrow(rate) is TrendArrow.RISING_SLOWLY
    s = trace([100, 104.95, 109.9, 114.85])  # 0.99 /min
    rate = rate_of_change(s, at(15))
    assert rate == 0.99 and trend_arrow(rate) is TrendArrow.STEADY


def test_rate_hand_computed_least_squares() -> None:
    # x = 0,5,10,15 (mean 7.5); y = 100,110,115,130 (mean 113.75)
    # Sxy = 103.125 + 9.375 + 3.125 + 121.875 = 237.5; Sxx = 125 -> 1.9 mg/dL/min
    assert rate_of_change(trace([100, 110, 115, 130]), at(15)) == 1.9
    falling = rate_of_change(trace([200, 185, 170, 155]), at(15))
    assert falling == -3.0 and trend_arrow(falling) is TrendArrow.FALLING_RAPIDLY


def test_rate_uses_only_last_15_minutes_and_not_the_future() -> None:
    # readings at 0..30; at=30 uses 15, 20, 25, 30 only (flat), ignoring the early climb
    s = trace([40, 80, 120, 150, 150, 150, 150])
    assert rate_of_change(s, at(30)) == 0.0
    # readings after `at` are ignored: at=15 sees 0..15 only
    assert rate_of_change(s, at(15)) == pytest.approx(7.4)  # Sxy=925, Sxx=125


def test_rate_insufficient_data_is_none() -> None:
    assert rate_of_change(trace([100, 110]), at(5)) is None  # 2 readings
    assert rate_of_change(trace([100, 101, 102], step_min=2), at(4)) is None  # span 4 min
    # newest reading 6 min old: only 2 readings fall in [at-15, at]
    assert rate_of_change(trace([100, 105, 110, 115]), at(21)) is None
    with pytest.raises(ValueError):
        rate_of_change(trace([100, 105, 110]), datetime(2024, 3, 1, 0, 10))


# --- prediction -------------------------------------------------------------


def test_prediction_linear_trace() -> None:
    s = trace([100, 105, 110, 115, 120, 125, 130])  # +1/min, 0..30 min
    assert predict_glucose(s, at(30), timedelta(minutes=20)) == pytest.approx(150)
    assert predict_glucose(s, at(30), timedelta(minutes=30)) == pytest.approx(160)
    assert predicted_low(s, at(30)) is False


def test_predicted_low_falling() -> None:
    s = trace([136, 130, 124, 118, 112, 106, 100])  # -1.2/min, at 30 -> 100
    assert predict_glucose(s, at(30), timedelta(minutes=20)) == pytest.approx(76)
    assert predict_glucose(s, at(30), timedelta(minutes=30)) == pytest.approx(64)
    assert predicted_low(s, at(30)) is True
    # -1/min: reaches exactly 70 at +30, which is not below 70
    assert predicted_low(trace([130, 125, 120, 115, 110, 105, 100]), at(30)) is False
    assert predicted_low(trace([60] * 7), at(30)) is True  # already low


def test_prediction_insufficient_is_none_not_false() -> None:
    s = trace([100, 90, 80])  # 3 readings, span 10 min
    assert predict_glucose(s, at(10), timedelta(minutes=30)) is None
    assert predicted_low(s, at(10)) is None
    gap = trace([100, 90, 80, 70])  # newest 15 min before `at`
    assert predicted_low(gap, at(30)) is None
    with pytest.raises(ValueError):
        predict_glucose(s, at(10), timedelta(minutes=90))


# --- episodes ---------------------------------------------------------------


def test_hypo_exactly_15_minutes_is_an_episode() -> None:
    s = trace([100, 65, 65, 65, 100, 100, 100, 100])
    (e,) = find_episodes(s, HYPO1)
    assert (e.start, e.end, e.status) == (at(5), at(20), "ended")
    assert e.extreme_mg_dl == 65 and e.observed_duration == timedelta(minutes=15)


def test_hypo_14_minutes_is_not_an_episode() -> None:
    s = timed([(0, 100), (5, 65), (10, 65), (15, 65), (19, 100), (24, 100), (29, 100)])
    assert find_episodes(s, HYPO1) == ()
    # one-minute CGM: 15 readings below = 15 min, 14 readings = 14 min
    fifteen = trace([100] + [60] * 15 + [100] * 15, step_min=1)
    fourteen = trace([100] + [60] * 14 + [100] * 15, step_min=1)
    assert len(find_episodes(fifteen, HYPO1, interval=MIN)) == 1
    assert find_episodes(fourteen, HYPO1, interval=MIN) == ()


def test_jittered_timestamps_still_count_as_15_minutes() -> None:
    s = [
        GlucoseSample(at=T0, mg_dl=60),
        GlucoseSample(at=T0 + timedelta(minutes=4, seconds=58), mg_dl=58),
        GlucoseSample(at=T0 + timedelta(minutes=9, seconds=57), mg_dl=61),
        GlucoseSample(at=T0 + timedelta(minutes=14, seconds=57), mg_dl=90),
    ]
    (e,) = find_episodes(s, HYPO1)
    assert e.extreme_mg_dl == 58 and e.status == "ongoing"  # recovery only 5 min long


def test_episode_ends_only_after_15_minutes_back_in_range() -> None:
    # low 0-15, in range 20-25 (10 min), low 30-40, in range from 45 for 15 min
    merged = trace([60, 60, 60, 60, 100, 100, 60, 60, 60, 100, 100, 100])
    (e,) = find_episodes(merged, HYPO1)  # 10-min return to range does not end it
    assert (e.start, e.end, e.extreme_mg_dl) == (at(0), at(45), 60)
    split = trace([60, 60, 60, 60, 100, 100, 100, 60, 60, 60, 100, 100, 100])
    first, second = find_episodes(split, HYPO1)
    assert (first.start, first.end) == (at(0), at(20))
    assert (second.start, second.end) == (at(35), at(50))


def test_trailing_run_counts_one_interval_and_is_ongoing() -> None:
    (e,) = find_episodes(trace([100, 60, 55, 50]), HYPO1)  # 5,10,15 + 5 = 15 min
    assert e.status == "ongoing" and e.end is None and e.last_observed == at(15)
    assert e.extreme_mg_dl == 50 and e.extreme_at == at(15)


def test_gaps_are_not_bridged() -> None:
    # 10 min low, 60-min gap, 10 min low: no 15 consecutive observed minutes
    s = timed([(0, 60), (5, 60), (65, 60), (70, 60)])
    assert find_episodes(s, HYPO1) == ()
    # an episode interrupted by a gap
    s = trace([60, 60, 60, 60]) + timed([(60, 100), (65, 100), (70, 100)])
    (e,) = find_episodes(s, HYPO1)
    assert e.status == "interrupted_by_gap" and e.end is None and e.last_observed == at(15)
    # a single missed reading (10-min spacing) is tolerated by the default max_gap
    s = timed([(0, 60), (10, 60), (15, 100), (20, 100), (25, 100)])
    (e,) = find_episodes(s, HYPO1)
    assert (e.start, e.end) == (at(0), at(15))
    assert find_episodes(s, HYPO1, max_gap=timedelta(minutes=7)) == ()


def test_hyper_level2_threshold_is_strict() -> None:
    assert find_episodes(trace([250, 250, 250, 250]), HYPER2) == ()
    (e,) = find_episodes(trace([251, 260, 255, 240, 240, 240]), HYPER2)
    assert e.extreme_mg_dl == 260 and e.end == at(15)


def test_consensus_episodes_all_levels() -> None:
    vals = [100, 65, 60, 50, 52, 53, 80, 65, 90, 95, 100, 100, 200, 260, 270, 255, 190, 150]
    eps = consensus_episodes(trace(vals))
    summary = [(e.kind.value, e.level, e.start, e.end, e.status, e.extreme_mg_dl) for e in eps]
    assert summary == [
        ("hypo", 1, at(5), at(40), "ended", 50),  # 65@35 is inside: 5-min return at 30
        ("hypo", 2, at(15), at(30), "ended", 50),
        ("hyper", 1, at(60), None, "ongoing", 270),  # 150@85 is only 5 min back in range
        ("hyper", 2, at(65), None, "ongoing", 270),
    ]
    assert consensus_episodes([]) == ()


def test_recovering_dip_is_not_predicted_low() -> None:
    # 0..30 min: fell to 58 at 15 min, recovering since. The 20-min fit sees
    # 62, 58, 72, 88, 100 (slope +2.12/min); a 30-min fit through the whole V
    # would have sloped down (-0.28/min) and predicted 69.5 at +30 min.
    s = trace([110, 85, 62, 58, 72, 88, 100])
    assert predicted_low(s, at(30)) is False
    # mean 76 at x=20; fit(30) = 76 + 2.12*10 = 97.2; +30 min: 97.2 + 63.6 = 160.8
    assert predict_glucose(s, at(30), timedelta(minutes=30)) == pytest.approx(160.8)


def _run_length_oracle(low: list[bool]) -> list[tuple[int, int | None]]:
    """Consensus rule for regular 5-min data, by counting readings (3 = 15 min)."""
    found: list[tuple[int, int | None]] = []
    start: int | None = None
    i = 0
    while i < len(low):
        j = i
        while j < len(low) and low[j] == low[i]:
            j += 1
        if low[i] and start is None and j - i >= 3:
            start = i
        elif not low[i] and start is not None and j - i >= 3:
            found.append((start, i))
            start = None
        i = j
    if start is not None:
        found.append((start, None))
    return found


def test_episodes_match_run_length_oracle_on_random_regular_traces() -> None:
    import numpy as np

    rng = np.random.default_rng(42)
    checked = 0
    for _ in range(300):
        # sticky random walk between low and normal so runs of all lengths occur
        low = [bool(rng.random() < 0.5)]
        for _ in range(int(rng.integers(1, 60)) - 1):
            low.append(low[-1] if rng.random() < 0.7 else not low[-1])
        eps = find_episodes(trace([60 if b else 100 for b in low]), HYPO1)
        got = [(e.start, e.end) for e in eps]
        want = [(at(5 * s), None if e is None else at(5 * e)) for s, e in _run_length_oracle(low)]
        assert got == want, low
        checked += len(want)
    assert checked > 100  # the generator really produces episodes
