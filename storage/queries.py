"""Trend queries for the console: vitals over time, ward overview, NEWS2 and alert history.

The SQL names only tables and views both backends provide with the same
columns (readings, readings_1m, readings_1h, news2_scores, alerts,
alert_events), so results are the same on TimescaleDB and plain PostgreSQL.
Reads only: the HTTP layer records who read what (storage.audit).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import psycopg

from storage.policy import ORIGIN
from wire.units import UNITS, ReadingType


class Resolution(StrEnum):
    RAW = "raw"
    MINUTE = "1m"
    HOUR = "1h"


_STEP = {Resolution.MINUTE: timedelta(minutes=1), Resolution.HOUR: timedelta(hours=1)}
_VIEW = {Resolution.MINUTE: "readings_1m", Resolution.HOUR: "readings_1h"}


def choose_resolution(span: timedelta, raw_max: timedelta = timedelta(hours=1), max_points: int = 3000) -> Resolution:
    """Finest resolution that keeps a chart readable: raw up to an hour, then
    1-minute buckets while they stay under ``max_points`` (about 2 days), then hours."""
    if span <= raw_max:
        return Resolution.RAW
    if span / timedelta(minutes=1) <= max_points:
        return Resolution.MINUTE
    return Resolution.HOUR


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One point: a reading (raw) or a bucket. ``value`` is the mean of readings
    without quality flags (None if every reading was flagged); ``min``/``max``
    draw the band. A raw point keeps its reading's value and flags."""

    t: datetime
    value: float | None
    min: float | None
    max: float | None
    n: int
    n_flagged: int
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Trend:
    patient_id: str
    type: str
    unit: str
    resolution: Resolution
    start: datetime
    end: datetime
    points: tuple[TrendPoint, ...]


