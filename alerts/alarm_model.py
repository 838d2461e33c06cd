"""Types of the alarm lifecycle (IEC 60601-1-8 vocabulary), shared by the pure cores.

An *alarm condition* is what the patient or the equipment is in (tracked by
``alerts.suppression``); an *alarm* is what the nurse sees and acts upon
(driven by ``alerts.alarm_state_machine``). Every change of an alarm is a
``Transition`` stored in ``alert_events`` with who, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from wire.messages import Priority


class AlarmState(StrEnum):
    """States an alarm can be in.

    ACTIVE and ESCALATED both mean "sounding, nobody has acknowledged";
    ESCALATED says the chain moved past the first responder. PAUSED is the
    time-limited audio pause of IEC 60601-1-8; ACKNOWLEDGED silences until
    the condition ends (or worsens).
    """

    ACTIVE = "active"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    PAUSED = "paused"
    RESOLVED = "resolved"


SOUNDING = frozenset({AlarmState.ACTIVE, AlarmState.ESCALATED})
OPEN = frozenset({AlarmState.ACTIVE, AlarmState.ESCALATED, AlarmState.ACKNOWLEDGED, AlarmState.PAUSED})


class EventKind(StrEnum):
    """What is written to ``alert_events.event`` (each kind is a row of ``alert_event_kinds``)."""

    RAISED = "raised"
    CONDITION_CLEARED = "condition_cleared"  # condition ended but the alarm latches
    CONDITION_RETURNED = "condition_returned"  # a latched alarm's condition came back
    ACKNOWLEDGED = "acknowledged"
    PAUSED = "paused"
    UNPAUSED = "unpaused"
    REANNOUNCED = "reannounced"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    NOTIFIED = "notified"
    NOTIFY_FAILED = "notify_failed"


class StaffRole(StrEnum):
    """Who an escalation step (or the first notification) is addressed to."""

    NURSE = "nurse"  # the nurse assigned to the bed on this shift (home: the care team's primary)
    CHARGE_NURSE = "charge_nurse"  # the ward's charge nurse (home: the care team's backup)
    RAPID_RESPONSE = "rapid_response"  # the hospital's rapid response team


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Escalate to ``target`` when ``after_s`` passed without acknowledgement since the previous step."""

    after_s: float
    target: StaffRole


@dataclass(frozen=True, slots=True)
class AlarmPolicy:
    """Lifecycle settings for one alarm (by priority and ward; see ``alerts.escalation_policy``)."""

    latching: bool
    # IEC 60601-1-8: acknowledgement silences until the condition ends. A timed
    # re-announce while it persists is an escalation-policy choice (None: off).
    reannounce_after_s: float | None
    pause_max_s: float
    escalation: tuple[EscalationStep, ...]
    # An acknowledged alarm sounds again when its severity (distance beyond the
    # limit) reaches this multiple of the severity when it was acknowledged.
    worsening_factor: float = 2.0


class Alarm(BaseModel):
    """One alarm: a condition episode of one patient and rule, from raise to resolve."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    patient_id: str
    rule: str
    source: str = ""  # the device, for device-level technical alarms (one alarm per device)
    priority: Priority
    state: AlarmState
    raised_at: AwareDatetime
    condition_present: bool = True
    escalation_level: int = 0
    escalation_due_at: AwareDatetime | None = None
    paused_until: AwareDatetime | None = None
    reannounce_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    trigger_count: int = 1
    last_value: float | None = None
    # Worst severity so far; while acknowledged, the severity at acknowledgement
    # (worsening is measured against it).
    worst_severity: float = 0.0
    seq: int = 0  # transitions so far: (id, seq) names each transition, and each notification of it

    @property
    def due_at(self) -> datetime | None:
        """The next instant a timer must look at this alarm (None: nothing scheduled)."""
        if self.state is AlarmState.PAUSED:
            return self.paused_until
        if self.state in SOUNDING:
            return self.escalation_due_at
        if self.state is AlarmState.ACKNOWLEDGED and self.condition_present:
            return self.reannounce_at
        return None


class Transition(BaseModel):
    """A recorded change of an alarm: who, when, why (one ``alert_events`` row)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alarm_id: str
    seq: int
    kind: EventKind
    from_state: AlarmState | None
    to_state: AlarmState
    actor: str
    at: AwareDatetime
    reason: str
    escalation_level: int | None = None
    target: StaffRole | None = None


class TransitionError(ValueError):
    """A user action that the alarm's current state does not allow (e.g. acknowledging a resolved alarm)."""


SYSTEM = "system"
