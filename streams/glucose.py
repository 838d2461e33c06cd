"""CGM glucose analytics: consensus metrics, rate of change, trend arrows, prediction.

Sources:

* Battelino T, et al. *Clinical Targets for Continuous Glucose Monitoring Data
  Interpretation: Recommendations From the International Consensus on Time in
  Range.* Diabetes Care 2019;42:1593-1603 (TBR/TIR/TAR thresholds 54/70/180/250
  mg/dL, 3.0/3.9/10.0/13.9 mmol/L; episode definition; >=70% wear).
* Danne T, et al. *International Consensus on Use of Continuous Glucose
  Monitoring.* Diabetes Care 2017;40:1631-1640 (CV = SD / mean, target <=36%).
* Bergenstal RM, et al. *Glucose Management Indicator (GMI).* Diabetes Care
  2018;41:2275-2280 (GMI % = 3.31 + 0.02392 x mean mg/dL).

Canonical unit is mg/dL. Every function takes explicit timestamps; nothing here
reads the clock. Episode detection lives in :mod:`streams.glucose_episodes`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

# 18.0182 mg/dL per mmol/L is the factor used in the CGM consensus literature and
# by the major CGM vendors (= molar mass of glucose 180.182 g/mol / 10). The
# modern molar mass (180.156) gives 18.0156; the difference is 0.015%, far below
# sensor accuracy, so we use the value the clinical references use.
MG_DL_PER_MMOL_L = 18.0182

# Battelino 2019 thresholds, mg/dL.
VERY_LOW = 54.0
LOW = 70.0
HIGH = 180.0
VERY_HIGH = 250.0

DEFAULT_INTERVAL = timedelta(minutes=5)
_MAX_PLAUSIBLE_MG_DL = 1500.0  # above any reported HHS value: a unit/parse error


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GlucoseSample(_Frozen):
    """One CGM reading in mg/dL at a tz-aware time."""

    at: AwareDatetime
    mg_dl: float

    @field_validator("mg_dl", mode="before")
    @classmethod
    def _not_bool(cls, v: object) -> object:
        if isinstance(v, bool):  # bool is an int subclass; True is not 1 mg/dL
            raise ValueError("glucose must be a number, not a boolean")
        return v

    @field_validator("mg_dl")
    @classmethod
    def _plausible(cls, v: float) -> float:
        if not (math.isfinite(v) and 0 < v <= _MAX_PLAUSIBLE_MG_DL):
            raise ValueError(f"glucose {v} mg/dL is not plausible (0, {_MAX_PLAUSIBLE_MG_DL}]")
        return v


def mmol_l_to_mg_dl(mmol_l: float, *, round_to_integer: bool = True) -> float:
    """Convert mmol/L to mg/dL with factor 18.0182.

    By default the result is rounded half-up to a whole mg/dL, as CGMs report
    mg/dL. This is what makes the consensus mmol/L cut-offs classify the same as
    the mg/dL ones: 3.0 -> 54, 3.9 -> 70, 10.0 -> 180, 13.9 -> 250 (unrounded,
    10.0 mmol/L would be 180.18 mg/dL and wrongly count as "above range").
    """
    if not math.isfinite(mmol_l) or mmol_l <= 0:
        raise ValueError(f"glucose {mmol_l} mmol/L is not plausible")
    mg = mmol_l * MG_DL_PER_MMOL_L
    if not round_to_integer:
        return mg
    return float(Decimal(repr(mg)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def mg_dl_to_mmol_l(mg_dl: float) -> float:
    """mg/dL -> mmol/L (unrounded), for display."""
    return mg_dl / MG_DL_PER_MMOL_L


def as_arrays(
    samples: Sequence[GlucoseSample],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Sorted (epoch seconds, mg/dL) arrays with exact duplicates removed.

    MQTT QoS 1 is at-least-once, so re-delivered identical readings are expected
    and dropped; two *different* values at the same instant are a data error.
    """
    t = np.fromiter((s.at.timestamp() for s in samples), dtype=np.float64, count=len(samples))
    v = np.fromiter((s.mg_dl for s in samples), dtype=np.float64, count=len(samples))
    order = np.lexsort((v, t))
    t, v = t[order], v[order]
    if t.size > 1:
        same_t = np.diff(t) == 0
        conflict = same_t & (np.diff(v) != 0)
        if conflict.any():
            i = int(np.argmax(conflict))
            raise ValueError(f"conflicting glucose values {v[i]} and {v[i + 1]} at one time")
        keep = np.concatenate(([True], ~same_t))
        t, v = t[keep], v[keep]
    return t, v


# ---------------------------------------------------------------------------
# Consensus metrics
# ---------------------------------------------------------------------------


class GlucoseMetrics(_Frozen):
    """Battelino 2019 summary over a period. Percentages are of readings in the period.

    Percent of readings equals percent of CGM-worn time when sampling is regular;
    gaps are excluded, which is why ``coverage_pct`` must be read alongside
    (the consensus asks for >= 70% wear over 14 days).
    """

    start: AwareDatetime
    end: AwareDatetime
    n_samples: int
    expected_samples: float
    coverage_pct: float
    mean_mg_dl: float
    sd_mg_dl: float | None
    cv_pct: float | None
    gmi_pct: float
    below_54_pct: float
    below_70_pct: float
    in_70_180_pct: float
    above_180_pct: float
    above_250_pct: float


