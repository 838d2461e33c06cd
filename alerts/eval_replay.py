"""Replays a candidate stream through the alarm engine in event time, and through naive threshold alarms.

The engine is the service's own (``alerts.engine``); only the storage is a
dictionary and the clock is the stream's event time. Per patient, condition
timers due before an evaluation are fired at their due times first, so
staleness, clear holds and edge-triggered onsets happen as in the service.
A nurse is modelled as acknowledging every alarm ``ack_after_s`` after it
was raised (otherwise a latched alarm would absorb every later excursion of
its condition and flatter the count); escalation and re-announce do not
change the number of alarms and are not replayed.

Naive alarms are what a plain threshold monitor does: an alarm at the first
firing evaluation of every excursion (no delay, no hysteresis, no artifact
or signal-loss rejection); an excursion ends at the first clear evaluation,
or when no firing evaluation came for the rule's ``max_gap_s``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts import engine
from alerts.alarm_model import SOUNDING, Alarm
from alerts.engine import Context
from alerts.routing import PatientPlace
from alerts.suppression import ConditionState, Evaluation, Phase, loss_gates
from alerts.suppression_policy import SIGNAL_LOSS_RULES, policy_for
from wire.messages import Priority

Key = tuple[str, str, str]  # patient, rule, source


@dataclass(frozen=True, slots=True)
class RaisedAlarm:
    patient_id: str
    rule: str
    at: datetime
    priority: Priority


class Replay:
    """The smart alarms of one scenario: feed evaluations in event-time order, then ``finish``."""

    def __init__(self, ward_id: str = "eval", ack_after_s: float = 120.0) -> None:
        self.ward_id = ward_id
        self.ack_after = timedelta(seconds=ack_after_s)
        self.conds: dict[Key, ConditionState] = {}
        self.alarms: dict[Key, Alarm] = {}
        self.raised: list[RaisedAlarm] = []
        self._by_patient: dict[str, set[Key]] = {}

    def _ctx(self, patient_id: str) -> Context:
        return Context(place=PatientPlace(patient_id, self.ward_id, None))

    def _ack_due(self, key: Key) -> datetime | None:
        a = self.alarms.get(key)
        if a is None or a.state not in SOUNDING or a.acknowledged_at is not None:
            return None
        return a.raised_at + self.ack_after

    def _tick_patient(self, patient_id: str, until: datetime) -> None:
        """Fire condition timers and the modelled acknowledgements due by ``until``, oldest first."""
        keys = self._by_patient.get(patient_id, set())
        while True:
            due = [(d, 0, k) for k in keys
                   if (d := self.conds[k].next_due(policy_for(k[1]))) is not None and d <= until]
            due += [(d, 1, k) for k in keys if (d := self._ack_due(k)) is not None and d <= until]
            if not due:
                return
            at, what, key = min(due)
            ctx = self._ctx(key[0])
            if what == 0:
                self._apply(key, engine.on_condition_tick(self.conds[key], self.alarms.get(key), ctx, at))
            else:
                self._apply(key, engine.acknowledge(self.alarms[key], "eval-nurse", ctx, at))

    def _signal_lost(self, ev: Evaluation) -> bool:
        return any(k[1] in SIGNAL_LOSS_RULES and self.conds[k].phase is not Phase.IDLE and loss_gates(k[2], ev)
                   for k in self._by_patient.get(ev.patient_id, set()))

    def feed(self, ev: Evaluation) -> None:
        self._tick_patient(ev.patient_id, ev.window_end)
        key = (ev.patient_id, ev.rule, engine.source_of(ev))
        lost = ev.firing and self._signal_lost(ev)
        out = engine.on_evaluation(self.conds.get(key), self.alarms.get(key), ev, self._ctx(ev.patient_id),
                                   ev.window_end, signal_lost=lost)
        self._by_patient.setdefault(ev.patient_id, set()).add(key)
        self._apply(key, out)

    def _apply(self, key: Key, out: engine.Outcome) -> None:
        if out.condition is not None:
            self.conds[key] = out.condition
        if out.alarm is not None:
            self.alarms[key] = out.alarm
            if out.new_alarm:
                self.raised.append(RaisedAlarm(key[0], key[1], out.alarm.raised_at, out.alarm.priority))

    def finish(self, end: datetime) -> list[RaisedAlarm]:
        for patient_id in list(self._by_patient):
            self._tick_patient(patient_id, end)
        return sorted(self.raised, key=lambda a: a.at)


def smart_alarms(evals: Iterable[Evaluation], end: datetime) -> list[RaisedAlarm]:
    r = Replay()
    for ev in sorted(evals, key=lambda e: e.window_end):
        r.feed(ev)
    return r.finish(end)


def naive_alarms(evals: Iterable[Evaluation]) -> list[RaisedAlarm]:
    active: dict[Key, datetime] = {}  # key -> last firing evaluation of the current excursion
    out: list[RaisedAlarm] = []
    for ev in sorted(evals, key=lambda e: e.window_end):
        key = (ev.patient_id, ev.rule, engine.source_of(ev))
        if not ev.firing:
            active.pop(key, None)
            continue
        last = active.get(key)
        if last is None or (ev.window_start - last).total_seconds() > policy_for(ev.rule).max_gap_s:
            out.append(RaisedAlarm(ev.patient_id, ev.rule, ev.window_end, ev.priority))
        active[key] = ev.window_end
    return out
