"""Writing what the stream workers derive: window features, NEWS2 scores, glucose metrics.

Each row has a natural key (patient, time span), so a score re-emitted after
a worker restart is a no-op, like a replayed reading. The row classes list
their fields in column order; the writers are ready for the sink to route
the derived topics to as soon as those exist in wire.topics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql


@dataclass(frozen=True, slots=True)
class WindowFeatureRow:
    patient_id: str
    type: str
    window_start: datetime
    window_end: datetime
    n: int
    n_rejected: int
    mean: float | None
    median: float | None
    min: float | None
    max: float | None
    sd: float | None


@dataclass(frozen=True, slots=True)
class News2Row:
    """One NEWS2 score (RCP 2017); a None sub-score was not scored and is listed in not_scored."""

    patient_id: str
    scored_at: datetime
    total: int
    band: str
    red_flag: bool
    complete: bool
    spo2_scale: int
    resp_rate: int | None
    spo2: int | None
    air_or_oxygen: int | None
    systolic_bp: int | None
    pulse: int | None
    consciousness: int | None
    temperature: int | None
    not_scored: tuple[str, ...] = ()


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


_TABLES: dict[type, str] = {
    WindowFeatureRow: "window_features",
    News2Row: "news2_scores",
    GlucoseMetricsRow: "glucose_metrics",
}


def write(conn: psycopg.Connection, rows: Sequence[WindowFeatureRow | News2Row | GlucoseMetricsRow]) -> int:
    """Insert rows of one kind idempotently in the caller's transaction; return how many were new."""
    if not rows:
        return 0
    kind = type(rows[0])
    if any(type(r) is not kind for r in rows):
        raise TypeError("write() takes rows of one kind at a time")
    names = [f.name for f in fields(kind)]
    stmt = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
        sql.Identifier(_TABLES[kind]),
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(sql.Placeholder() * len(names)),
    )
    values: list[tuple[Any, ...]] = [
        tuple(list(v) if isinstance(v, tuple) else v for v in astuple(r)) for r in rows
    ]
    with conn.cursor() as cur:
        cur.executemany(stmt, values, returning=False)
        # executemany's rowcount is the sum over all statements.
        return cur.rowcount
