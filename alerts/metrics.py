"""Prometheus metrics of the alert service, on an injected registry, label values bound once.

Labels are bounded enumerations (priority, rule, channel, outcome); never a
patient, alarm or person.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from alerts.alarm_model import EventKind
from alerts.engine import Outcome
from alerts.notification_plan import Channel
from alerts.suppression import Signal
from wire.messages import Priority
from wire.rules import Rule

SUPPRESSED = (Signal.DISMISSED, Signal.HELD_ARTIFACT, Signal.HELD_SIGNAL_LOSS, Signal.STALE)
OUTCOMES = ("sent", "retry", "dead")


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # Kept from the walking skeleton: dashboards and the e2e test read it.
        raised = Counter("rpm_alerts_raised", "alerts raised", ["priority"], registry=registry)
        self.raised = {p: raised.labels(p.value) for p in Priority}
        alarms = Counter("rpm_alarms_raised", "alarms raised by priority and type", ["priority", "rule"],
                         registry=registry)
        self.alarms = {(p, r.value): alarms.labels(p.value, r.value) for p in Priority for r in Rule}
        esc = Counter("rpm_alarm_escalations", "escalation steps taken", ["priority"], registry=registry)
        self.escalations = {p: esc.labels(p.value) for p in Priority}
        trans = Counter("rpm_alarm_transitions", "alarm transitions recorded", ["event"], registry=registry)
        self.transitions = {k: trans.labels(k.value) for k in EventKind}
        sup = Counter("rpm_alarm_evaluations_suppressed", "evaluations that raised nothing, by reason", ["reason"],
                      registry=registry)
        self.suppressed = {s: sup.labels(s.value) for s in SUPPRESSED}
        notes = Counter("rpm_alarm_notifications", "outside notifications by channel and outcome",
                        ["channel", "outcome"], registry=registry)
        self.notifications = {(c, o): notes.labels(c.value, o) for c in Channel for o in OUTCOMES}
        self.repeats = Counter("rpm_alerts_candidate_repeats", "candidates that changed no alarm", registry=registry)
        self.bad = Counter("rpm_alerts_bad_records", "records that failed to parse or name no known rule",
                           registry=registry)

    def observe(self, out: Outcome) -> None:
        """Count one committed outcome (time to acknowledge: ``alerts.alarm_metrics``, from the database)."""
        if out.signal in self.suppressed:
            self.suppressed[out.signal].inc()
        if out.signal is Signal.STALE:
            self.repeats.inc()
        if out.new_alarm and out.alarm is not None:
            self.raised[out.alarm.priority].inc()
            counter = self.alarms.get((out.alarm.priority, out.alarm.rule))
            if counter is not None:
                counter.inc()
        for t in out.transitions:
            self.transitions[t.kind].inc()
            if t.kind is EventKind.ESCALATED and out.alarm is not None:
                self.escalations[out.alarm.priority].inc()
