"""What to send for each alarm transition, to whom, on which channel (pure core).

The console gets every change live (server-sent events, from the service).
Outside channels go through the outbox (``alerts.outbox``):

- webhook: every transition, one POST each (an external paging system or
  the hospital information system mirrors the alarm's life);
- SMS: the people *called* by a transition (raise, re-announce, end of a
  pause, escalation), when the priority warrants an SMS: ward patients for
  high and medium priority, home patients for every priority (low waits for
  the end of the care team's quiet hours).

Each notification has a deduplication key (alarm, transition number,
channel, recipient): enqueueing it twice, e.g. after a restart, is a no-op.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from alerts import routing, texts
from alerts.alarm_model import Alarm as AlarmT
from alerts.alarm_model import AlarmPolicy, EventKind, StaffRole, Transition
from alerts.routing import PatientPlace, Responder, Route, Shift
from wire.messages import Priority


class Channel(StrEnum):
    WEBHOOK = "webhook"
    SMS = "sms"


CALLING = frozenset({EventKind.RAISED, EventKind.REANNOUNCED, EventKind.UNPAUSED, EventKind.ESCALATED})
WARD_SMS = frozenset({Priority.HIGH, Priority.MEDIUM})


@dataclass(frozen=True, slots=True)
class ChannelsEnabled:
    webhook: bool
    sms: bool


@dataclass(frozen=True, slots=True)
class Notification:
    channel: Channel
    alarm_id: str
    seq: int
    recipient: str  # responder id; "*" for the webhook subscriber
    address: str  # phone number for SMS, "" for the webhook (its URL is configuration)
    body: str  # SMS text, or the webhook's JSON body (signed as sent)
    not_before: datetime

    @property
    def dedup_key(self) -> str:
        return f"{self.alarm_id}:{self.seq}:{self.channel.value}:{self.recipient}"


@dataclass(frozen=True, slots=True)
class Dispatch:
    """A transition with whom it called (recorded on the alert) and what to send."""

    transition: Transition
    route: Route | None
    notifications: tuple[Notification, ...]


def called_role(t: Transition, alarm: AlarmT, policy: AlarmPolicy) -> StaffRole | None:
    if t.kind not in CALLING:
        return None
    if t.target is not None:
        return t.target
    level = alarm.escalation_level  # after a pause the alarm calls whoever its level had reached
    return StaffRole.NURSE if level == 0 else policy.escalation[min(level, len(policy.escalation)) - 1].target


def plan(
    alarm: AlarmT, transitions: tuple[Transition, ...], policy: AlarmPolicy, place: PatientPlace,
    roster: tuple[Shift, ...], responders: dict[str, Responder], channels: ChannelsEnabled,
) -> tuple[Dispatch, ...]:
    out = []
    for t in transitions:
        role = called_role(t, alarm, policy)
        rt = routing.route(place, role, alarm.priority, roster, t.at) if role is not None else None
        notes: list[Notification] = []
        if channels.webhook:
            notes.append(Notification(Channel.WEBHOOK, alarm.id, t.seq, "*", "",
                                      webhook_body(alarm, t, place, rt), t.at))
        if rt is not None and channels.sms and (place.at_home or alarm.priority in WARD_SMS):
            for rid in rt.recipients:
                who = responders.get(rid)
                if who is None or not who.phone:
                    continue
                text = texts.sms_text(t.kind, alarm.rule, alarm.priority, place.ward_id, place.bed, alarm.patient_id,
                                      alarm.last_value, alarm.id, who.locale)
                notes.append(Notification(Channel.SMS, alarm.id, t.seq, rid, who.phone, text,
                                          rt.deferred_until or t.at))
        out.append(Dispatch(t, rt, tuple(notes)))
    return tuple(out)


def webhook_body(alarm: AlarmT, t: Transition, place: PatientPlace, rt: Route | None) -> str:
    """Stable JSON (sorted keys): the same transition always produces the same signed bytes."""
    body = {
        "delivery": f"{alarm.id}:{t.seq}",
        "event": t.kind.value,
        "at": t.at.isoformat(),
        "actor": t.actor,
        "reason": t.reason,
        "alarm": {
            "id": alarm.id,
            "patient_id": alarm.patient_id,
            "ward_id": place.ward_id,
            "bed": place.bed,
            "rule": alarm.rule,
            "priority": alarm.priority.value,
            "state": t.to_state.value,
            "value": alarm.last_value,
            "escalation_level": alarm.escalation_level,
            "raised_at": alarm.raised_at.isoformat(),
        },
        "called": list(rt.recipients) if rt else [],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
