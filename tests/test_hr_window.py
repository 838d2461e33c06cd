"""The 1-minute heart-rate window core, with explicit event and wall times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams import hr_window as hw
from wire.messages import AlertCandidate, QualityFlag, Reading
from wire.units import ReadingType

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
LIM = hw.HrLimits(high=130, low=40, allowed_lateness=timedelta(seconds=10), min_samples=3)


def hr(sec: float, v: float, *flags: QualityFlag) -> Reading:
    return Reading(type=ReadingType.HEART_RATE, t=T0 + timedelta(seconds=sec), value=v, flags=flags)


def test_window_stats_and_close_on_event_time() -> None:
    s = hw.add(hw.HrState(), [hr(0, 100), hr(20, 140), hr(59.9, 150), hr(60, 70)])
    s, closed = hw.close_due(s, T0 + timedelta(seconds=69.9), LIM)
    assert closed == []
    s, closed = hw.close_due(s, T0 + timedelta(seconds=70), LIM)
    assert [(c.start, c.acc.count, c.acc.minimum, c.acc.maximum) for c in closed] == [(T0, 3, 100, 150)]
    assert closed[0].mean == 130.0
    assert list(s.open) == [hw.window_start_ms(T0 + timedelta(minutes=1))]


def test_exactly_at_limit_does_not_alarm_above_does() -> None:
    at = hw.close_due(hw.add(hw.HrState(), [hr(i, 130) for i in range(5)]), T0 + timedelta(minutes=5), LIM)[1]
    assert hw.candidates("P1", at, LIM, T0) == []
    above = hw.close_due(hw.add(hw.HrState(), [hr(i, 130.5) for i in range(5)]), T0 + timedelta(minutes=5), LIM)[1]
    (c,) = hw.candidates("P1", above, LIM, T0)
    assert (c.rule, c.value, c.threshold, c.window_start) == ("heart_rate_high", 130.5, 130, T0)
    assert c.id == AlertCandidate.make_id("P1", "heart_rate_high", T0)


def test_low_heart_rate() -> None:
    closed = hw.close_due(hw.add(hw.HrState(), [hr(i, 35) for i in range(5)]), T0 + timedelta(minutes=5), LIM)[1]
    assert [c.rule for c in hw.candidates("P1", closed, LIM, T0)] == ["heart_rate_low"]


def test_flagged_samples_counted_never_averaged() -> None:
    s = hw.add(hw.HrState(), [hr(1, 80), hr(2, 82), hr(3, 81), hr(4, 250, QualityFlag.MOTION), hr(5, 0 + 30, QualityFlag.PROBE_OFF)])
    (w,) = hw.close_due(s, T0 + timedelta(minutes=2), LIM)[1]
    assert (w.acc.count, w.acc.flagged, w.mean) == (3, 2, 81.0)
    assert hw.candidates("P1", [w], LIM, T0) == []


def test_too_few_samples_raise_nothing() -> None:
    closed = hw.close_due(hw.add(hw.HrState(), [hr(0, 150), hr(1, 150)]), T0 + timedelta(minutes=2), LIM)[1]
    assert hw.candidates("P1", closed, LIM, T0) == []


def test_out_of_order_lands_in_its_window_and_late_is_counted_not_reopened() -> None:
    s = hw.add(hw.HrState(), [hr(65, 90), hr(5, 100)])  # out of order, both windows still open
    assert sorted(a.count for a in s.open.values()) == [1, 1]
    s, closed = hw.close_due(s, T0 + timedelta(seconds=71), LIM)
    assert [c.start for c in closed] == [T0]
    s = hw.add(s, [hr(30, 200)])  # minute 0 is closed: counted as late, not reopened
    assert s.late_dropped == 1
    assert hw.window_start_ms(T0) not in s.open


def test_wall_clock_closes_window_of_a_silent_sensor() -> None:
    s = hw.add(hw.HrState(), [hr(i, 140) for i in range(10)])
    # No later reading ever arrives; the timer passes wall time as the watermark.
    s, closed = hw.close_due(s, T0 + timedelta(seconds=75), LIM)
    assert len(closed) == 1 and s.open == {}


def test_other_vitals_are_ignored() -> None:
    r = Reading(type=ReadingType.SPO2, t=T0, value=90)
    assert hw.add(hw.HrState(), [r]).open == {}


def test_state_round_trips_through_json() -> None:
    s = hw.add(hw.HrState(), [hr(1, 80), hr(61, 90)])
    assert hw.HrState.model_validate_json(s.model_dump_json()) == s