def glucose_metrics(
    samples: Sequence[GlucoseSample],
    *,
    interval: timedelta = DEFAULT_INTERVAL,
    start: datetime | None = None,
    end: datetime | None = None,
) -> GlucoseMetrics:
    """Consensus metrics for readings with ``start <= t < end``.

    Without ``start``/``end`` the period is [first reading, last reading + interval),
    i.e. each reading stands for one expected sample. Coverage is
    ``n / (period / interval)`` capped at 100% (devices sampling faster than
    ``interval`` would otherwise exceed 100%).

    CV uses the *sample* SD (ddof=1): the readings are a sample of the continuous
    glucose curve and we estimate its variability (also what common CGM
    software reports). At 288 readings/day the difference from ddof=0 is <0.2%.

    Raises ValueError if the period holds no readings.
    """
    if interval <= timedelta(0):
        raise ValueError("interval must be positive")
    if (start is None) != (end is None):
        raise ValueError("give both start and end, or neither")
    t, v = as_arrays(samples)
    if start is not None and end is not None:
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise ValueError("start/end must be tz-aware with start < end")
        inside = (t >= start.timestamp()) & (t < end.timestamp())
        t, v = t[inside], v[inside]
        p_start, p_end = start, end
    elif t.size:
        p_start, p_end = utc_from_epoch(t[0]), utc_from_epoch(t[-1]) + interval
    if v.size == 0:
        raise ValueError("no glucose readings in the period")
    expected = (p_end - p_start) / interval
    n = int(v.size)
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n >= 2 else None
    pct = 100.0 / n
    return GlucoseMetrics(
        start=p_start,
        end=p_end,
        n_samples=n,
        expected_samples=expected,
        coverage_pct=min(100.0, 100.0 * n / expected),
        mean_mg_dl=mean,
        sd_mg_dl=sd,
        cv_pct=None if sd is None else sd / mean * 100.0,
        gmi_pct=3.31 + 0.02392 * mean,
        below_54_pct=float(np.count_nonzero(v < VERY_LOW)) * pct,
        below_70_pct=float(np.count_nonzero(v < LOW)) * pct,
        in_70_180_pct=float(np.count_nonzero((v >= LOW) & (v <= HIGH))) * pct,
        above_180_pct=float(np.count_nonzero(v > HIGH)) * pct,
        above_250_pct=float(np.count_nonzero(v > VERY_HIGH)) * pct,
    )


def utc_from_epoch(epoch_s: float) -> datetime:
    """Epoch seconds back to a UTC datetime (microsecond precision)."""
    return datetime.fromtimestamp(float(epoch_s), tz=UTC)


# ---------------------------------------------------------------------------
# Rate of change, trend arrow, prediction
# ---------------------------------------------------------------------------


class TrendArrow(StrEnum):
    RISING_RAPIDLY = "rising_rapidly"
    RISING = "rising"
    RISING_SLOWLY = "rising_slowly"
    STEADY = "steady"
    FALLING_SLOWLY = "falling_slowly"
    FALLING = "falling"
    FALLING_RAPIDLY = "falling_rapidly"


# Nightscout/Dexcom direction names, for interoperability.
DEXCOM_DIRECTION: Mapping[TrendArrow, str] = MappingProxyType(
    {
        TrendArrow.RISING_RAPIDLY: "DoubleUp",
        TrendArrow.RISING: "SingleUp",
        TrendArrow.RISING_SLOWLY: "FortyFiveUp",
        TrendArrow.STEADY: "Flat",
        TrendArrow.FALLING_SLOWLY: "FortyFiveDown",
        TrendArrow.FALLING: "SingleDown",
        TrendArrow.FALLING_RAPIDLY: "DoubleDown",
    }
)


