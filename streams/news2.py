"""National Early Warning Score 2 (NEWS2): pure scoring core.

Source: Royal College of Physicians. *National Early Warning Score (NEWS) 2:
Standardising the assessment of acute-illness severity in the NHS.* Updated
report of a working party. London: RCP, 2017. Chart 1 (scoring system),
Chart 3 (clinical risk bands), Chart 4 (clinical response).

Rounding rule (applied before any band lookup, and the only place rounding
happens):

* Respiration rate, SpO2, systolic BP and pulse are rounded to the nearest
  integer, halves rounded UP (20.5 -> 21, 20.4 -> 20). Python's ``round`` is
  NOT used because it rounds halves to even (``round(20.5) == 20``).
* Temperature is rounded to one decimal place, halves rounded UP
  (38.05 -> 38.1, 38.04 -> 38.0, 35.05 -> 35.1).
* Rounding is done in ``decimal.Decimal`` on the float's shortest decimal
  representation (``repr``), so 38.05 is treated as the 38.05 a monitor
  displays, not as the binary 38.04999999999999715...

The charts publish integer (or 0.1 degC) band edges; after this rounding every
finite input falls into exactly one band, which the band tables in
:mod:`streams.news2_table` assert at import time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator, model_validator

from streams.news2_table import (
    ACVPU,
    AIR_OR_OXYGEN_POINTS,
    CONSCIOUSNESS_POINTS,
    RESPONSE_ROWS,
    Band,
    OxygenDelivery,
    Parameter,
    check_plausible,
    classify,
    round_half_up,
    score_numeric,
)

__all__ = [
    "ACVPU",
    "Band",
    "ConsciousnessObservation",
    "Measurement",
    "News2Observations",
    "News2Result",
    "News2Subscores",
    "News2Validity",
    "OxygenDelivery",
    "OxygenObservation",
    "Parameter",
    "classify",
    "round_half_up",
    "score_news2",
    "score_numeric",
    "summary_text",
]

# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Measurement(_Frozen):
    """A numeric observation (a spot value or e.g. a 5-min median) and when it was taken."""

    value: float
    at: AwareDatetime

    @field_validator("value", mode="before")
    @classmethod
    def _not_bool(cls, v: object) -> object:
        # bool is an int subclass; True silently becoming 1.0 would be a wrong vital sign.
        if isinstance(v, bool):
            raise ValueError("a vital sign must be a number, not a boolean")
        return v


class OxygenObservation(_Frozen):
    value: OxygenDelivery
    at: AwareDatetime


class ConsciousnessObservation(_Frozen):
    value: ACVPU
    at: AwareDatetime


_NUMERIC = (
    Parameter.RESP_RATE,
    Parameter.SPO2,
    Parameter.SYSTOLIC_BP,
    Parameter.PULSE,
    Parameter.TEMPERATURE,
)


class News2Observations(_Frozen):
    """Latest known observation per parameter; field names equal ``Parameter`` values.

    ``spo2_scale=2`` must only be used for patients with a clinically confirmed
    target range of 88-92% (hypercapnic respiratory failure), per RCP 2017.
    """

    resp_rate: Measurement | None = None
    spo2: Measurement | None = None
    air_or_oxygen: OxygenObservation | None = None
    systolic_bp: Measurement | None = None
    pulse: Measurement | None = None
    consciousness: ConsciousnessObservation | None = None
    temperature: Measurement | None = None
    spo2_scale: Literal[1, 2] = 1

    @model_validator(mode="after")
    def _plausible(self) -> News2Observations:
        for p in _NUMERIC:
            m = getattr(self, p.value)
            if m is not None:
                check_plausible(p, m.value)
        return self


class News2Validity(_Frozen):
    """How old an observation may be and still count (inclusive).

    Default 1 h suits spot observations; continuous monitoring can pass e.g. 5 min
    together with 5-min medians. ``future_tolerance`` absorbs device clock skew;
    readings further in the future are treated as unusable (reported as stale).
    """

    resp_rate: timedelta = timedelta(hours=1)
    spo2: timedelta = timedelta(hours=1)
    air_or_oxygen: timedelta = timedelta(hours=1)
    systolic_bp: timedelta = timedelta(hours=1)
    pulse: timedelta = timedelta(hours=1)
    consciousness: timedelta = timedelta(hours=1)
    temperature: timedelta = timedelta(hours=1)
    future_tolerance: timedelta = timedelta(minutes=2)

    @field_validator("*")
    @classmethod
    def _non_negative(cls, v: timedelta) -> timedelta:
        if v < timedelta(0):
            raise ValueError("validity periods must be non-negative")
        return v

    @classmethod
    def uniform(
        cls, period: timedelta, future_tolerance: timedelta = timedelta(minutes=2)
    ) -> News2Validity:
        return cls(**{p.value: period for p in Parameter}, future_tolerance=future_tolerance)


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


class News2Subscores(_Frozen):
    """Points per parameter; None = not scored (missing, stale or indeterminate)."""

    resp_rate: int | None
    spo2: int | None
    air_or_oxygen: int | None
    systolic_bp: int | None
    pulse: int | None
    consciousness: int | None
    temperature: int | None


class News2Result(_Frozen):
    """A NEWS2 score.

    If ``complete`` is False, ``total`` is the sum of the parameters that could be
    scored. Every subscore is >= 0 and the band only rises as points are added,
    so ``total`` and ``band`` are then LOWER BOUNDS of the true values.
    """

    total: int
    subscores: News2Subscores
    red_flag: bool
    red_flag_parameters: tuple[Parameter, ...]
    band: Band
    monitoring_frequency: str
    clinical_response: tuple[str, ...]
    spo2_scale: Literal[1, 2]
    missing: tuple[Parameter, ...]
    stale: tuple[Parameter, ...]
    indeterminate: tuple[Parameter, ...]
    complete: bool


INCOMPLETE_NOTE = (
    "INCOMPLETE observation set: obtain the missing/stale observations now; the score "
    "and response shown are for the parameters available and the true score may be higher"
)


def _usable(at: datetime, now: datetime, max_age: timedelta, skew: timedelta) -> bool:
    return now - max_age <= at <= now + skew


def score_news2(
    obs: News2Observations, now: datetime, validity: News2Validity | None = None
) -> News2Result:
    """Score NEWS2 at ``now`` (tz-aware) from observations no older than ``validity``."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (UTC)")
    validity = validity or News2Validity()
    missing: list[Parameter] = []
    stale: list[Parameter] = []
    fresh: dict[Parameter, Measurement | OxygenObservation | ConsciousnessObservation] = {}
    for p in Parameter:
        reading = getattr(obs, p.value)
        if reading is None:
            missing.append(p)
        elif _usable(reading.at, now, getattr(validity, p.value), validity.future_tolerance):
            fresh[p] = reading
        else:
            stale.append(p)

    points: dict[Parameter, int] = {}
    indeterminate: list[Parameter] = []
    oxygen = fresh.get(Parameter.AIR_OR_OXYGEN)
    on_oxygen = None if oxygen is None else oxygen.value is OxygenDelivery.OXYGEN
    for p, reading in fresh.items():
        if isinstance(reading, OxygenObservation):
            points[p] = AIR_OR_OXYGEN_POINTS[reading.value]
        elif isinstance(reading, ConsciousnessObservation):
            points[p] = CONSCIOUSNESS_POINTS[reading.value]
        elif (
            p is Parameter.SPO2
            and obs.spo2_scale == 2
            and on_oxygen is None
            and round_half_up(reading.value) >= 93
        ):
            indeterminate.append(p)  # 0 on air, 1-3 on oxygen: cannot choose
        else:
            points[p] = score_numeric(
                p, reading.value, spo2_scale=obs.spo2_scale, on_oxygen=on_oxygen
            )

    total = sum(points.values())
    flags = tuple(p for p in Parameter if points.get(p) == 3)
    band, row = classify(total, bool(flags))
    frequency, response = RESPONSE_ROWS[row]
    complete = not (missing or stale or indeterminate)
    return News2Result(
        total=total,
        subscores=News2Subscores(**{p.value: points.get(p) for p in Parameter}),
        red_flag=bool(flags),
        red_flag_parameters=flags,
        band=band,
        monitoring_frequency=frequency,
        clinical_response=response if complete else (INCOMPLETE_NOTE, *response),
        spo2_scale=obs.spo2_scale,
        missing=tuple(missing),
        stale=tuple(stale),
        indeterminate=tuple(indeterminate),
        complete=complete,
    )


def summary_text(result: News2Result) -> str:
    """Human-readable multi-line summary for nurses/CLI; never hides incompleteness."""
    lines = []
    if not result.complete:
        lines.append(
            "INCOMPLETE NEWS2 - the true score may be higher. Not scored: "
            + ", ".join(
                [f"{p.value} (missing)" for p in result.missing]
                + [f"{p.value} (stale)" for p in result.stale]
                + [f"{p.value} (needs air/oxygen)" for p in result.indeterminate]
            )
        )
    prefix = "at least " if not result.complete else ""
    lines.append(f"NEWS2 total: {prefix}{result.total}  (SpO2 scale {result.spo2_scale})")
    lines.append(f"Clinical risk: {prefix}{result.band.value}")
    if result.red_flag:
        flagged = ", ".join(p.value for p in result.red_flag_parameters)
        lines.append(f"Red flag (score 3 in): {flagged}")
    for name, pts in result.subscores.model_dump().items():
        lines.append(f"  {name:<14} {'-' if pts is None else pts}")
    lines.append(f"Monitoring frequency: {result.monitoring_frequency}")
    lines.extend(f"  * {r}" for r in result.clinical_response if r != INCOMPLETE_NOTE)
    return "\n".join(lines)
