"""Writing what the stream workers derive: window features, NEWS2, glucose metrics and trends,
waveform heart rate (wire.derived: WindowFeatures on rpm.features.v1, ScoreBatch on rpm.scores.v1).

Each row has a natural key (patient, time span), so a record re-emitted
after a worker restart is a no-op, like a replayed reading. Row classes list
their fields in column order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field, fields
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from wire.derived import (
    GlucoseDaily,
    GlucoseTrend,
    News2Score,
    ScoreBatch,
    WaveformHeartRate,
    WindowFeatures,
)


@dataclass(frozen=True, slots=True)
class WindowFeatureRow:
    patient_id: str
    type: str
    window_start: datetime
    window_end: datetime
    length_s: int
    count: int
    received: int
    rejected: int
    rejected_by: dict[str, int]
    mean: float | None
    median: float | None
    min: float | None
    max: float | None
    std: float | None
    slope_per_h: float | None
    coverage: float
    quality: float | None


@dataclass(frozen=True, slots=True)
class News2Row:
    """One NEWS2 score (RCP 2017); a None sub-score was not scored (see missing/stale/indeterminate)."""

    patient_id: str
    scored_at: datetime
    total: int
    band: str
    red_flag: bool
    red_flag_parameters: tuple[str, ...]
    complete: bool
    spo2_scale: int
    resp_rate: int | None
    spo2: int | None
    air_or_oxygen: int | None
    systolic_bp: int | None
    pulse: int | None
    consciousness: int | None
    temperature: int | None
    missing: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    indeterminate: tuple[str, ...] = ()
    monitoring_frequency: str = ""
    inputs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GlucoseMetricsRow:
    patient_id: str
    period_start: datetime
    period_end: datetime
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


@dataclass(frozen=True, slots=True)
class GlucoseTrendRow:
    patient_id: str
    at: datetime
    mg_dl: float
    rate_mg_dl_min: float | None
    trend: str | None
    predicted_20_mg_dl: float | None
    predicted_30_mg_dl: float | None
    predicted_low: bool | None


@dataclass(frozen=True, slots=True)
class WaveformHrRow:
    patient_id: str
    device_id: str
    waveform: str
    at: datetime
    hr_bpm: float | None
    reason: str
    good_windows: int
    windows: int


Row = WindowFeatureRow | News2Row | GlucoseMetricsRow | GlucoseTrendRow | WaveformHrRow
TABLES: dict[type, str] = {
    WindowFeatureRow: "window_features",
    News2Row: "news2_scores",
    GlucoseMetricsRow: "glucose_metrics",
    GlucoseTrendRow: "glucose_trends",
    WaveformHrRow: "waveform_hr",
}


def rows_from_features(f: WindowFeatures) -> list[Row]:
    return [
        WindowFeatureRow(f.patient_id, w.type.value, w.start, w.end, w.length_s, w.count, w.received, w.rejected,
                         dict(w.rejected_by), w.mean, w.median, w.min, w.max, w.std, w.slope_per_h, w.coverage,
                         w.quality)
        for w in f.windows
    ]


def rows_from_scores(b: ScoreBatch) -> list[Row]:
    out: list[Row] = []
    p = b.patient_id
    for s in b.scores:
        if isinstance(s, News2Score):
            out.append(News2Row(p, s.scored_at, s.total, s.band, s.red_flag, s.red_flag_parameters, s.complete,
                                s.spo2_scale, s.resp_rate, s.spo2, s.air_or_oxygen, s.systolic_bp, s.pulse,
                                s.consciousness, s.temperature, s.missing, s.stale, s.indeterminate,
                                s.monitoring_frequency, dict(s.inputs)))
        elif isinstance(s, GlucoseDaily):
            out.append(GlucoseMetricsRow(p, s.period_start, s.period_end, s.n_samples, s.expected_samples,
                                         s.coverage_pct, s.mean_mg_dl, s.sd_mg_dl, s.cv_pct, s.gmi_pct,
                                         s.below_54_pct, s.below_70_pct, s.in_70_180_pct, s.above_180_pct,
                                         s.above_250_pct))
        elif isinstance(s, GlucoseTrend):
            out.append(GlucoseTrendRow(p, s.at, s.mg_dl, s.rate_mg_dl_min, s.trend, s.predicted_20_mg_dl,
                                       s.predicted_30_mg_dl, s.predicted_low))
        elif isinstance(s, WaveformHeartRate):
            out.append(WaveformHrRow(p, s.device_id, s.waveform.value, s.at, s.hr_bpm, s.reason, s.good_windows,
                                     s.windows))
    return out


def _value(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, dict):
        return json.dumps(v)
    return v


def write(conn: psycopg.Connection, rows: Sequence[Row]) -> dict[str, int]:
    """Insert rows (any mix of kinds) idempotently in the caller's transaction;
    return how many were new, per table."""
    by_kind: dict[type, list[Row]] = {}
    for r in rows:
        by_kind.setdefault(type(r), []).append(r)
    out: dict[str, int] = {}
    for kind, group in by_kind.items():
        names = [f.name for f in fields(kind)]
        stmt = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
            sql.Identifier(TABLES[kind]),
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
        )
        values = [tuple(_value(v) for v in astuple(r)) for r in group]
        with conn.cursor() as cur:
            cur.executemany(stmt, values, returning=False)
            out[TABLES[kind]] = cur.rowcount  # executemany: the sum over all rows
    return out
