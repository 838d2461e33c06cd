"""False-alarm suppression settings per alarm type: a declared table, sources in docs/alarms.md.

Each rule of ``wire.rules`` has one row. A ward may override any field
(``alarm_settings`` table, scope = ward id); the effective policy is the
default row with the ward's non-null fields applied.

Sources (full references in docs/alarms.md):
[G] Görges et al., Anesth Analg 2009: median alarm 17 s; a 14 s delay would
    have removed 50 %, 19 s 67 % of ignored/ineffective ICU alarms.
[S] Nellcor OxiMax SatSeconds: alarm when points-below-limit x seconds reaches
    the setting (10/25/50/100); the "integrate depth over time" idea.
[W] Welch, Biomed Instrum Technol 2011 (Masimo SafetyNet data): SpO2 limit and
    a 15 s delay cut alarms most; Rheineck-Leyssius: 15 s delay, -60 % alarms.
[B] Battelino et al., Diabetes Care 2019: a CGM episode lasts >= 15 min
    (the streams apply it before they fire a glucose rule).
[C] Baysal et al., J Diabetes Sci Technol 2014: compression lows are the
    commonest false CGM lows (minutes to tens of minutes, at night).
[R] RCP NEWS2 2017, Chart 4: a score band is itself the trigger (no delay).
[I] IEC 60601-1-8: technical alarms; the device decides delays of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Final

from wire.rules import CATALOG, Rule, RuleKind


class Direction(StrEnum):
    """Which side of its limit a rule fires on; a per-patient limit override needs it."""

    ABOVE = "above"
    BELOW = "below"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SuppressionPolicy:
    """How a condition must behave before it becomes an alarm, and before it ends.

    A firing condition becomes an alarm when it has persisted ``delay_s``,
    or sooner when its severity-weighted area (severity x seconds, in the
    parameter's unit) reaches ``area``, or at once at ``immediate_severity``.
    It ends after ``clear_evaluations`` consecutive clear evaluations, or
    ``clear_hold_s`` after the first clear with no new firing, or when no
    firing evaluation came for ``stale_after_s`` (sources that never say
    "clear", such as the 1-minute heart-rate windows).
    """

    delay_s: float
    area: float | None = None
    immediate_severity: float | None = None
    clear_evaluations: int = 3
    # Streams emit one "clear" when a condition stops and evaluate every closed
    # minute: 150 s is two more normal minutes (plus lateness) without firing.
    clear_hold_s: float = 150.0
    stale_after_s: float | None = 180.0
    max_gap_s: float = 120.0
    # [S] "safety net": this many separate excursions starting within
    # ``repeat_window_s`` are an alarm even if none lasted the delay (a
    # value hovering at its limit). None: off.
    repeat_count: int | None = None
    repeat_window_s: float = 60.0
    edge: bool = False  # the source reports changes only (device status): a pending onset completes on a timer
    artifact_gated: bool = True  # ignore firing evaluations flagged as artifact or during signal loss
    direction: Direction = Direction.NONE


P = SuppressionPolicy
A, B, N = Direction.ABOVE, Direction.BELOW, Direction.NONE
H = 3600.0
# Intermittent measurements (cuff pressure, temperature) are single deliberate
# readings: no delay, one normal reading clears, and they stay current for hours.


def _cgm(direction: Direction = Direction.NONE) -> SuppressionPolicy:
    # A CGM reads every 5 minutes: "clear" holds for three readings, silence means no data for four.
    return P(0.0, clear_evaluations=2, clear_hold_s=15 * 60, stale_after_s=20 * 60, max_gap_s=20 * 60,
             direction=direction)


def _spot(direction: Direction) -> SuppressionPolicy:
    return P(0.0, clear_evaluations=1, stale_after_s=4 * H, max_gap_s=4 * H, direction=direction)


def _onset(rule: Rule) -> float:
    # Sliding-path rules (wire.rules: EvaluatedBy.SLIDING): the streams already required the
    # filtered signal to persist this long, and the first candidate's window spans it
    # (onset .. detection), so the same delay here is met at once: applied once, not twice,
    # which keeps high priority within 15 s of onset (docs/alarms.md).
    delay = CATALOG[rule].onset_delay_s
    assert delay is not None, rule
    return delay


DEFAULTS: Final[dict[Rule, SuppressionPolicy]] = {
    # [G]: ~20 s removed most self-correcting alarms; IEC 60601-2-27 asks ~10 s for heart rate.
    # Deep excursions are not delayed.
    Rule.HEART_RATE_HIGH: P(_onset(Rule.HEART_RATE_HIGH), area=400.0, immediate_severity=40.0, repeat_count=3,
                            direction=A),
    # Bradycardia is more dangerous: a shorter delay, and below 30/min at once.
    Rule.HEART_RATE_LOW: P(_onset(Rule.HEART_RATE_LOW), area=100.0, immediate_severity=10.0, repeat_count=3,
                           direction=B),
    # [S] [W]: 10-15 s delay, SatSeconds 100 (the largest Nellcor setting), 10 points below at
    # once, and the SatSeconds safety net (3 violations within 60 s).
    Rule.SPO2_LOW: P(_onset(Rule.SPO2_LOW), area=100.0, immediate_severity=10.0, repeat_count=3, direction=B),
    Rule.RESP_RATE_HIGH: P(_onset(Rule.RESP_RATE_HIGH), area=300.0, immediate_severity=15.0, repeat_count=3,
                           direction=A),
    Rule.RESP_RATE_LOW: P(_onset(Rule.RESP_RATE_LOW), area=60.0, immediate_severity=4.0, repeat_count=3,
                          direction=B),
    # IEC 60601-2-27: asystole within 10 s, never delayed further; one returning pulse ends it (the
    # alarm stays latched for the nurse). Not gated here: the streams already withheld it on any
    # probe-off / lead-off / motion flag, and another device's signal loss (a home wearable's battery)
    # must not hold back a cardiac arrest.
    Rule.NO_PULSE: P(_onset(Rule.NO_PULSE), clear_evaluations=1, artifact_gated=False),
    Rule.BP_SYSTOLIC_HIGH: _spot(A),
    Rule.BP_SYSTOLIC_LOW: _spot(B),
    Rule.TEMPERATURE_HIGH: _spot(A),
    Rule.TEMPERATURE_LOW: _spot(B),
    # [R]: the score band is the trigger; scores aggregate several parameters already.
    Rule.NEWS2_MEDIUM: P(0.0, clear_evaluations=2, stale_after_s=6 * H, max_gap_s=6 * H),
    Rule.NEWS2_HIGH: P(0.0, clear_evaluations=2, stale_after_s=6 * H, max_gap_s=6 * H),
    Rule.NEWS2_RED_FLAG: P(0.0, clear_evaluations=2, stale_after_s=6 * H, max_gap_s=6 * H),
    # [B] [C]: the streams fire glucose rules only while a consensus episode
    # (>= 15 min beyond the threshold, which outlasts most compression lows) is
    # ongoing: that is the delay; adding one here would double it.
    Rule.GLUCOSE_URGENT_LOW: _cgm(direction=B),
    Rule.GLUCOSE_LOW: _cgm(direction=B),
    Rule.GLUCOSE_PREDICTED_LOW: _cgm(),
    Rule.GLUCOSE_HIGH: _cgm(direction=A),
    Rule.GLUCOSE_URGENT_HIGH: _cgm(direction=A),
    # [I]: technical alarms are about the equipment; never gated by artifacts.
    Rule.SIGNAL_LOSS: P(0.0, clear_evaluations=1, stale_after_s=None, artifact_gated=False),
    # The streams' bedside timeout (10 s) is the delay: a second one would push it past 15 s.
    Rule.MONITOR_NO_SIGNAL: P(0.0, clear_evaluations=1, stale_after_s=None, artifact_gated=False),
    Rule.SENSOR_OFF: P(10.0, clear_evaluations=1, stale_after_s=None, artifact_gated=False),
    # The MQTT last will arrives after 1.5 keep-alives; 60 s more rides out Wi-Fi roaming.
    Rule.DEVICE_OFFLINE: P(60.0, clear_evaluations=1, stale_after_s=None, edge=True, artifact_gated=False),
    Rule.LOW_BATTERY: P(0.0, clear_evaluations=1, stale_after_s=None, edge=True, artifact_gated=False),
}

# Conditions of one device (a patient may wear several): tracked per device.
DEVICE_RULES: Final = frozenset({Rule.SIGNAL_LOSS, Rule.MONITOR_NO_SIGNAL, Rule.SENSOR_OFF, Rule.DEVICE_OFFLINE,
                                 Rule.LOW_BATTERY})

# Technical conditions during which threshold alarms of the same patient are not raised.
SIGNAL_LOSS_RULES: Final = frozenset({Rule.SIGNAL_LOSS, Rule.MONITOR_NO_SIGNAL, Rule.SENSOR_OFF,
                                      Rule.DEVICE_OFFLINE})



@dataclass(frozen=True, slots=True)
class PolicyOverride:
    """A ward's changes to a rule's policy (``alarm_settings`` row); None inherits the default."""

    delay_s: float | None = None
    area: float | None = None
    immediate_severity: float | None = None
    clear_evaluations: int | None = None
    clear_hold_s: float | None = None
    stale_after_s: float | None = None
    max_gap_s: float | None = None
    artifact_gated: bool | None = None
    repeat_count: int | None = None
    repeat_window_s: float | None = None


def policy_for(rule: str, override: PolicyOverride | None = None) -> SuppressionPolicy:
    """The effective policy: the rule's default with the ward's non-null overrides applied."""
    base = DEFAULTS[Rule(rule)]
    if override is None:
        return base
    changes = {f.name: getattr(override, f.name) for f in fields(PolicyOverride)
               if getattr(override, f.name) is not None}
    return replace(base, **changes)


def is_known(rule: str) -> bool:
    return rule in Rule._value2member_map_


def kind_of(rule: str) -> RuleKind:
    return CATALOG[Rule(rule)].kind
