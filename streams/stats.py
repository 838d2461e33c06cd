"""Window statistics: exact, mergeable per-minute summaries (pure).

A closed 1-minute window is kept as a compact summary: count, mean and the
co-moments of (time, value) about their means, min, max, and the accepted
values as sorted distinct values with counts. Summaries merge exactly
(Chan, Golub & LeVeque, "Algorithms for computing the sample variance",
Am Stat 1983;37:242), so the 15-minute sliding window (1-minute step) is
the merge of the last 15 minutes: exact mean, SD, slope and min/max, and an
exact median from the merged value counts, with no raw 15-minute buffer in
state. Monitors report values at display resolution, so a minute holds few
distinct values and its value counts are small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from wire.derived import WindowStats
from wire.units import ReadingType

MINUTE_MS = 60_000


@dataclass(slots=True)
class Summary:
    """Mergeable statistics of accepted samples (times in epoch seconds)."""

    n: int = 0
    mean_v: float = 0.0
    m2_v: float = 0.0  # sum of squared deviations of values
    mean_t: float = 0.0
    c_tt: float = 0.0  # sum of squared deviations of times (s^2)
    c_tv: float = 0.0  # co-moment of time and value
    mn: float = math.inf
    mx: float = -math.inf
    values: list[float] = field(default_factory=list)  # sorted distinct accepted values
    counts: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Minute:
    """One closed 1-minute window of one vital (kept in state for the sliding window)."""

    start_ms: int
    received: int
    rejected_by: dict[str, int]
    s: Summary
    last_ms: int  # time of the last accepted sample (NEWS2 observation time)


def summarise(t_ms: npt.NDArray[np.int64], v: npt.NDArray[np.float64]) -> Summary:
    if v.size == 0:
        return Summary()
    ts = t_ms / 1000.0
    n = v.size
    mt, mv = float(ts.sum() / n), float(v.sum() / n)  # = .mean(), without its per-call overhead
    dt, dv = ts - mt, v - mv
    vals, counts = np.unique(v, return_counts=True)
    return Summary(
        n=int(v.size), mean_v=mv, m2_v=float(dv @ dv), mean_t=mt, c_tt=float(dt @ dt), c_tv=float(dt @ dv),
        mn=float(vals[0]), mx=float(vals[-1]), values=vals.tolist(), counts=counts.tolist(),
    )


def merge(a: Summary, b: Summary) -> Summary:
    if a.n == 0:
        return b
    if b.n == 0:
        return a
    n = a.n + b.n
    dv, dt = b.mean_v - a.mean_v, b.mean_t - a.mean_t
    w = a.n * b.n / n
    return Summary(
        n=n,
        mean_v=a.mean_v + dv * b.n / n,
        m2_v=a.m2_v + b.m2_v + dv * dv * w,
        mean_t=a.mean_t + dt * b.n / n,
        c_tt=a.c_tt + b.c_tt + dt * dt * w,
        c_tv=a.c_tv + b.c_tv + dt * dv * w,
        mn=min(a.mn, b.mn),
        mx=max(a.mx, b.mx),
        values=a.values + b.values,  # unsorted after a merge; median() sorts
        counts=a.counts + b.counts,
    )


def median(s: Summary) -> float | None:
    """Exact median from the value counts: the values at 1-based ranks ceil(n/2) and n/2 + 1.

    Plain Python: a summary holds a few distinct values (15 minutes merged: a
    few hundred at most), where numpy's per-call overhead cost more than the sort.
    """
    if s.n == 0:
        return None
    lo_rank, hi_rank = (s.n + 1) // 2, s.n // 2 + 1
    lo = hi = math.nan
    cum = 0
    for v, c in sorted(zip(s.values, s.counts, strict=True)):
        cum += c
        if cum >= lo_rank and lo != lo:  # lo != lo: not found yet (NaN)
            lo = v
        if cum >= hi_rank:
            hi = v
            break
    return float(lo) if s.n % 2 else float((lo + hi) / 2.0)


def stats(
    vital: ReadingType,
    length_s: int,
    start_ms: int,
    s: Summary,
    received: int,
    rejected_by: dict[str, int],
    expected_interval_s: float,
) -> WindowStats:
    expected = max(1.0, length_s / expected_interval_s)
    rejected = sum(rejected_by.values())
    slope = s.c_tv / s.c_tt * 3600.0 if s.n >= 2 and s.c_tt > 0 else None
    return WindowStats(
        type=vital,
        length_s=length_s,
        start=to_dt(start_ms),
        end=to_dt(start_ms + length_s * 1000),
        count=s.n,
        received=received,
        rejected=rejected,
        rejected_by=dict(rejected_by),
        mean=s.mean_v if s.n else None,
        median=median(s),
        min=s.mn if s.n else None,
        max=s.mx if s.n else None,
        std=math.sqrt(s.m2_v / (s.n - 1)) if s.n >= 2 else None,
        slope_per_h=slope,
        coverage=min(1.0, s.n / expected),
        quality=s.n / received if received else None,
    )


def sliding(vital: ReadingType, minutes: list[Minute], end_ms: int, length_s: int, interval_s: float) -> WindowStats:
    """Merge the closed minutes inside [end - length, end) into one window."""
    start_ms = end_ms - length_s * 1000
    total = Summary()
    received = 0
    rejected: dict[str, int] = {}
    for m in minutes:
        if start_ms <= m.start_ms < end_ms:
            total = merge(total, m.s)
            received += m.received
            for r, n in m.rejected_by.items():
                rejected[r] = rejected.get(r, 0) + n
    return stats(vital, length_s, start_ms, total, received, rejected, interval_s)


def to_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC)


def to_ms(t: datetime) -> int:
    return int(round(t.timestamp() * 1000.0))
