"""CGM queries: daily consensus metrics and the ambulatory glucose profile (AGP).

Definitions follow the international consensus on CGM time in range
(Battelino et al., Diabetes Care 2019) and match streams/glucose.py:
<54, <70, 70-180 (inclusive), >180, >250 mg/dL as % of readings; GMI =
3.31 + 0.02392 x mean mg/dL; CV from the sample SD; sufficiency = >= 70% of
expected readings. Days are calendar days in the patient's time zone (default
Asia/Ho_Chi_Minh). Readings with quality flags (e.g. calibrating) are left out.
Computed from raw readings with plain SQL, so both backends agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
CGM_INTERVAL = timedelta(minutes=5)
SUFFICIENT_PCT = 70.0
AGP_PERCENTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

_STATS = """count(*), avg(value), stddev_samp(value),
 count(*) FILTER (WHERE value < 54), count(*) FILTER (WHERE value < 70),
 count(*) FILTER (WHERE value >= 70 AND value <= 180),
 count(*) FILTER (WHERE value > 180), count(*) FILTER (WHERE value > 250)"""
_WHERE = "patient_id = %(p)s AND type = 'glucose' AND flags = '{}' AND measured_at >= %(a)s AND measured_at < %(b)s"


@dataclass(frozen=True, slots=True)
class GlucoseSummary:
    """Consensus metrics over a period; statistics are None when it has no readings."""

    start: datetime
    end: datetime
    n: int
    expected: float
    coverage_pct: float
    sufficient: bool
    mean_mg_dl: float | None
    sd_mg_dl: float | None
    cv_pct: float | None
    gmi_pct: float | None
    below_54_pct: float | None
    below_70_pct: float | None
    in_70_180_pct: float | None
    above_180_pct: float | None
    above_250_pct: float | None


@dataclass(frozen=True, slots=True)
class DailyGlucose:
    day: date
    metrics: GlucoseSummary


def _summary(start: datetime, end: datetime, interval: timedelta, row: tuple[object, ...] | None) -> GlucoseSummary:
    expected = (end - start) / interval
    n = int(row[0]) if row else 0  # type: ignore[call-overload]
    coverage = min(100.0, 100.0 * n / expected) if expected else 0.0
    if not row or n == 0:
        return GlucoseSummary(start, end, 0, expected, 0.0, False, *([None] * 9))
    _, mean, sd, c54, c70, c_in, c180, c250 = row
    mean_f, sd_f = float(mean), (None if sd is None else float(sd))  # type: ignore[arg-type]
    pct = 100.0 / n
    return GlucoseSummary(
        start, end, n, expected, coverage, coverage >= SUFFICIENT_PCT, mean_f, sd_f,
        None if sd_f is None else sd_f / mean_f * 100.0, 3.31 + 0.02392 * mean_f,
        int(c54) * pct, int(c70) * pct, int(c_in) * pct, int(c180) * pct, int(c250) * pct,  # type: ignore[call-overload]
    )


def _midnight(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=tz)


def daily_metrics(
    conn: psycopg.Connection, patient_id: str, first_day: date, last_day: date, tz: str = DEFAULT_TZ,
    interval: timedelta = CGM_INTERVAL,
) -> list[DailyGlucose]:
    """One entry per calendar day from ``first_day`` to ``last_day`` inclusive, days without data included."""
    if last_day < first_day:
        raise ValueError("last_day before first_day")
    zone = ZoneInfo(tz)
    a, b = _midnight(first_day, zone), _midnight(last_day + timedelta(days=1), zone)
    rows = conn.execute(
        f"SELECT (measured_at AT TIME ZONE %(tz)s)::date, {_STATS} FROM readings WHERE {_WHERE} GROUP BY 1",
        {"tz": tz, "p": patient_id, "a": a, "b": b},
    ).fetchall()
    by_day = {r[0]: tuple(r[1:]) for r in rows}
    out = []
    d = first_day
    while d <= last_day:
        start, end = _midnight(d, zone), _midnight(d + timedelta(days=1), zone)
        out.append(DailyGlucose(d, _summary(start, end, interval, by_day.get(d))))
        d += timedelta(days=1)
    return out


@dataclass(frozen=True, slots=True)
class AgpBin:
    minute_of_day: int
    n: int
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float


@dataclass(frozen=True, slots=True)
class Agp:
    """Ambulatory glucose profile: percentiles by local time of day over ``days`` days."""

    patient_id: str
    tz: str
    bin_minutes: int
    days_with_data: int
    summary: GlucoseSummary
    bins: tuple[AgpBin, ...]


def agp(
    conn: psycopg.Connection, patient_id: str, end: datetime, days: int = 14, bin_minutes: int = 15,
    tz: str = DEFAULT_TZ, interval: timedelta = CGM_INTERVAL,
) -> Agp:
    """AGP over [end - days, end); bins with no readings are absent."""
    if 1440 % bin_minutes:
        raise ValueError("bin_minutes must divide a day")
    start = end - timedelta(days=days)
    params = {"tz": tz, "p": patient_id, "a": start, "b": end, "bin": bin_minutes * 60,
              "q": list(AGP_PERCENTILES)}
    bins = conn.execute(
        "SELECT floor(extract(epoch FROM (measured_at AT TIME ZONE %(tz)s)::time) / %(bin)s)::int, count(*),"
        f" percentile_cont(%(q)s::float8[]) WITHIN GROUP (ORDER BY value) FROM readings WHERE {_WHERE}"
        " GROUP BY 1 ORDER BY 1",
        params,
    ).fetchall()
    total = conn.execute(
        f"SELECT {_STATS}, count(DISTINCT (measured_at AT TIME ZONE %(tz)s)::date) FROM readings WHERE {_WHERE}",
        params,
    ).fetchone()
    assert total is not None
    return Agp(
        patient_id, tz, bin_minutes, int(total[-1]), _summary(start, end, interval, tuple(total[:-1])),
        tuple(AgpBin(b * bin_minutes, int(n), *(float(x) for x in q)) for b, n, q in bins),
    )
