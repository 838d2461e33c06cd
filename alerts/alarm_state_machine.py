"""The alarm lifecycle as a pure state machine: explicit time and state in, new state and transitions out.

After IEC 60601-1-8 (alarm systems for medical electrical equipment):

- priorities high / medium / low (``wire.messages.Priority``);
- a *latching* alarm (high priority here) keeps sounding after its condition
  ended, until someone acknowledges it, so a short desaturation or asystole
  run is never missed because it self-corrected before anyone looked;
- *audio paused* is time limited (``AlarmPolicy.pause_max_s``), after which
  an alarm whose condition persists (or that latched) sounds again;
- an *acknowledged* alarm stays quiet until its condition ends (clause
  6.3.3: acknowledgement deactivates the audio signal for the condition);
  it sounds again only when the condition worsens (severity reaches
  ``AlarmPolicy.worsening_factor`` x the severity at acknowledgement) or
  when the escalation policy sets a re-announce interval (none by default);
- acknowledging an alarm that ended before the press arrived records who
  acknowledged it (the nurse saw it) instead of refusing: the screen she
  pressed on showed it sounding;
- escalation (a distributed alarm system duty, IEC 60601-1-8 clause 6.11 and
  IEC 80001-2-5) moves an unacknowledged alarm along the ward's chain.

State diagram (condition = the alarm condition tracked by ``alerts.suppression``)::

    raise ─> ACTIVE ──escalation due──> ESCALATED ──due──> ESCALATED (next level)
    ACTIVE/ESCALATED ──ack──> ACKNOWLEDGED ──worsened (or re-announce due), condition persists──> ACTIVE
    ACTIVE/ESCALATED ──pause──> PAUSED ──pause over, condition persists or latched──> ACTIVE/ESCALATED
    ACTIVE/ESCALATED/PAUSED ──condition cleared, not latching──> RESOLVED
    ACTIVE/ESCALATED/PAUSED ──condition cleared, latching──> (same state, condition_present=False)
    latched (condition gone) ──ack──> ACKNOWLEDGED ──> RESOLVED
    ACKNOWLEDGED ──condition cleared──> RESOLVED
    RESOLVED, never acknowledged ──ack──> RESOLVED (acknowledgement recorded)

Every function returns the new alarm and the transitions to record; none
does IO, reads a clock or raises for system events (only user actions that
the state forbids raise ``TransitionError``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts.alarm_model import (
    OPEN,
    SOUNDING,
    SYSTEM,
    Alarm,
    AlarmPolicy,
    AlarmState,
    EventKind,
    StaffRole,
    Transition,
    TransitionError,
)
from alerts.validated import updated
from wire.messages import Priority

Result = tuple[Alarm, tuple[Transition, ...]]


def _after(at: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else at + timedelta(seconds=seconds)


def _step_due(policy: AlarmPolicy, level: int, base: datetime) -> datetime | None:
    """When the escalation step after ``level`` is due, counted from ``base`` (None: end of chain)."""
    if level >= len(policy.escalation):
        return None
    return base + timedelta(seconds=policy.escalation[level].after_s)


def _move(
    alarm: Alarm, kind: EventKind, to: AlarmState, at: datetime, reason: str, actor: str = SYSTEM,
    level: int | None = None, target: StaffRole | None = None, **changes: object,
) -> Result:
    seq = alarm.seq + 1
    t = Transition(
        alarm_id=alarm.id, seq=seq, kind=kind, from_state=alarm.state, to_state=to, actor=actor, at=at,
        reason=reason, escalation_level=level, target=target,
    )
    return evolve(alarm, state=to, seq=seq, **changes), (t,)


def evolve(alarm: Alarm, **changes: object) -> Alarm:
    """A changed copy, validated like any new alarm."""
    return updated(alarm, changes)


def raise_alarm(
    alarm_id: str, patient_id: str, rule: str, priority: Priority, at: datetime, value: float | None,
    severity: float, policy: AlarmPolicy, reason: str, source: str = "",
) -> Result:
    """A new alarm: ACTIVE, with the first escalation step scheduled."""
    alarm = Alarm(
        id=alarm_id, patient_id=patient_id, rule=rule, source=source, priority=priority, state=AlarmState.ACTIVE,
        raised_at=at, last_value=value, worst_severity=severity, escalation_due_at=_step_due(policy, 0, at), seq=1,
    )
    t = Transition(
        alarm_id=alarm_id, seq=1, kind=EventKind.RAISED, from_state=None, to_state=AlarmState.ACTIVE,
        actor=SYSTEM, at=at, reason=reason, escalation_level=0, target=StaffRole.NURSE,
    )
    return alarm, (t,)


def retrigger(alarm: Alarm, at: datetime, value: float | None, severity: float,
              policy: AlarmPolicy | None = None) -> Result:
    """The condition fired again: update the one alarm instead of raising another.

    An acknowledged alarm whose condition worsened (``policy.worsening_factor``)
    sounds again, and its chain starts over.
    """
    if alarm.state not in OPEN:
        return alarm, ()
    acked = alarm.state is AlarmState.ACKNOWLEDGED
    worse = (acked and policy is not None and alarm.condition_present and severity > 0
             and severity >= policy.worsening_factor * max(alarm.worst_severity, 1e-9))
    alarm = evolve(
        alarm, trigger_count=alarm.trigger_count + 1,
        last_value=value if value is not None else alarm.last_value,
        # Frozen while acknowledged: worsening counts from the acknowledgement.
        worst_severity=max(alarm.worst_severity, severity) if not acked or worse else alarm.worst_severity,
    )
    if worse:
        assert policy is not None
        return _move(alarm, EventKind.REANNOUNCED, AlarmState.ACTIVE, at,
                     f"acknowledged alarm re-announced: condition worsened (severity {severity:g})",
                     reannounce_at=None, escalation_level=0, escalation_due_at=_step_due(policy, 0, at), level=0,
                     target=StaffRole.NURSE)
    if alarm.condition_present:
        return alarm, ()
    return _move(alarm, EventKind.CONDITION_RETURNED, alarm.state, at, "condition present again",
                 condition_present=True)


def condition_cleared(alarm: Alarm, at: datetime, policy: AlarmPolicy, reason: str) -> Result:
    """The condition ended (after hysteresis): resolve, unless the alarm latches and nobody acknowledged it."""
    if alarm.state not in OPEN or not alarm.condition_present:
        return alarm, ()
    if alarm.state is AlarmState.ACKNOWLEDGED or not policy.latching:
        return _move(alarm, EventKind.RESOLVED, AlarmState.RESOLVED, at, reason, condition_present=False,
                     resolved_at=at, escalation_due_at=None, paused_until=None, reannounce_at=None)
    return _move(alarm, EventKind.CONDITION_CLEARED, alarm.state, at,
                 f"{reason}; latched until acknowledged", condition_present=False)


def acknowledge(alarm: Alarm, actor: str, at: datetime, policy: AlarmPolicy, note: str = "") -> Result:
    """A user acknowledges: escalation stops; a latched alarm whose condition ended resolves.

    An alarm that resolved on its own before anyone acknowledged it keeps its
    state and gets the acknowledgement recorded (the press raced the end of
    the condition); acknowledging twice is refused.
    """
    if alarm.state is AlarmState.RESOLVED and alarm.acknowledged_by is None:
        return _move(alarm, EventKind.ACKNOWLEDGED, AlarmState.RESOLVED, at,
                     note or "acknowledged after the alarm ended", actor=actor, acknowledged_by=actor,
                     acknowledged_at=at)
    if alarm.state not in (*SOUNDING, AlarmState.PAUSED):
        raise TransitionError(f"cannot acknowledge an alarm that is {alarm.state.value}")
    alarm, first = _move(
        alarm, EventKind.ACKNOWLEDGED, AlarmState.ACKNOWLEDGED, at, note or "acknowledged", actor=actor,
        acknowledged_by=actor, acknowledged_at=at, escalation_due_at=None, paused_until=None,
        reannounce_at=_after(at, policy.reannounce_after_s) if alarm.condition_present else None,
    )
    if alarm.condition_present:
        return alarm, first
    alarm, second = _move(alarm, EventKind.RESOLVED, AlarmState.RESOLVED, at,
                          "latched alarm acknowledged after its condition ended", actor=actor, resolved_at=at)
    return alarm, first + second


def pause(alarm: Alarm, actor: str, at: datetime, seconds: float, policy: AlarmPolicy) -> Result:
    """Time-limited audio pause; escalation waits for the pause to end. Longer requests are cut to the maximum."""
    if alarm.state not in SOUNDING:
        raise TransitionError(f"cannot pause an alarm that is {alarm.state.value}")
    if seconds <= 0:
        raise TransitionError("a pause needs a positive duration")
    granted = min(seconds, policy.pause_max_s)
    reason = f"audio paused for {granted:g} s" + (f" (asked {seconds:g} s, maximum {policy.pause_max_s:g} s)"
                                                 if granted < seconds else "")
    return _move(alarm, EventKind.PAUSED, AlarmState.PAUSED, at, reason, actor=actor,
                 paused_until=at + timedelta(seconds=granted), escalation_due_at=None)


def tick(alarm: Alarm, now: datetime, policy: AlarmPolicy) -> Result:
    """Fire every timer due at ``now``: pause end, re-announce, escalation steps (several if overdue)."""
    out: tuple[Transition, ...] = ()
    for _ in range(len(policy.escalation) + 3):  # bounded: each pass consumes one due timer
        due = alarm.due_at
        if due is None or due > now:
            break
        alarm, ts = _fire(alarm, now, due, policy)
        out += ts
    return alarm, out


def _fire(alarm: Alarm, now: datetime, due: datetime, policy: AlarmPolicy) -> Result:
    if alarm.state is AlarmState.PAUSED:
        back = AlarmState.ESCALATED if alarm.escalation_level > 0 else AlarmState.ACTIVE
        why = "pause over, condition persists" if alarm.condition_present else "pause over, alarm latched"
        return _move(alarm, EventKind.UNPAUSED, back, now, why, paused_until=None,
                     escalation_due_at=_step_due(policy, alarm.escalation_level, now))
    if alarm.state is AlarmState.ACKNOWLEDGED:
        # The chain starts over: the acknowledging nurse is called first again.
        return _move(alarm, EventKind.REANNOUNCED, AlarmState.ACTIVE, now,
                     "acknowledged alarm re-announced: condition persists", reannounce_at=None,
                     escalation_level=0, escalation_due_at=_step_due(policy, 0, now), level=0, target=StaffRole.NURSE)
    level = alarm.escalation_level + 1
    step = policy.escalation[level - 1]
    # The next step counts from when this one was due, so a late timer (e.g.
    # after a restart) does not stretch the chain.
    return _move(alarm, EventKind.ESCALATED, AlarmState.ESCALATED, now,
                 f"not acknowledged within {step.after_s:g} s", level=level, target=step.target,
                 escalation_level=level, escalation_due_at=_step_due(policy, level, due))
