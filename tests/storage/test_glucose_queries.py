"""CGM daily metrics and AGP on hand-made readings (local days in Asia/Ho_Chi_Minh, UTC+7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from storage import glucose_queries as gq
from tests.storage.conftest import insert, reading


def local(day: int, hh: int, mm: int = 0) -> datetime:
    """Vietnam local time (UTC+7, no DST) as UTC."""
    return datetime(2026, 3, day, hh, mm, tzinfo=UTC) - timedelta(hours=7)


def g(t: datetime, v: float, flags: tuple[str, ...] = ()) -> tuple:  # type: ignore[type-arg]
    return reading(t, v, "glucose", device="CGM1", unit="mg/dL", flags=flags)


def test_daily_metrics_by_local_day(db: psycopg.Connection) -> None:
    insert(db, [
        # 3 March local: 50, 60, 100, 200, 300 (00:30 local is still 2 March in UTC).
        g(local(3, 0, 30), 50), g(local(3, 6), 60), g(local(3, 12), 100), g(local(3, 18), 200),
        g(local(3, 23, 55), 300),
        g(local(3, 13), 400, flags=("calibrating",)),  # flagged: left out
        g(local(4, 8), 120),  # 4 March: one reading
    ])
    days = gq.daily_metrics(db, "P1", date(2026, 3, 2), date(2026, 3, 4))
    assert [d.day for d in days] == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    empty, d3, d4 = (d.metrics for d in days)
    assert (empty.n, empty.mean_mg_dl, empty.sufficient) == (0, None, False)
    assert d3.n == 5 and d3.expected == 288
    assert d3.mean_mg_dl == pytest.approx(142.0)
    # Sample SD of 50, 60, 100, 200, 300: squared deviations sum to 45,280; / 4 = 11,320.
    assert d3.sd_mg_dl == pytest.approx(11320 ** 0.5)
    assert d3.cv_pct == pytest.approx(11320 ** 0.5 / 142 * 100)
    assert d3.gmi_pct == pytest.approx(3.31 + 0.02392 * 142)
    assert (d3.below_54_pct, d3.below_70_pct, d3.in_70_180_pct, d3.above_180_pct, d3.above_250_pct) == (
        20.0, 40.0, 20.0, 40.0, 20.0)
    assert d3.coverage_pct == pytest.approx(100 * 5 / 288)
    assert (d4.n, d4.mean_mg_dl, d4.sd_mg_dl, d4.cv_pct) == (1, 120.0, None, None)
    assert d3.start == local(3, 0) and d3.end == local(4, 0)


def test_range_edges_70_and_180_are_in_range(db: psycopg.Connection) -> None:
    insert(db, [g(local(5, 1), 54), g(local(5, 2), 69.9), g(local(5, 3), 70), g(local(5, 4), 180),
                g(local(5, 5), 180.1), g(local(5, 6), 250), g(local(5, 7), 250.1), g(local(5, 8), 53.9)])
    m = gq.daily_metrics(db, "P1", date(2026, 3, 5), date(2026, 3, 5))[0].metrics
    # <54: 53.9; <70: +54, 69.9; 70..180: 70, 180; >180: 180.1, 250, 250.1; >250: 250.1 (of 8).
    assert (m.below_54_pct, m.below_70_pct, m.in_70_180_pct, m.above_180_pct, m.above_250_pct) == (
        12.5, 37.5, 25.0, 37.5, 12.5)


def test_agp_percentiles_by_local_time_of_day(db: psycopg.Connection) -> None:
    # Five days, one reading at 08:05 local (bin 08:00) and one at 20:10 (bin 20:00) each.
    morning = [100, 110, 120, 130, 140]
    evening = [200, 180, 160, 300, 220]
    rows = [g(local(1 + i, 8, 5), v) for i, v in enumerate(morning)]
    rows += [g(local(1 + i, 20, 10), v) for i, v in enumerate(evening)]
    rows.append(g(local(1, 20, 10) - timedelta(days=20), 999))  # outside the 14 days
    insert(db, rows)
    out = gq.agp(db, "P1", end=local(6, 0), days=14, bin_minutes=15)
    assert out.days_with_data == 5 and out.summary.n == 10
    assert [b.minute_of_day for b in out.bins] == [8 * 60, 20 * 60]
    m, e = out.bins
    # percentile_cont on 100..140: p5 = 100 + 0.2*10, p25 = 110, p50 = 120, p75 = 130, p95 = 138.
    assert (m.n, m.p5, m.p25, m.p50, m.p75, m.p95) == (5, pytest.approx(102), 110, 120, 130, pytest.approx(138))
    # Sorted evening 160, 180, 200, 220, 300: p5 = 164, p95 = 220 + 0.8*80 = 284.
    assert (e.p5, e.p25, e.p50, e.p75, e.p95) == (pytest.approx(164), 180, 200, 220, pytest.approx(284))
    assert out.summary.expected == 14 * 288 and out.summary.sufficient is False
