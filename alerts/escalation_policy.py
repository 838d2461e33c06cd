"""Lifecycle and escalation settings per priority and ward: declared defaults, overridable per ward.

Defaults (docs/alarms.md discusses them):

- latching: high priority only (IEC 60601-1-8 lets the manufacturer choose;
  latching high-priority alarms is the common practice for life-threatening
  conditions that may self-correct before anyone looks);
- audio pause: at most 2 minutes (the customary IEC 60601-1-8 audio-paused
  interval);
- an acknowledged alarm stays silent until its condition ends and sounds
  again only when it worsens (``AlarmPolicy.worsening_factor``); timed
  re-announce (``REANNOUNCE_S``) is off for every priority;
- escalation, ward patients: high unacknowledged 60 s -> charge nurse, 60 s
  more -> rapid response team; medium after 5 min -> charge nurse; low none.
  Home patients: high 10 min -> care team backup, medium 30 min; low none.

A ward (or the scope ``home``) replaces a priority's chain by rows in
``escalation_steps``; rows for scope ``*`` replace the ward default.
"""

from __future__ import annotations

from typing import Final

from alerts.alarm_model import AlarmPolicy, EscalationStep, StaffRole
from wire.messages import Priority

WARD_DEFAULT: Final = "*"
HOME: Final = "home"

PAUSE_MAX_S: Final = 120.0
LATCHING: Final = frozenset({Priority.HIGH})
# IEC 60601-1-8: an acknowledged alarm stays silent until its condition ends;
# it sounds again on worsening (AlarmPolicy.worsening_factor), not on a timer.
# A ward that wants timed reminders sets a priority's interval here.
REANNOUNCE_S: Final[dict[Priority, float | None]] = {Priority.HIGH: None, Priority.MEDIUM: None, Priority.LOW: None}

S, R = EscalationStep, StaffRole
DEFAULT_CHAINS: Final[dict[str, dict[Priority, tuple[EscalationStep, ...]]]] = {
    WARD_DEFAULT: {
        Priority.HIGH: (S(60.0, R.CHARGE_NURSE), S(60.0, R.RAPID_RESPONSE)),
        Priority.MEDIUM: (S(300.0, R.CHARGE_NURSE),),
        Priority.LOW: (),
    },
    HOME: {
        Priority.HIGH: (S(600.0, R.CHARGE_NURSE),),
        Priority.MEDIUM: (S(1800.0, R.CHARGE_NURSE),),
        Priority.LOW: (),
    },
}

Chains = dict[tuple[str, Priority], tuple[EscalationStep, ...]]


def scope_of(ward_id: str | None) -> str:
    return HOME if ward_id is None else ward_id


def chain_for(ward_id: str | None, priority: Priority, configured: Chains) -> tuple[EscalationStep, ...]:
    """The configured chain for the ward (or home), else the configured ward default, else the declared one."""
    scope = scope_of(ward_id)
    for key in ((scope, priority), (WARD_DEFAULT, priority)) if scope != HOME else ((HOME, priority),):
        if key in configured:
            return configured[key]
    return DEFAULT_CHAINS[HOME if scope == HOME else WARD_DEFAULT][priority]


def alarm_policy(ward_id: str | None, priority: Priority, configured: Chains | None = None) -> AlarmPolicy:
    return AlarmPolicy(
        latching=priority in LATCHING,
        reannounce_after_s=REANNOUNCE_S[priority],
        pause_max_s=PAUSE_MAX_S,
        escalation=chain_for(ward_id, priority, configured or {}),
    )