def _window_fit(
    samples: Sequence[GlucoseSample],
    at: datetime,
    window: timedelta,
    min_samples: int,
    min_span: timedelta,
) -> tuple[float, float, float] | None:
    """Least-squares line through readings in [at - window, at].

    Returns (slope mg/dL/min, value of the line at ``at``, n) or None when there
    are fewer than ``min_samples`` readings or they span less than ``min_span``.
    Because the window ends at ``at``, ``min_span`` also bounds how old the
    newest reading may be (window - min_span).
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    t, v = as_arrays(samples)
    t_at = at.timestamp()
    inside = (t >= t_at - window.total_seconds()) & (t <= t_at)
    t, v = t[inside], v[inside]
    if t.size < min_samples or (t[-1] - t[0]) < min_span.total_seconds():
        return None
    x = (t - t_at) / 60.0  # minutes relative to `at` (<= 0); keeps the fit well conditioned
    xm, vm = x.mean(), v.mean()
    slope = float(np.sum((x - xm) * (v - vm)) / np.sum((x - xm) ** 2))
    return slope, float(vm - slope * xm), float(t.size)


def _round(value: float, quantum: str) -> float:
    # Rounding makes threshold comparisons immune to float noise in the fit
    # (e.g. 69.99999999 vs 70). Decimal ROUND_HALF_UP rounds ties away from
    # zero, so rising and falling rates are treated symmetrically.
    return float(Decimal(repr(value)).quantize(Decimal(quantum), rounding=ROUND_HALF_UP))


def rate_of_change(
    samples: Sequence[GlucoseSample],
    at: datetime,
    *,
    window: timedelta = timedelta(minutes=15),
    min_samples: int = 3,
    min_span: timedelta = timedelta(minutes=10),
) -> float | None:
    """Glucose rate of change in mg/dL/min at ``at``, or None if data are insufficient.

    Least-squares slope over readings in [at - 15 min, at] (inclusive), needing
    >= 3 readings spanning >= 10 min (so the newest is at most 5 min old).
    Rounded to 0.01 mg/dL/min (ties away from zero) so that the reported rate
    and :func:`trend_arrow` always agree.
    """
    fit = _window_fit(samples, at, window, min_samples, min_span)
    return None if fit is None else _round(fit[0], "0.01")


def trend_arrow(rate_mg_dl_per_min: float) -> TrendArrow:
    """Dexcom-style arrow. Edges belong to the faster-change arrow, symmetrically.

    rate >= 3 rising rapidly; 2 <= rate < 3 rising; 1 <= rate < 2 rising slowly;
    -1 < rate < 1 steady; -2 < rate <= -1 falling slowly; -3 < rate <= -2 falling;
    rate <= -3 falling rapidly.
    """
    if not math.isfinite(rate_mg_dl_per_min):
        raise ValueError("rate must be finite")
    r = abs(rate_mg_dl_per_min)
    rising = rate_mg_dl_per_min > 0
    if r >= 3:
        return TrendArrow.RISING_RAPIDLY if rising else TrendArrow.FALLING_RAPIDLY
    if r >= 2:
        return TrendArrow.RISING if rising else TrendArrow.FALLING
    if r >= 1:
        return TrendArrow.RISING_SLOWLY if rising else TrendArrow.FALLING_SLOWLY
    return TrendArrow.STEADY


def predict_glucose(
    samples: Sequence[GlucoseSample],
    at: datetime,
    horizon: timedelta,
    *,
    fit_window: timedelta = timedelta(minutes=20),
    min_samples: int = 4,
    min_span: timedelta = timedelta(minutes=15),
) -> float | None:
    """Predicted mg/dL at ``at + horizon`` by linear extrapolation, or None.

    Model: ordinary least-squares line through readings in [at - 20 min, at]
    (>= 4 readings spanning >= 15 min, so the newest is <= 5 min old),
    extrapolated to ``at + horizon`` and rounded to 0.1 mg/dL. 20 min of
    history rather than 30 keeps the line from being dragged by a dip or peak
    that has already turned (a 30-min fit through a recovering V predicts a low
    that is not coming). Horizons are limited to 0-60 min; intended use is 20
    and 30 min. A linear model over-shoots steep trends: it is a screening
    signal for :func:`predicted_low`, and an extrapolated value can be
    physiologically implausible (even <= 0).
    """
    if not timedelta(0) <= horizon <= timedelta(minutes=60):
        raise ValueError("horizon must be between 0 and 60 minutes")
    fit = _window_fit(samples, at, fit_window, min_samples, min_span)
    if fit is None:
        return None
    slope, value_at_now, _ = fit
    return _round(value_at_now + slope * horizon.total_seconds() / 60.0, "0.1")


# A predicted low is only raised while the current glucose is at most this:
# on real CGM traces a line through a fast fall from a high value (after a
# meal bolus) predicts a low that rarely comes. Tuned with `rpm eval cgm` on
# public T1D traces (Tsalikian 2005, Dubosson 2018; docs/glucose.md): PPV
# 32.6% for glucose < 70 within 30 min, 87.8% of real lows warned >= 15 min
# ahead, against 25.4% / 89.4% without it.
PREDICTED_LOW_MAX_CURRENT = 100.0


def predicted_low(
    samples: Sequence[GlucoseSample],
    at: datetime,
    *,
    threshold: float = LOW,
    horizon: timedelta = timedelta(minutes=30),
    max_current: float | None = PREDICTED_LOW_MAX_CURRENT,
) -> bool | None:
    """True if the fitted line is below ``threshold`` now, or at ``at + horizon`` while near.

    "Near": the line's value now is at most ``max_current`` (None: any). None
    (not False) when there are too few data: "unknown" must never read as "no
    low predicted". A line's minimum over an interval is at an end, so the
    check is on fit(at) and fit(at + horizon).
    """
    now_value = predict_glucose(samples, at, timedelta(0))
    later = predict_glucose(samples, at, horizon)
    if now_value is None or later is None:
        return None
    if now_value < threshold:
        return True
    return later < threshold and (max_current is None or now_value <= max_current)
