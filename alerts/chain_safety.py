"""What an edited escalation chain may be: step count, delay ranges per priority and place, upward targets.

Clinical logic as data (docs/alarms.md, "Who may change escalation chains"):

- ``after_s`` of a step counts from the previous level (the first from the
  alarm being raised), as the engine applies it.
- Ward ranges follow the IEC 60601-1-8 meaning of the priorities: high needs
  an immediate response, so no step may wait more than 5 minutes (a
  high-priority alarm must not sit unanswered for 30 minutes before anyone
  else hears of it); medium needs a prompt response (up to 30 minutes);
  low is awareness only (up to an hour).
- Lower bounds stop a chain from skipping the bed nurse: paging the charge
  nurse or the rapid response team sooner than the nurse could reach the bed
  (30 s for high) only moves the alarm burden to the next level.
- Home patients are answered by a care team by telephone (commune health
  station), so each range is wider and starts later; the declared home
  defaults (10 and 30 minutes) sit inside them.
- A high-priority chain needs at least one step: an unanswered high alarm
  must reach someone besides the bed nurse. Medium and low may have none.
- At most ``MAX_STEPS`` steps: beyond the rapid response team there is no
  one further to call; more steps would be re-pages of the same people.
- Targets never go down (nurse < charge nurse < rapid response): once an
  alarm reached a more senior responder, handing it back to a junior one
  would drop that responder from the alarm. The same role twice in a row is
  allowed: a reminder to a responder who has not answered yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from alerts.alarm_model import EscalationStep, StaffRole
from alerts.escalation_policy import HOME
from wire.messages import Priority

MAX_STEPS: Final = 5
RANK: Final[dict[StaffRole, int]] = {StaffRole.NURSE: 0, StaffRole.CHARGE_NURSE: 1, StaffRole.RAPID_RESPONSE: 2}


@dataclass(frozen=True, slots=True)
class DelayRange:
    """Seconds a step may wait after the previous level (inclusive)."""

    low_s: float
    high_s: float

    def allows(self, after_s: float) -> bool:
        return self.low_s <= after_s <= self.high_s


WARD_RANGES: Final[dict[Priority, DelayRange]] = {
    Priority.HIGH: DelayRange(30.0, 300.0),
    Priority.MEDIUM: DelayRange(60.0, 1800.0),
    Priority.LOW: DelayRange(300.0, 3600.0),
}
HOME_RANGES: Final[dict[Priority, DelayRange]] = {
    Priority.HIGH: DelayRange(60.0, 1800.0),
    Priority.MEDIUM: DelayRange(300.0, 3600.0),
    Priority.LOW: DelayRange(600.0, 14400.0),
}
MIN_STEPS: Final[dict[Priority, int]] = {Priority.HIGH: 1, Priority.MEDIUM: 0, Priority.LOW: 0}


class ChainRefused(ValueError):
    """A chain outside the rules; ``key`` names the console catalog message, ``params`` fill it."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def delay_range(scope: str, priority: Priority) -> DelayRange:
    return (HOME_RANGES if scope == HOME else WARD_RANGES)[priority]


def check_chain(scope: str, priority: Priority, steps: Sequence[EscalationStep]) -> None:
    """Raise ``ChainRefused`` with the first rule the chain breaks (levels counted from 1)."""
    if len(steps) > MAX_STEPS:
        raise ChainRefused("error.chain_too_long", max=MAX_STEPS)
    if len(steps) < MIN_STEPS[priority]:
        raise ChainRefused("error.chain_empty", priority=priority.value)
    rng = delay_range(scope, priority)
    for level, step in enumerate(steps, start=1):
        if not rng.allows(step.after_s):
            raise ChainRefused("error.chain_delay", level=level, after=f"{step.after_s:g}", low=f"{rng.low_s:g}",
                               high=f"{rng.high_s:g}", priority=priority.value)
        if level > 1 and RANK[step.target] < RANK[steps[level - 2].target]:
            raise ChainRefused("error.chain_down", level=level, target=step.target.value,
                               previous=steps[level - 2].target.value)