def _floor(t: datetime, step: timedelta) -> datetime:
    return ORIGIN + ((t - ORIGIN) // step) * step


def vital_trend(
    conn: psycopg.Connection, patient_id: str, type_: ReadingType | str, start: datetime, end: datetime,
    resolution: Resolution | None = None,
) -> Trend:
    """A patient's vital over [start, end); buckets are those starting in the range
    (the first one widened down to its bucket boundary)."""
    if end <= start:
        raise ValueError("end must be after start")
    kind = ReadingType(type_)
    res = resolution or choose_resolution(end - start)
    if res is Resolution.RAW:
        rows = conn.execute(
            "SELECT measured_at, value, flags FROM readings WHERE patient_id = %s AND type = %s"
            " AND measured_at >= %s AND measured_at < %s ORDER BY measured_at, device_id",
            (patient_id, kind.value, start, end),
        ).fetchall()
        points = tuple(
            TrendPoint(t, v, v, v, 0 if f else 1, 1 if f else 0, tuple(f)) for t, v, f in rows
        )
    else:
        rows = conn.execute(
            f"SELECT bucket, n, n_flagged, sum, min, max FROM {_VIEW[res]}"  # fixed view names only
            " WHERE patient_id = %s AND type = %s AND bucket >= %s AND bucket < %s ORDER BY bucket",
            (patient_id, kind.value, _floor(start, _STEP[res]), end),
        ).fetchall()
        points = tuple(
            TrendPoint(t, (s / n) if n else None, lo, hi, int(n), int(nf)) for t, n, nf, s, lo, hi in rows
        )
    return Trend(patient_id, kind.value, UNITS[kind].canonical, res, start, end, points)


@dataclass(frozen=True, slots=True)
class News2Point:
    scored_at: datetime
    total: int
    band: str
    red_flag: bool
    complete: bool
    spo2_scale: int
    subscores: tuple[tuple[str, int | None], ...]
    red_flag_parameters: tuple[str, ...]
    missing: tuple[str, ...]
    stale: tuple[str, ...]
    indeterminate: tuple[str, ...]


_SUBSCORES = ("resp_rate", "spo2", "air_or_oxygen", "systolic_bp", "pulse", "consciousness", "temperature")
_NEWS2_COLS = ("scored_at, total, band, red_flag, complete, spo2_scale, " + ", ".join(_SUBSCORES)
               + ", red_flag_parameters, missing, stale, indeterminate")


def _news2(row: Sequence[Any]) -> News2Point:
    scored_at, total, band, red_flag, complete, scale, *rest = row
    subs, lists = rest[:7], rest[7:]
    return News2Point(scored_at, total, band, red_flag, complete, scale, tuple(zip(_SUBSCORES, subs)),
                      *(tuple(x) for x in lists))


def news2_history(conn: psycopg.Connection, patient_id: str, start: datetime, end: datetime) -> list[News2Point]:
    rows = conn.execute(
        f"SELECT {_NEWS2_COLS} FROM news2_scores WHERE patient_id = %s AND scored_at >= %s AND scored_at < %s"
        " ORDER BY scored_at",
        (patient_id, start, end),
    ).fetchall()
    return [_news2(r) for r in rows]


@dataclass(frozen=True, slots=True)
class LatestVital:
    type: str
    value: float
    unit: str
    measured_at: datetime


@dataclass(frozen=True, slots=True)
class BedStatus:
    bed: str | None
    patient_id: str
    display_name: str
    vitals: tuple[LatestVital, ...]
    news2: News2Point | None


OVERVIEW_TYPES: tuple[ReadingType, ...] = (
    ReadingType.HEART_RATE, ReadingType.SPO2, ReadingType.RESP_RATE, ReadingType.TEMPERATURE,
    ReadingType.BP_SYSTOLIC, ReadingType.BP_DIASTOLIC, ReadingType.GLUCOSE,
)


def _bed_key(bed: str | None) -> tuple[object, ...]:
    # Natural order: bed 2 before bed 10; beds without a number last.
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", bed or "~") if p)


def ward_overview(
    conn: psycopg.Connection, ward_id: str, now: datetime, lookback: timedelta = timedelta(hours=24),
    types: Sequence[ReadingType] = OVERVIEW_TYPES,
) -> list[BedStatus]:
    """Per bed: the latest reading without quality flags of each vital, and the
    latest NEWS2, within ``lookback`` before ``now`` (older values are not
    "latest" for a ward round; the bound also lets the planner skip old partitions)."""
    since = now - lookback
    vitals = conn.execute(
        "SELECT p.id, t.type, v.value, v.unit, v.measured_at FROM patients p"
        " CROSS JOIN unnest(%(types)s::text[]) AS t(type)"
        " JOIN LATERAL (SELECT r.value, r.unit, r.measured_at FROM readings r"
        "   WHERE r.patient_id = p.id AND r.type = t.type AND r.measured_at > %(since)s"
        "     AND r.measured_at <= %(now)s AND r.flags = '{}'"
        "   ORDER BY r.measured_at DESC LIMIT 1) v ON true"
        " WHERE p.ward_id = %(ward)s",
        {"types": [t.value for t in types], "since": since, "now": now, "ward": ward_id},
    ).fetchall()
    scores = conn.execute(
        f"SELECT p.id, s.* FROM patients p JOIN LATERAL (SELECT {_NEWS2_COLS} FROM news2_scores n"
        "   WHERE n.patient_id = p.id AND n.scored_at > %(since)s AND n.scored_at <= %(now)s"
        "   ORDER BY n.scored_at DESC LIMIT 1) s ON true WHERE p.ward_id = %(ward)s",
        {"since": since, "now": now, "ward": ward_id},
    ).fetchall()
    patients = conn.execute(
        "SELECT id, bed, display_name FROM patients WHERE ward_id = %s", (ward_id,)
    ).fetchall()
    order = {t.value: i for i, t in enumerate(types)}
    by_patient: dict[str, list[LatestVital]] = {}
    for pid, type_, value, unit, at in vitals:
        by_patient.setdefault(pid, []).append(LatestVital(type_, value, unit, at))
    news = {r[0]: _news2(r[1:]) for r in scores}
    out = [
        BedStatus(bed, pid, name, tuple(sorted(by_patient.get(pid, []), key=lambda v: order[v.type])),
                  news.get(pid))
        for pid, bed, name in patients
    ]
    return sorted(out, key=lambda b: (_bed_key(b.bed), b.patient_id))
