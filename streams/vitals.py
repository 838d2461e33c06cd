"""Per-vital signal-quality settings and default alarm limits, as data.

Default limits are the NEWS2 single-parameter "red" values: the bands that
score 3 on their own (RCP 2017, Chart 1) and so require urgent clinical
review; temperature has no 3-point high band and uses the highest band
(>= 39.1 degC, 2 points). The alert service may override them per ward.
A limit fires when the window median, rounded as NEWS2 rounds (integers;
temperature to 0.1 degC), is at or beyond ``fires_at``; ``threshold`` is the
last normal value and severity is the distance beyond it.

Artifact settings: Hampel filter (Hampel FR, J Am Stat Assoc 1974;69:383;
Pearson RK et al., EURASIP J Adv Signal Process 2016:87): a sample further
than ``n_sigma`` x 1.4826 x MAD from the median of its +-k neighbours is a
spike. The MAD of integer-valued monitor output is often 0, so a deviation
floor per vital stops a one-step change from counting as a spike. Flatline:
a bedside HR/RR value that does not change at all for two minutes comes from
a frozen or simulated source, not from physiology (monitor HR is an average
over a few beats and moves by >= 1/min within seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from streams.news2_table import Parameter
from wire.rules import Rule
from wire.units import ReadingType


class Direction(StrEnum):
    HIGH = "high"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Limit:
    rule: Rule
    direction: Direction
    fires_at: float  # rounded median >= (high) or <= (low) this value fires
    threshold: float  # last normal value; severity = |median - threshold|


@dataclass(frozen=True, slots=True)
class VitalSpec:
    expected_interval_s: float  # for coverage
    min_samples: int  # accepted samples a window needs before a limit is evaluated
    decimals: int  # NEWS2 rounding before comparing with a limit
    hampel_k: int = 0  # 0 = no spike filter (sparse measurements)
    hampel_sigma: float = 3.0
    hampel_floor: float = 0.0  # minimum deviation (unit of the vital) to call a spike
    flatline_s: float = 0.0  # 0 = no flatline check
    limits: tuple[Limit, ...] = ()


HR, SPO2, RR, TEMP = ReadingType.HEART_RATE, ReadingType.SPO2, ReadingType.RESP_RATE, ReadingType.TEMPERATURE
SBP, DBP, GLU = ReadingType.BP_SYSTOLIC, ReadingType.BP_DIASTOLIC, ReadingType.GLUCOSE
H, L = Direction.HIGH, Direction.LOW

# SpO2 limits depend on the patient's NEWS2 scale; see spo2_limit().
SPO2_SCALE1_LOW = Limit(Rule.SPO2_LOW, L, 91, 92)  # scale 1: <= 91% scores 3
SPO2_SCALE2_LOW = Limit(Rule.SPO2_LOW, L, 83, 84)  # scale 2 (target 88-92%): <= 83% scores 3

VITALS: dict[ReadingType, VitalSpec] = {
    HR: VitalSpec(1.0, 3, 0, hampel_k=5, hampel_floor=15.0, flatline_s=120.0,
                  limits=(Limit(Rule.HEART_RATE_HIGH, H, 131, 130), Limit(Rule.HEART_RATE_LOW, L, 40, 41))),
    SPO2: VitalSpec(1.0, 3, 0, hampel_k=5, hampel_floor=4.0, limits=(SPO2_SCALE1_LOW,)),
    RR: VitalSpec(1.0, 3, 0, hampel_k=5, hampel_floor=6.0, flatline_s=120.0,
                  limits=(Limit(Rule.RESP_RATE_HIGH, H, 25, 24), Limit(Rule.RESP_RATE_LOW, L, 8, 9))),
    TEMP: VitalSpec(60.0, 1, 1, hampel_k=3, hampel_floor=0.5,
                    limits=(Limit(Rule.TEMPERATURE_HIGH, H, 39.1, 39.0), Limit(Rule.TEMPERATURE_LOW, L, 35.0, 35.1))),
    SBP: VitalSpec(900.0, 1, 0,
                   limits=(Limit(Rule.BP_SYSTOLIC_HIGH, H, 220, 219), Limit(Rule.BP_SYSTOLIC_LOW, L, 90, 91))),
    DBP: VitalSpec(900.0, 1, 0),
    GLU: VitalSpec(300.0, 1, 0),
}

# Reading types scored by NEWS2 and the parameter each one feeds.
NEWS2_PARAMETER: dict[ReadingType, Parameter] = {
    RR: Parameter.RESP_RATE,
    SPO2: Parameter.SPO2,
    SBP: Parameter.SYSTOLIC_BP,
    HR: Parameter.PULSE,
    TEMP: Parameter.TEMPERATURE,
    ReadingType.SUPPLEMENTAL_O2: Parameter.AIR_OR_OXYGEN,
    ReadingType.CONSCIOUSNESS: Parameter.CONSCIOUSNESS,
}

# Nurse-entered observations: no windows, the latest value is used.
OBSERVATIONS = frozenset({ReadingType.SUPPLEMENTAL_O2, ReadingType.CONSCIOUSNESS})


def limits_for(vital: ReadingType, spo2_scale: int) -> tuple[Limit, ...]:
    if vital is SPO2:
        return (SPO2_SCALE2_LOW if spo2_scale == 2 else SPO2_SCALE1_LOW,)
    return VITALS[vital].limits
