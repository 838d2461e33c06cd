"""The alarm lifecycle state machine: every transition, latching, pause expiry, re-announce, escalation timers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts import alarm_state_machine as sm
from alerts.alarm_model import Alarm, AlarmPolicy, AlarmState, EscalationStep, EventKind, StaffRole, TransitionError
from wire.messages import Priority

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
CHAIN = (EscalationStep(60, StaffRole.CHARGE_NURSE), EscalationStep(60, StaffRole.RAPID_RESPONSE))
LATCHING = AlarmPolicy(latching=True, reannounce_after_s=120, pause_max_s=120, escalation=CHAIN)
NON_LATCHING = AlarmPolicy(latching=False, reannounce_after_s=300, pause_max_s=120, escalation=())


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def raised(policy: AlarmPolicy = LATCHING, priority: Priority = Priority.HIGH) -> Alarm:
    alarm, ts = sm.raise_alarm("a1", "P1", "spo2_low", priority, T0, 84.0, 6.0, policy, "persisted")
    assert [t.kind for t in ts] == [EventKind.RAISED]
    assert ts[0].from_state is None and ts[0].to_state is AlarmState.ACTIVE and ts[0].actor == "system"
    return alarm


def test_raise_schedules_first_escalation_step() -> None:
    alarm = raised()
    assert alarm.state is AlarmState.ACTIVE and alarm.seq == 1
    assert alarm.escalation_due_at == s(60) and alarm.due_at == s(60)


def test_escalation_chain_steps_at_their_times_and_records_targets() -> None:
    alarm = raised()
    alarm, ts = sm.tick(alarm, s(59), LATCHING)
    assert ts == () and alarm.state is AlarmState.ACTIVE
    alarm, ts = sm.tick(alarm, s(60), LATCHING)
    assert [(t.kind, t.escalation_level, t.target) for t in ts] == [(EventKind.ESCALATED, 1, StaffRole.CHARGE_NURSE)]
    assert ts[0].from_state is AlarmState.ACTIVE and ts[0].to_state is AlarmState.ESCALATED and ts[0].seq == 2
    assert alarm.escalation_due_at == s(120)
    alarm, ts = sm.tick(alarm, s(121), LATCHING)
    assert [(t.escalation_level, t.target) for t in ts] == [(2, StaffRole.RAPID_RESPONSE)]
    assert alarm.due_at is None  # end of the chain
    alarm, ts = sm.tick(alarm, s(10_000), LATCHING)
    assert ts == ()


def test_overdue_timer_fires_every_missed_step_counting_from_due_times() -> None:
    # A service that was down for 5 minutes catches up: both steps, each recorded.
    alarm, ts = sm.tick(raised(), s(300), LATCHING)
    assert [t.escalation_level for t in ts] == [1, 2]
    assert all(t.at == s(300) for t in ts)


def test_acknowledge_stops_escalation_and_schedules_reannounce() -> None:
    alarm, _ = sm.tick(raised(), s(60), LATCHING)
    alarm, ts = sm.acknowledge(alarm, "nurse.lan", s(70), LATCHING, "at bedside")
    assert [(t.kind, t.actor, t.reason) for t in ts] == [(EventKind.ACKNOWLEDGED, "nurse.lan", "at bedside")]
    assert alarm.state is AlarmState.ACKNOWLEDGED and alarm.acknowledged_by == "nurse.lan"
    assert alarm.escalation_due_at is None and alarm.reannounce_at == s(190) and alarm.due_at == s(190)


def test_acknowledged_alarm_whose_condition_persists_is_reannounced_and_escalates_again() -> None:
    alarm, _ = sm.acknowledge(raised(), "nurse.lan", s(10), LATCHING)
    alarm, ts = sm.tick(alarm, s(129), LATCHING)
    assert ts == ()
    alarm, ts = sm.tick(alarm, s(130), LATCHING)
    assert [(t.kind, t.from_state, t.to_state, t.target) for t in ts] == [
        (EventKind.REANNOUNCED, AlarmState.ACKNOWLEDGED, AlarmState.ACTIVE, StaffRole.NURSE)]
    assert alarm.escalation_level == 0 and alarm.escalation_due_at == s(190)


def test_acknowledged_alarm_resolves_when_condition_clears() -> None:
    alarm, _ = sm.acknowledge(raised(), "nurse.lan", s(10), LATCHING)
    alarm, ts = sm.condition_cleared(alarm, s(40), LATCHING, "condition ended")
    assert [(t.kind, t.to_state) for t in ts] == [(EventKind.RESOLVED, AlarmState.RESOLVED)]
    assert alarm.resolved_at == s(40) and alarm.due_at is None


def test_high_priority_latches_until_acknowledged() -> None:
    alarm, ts = sm.condition_cleared(raised(), s(20), LATCHING, "condition ended")
    assert [t.kind for t in ts] == [EventKind.CONDITION_CLEARED]
    assert alarm.state is AlarmState.ACTIVE and not alarm.condition_present
    alarm, ts = sm.tick(alarm, s(60), LATCHING)  # a latched alarm still escalates
    assert [t.kind for t in ts] == [EventKind.ESCALATED]
    alarm, ts = sm.acknowledge(alarm, "nurse.lan", s(65), LATCHING)
    assert [(t.kind, t.to_state) for t in ts] == [
        (EventKind.ACKNOWLEDGED, AlarmState.ACKNOWLEDGED), (EventKind.RESOLVED, AlarmState.RESOLVED)]
    assert [t.seq for t in ts] == [4, 5] and alarm.state is AlarmState.RESOLVED


def test_latched_alarm_whose_condition_returns_is_updated_not_duplicated() -> None:
    alarm, _ = sm.condition_cleared(raised(), s(20), LATCHING, "condition ended")
    alarm, ts = sm.retrigger(alarm, s(30), 82.0, 8.0)
    assert [t.kind for t in ts] == [EventKind.CONDITION_RETURNED]
    assert alarm.condition_present and alarm.trigger_count == 2 and alarm.last_value == 82.0
    assert alarm.worst_severity == 8.0


def test_retrigger_while_present_updates_without_a_transition() -> None:
    alarm, ts = sm.retrigger(raised(), s(5), 85.0, 5.0)
    assert ts == () and alarm.trigger_count == 2 and alarm.seq == 1 and alarm.worst_severity == 6.0


def test_non_latching_alarm_resolves_when_condition_clears() -> None:
    alarm = raised(NON_LATCHING, Priority.MEDIUM)
    alarm, ts = sm.condition_cleared(alarm, s(20), NON_LATCHING, "condition ended")
    assert [(t.kind, t.from_state, t.to_state) for t in ts] == [
        (EventKind.RESOLVED, AlarmState.ACTIVE, AlarmState.RESOLVED)]


def test_pause_is_time_limited_and_capped() -> None:
    alarm, ts = sm.pause(raised(), "nurse.lan", s(5), 600, LATCHING)
    assert alarm.state is AlarmState.PAUSED and alarm.paused_until == s(125)
    assert "maximum 120" in ts[0].reason and ts[0].actor == "nurse.lan"
    assert alarm.escalation_due_at is None  # escalation waits while someone attends
    alarm, ts = sm.tick(alarm, s(124), LATCHING)
    assert ts == ()
    alarm, ts = sm.tick(alarm, s(125), LATCHING)
    assert [(t.kind, t.to_state) for t in ts] == [(EventKind.UNPAUSED, AlarmState.ACTIVE)]
    assert alarm.escalation_due_at == s(185)


def test_pause_expiry_returns_escalated_alarm_to_escalated() -> None:
    alarm, _ = sm.tick(raised(), s(60), LATCHING)
    alarm, _ = sm.pause(alarm, "nurse.lan", s(61), 30, LATCHING)
    alarm, ts = sm.tick(alarm, s(91), LATCHING)
    assert [(t.kind, t.to_state) for t in ts] == [(EventKind.UNPAUSED, AlarmState.ESCALATED)]
    assert alarm.escalation_due_at == s(151)  # the next step (rapid response) counts from the pause's end


def test_condition_clearing_during_pause() -> None:
    latched, _ = sm.pause(raised(), "n", s(1), 60, LATCHING)
    latched, ts = sm.condition_cleared(latched, s(10), LATCHING, "condition ended")
    assert latched.state is AlarmState.PAUSED and [t.kind for t in ts] == [EventKind.CONDITION_CLEARED]
    latched, ts = sm.tick(latched, s(61), LATCHING)
    assert [t.kind for t in ts] == [EventKind.UNPAUSED] and "latched" in ts[0].reason
    plain, _ = sm.pause(raised(NON_LATCHING, Priority.MEDIUM), "n", s(1), 60, NON_LATCHING)
    plain, ts = sm.condition_cleared(plain, s(10), NON_LATCHING, "condition ended")
    assert plain.state is AlarmState.RESOLVED and plain.due_at is None


def test_user_actions_the_state_forbids_are_refused() -> None:
    acked, _ = sm.acknowledge(raised(), "n", s(1), LATCHING)
    with pytest.raises(TransitionError):
        sm.acknowledge(acked, "n", s(2), LATCHING)
    with pytest.raises(TransitionError):
        sm.pause(acked, "n", s(2), 60, LATCHING)
    with pytest.raises(TransitionError):
        sm.pause(raised(), "n", s(2), 0, LATCHING)
    resolved, _ = sm.condition_cleared(acked, s(3), LATCHING, "ended")
    with pytest.raises(TransitionError):
        sm.acknowledge(resolved, "n", s(4), LATCHING)
    # System events on a resolved alarm change nothing.
    assert sm.condition_cleared(resolved, s(5), LATCHING, "x") == (resolved, ())
    assert sm.retrigger(resolved, s(5), 1.0, 1.0) == (resolved, ())
    assert sm.tick(resolved, s(9999), LATCHING) == (resolved, ())


def test_paused_alarm_can_be_acknowledged() -> None:
    alarm, _ = sm.pause(raised(), "n", s(1), 60, LATCHING)
    alarm, ts = sm.acknowledge(alarm, "n2", s(20), LATCHING)
    assert alarm.state is AlarmState.ACKNOWLEDGED and alarm.paused_until is None
    assert ts[0].from_state is AlarmState.PAUSED


def test_sequence_numbers_name_each_transition_once() -> None:
    alarm = raised()
    seqs = [1]
    for step in (lambda a: sm.tick(a, s(60), LATCHING), lambda a: sm.pause(a, "n", s(61), 30, LATCHING),
                 lambda a: sm.tick(a, s(91), LATCHING), lambda a: sm.acknowledge(a, "n", s(95), LATCHING)):
        alarm, ts = step(alarm)
        seqs += [t.seq for t in ts]
    assert seqs == [1, 2, 3, 4, 5] and alarm.seq == 5


def test_acknowledging_an_alarm_that_just_ended_records_it_and_a_second_ack_is_refused() -> None:
    # The nurse pressed "acknowledge" on a screen that showed the alarm; it ended on its own meanwhile.
    alarm, _ = sm.condition_cleared(raised(NON_LATCHING, Priority.MEDIUM), s(10), NON_LATCHING, "condition ended")
    assert alarm.state is AlarmState.RESOLVED
    alarm, ts = sm.acknowledge(alarm, "lan", s(11), NON_LATCHING, "checked")
    assert [(t.kind, t.from_state, t.to_state, t.actor, t.reason) for t in ts] == [
        (EventKind.ACKNOWLEDGED, AlarmState.RESOLVED, AlarmState.RESOLVED, "lan", "checked")]
    assert alarm.state is AlarmState.RESOLVED and alarm.acknowledged_by == "lan"
    with pytest.raises(TransitionError):
        sm.acknowledge(alarm, "mai", s(12), NON_LATCHING)


def test_acknowledged_alarm_sounds_again_only_when_it_worsens() -> None:
    policy = AlarmPolicy(latching=True, reannounce_after_s=None, pause_max_s=120, escalation=CHAIN)
    alarm, _ = sm.acknowledge(raised(policy), "lan", s(5), policy)  # severity 6 at acknowledgement
    for t in range(10, 3600, 300):
        alarm, ts = sm.retrigger(alarm, s(t), 80.0, 11.0, policy)  # deeper, but less than twice
        assert ts == () and alarm.state is AlarmState.ACKNOWLEDGED and alarm.due_at is None
        alarm, ts = sm.tick(alarm, s(t + 1), policy)
        assert ts == ()
    alarm, ts = sm.retrigger(alarm, s(3700), 78.0, 12.0, policy)
    assert [(t.kind, t.to_state, t.target) for t in ts] == [(EventKind.REANNOUNCED, AlarmState.ACTIVE, StaffRole.NURSE)]
    assert alarm.escalation_due_at == s(3760)  # the chain starts over


def test_copies_are_validated() -> None:
    with pytest.raises(ValueError):
        sm.evolve(raised(), state="sounding-ish")
