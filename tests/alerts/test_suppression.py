"""False-alarm suppression: severity-weighted delay, hysteresis, dedup, artifacts, signal loss, limit overrides."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts import device_status, engine
from alerts.alarm_model import AlarmState, EventKind
from alerts.engine import Context
from alerts.routing import PatientPlace
from alerts.suppression import (
    ConditionState,
    Evaluation,
    Phase,
    Signal,
    is_artifact,
    loss_gates,
    source_of,
    step,
    tick,
)
from alerts.suppression_policy import DEFAULTS, DEVICE_RULES, SIGNAL_LOSS_RULES, PolicyOverride, policy_for
from wire.messages import AlertCandidate, CandidateQuality, DeviceKind, DeviceState, DeviceStatus, Priority
from wire.rules import Rule

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
# The mechanism with a 15 s delay (the default delay is the streams' onset delay, wire.rules),
# area 100 %*s, immediate at 10 points below.
SPO2 = replace(DEFAULTS[Rule.SPO2_LOW], delay_s=15.0)
CTX = Context(place=PatientPlace("P1", "w1", "03"))


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ev(at: float, firing: bool = True, severity: float = 2.0, *, rule: str = "spo2_low", width: float = 0.0,
       value: float | None = 88.0, artifact: bool = False, device: str | None = "mon-1") -> Evaluation:
    return Evaluation(
        candidate_id=f"c{at}", patient_id="P1", rule=rule, firing=firing, severity=severity if firing else 0.0,
        priority=Priority.HIGH, value=value, threshold=90.0, window_start=s(at - width), window_end=s(at),
        artifact=artifact, device_id=device,
    )


def run(evals: list[Evaluation], policy=SPO2, state: ConditionState | None = None, signal_lost: bool = False):
    st = state or ConditionState(patient_id="P1", rule="spo2_low")
    sigs = []
    for e in evals:
        st, sig = step(st, e, policy, signal_lost)
        sigs.append(sig)
    return st, sigs


def test_shallow_excursion_alarms_only_after_the_delay() -> None:
    st, sigs = run([ev(t, severity=1.0) for t in range(0, 16)])
    assert sigs[:15] == [Signal.PENDING] * 15 and sigs[15] is Signal.ONSET
    assert st.phase is Phase.PRESENT and st.pending_candidate == "c0"


def test_deeper_excursion_alarms_sooner_by_area() -> None:
    # 8 points below: 8 %*s per second reaches 100 %*s after 13 s (SatSeconds), before the 15 s delay.
    _, sigs = run([ev(t, severity=8.0) for t in range(0, 16)])
    assert sigs.index(Signal.ONSET) == 13


def test_very_deep_excursion_alarms_at_once() -> None:
    _, sigs = run([ev(0, severity=12.0)])
    assert sigs == [Signal.ONSET]


def test_short_excursion_is_dismissed_without_an_alarm() -> None:
    st, sigs = run([ev(t, severity=1.0) for t in range(0, 8)] + [ev(8, firing=False)])
    assert Signal.ONSET not in sigs and sigs[-1] is Signal.DISMISSED and st.phase is Phase.IDLE


def test_windowed_evaluation_counts_its_whole_window() -> None:
    # The 1-minute heart-rate window worker: one firing candidate covering 60 s meets a 20 s delay.
    st, sigs = run([ev(60, rule="heart_rate_high", width=60, severity=10.0, value=140.0)],
                   policy=DEFAULTS[Rule.HEART_RATE_HIGH], state=ConditionState(patient_id="P1", rule="heart_rate_high"))
    assert sigs == [Signal.ONSET]


def test_clearing_needs_consecutive_clear_evaluations() -> None:
    st, _ = run([ev(0, severity=12.0)])
    st, sigs = run([ev(1, firing=False), ev(2, firing=False), ev(3), ev(4, firing=False), ev(5, firing=False)],
                   state=st)
    assert sigs == [Signal.CLEARING, Signal.CLEARING, Signal.PERSISTS, Signal.CLEARING, Signal.CLEARING]
    st, sigs = run([ev(6, firing=False)], state=st)
    assert sigs == [Signal.CLEARED] and st.phase is Phase.IDLE


def test_clear_hold_and_staleness_end_a_condition_on_the_timer() -> None:
    st, _ = run([ev(0, severity=12.0), ev(1, firing=False)])
    assert tick(st, s(150), SPO2)[1] is Signal.NONE
    assert tick(st, s(151), SPO2)[1] is Signal.CLEARED  # clear_hold_s = 150 after the first clear
    st, _ = run([ev(0, severity=12.0)])
    assert st.next_due(SPO2) == s(180)
    assert tick(st, s(180), SPO2)[1] is Signal.CLEARED  # never said clear: stale after 180 s


def test_abandoned_pending_excursion_is_dismissed_by_the_timer() -> None:
    st, _ = run([ev(0, severity=1.0)])
    assert tick(st, s(119), SPO2)[1] is Signal.NONE
    assert tick(st, s(121), SPO2)[1] is Signal.DISMISSED


def test_replayed_and_out_of_order_evaluations_are_ignored() -> None:
    st, _ = run([ev(0, severity=1.0), ev(5, severity=1.0)])
    st2, sigs = run([ev(5, severity=1.0), ev(3, severity=1.0)], state=st)
    assert sigs == [Signal.STALE, Signal.STALE] and st2 == st


def test_artifact_flagged_evaluations_neither_start_nor_end_an_excursion() -> None:
    st, sigs = run([ev(t, severity=5.0, artifact=True) for t in range(0, 60)])
    assert set(sigs) == {Signal.HELD_ARTIFACT} and st.phase is Phase.IDLE
    # Artifacts inside a real excursion do not add severity x time either.
    held = [ev(t, severity=50.0, artifact=True) for t in range(1, 5)]
    st, sigs = run([ev(0, severity=5.0), *held, ev(5, severity=5.0)])
    assert Signal.ONSET not in sigs and st.area == 5.0 * 1  # only the last second counts (4 s held)


def test_no_threshold_alarm_during_signal_loss_but_technical_alarms_still_fire() -> None:
    st, sigs = run([ev(t, severity=12.0) for t in range(0, 30)], signal_lost=True)
    assert set(sigs) == {Signal.HELD_SIGNAL_LOSS}
    sl = ConditionState(patient_id="P1", rule="signal_loss", source="mon-1")
    _, sigs = run([ev(0, rule="signal_loss", value=None)], policy=DEFAULTS[Rule.SIGNAL_LOSS], state=sl,
                  signal_lost=True)
    assert sigs == [Signal.ONSET]


def test_artifact_detection_from_candidate_quality() -> None:
    assert is_artifact(CandidateQuality(artifact=True), 0.5)
    assert is_artifact(CandidateQuality(samples=10, rejected=10), 0.5)
    assert not is_artifact(CandidateQuality(samples=50, rejected=2), 0.5)
    assert not is_artifact(CandidateQuality(samples=3), 0.5)


def test_candidates_written_before_quality_existed_keep_their_quality() -> None:
    old = {"id": "x", "patient_id": "P1", "rule": "signal_loss", "priority": "medium", "message": "m",
           "window_start": s(0).isoformat(), "window_end": s(0).isoformat(), "detected_at": s(0).isoformat(),
           "evidence": {"samples": 2, "flagged_samples": 58, "device_kind": "cgm"}}
    q = AlertCandidate.model_validate_json(json.dumps(old)).quality
    assert (q.samples, q.rejected, q.device_kind, q.artifact) == (2, 58, DeviceKind.CGM, False)
    with pytest.raises(ValueError):
        CandidateQuality(samples=-1)


def test_repeated_triggers_update_one_alarm_through_the_engine() -> None:
    cond, alarm, raised, events = None, None, 0, []
    for t in range(0, 120, 5):
        out = engine.on_evaluation(cond, alarm, ev(t, severity=12.0), CTX, s(t))
        cond, alarm = out.condition, out.alarm
        raised += out.new_alarm
        events += [x.kind for x in out.transitions]
    assert raised == 1 and events == [EventKind.RAISED]
    assert alarm is not None and alarm.trigger_count == 24 and alarm.id == "c0"


def test_per_patient_limit_override_turns_firing_into_clear_within_the_new_limit() -> None:
    ctx = Context(place=CTX.place, limits={"spo2_low": 85.0})  # COPD patient: clinician set 85 %
    out = engine.on_evaluation(None, None, ev(0, severity=12.0, value=88.0), ctx, s(0))
    assert out.signal is Signal.NONE and not out.new_alarm
    out = engine.on_evaluation(None, None, ev(0, severity=2.0, value=80.0), ctx, s(0))
    assert out.signal is Signal.PENDING  # 5 points below the patient's limit: not deep enough for no delay
    out = engine.on_evaluation(None, None, ev(0, severity=2.0, value=74.0), ctx, s(0))
    assert out.new_alarm and out.onset is not None and out.onset.threshold == 85.0
    assert out.onset.severity == 11.0  # re-measured against the patient's limit, not the stream's


def test_ward_override_changes_the_delay() -> None:
    slow = policy_for("spo2_low", PolicyOverride(delay_s=30.0, area=1000.0))
    assert slow.delay_s == 30.0 and slow.immediate_severity == SPO2.immediate_severity
    _, sigs = run([ev(t, severity=1.0) for t in range(0, 31)], policy=slow)
    assert sigs.index(Signal.ONSET) == 30


def test_device_offline_is_edge_triggered_with_its_delay() -> None:
    off = DeviceStatus(device_id="mon-1", state=DeviceState.OFFLINE)
    evs = device_status.evaluations(off, "P1", s(0))
    out = engine.on_evaluation(None, None, evs[0], CTX, s(0))
    assert out.signal is Signal.PENDING and out.condition is not None and out.condition.source == "mon-1"
    assert engine.on_condition_tick(out.condition, None, CTX, s(59)).signal is Signal.NONE
    late = engine.on_condition_tick(out.condition, None, CTX, s(60))
    assert late.new_alarm and late.alarm is not None and late.alarm.rule == "device_offline"
    assert late.alarm.priority is Priority.MEDIUM and late.alarm.source == "mon-1"
    back = device_status.evaluations(DeviceStatus(device_id="mon-1", state=DeviceState.ONLINE, at=s(90)), "P1", s(90))
    out2 = engine.on_evaluation(late.condition, late.alarm, back[0], CTX, s(90))
    assert out2.signal is Signal.CLEARED and out2.alarm is not None and out2.alarm.state is AlarmState.RESOLVED


def test_brief_disconnection_is_not_an_alarm() -> None:
    off = device_status.evaluations(DeviceStatus(device_id="mon-1", state=DeviceState.OFFLINE), "P1", s(0))[0]
    on = device_status.evaluations(DeviceStatus(device_id="mon-1", state=DeviceState.ONLINE, at=s(20)), "P1", s(20))[0]
    out = engine.on_evaluation(None, None, off, CTX, s(0))
    out = engine.on_evaluation(out.condition, None, on, CTX, s(20))
    assert out.signal is Signal.DISMISSED and out.alarm is None


def test_low_battery_with_hysteresis_band() -> None:
    def battery(pct: float, at: float) -> list[str]:
        st = DeviceStatus(device_id="w-1", state=DeviceState.ONLINE, at=s(at), battery_pct=pct)
        return [f"{e.rule}:{'firing' if e.firing else 'clear'}" for e in device_status.evaluations(st, "P1", s(at))]

    assert battery(15, 0) == ["device_offline:clear", "low_battery:firing"]
    assert battery(22, 1) == ["device_offline:clear"]  # inside the band: no news
    assert battery(25, 2) == ["device_offline:clear", "low_battery:clear"]


def test_candidate_from_the_wire_becomes_an_evaluation() -> None:
    c = AlertCandidate(
        id="x", patient_id="P1", rule="heart_rate_high", priority=Priority.HIGH, value=140.0, threshold=130.0,
        severity=10.0, window_start=s(0), window_end=s(60), detected_at=s(61), message="hr",
        quality=CandidateQuality(samples=2, rejected=58),
    )
    e = Evaluation.from_candidate(c)
    assert e.firing and e.artifact and e.severity == 10.0 and e.window_end == s(60)


def test_safety_net_alarms_on_repeated_short_excursions_only() -> None:
    # A value hovering at its limit: three 5 s dips within a minute alarm (SatSeconds "safety net")...
    hovering = [ev(0, severity=1.0), ev(5, firing=False), ev(20, severity=1.0), ev(25, firing=False),
                ev(40, severity=1.0)]
    _, sigs = run(hovering)
    assert sigs == [Signal.PENDING, Signal.DISMISSED, Signal.PENDING, Signal.DISMISSED, Signal.ONSET]
    # ...the same dips spread over three minutes do not.
    spread = [ev(0, severity=1.0), ev(5, firing=False), ev(70, severity=1.0), ev(75, firing=False),
              ev(140, severity=1.0), ev(145, firing=False)]
    _, sigs = run(spread)
    assert Signal.ONSET not in sigs


def test_no_pulse_alarms_on_its_first_candidate_and_is_not_held_by_another_devices_signal_loss() -> None:
    # The streams send the first no_pulse candidate with its window spanning last pulse .. detection
    # (10 s, wire.rules): the service's delay is the same and met on arrival, so nothing adds to it.
    policy = DEFAULTS[Rule.NO_PULSE]
    assert policy.delay_s == 10 and not policy.artifact_gated
    for lost in (False, True):  # True: e.g. the patient's home wearable is in signal loss
        st = ConditionState(patient_id="P1", rule="no_pulse")
        _, sigs = run([ev(20, rule="no_pulse", width=10.0, value=10.0)], policy=policy, state=st, signal_lost=lost)
        assert sigs == [Signal.ONSET], lost


def test_silent_bedside_monitor_is_a_device_level_technical_alarm_without_a_second_delay() -> None:
    policy = DEFAULTS[Rule.MONITOR_NO_SIGNAL]
    assert policy.delay_s == 0 and not policy.artifact_gated
    st = ConditionState(patient_id="P1", rule="monitor_no_signal", source="bm-1")
    _, sigs = run([ev(0, rule="monitor_no_signal", value=None)], policy=policy, state=st)
    assert sigs == [Signal.ONSET]
    # Tracked per device, and while it holds the monitor's threshold alarms are held, as for any signal loss.
    assert Rule.MONITOR_NO_SIGNAL in DEVICE_RULES and Rule.MONITOR_NO_SIGNAL in SIGNAL_LOSS_RULES
    assert source_of("monitor_no_signal", "bm-1", CandidateQuality()) == "bm-1"
    assert loss_gates("bm-1", ev(5, device="bm-1")) and not loss_gates("bm-1", ev(5, device="wp-1"))
