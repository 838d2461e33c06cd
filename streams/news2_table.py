"""NEWS2 score table, rounding rule and clinical-response rows, as data.

Royal College of Physicians. *National Early Warning Score (NEWS) 2*, London:
RCP, 2017: Chart 1 (scoring system), Chart 3 (risk bands), Chart 4 (clinical
response). The rounding rule is documented in :mod:`streams.news2`; it is
implemented here by :func:`round_half_up` and applied by :func:`score_numeric`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Literal


class Parameter(StrEnum):
    """The seven NEWS2 physiological parameters (RCP 2017 Chart 1 rows)."""

    RESP_RATE = "resp_rate"
    SPO2 = "spo2"
    AIR_OR_OXYGEN = "air_or_oxygen"
    SYSTOLIC_BP = "systolic_bp"
    PULSE = "pulse"
    CONSCIOUSNESS = "consciousness"
    TEMPERATURE = "temperature"


class OxygenDelivery(StrEnum):
    AIR = "air"
    OXYGEN = "oxygen"


class ACVPU(StrEnum):
    """Alert, new Confusion, Voice, Pain, Unresponsive.

    ``C`` means *new-onset* confusion/disorientation/agitation (RCP 2017);
    a documented chronic baseline confusion should be recorded as ``A``.
    """

    ALERT = "A"
    CONFUSION = "C"
    VOICE = "V"
    PAIN = "P"
    UNRESPONSIVE = "U"


class Band(StrEnum):
    """Clinical risk bands, RCP 2017 Chart 3."""

    LOW = "low"
    LOW_MEDIUM = "low-medium"
    MEDIUM = "medium"
    HIGH = "high"


# ---------------------------------------------------------------------------
# Score table (RCP 2017 Chart 1) as data.
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreBand:
    """Inclusive range [low, high] of the *rounded* value; None = unbounded."""

    low: Decimal | None
    high: Decimal | None
    points: int


def _bands(step: str, *rows: tuple[str | None, str | None, int]) -> tuple[ScoreBand, ...]:
    bands = tuple(
        ScoreBand(None if lo is None else Decimal(lo), None if hi is None else Decimal(hi), pts)
        for lo, hi, pts in rows
    )
    _assert_partition(bands, Decimal(step))
    return bands


def _assert_partition(bands: tuple[ScoreBand, ...], step: Decimal) -> None:
    # A typo in a clinical table must fail at import, not silently mis-score.
    if bands[0].low is not None or bands[-1].high is not None:
        raise AssertionError("NEWS2 table must be unbounded at both ends")
    for prev, nxt in pairwise(bands):
        if prev.high is None or nxt.low is None or nxt.low != prev.high + step:
            raise AssertionError(f"NEWS2 table gap/overlap between {prev} and {nxt}")


RESP_RATE_BANDS = _bands(
    "1", (None, "8", 3), ("9", "11", 1), ("12", "20", 0), ("21", "24", 2), ("25", None, 3)
)
SPO2_SCALE1_BANDS = _bands("1", (None, "91", 3), ("92", "93", 2), ("94", "95", 1), ("96", None, 0))
# Scale 2 (hypercapnic respiratory failure, target 88-92%): >=93% scores 0 on
# air but 1-3 on oxygen, because over-oxygenation is the hazard.
SPO2_SCALE2_AIR_BANDS = _bands(
    "1", (None, "83", 3), ("84", "85", 2), ("86", "87", 1), ("88", None, 0)
)
SPO2_SCALE2_OXYGEN_BANDS = _bands(
    "1",
    (None, "83", 3),
    ("84", "85", 2),
    ("86", "87", 1),
    ("88", "92", 0),
    ("93", "94", 1),
    ("95", "96", 2),
    ("97", None, 3),
)
SYSTOLIC_BP_BANDS = _bands(
    "1", (None, "90", 3), ("91", "100", 2), ("101", "110", 1), ("111", "219", 0), ("220", None, 3)
)
PULSE_BANDS = _bands(
    "1",
    (None, "40", 3),
    ("41", "50", 1),
    ("51", "90", 0),
    ("91", "110", 1),
    ("111", "130", 2),
    ("131", None, 3),
)
TEMPERATURE_BANDS = _bands(
    "0.1",
    (None, "35.0", 3),
    ("35.1", "36.0", 1),
    ("36.1", "38.0", 0),
    ("38.1", "39.0", 1),
    ("39.1", None, 2),
)
AIR_OR_OXYGEN_POINTS: Mapping[OxygenDelivery, int] = MappingProxyType(
    {OxygenDelivery.AIR: 0, OxygenDelivery.OXYGEN: 2}
)
CONSCIOUSNESS_POINTS: Mapping[ACVPU, int] = MappingProxyType(
    {ACVPU.ALERT: 0, ACVPU.CONFUSION: 3, ACVPU.VOICE: 3, ACVPU.PAIN: 3, ACVPU.UNRESPONSIVE: 3}
)

# Sanity limits reject impossible values and unit mix-ups (e.g. 98.6 degF sent
# as degC) before they can produce a plausible-looking but wrong score. They
# are deliberately wide: they are not clinical thresholds.
PLAUSIBLE_LIMITS: Mapping[Parameter, tuple[float, float]] = MappingProxyType(
    {
        Parameter.RESP_RATE: (0.0, 100.0),
        Parameter.SPO2: (1.0, 100.0),
        Parameter.SYSTOLIC_BP: (1.0, 350.0),
        Parameter.PULSE: (0.0, 300.0),
        Parameter.TEMPERATURE: (20.0, 45.0),
    }
)


def round_half_up(value: float, places: int = 0) -> Decimal:
    """Round to ``places`` decimals, halves up, via the shortest decimal repr."""
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value!r}")
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _lookup(bands: tuple[ScoreBand, ...], value: Decimal) -> int:
    hits = [
        b.points
        for b in bands
        if (b.low is None or value >= b.low) and (b.high is None or value <= b.high)
    ]
    if len(hits) != 1:  # impossible by construction; guard anyway
        raise AssertionError(f"value {value} matched {len(hits)} bands")
    return hits[0]


def check_plausible(parameter: Parameter, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{parameter.value}: value must be finite, got {value!r}")
    lo, hi = PLAUSIBLE_LIMITS[parameter]
    if not lo <= value <= hi:
        raise ValueError(
            f"{parameter.value}: {value} is outside the plausible range [{lo}, {hi}]"
            + (" (Fahrenheit? NEWS2 uses degC)" if parameter is Parameter.TEMPERATURE else "")
        )


def score_numeric(
    parameter: Parameter,
    value: float,
    *,
    spo2_scale: Literal[1, 2] = 1,
    on_oxygen: bool | None = None,
) -> int:
    """Points for one numeric parameter, applying the module rounding rule.

    ``on_oxygen`` is only consulted for SpO2 scale 2 at a rounded value >= 93;
    there it is required (ValueError if None) because the score depends on it.
    """
    check_plausible(parameter, value)
    if parameter is Parameter.TEMPERATURE:
        return _lookup(TEMPERATURE_BANDS, round_half_up(value, 1))
    rounded = round_half_up(value, 0)
    if parameter is Parameter.RESP_RATE:
        return _lookup(RESP_RATE_BANDS, rounded)
    if parameter is Parameter.SYSTOLIC_BP:
        return _lookup(SYSTOLIC_BP_BANDS, rounded)
    if parameter is Parameter.PULSE:
        return _lookup(PULSE_BANDS, rounded)
    if parameter is Parameter.SPO2:
        if spo2_scale == 1:
            return _lookup(SPO2_SCALE1_BANDS, rounded)
        if rounded <= 92:  # scale 2 rows below 93 do not depend on oxygen
            return _lookup(SPO2_SCALE2_AIR_BANDS, rounded)
        if on_oxygen is None:
            raise ValueError("SpO2 scale 2 at >= 93% needs to know air vs oxygen")
        return _lookup(SPO2_SCALE2_OXYGEN_BANDS if on_oxygen else SPO2_SCALE2_AIR_BANDS, rounded)
    raise ValueError(f"{parameter.value} is not a numeric NEWS2 parameter")


# RCP 2017 Chart 4, keyed by the row that applies.
RESPONSE_ROWS: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        "0": ("Minimum 12 hourly", ("Continue routine NEWS monitoring",)),
        "1-4": (
            "Minimum 4-6 hourly",
            (
                "Inform registered nurse, who must assess the patient",
                "Registered nurse decides whether increased frequency of monitoring "
                "and/or escalation of care is required",
            ),
        ),
        "single-3": (
            "Minimum 1 hourly",
            (
                "Registered nurse to inform medical team caring for the patient, who will "
                "review and decide whether escalation of care is necessary",
            ),
        ),
        "5-6": (
            "Minimum 1 hourly",
            (
                "Urgent response threshold",
                "Registered nurse to immediately inform the medical team caring for the patient",
                "Registered nurse to request urgent assessment by a clinician or team with "
                "core competencies in the care of acutely ill patients",
                "Provide clinical care in an environment with monitoring facilities",
            ),
        ),
        "7+": (
            "Continuous monitoring of vital signs",
            (
                "Emergency response threshold",
                "Registered nurse to immediately inform the medical team caring for the "
                "patient - this should be at least at specialist registrar level",
                "Emergency assessment by a team with critical care competencies, including "
                "practitioner(s) with advanced airway management skills",
                "Consider transfer of care to a level 2 or 3 clinical care facility, "
                "ie higher-dependency unit or ICU",
                "Clinical care in an environment with monitoring facilities",
            ),
        ),
    }
)


def classify(total: int, red_flag: bool) -> tuple[Band, str]:
    """Band (Chart 3) and Chart 4 row for an aggregate score.

    5-6 is medium even when a parameter also scores 3; a single 3 only creates
    the low-medium band while the aggregate is <= 4.
    """
    if total < 0:
        raise ValueError("NEWS2 total cannot be negative")
    if total >= 7:
        return Band.HIGH, "7+"
    if total >= 5:
        return Band.MEDIUM, "5-6"
    if red_flag:
        return Band.LOW_MEDIUM, "single-3"
    return Band.LOW, "0" if total == 0 else "1-4"
