"""A patient's own view: latest readings, devices, and what happened to their alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from fastapi import APIRouter, Depends, Request

from alerts.console import devices
from alerts.console.auth import patient_self
from alerts.console.context import console
from alerts.console.models import HomeAlertOut, HomeOut, HomeReadingOut
from alerts.console.users import Principal
from storage import audit

router = APIRouter(prefix="/api", tags=["home"])
ALERT_DAYS = 7
# Events that mean the alert reached the care team (console push when raised, SMS/webhook, escalation).
NOTIFIED = ("raised", "notified", "escalated")


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
        readings = devices.latest_readings(conn, pid, now)
        devs = devices.patient_devices(conn, pid, now)
        alerts = _alerts(conn, pid, now)
    return HomeOut(patient_id=pid, display_name=name[0] if name else pid,
                   readings=[HomeReadingOut(type=t, value=v, unit=u, measured_at=at) for t, v, u, at in readings],
                   devices=devs, alerts=alerts)
