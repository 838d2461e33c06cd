"""A patient's own view: latest readings, devices, and what happened to their alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from fastapi import APIRouter, Depends, Request

from alerts.console import devices
from alerts.console.auth import patient_self
from alerts.console.context import console
from alerts.console.models import (
    GlucoseSummaryOut,
    HomeAlertOut,
    HomeOut,
    HomeReadingOut,
    TrendOut,
    TrendPointOut,
    TrendsOut,
)
from alerts.console.periods import CHARTED, RANGES
from alerts.console.users import Principal
from storage import audit, glucose_queries, queries

router = APIRouter(prefix="/api", tags=["home"])
ALERT_DAYS = 7
# Events that mean the alert reached the care team (console push when raised, SMS/webhook, escalation).
NOTIFIED = ("raised", "notified", "escalated")
HISTORY = "7d"
GLUCOSE_DAYS = 14
# A change smaller than this (canonical units) is "steady": about one step of the device's usual noise.
STEADY: dict[str, float] = {"heart_rate": 3, "spo2": 1, "resp_rate": 2, "temperature": 0.2, "bp_systolic": 5,
                            "bp_diastolic": 5, "glucose": 10}


def trend_of(type_: str, value: float, previous: float | None) -> str | None:
    if previous is None:
        return None
    delta = value - previous
    if abs(delta) < STEADY.get(type_, 0.0):
        return "flat"
    return "up" if delta > 0 else "down"


def _alerts(conn: psycopg.Connection, patient_id: str, now: datetime) -> list[HomeAlertOut]:
    rows = conn.execute(
        "SELECT a.id, a.rule, a.parameter, a.message, a.priority, a.value, a.threshold, a.raised_at,"
        " EXISTS (SELECT 1 FROM alert_events e WHERE e.alert_id = a.id AND e.event = ANY(%s)),"
        " (SELECT min(e.at) FROM alert_events e WHERE e.alert_id = a.id AND e.event = 'acknowledged')"
        " FROM alerts a WHERE a.patient_id = %s AND a.raised_at > %s ORDER BY a.raised_at DESC LIMIT 20",
        (list(NOTIFIED), patient_id, now - timedelta(days=ALERT_DAYS)),
    ).fetchall()
    return [HomeAlertOut(id=i, rule=r, parameter=par, message=m, priority=p, value=v, threshold=th, raised_at=at,
                         care_team_notified=n, seen_by_care_team=seen is not None, seen_at=seen)
            for i, r, par, m, p, v, th, at, n, seen in rows]


@router.get("/home", response_model=HomeOut, responses={401: {}, 403: {}})
def home(request: Request, user: Principal = Depends(patient_self)) -> HomeOut:
    """For a signed-in patient only: their own data (no patient id in the request to tamper with)."""
    pid = user.patient_id
    assert pid is not None
    now = datetime.now(UTC)
    with console(request).connect() as conn, conn.transaction():
        audit.append(conn, user.user_id, "home.view", pid, {})
        name = conn.execute("SELECT display_name FROM patients WHERE id = %s", (pid,)).fetchone()
        readings = devices.latest_with_previous(conn, pid, now)
        devs = devices.patient_devices(conn, pid, now)
        alerts = _alerts(conn, pid, now)
    return HomeOut(patient_id=pid, display_name=name[0] if name else pid,
                   readings=[HomeReadingOut(type=t, value=v, unit=u, measured_at=at, previous_value=pv, previous_at=pat,
                                            trend=trend_of(t, v, pv))  # type: ignore[arg-type]
                             for t, v, u, at, pv, pat in readings],
                   devices=devs, alerts=alerts)


@router.get("/home/trends", response_model=TrendsOut, responses={401: {}, 403: {}})
def home_trends(request: Request, user: Principal = Depends(patient_self)) -> TrendsOut:
    """My own readings over the last 7 days (hourly means with min-max), for the home view's graphs."""
    pid = user.patient_id
    assert pid is not None
    stop = datetime.now(UTC)
    start = stop - RANGES[HISTORY]
    with console(request).connect() as conn, conn.transaction():
        audit.append(conn, user.user_id, "home.trends", pid, {"start": start, "end": stop})
        out = [queries.vital_trend(conn, pid, t, start, stop) for t in CHARTED]
    return TrendsOut(patient_id=pid, start=start, end=stop, trends=[
        TrendOut(type=tr.type, unit=tr.unit, resolution=tr.resolution.value, start=tr.start, end=tr.end,
                 points=[TrendPointOut(t=p.t, value=p.value, min=p.min, max=p.max, n=p.n) for p in tr.points])
        for tr in out if tr.points
    ])


@router.get("/home/glucose", response_model=GlucoseSummaryOut, responses={401: {}, 403: {}})
def home_glucose(request: Request, user: Principal = Depends(patient_self)) -> GlucoseSummaryOut:
    """My time in ranges over the last 14 days (international consensus, Battelino 2019)."""
    pid = user.patient_id
    assert pid is not None
    stop = datetime.now(UTC)
    ctx = console(request)
    with ctx.connect() as conn, conn.transaction():
        audit.append(conn, user.user_id, "home.glucose", pid, {"days": GLUCOSE_DAYS, "end": stop})
        s = glucose_queries.agp(conn, pid, stop, days=GLUCOSE_DAYS, tz=ctx.settings.console_timezone).summary
    return GlucoseSummaryOut(
        n=s.n, coverage_pct=s.coverage_pct, sufficient=s.sufficient, mean_mg_dl=s.mean_mg_dl, cv_pct=s.cv_pct,
        gmi_pct=s.gmi_pct, below_54_pct=s.below_54_pct, below_70_pct=s.below_70_pct,
        in_70_180_pct=s.in_70_180_pct, above_180_pct=s.above_180_pct, above_250_pct=s.above_250_pct)
