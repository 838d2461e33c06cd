"""Reading types, canonical units, accepted input units and plausibility.

Inside the pipeline every value is in its canonical unit. Devices may send a
few other units that are converted once, at the bridge. Plausibility limits
are the physically possible range for a living patient (not alarm limits):
a value outside them is a device or transmission fault and is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

# 1 mmol/L glucose = 18.0182 mg/dL (molar mass of glucose 180.182 g/mol / 10).
MG_DL_PER_MMOL_L = 18.0182


class ReadingType(StrEnum):
    HEART_RATE = "heart_rate"
    SPO2 = "spo2"
    RESP_RATE = "resp_rate"
    TEMPERATURE = "temperature"
    BP_SYSTOLIC = "bp_systolic"
    BP_DIASTOLIC = "bp_diastolic"
    GLUCOSE = "glucose"
    # Observations NEWS2 needs that are not sensor measurements:
    # 0 = room air, 1 = supplemental oxygen.
    SUPPLEMENTAL_O2 = "supplemental_o2"
    # ACVPU coded 0=A, 1=C (new confusion), 2=V, 3=P, 4=U.
    CONSCIOUSNESS = "consciousness"
    # Wearable patches: skin temperature is not core temperature (NEWS2 must
    # not score it), and motion is the accelerometer's activity level that
    # explains artifacts in the optical signals.
    SKIN_TEMPERATURE = "skin_temperature"
    MOTION = "motion"


class Acvpu(StrEnum):
    ALERT = "A"
    CONFUSION = "C"
    VOICE = "V"
    PAIN = "P"
    UNRESPONSIVE = "U"


ACVPU_CODES: tuple[Acvpu, ...] = tuple(Acvpu)


@dataclass(frozen=True, slots=True)
class UnitSpec:
    canonical: str
    # input unit -> converter to canonical
    accepted: dict[str, Callable[[float], float]]
    plausible_min: float
    plausible_max: float
    integral: bool = False


def same_unit(v: float) -> float:
    return v


def _mmol_to_mg(v: float) -> float:
    return v * MG_DL_PER_MMOL_L


def _f_to_c(v: float) -> float:
    return (v - 32.0) * 5.0 / 9.0


def _kpa_to_mmhg(v: float) -> float:
    return v * 7.50062


# Plausibility ranges: outside these a reading cannot come from a living
# patient and is a sensor fault (e.g. HR 0 is a probe off, not asystole: the
# bedside ECG, not this pipeline, is the asystole alarm).
UNITS: dict[ReadingType, UnitSpec] = {
    ReadingType.HEART_RATE: UnitSpec("/min", {"/min": same_unit, "bpm": same_unit}, 20, 300),
    ReadingType.SPO2: UnitSpec("%", {"%": same_unit}, 40, 100),
    ReadingType.RESP_RATE: UnitSpec("/min", {"/min": same_unit, "brpm": same_unit}, 2, 80),
    ReadingType.TEMPERATURE: UnitSpec("degC", {"degC": same_unit, "Cel": same_unit, "degF": _f_to_c}, 25, 45),
    ReadingType.BP_SYSTOLIC: UnitSpec("mmHg", {"mmHg": same_unit, "kPa": _kpa_to_mmhg}, 40, 300),
    ReadingType.BP_DIASTOLIC: UnitSpec("mmHg", {"mmHg": same_unit, "kPa": _kpa_to_mmhg}, 15, 200),
    ReadingType.GLUCOSE: UnitSpec(
        "mg/dL", {"mg/dL": same_unit, "mmol/L": _mmol_to_mg}, 10, 1000
    ),
    ReadingType.SUPPLEMENTAL_O2: UnitSpec("1", {"1": same_unit}, 0, 1, integral=True),
    ReadingType.CONSCIOUSNESS: UnitSpec("1", {"1": same_unit}, 0, 4, integral=True),
    ReadingType.SKIN_TEMPERATURE: UnitSpec("degC", {"degC": same_unit, "Cel": same_unit, "degF": _f_to_c}, 15, 45),
    # RMS of acceleration magnitude minus gravity, in g; wrist/chest sensors saturate at 16 g.
    ReadingType.MOTION: UnitSpec("g", {"g": same_unit}, 0, 16),
}


class UnknownUnit(ValueError):
    def __init__(self, reading_type: ReadingType, unit: str) -> None:
        accepted = ", ".join(UNITS[reading_type].accepted)
        super().__init__(f"unit {unit!r} not accepted for {reading_type}; accepted: {accepted}")
        self.reading_type = reading_type
        self.unit = unit


class Implausible(ValueError):
    def __init__(self, reading_type: ReadingType, value: float) -> None:
        spec = UNITS[reading_type]
        super().__init__(
            f"{reading_type}={value:g} {spec.canonical} outside plausible range "
            f"{spec.plausible_min:g}..{spec.plausible_max:g}"
        )
        self.reading_type = reading_type
        self.value = value


def to_canonical(reading_type: ReadingType, value: float, unit: str) -> float:
    """Convert to the canonical unit and check plausibility.

    Raises UnknownUnit or Implausible; both carry what was wrong.
    """
    spec = UNITS[reading_type]
    try:
        convert = spec.accepted[unit]
    except KeyError:
        raise UnknownUnit(reading_type, unit) from None
    canonical = convert(value)
    if not spec.plausible_min <= canonical <= spec.plausible_max:
        raise Implausible(reading_type, canonical)
    if spec.integral and canonical != int(canonical):
        raise Implausible(reading_type, canonical)
    return canonical
