"""The clinically safe range of every per-patient alarm limit: a declared table, sources below.

A per-patient limit (``PUT /api/patients/{id}/limits/{rule}``) moves the point
where a threshold rule fires. Outside these ranges the alarm would either be
silenced for values that need a response whatever the patient's baseline, or
fire for normal values (alarm fatigue). A limit outside its range is refused;
the ward's clinical governance may widen a range here, in review, never per
patient. Values are in the canonical unit of the rule's vital (wire.units).

Sources:
[N] Royal College of Physicians, NEWS2 (2017), Chart 1: a single parameter
    scoring 3 (HR <= 40 or >= 131, RR <= 8 or >= 25, SpO2 scale 1 <= 91,
    scale 2 <= 83, SBP <= 90 or >= 220, T <= 35.0) needs an urgent review;
    a limit may reach that band and a little beyond for a documented
    baseline, never far into it.
[O] O'Driscoll et al., BTS guideline for oxygen use in adults, Thorax 2017:
    target 88-92 % for patients at risk of hypercapnic failure, 94-98 %
    otherwise; SpO2 below 85 % is never an acceptable target.
[B] Battelino et al., Diabetes Care 2019 (CGM time in range): level 1
    hypoglycaemia < 70, level 2 < 54 mg/dL; level 1 hyperglycaemia > 180,
    level 2 > 250 mg/dL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from wire.rules import Rule


@dataclass(frozen=True, slots=True)
class SafeRange:
    low: float
    high: float
    unit: str
    source: str

    def allows(self, value: float) -> bool:
        return self.low <= value <= self.high


SAFE_LIMITS: Final[dict[Rule, SafeRange]] = {
    # A tachycardia limit up to 150 covers documented rate-controlled AF; 131+ scores 3 [N].
    Rule.HEART_RATE_HIGH: SafeRange(100.0, 150.0, "/min", "N"),
    # Athletes and beta-blocked patients run in the 40s; <= 40 scores 3 [N].
    Rule.HEART_RATE_LOW: SafeRange(35.0, 60.0, "/min", "N"),
    # 85 % for a target of 88-92 % [O]; up to 96 % to catch an early fall in a 94-98 % target.
    Rule.SPO2_LOW: SafeRange(85.0, 96.0, "%", "O, N"),
    Rule.RESP_RATE_HIGH: SafeRange(20.0, 30.0, "/min", "N"),
    Rule.RESP_RATE_LOW: SafeRange(6.0, 12.0, "/min", "N"),
    Rule.BP_SYSTOLIC_HIGH: SafeRange(160.0, 230.0, "mmHg", "N"),
    Rule.BP_SYSTOLIC_LOW: SafeRange(80.0, 110.0, "mmHg", "N"),
    Rule.TEMPERATURE_HIGH: SafeRange(37.5, 40.0, "degC", "N"),
    Rule.TEMPERATURE_LOW: SafeRange(34.5, 36.5, "degC", "N"),
    Rule.GLUCOSE_URGENT_LOW: SafeRange(45.0, 60.0, "mg/dL", "B"),
    Rule.GLUCOSE_LOW: SafeRange(60.0, 90.0, "mg/dL", "B"),
    Rule.GLUCOSE_HIGH: SafeRange(140.0, 270.0, "mg/dL", "B"),
    Rule.GLUCOSE_URGENT_HIGH: SafeRange(200.0, 400.0, "mg/dL", "B"),
}


def safe_range(rule: Rule) -> SafeRange | None:
    """The rule's range, or None for a rule that takes no per-patient limit."""
    return SAFE_LIMITS.get(rule)
