"""The alarm engine: suppression, lifecycle and notification planning in one pure step.

The service (``alerts.consumer``, ``alerts.timers``, ``alerts.http``) and the
offline evaluation (``alerts.eval_replay``) drive the same functions, so the
figures measured offline are those of the running product. Inputs are the
persisted states and an explicit ``now``; outputs are the new states, the
transitions to record and the notifications to enqueue.

Times: suppression runs in event time (the evaluations' windows); alarm
timers (escalation, pause, re-announce) in ``now``, wall-clock time in the
service and the replayed event time in the evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from alerts import alarm_state_machine as sm
from alerts import suppression
from alerts.alarm_model import OPEN, Alarm, AlarmPolicy, Transition
from alerts.escalation_policy import Chains, alarm_policy
from alerts.notification_plan import ChannelsEnabled, Dispatch, plan
from alerts.routing import PatientPlace, Responder, Shift
from alerts.suppression import ConditionState, Evaluation, Signal
from alerts.suppression_policy import DEVICE_RULES, Direction, PolicyOverride, SuppressionPolicy, policy_for
from alerts.validated import updated


@dataclass(frozen=True, slots=True)
class Context:
    """Everything about the patient and the configuration a decision needs (loaded by the IO layer)."""

    place: PatientPlace
    roster: tuple[Shift, ...] = ()
    responders: dict[str, Responder] = field(default_factory=dict)
    chains: Chains = field(default_factory=dict)
    ward_overrides: dict[str, PolicyOverride] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)  # per-patient limit overrides by rule
    channels: ChannelsEnabled = ChannelsEnabled(webhook=False, sms=False)

    def suppression_policy(self, rule: str) -> SuppressionPolicy:
        return policy_for(rule, self.ward_overrides.get(rule))

    def alarm_policy(self, alarm: Alarm) -> AlarmPolicy:
        return alarm_policy(self.place.ward_id, alarm.priority, self.chains)


@dataclass(frozen=True, slots=True)
class Outcome:
    condition: ConditionState | None
    alarm: Alarm | None
    signal: Signal
    new_alarm: bool = False
    onset: Evaluation | None = None  # the evaluation a new alarm was raised from (for its stored facts)
    dispatches: tuple[Dispatch, ...] = ()

    @property
    def transitions(self) -> tuple[Transition, ...]:
        return tuple(d.transition for d in self.dispatches)


def apply_limit(ev: Evaluation, limit: float | None, direction: Direction) -> Evaluation:
    """A clinician's per-patient limit: a firing evaluation within it counts as clear; beyond it, severity is
    re-measured against it.

    Streams apply their own (default) limits, so only limits *wider* than
    the stream's can change the outcome here; narrower ones need the stream
    workers to read the same table (docs/alarms.md).
    """
    if limit is None or not ev.firing or ev.value is None or direction is Direction.NONE:
        return ev
    beyond = ev.value - limit if direction is Direction.ABOVE else limit - ev.value
    if beyond <= 0:
        return updated(ev, {"firing": False, "severity": 0.0, "threshold": limit})
    return updated(ev, {"severity": beyond, "threshold": limit})


def source_of(ev: Evaluation) -> str:
    """Device-level technical conditions are tracked per device; everything else per patient."""
    return ev.source if ev.rule in DEVICE_RULES else ""


def on_evaluation(
    cond: ConditionState | None, alarm: Alarm | None, ev: Evaluation, ctx: Context, now: datetime,
    signal_lost: bool = False,
) -> Outcome:
    p = ctx.suppression_policy(ev.rule)
    ev = apply_limit(ev, ctx.limits.get(ev.rule), p.direction)
    cond = cond or ConditionState(patient_id=ev.patient_id, rule=ev.rule, source=source_of(ev))
    if alarm is not None and alarm.state not in OPEN:
        alarm = None
    cond2, sig = suppression.step(cond, ev, p, signal_lost)
    if ev.firing and sig in (Signal.PENDING, Signal.ONSET, Signal.PERSISTS):
        cond2 = updated(cond2, {"last": ev})
    return _apply(cond2, alarm, sig, ctx, now)


def on_condition_tick(cond: ConditionState, alarm: Alarm | None, ctx: Context, now: datetime) -> Outcome:
    if alarm is not None and alarm.state not in OPEN:
        alarm = None
    cond2, sig = suppression.tick(cond, now, ctx.suppression_policy(cond.rule))
    return _apply(cond2, alarm, sig, ctx, now)


def _apply(cond: ConditionState, alarm: Alarm | None, sig: Signal, ctx: Context, now: datetime) -> Outcome:
    last = cond.last
    if sig in (Signal.ONSET, Signal.PERSISTS):
        assert last is not None
        if alarm is not None:
            a2, ts = sm.retrigger(alarm, now, last.value, last.severity, ctx.alarm_policy(alarm))
            return _out(updated(cond, {"alarm_id": a2.id}), a2, sig, ctx, ts)
        alarm_id = cond.pending_candidate or last.candidate_id
        policy = alarm_policy(ctx.place.ward_id, last.priority, ctx.chains)
        why = "condition persisted beyond its delay" if cond.area == 0 else \
            f"condition persisted (severity x time {cond.area:g})"
        a2, ts = sm.raise_alarm(alarm_id, cond.patient_id, cond.rule, last.priority, now, last.value,
                                cond.peak_severity, policy, why, cond.source)
        onset = updated(last, {"window_start": cond.pending_since or last.window_start})
        return _out(updated(cond, {"alarm_id": a2.id}), a2, sig, ctx, ts, new=True, onset=onset)
    if sig is Signal.CLEARED:
        cleared = updated(cond, {"alarm_id": None, "last": None})
        if alarm is None:
            return Outcome(cleared, None, sig)
        a2, ts = sm.condition_cleared(alarm, now, ctx.alarm_policy(alarm), "condition ended")
        return _out(cleared, a2, sig, ctx, ts)
    return Outcome(cond, alarm, sig)


def on_alarm_tick(alarm: Alarm, ctx: Context, now: datetime) -> Outcome:
    a2, ts = sm.tick(alarm, now, ctx.alarm_policy(alarm))
    return _out(None, a2, Signal.NONE, ctx, ts)


def acknowledge(alarm: Alarm, actor: str, ctx: Context, now: datetime, note: str = "") -> Outcome:
    a2, ts = sm.acknowledge(alarm, actor, now, ctx.alarm_policy(alarm), note)
    return _out(None, a2, Signal.NONE, ctx, ts)


def pause(alarm: Alarm, actor: str, seconds: float, ctx: Context, now: datetime) -> Outcome:
    a2, ts = sm.pause(alarm, actor, now, seconds, ctx.alarm_policy(alarm))
    return _out(None, a2, Signal.NONE, ctx, ts)


def replan(out: Outcome, ctx: Context) -> Outcome:
    """The same decision's notifications planned with the full context (roster, responders, care team).

    The IO layer decides with the light context (everything a decision reads)
    and loads the routing data only when the decision changed an alarm.
    """
    if out.alarm is None or not out.dispatches:
        return out
    a = out.alarm
    return replace(out, dispatches=plan(a, out.transitions, ctx.alarm_policy(a), ctx.place, ctx.roster,
                                        ctx.responders, ctx.channels))


def _out(
    cond: ConditionState | None, alarm: Alarm, sig: Signal, ctx: Context, ts: tuple[Transition, ...],
    new: bool = False, onset: Evaluation | None = None,
) -> Outcome:
    dispatches = plan(alarm, ts, ctx.alarm_policy(alarm), ctx.place, ctx.roster, ctx.responders, ctx.channels)
    return Outcome(cond, alarm, sig, new, onset, dispatches)
