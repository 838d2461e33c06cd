"""Console API: acknowledge and pause through HTTP, the alert's history, roster and per-patient limits (audited)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from prometheus_client import CollectorRegistry

from alerts import processing
from alerts.broadcast import Broadcaster
from alerts.console import users
from alerts.console.users import Grant
from alerts.http import create_app
from alerts.metrics import AlertMetrics
from alerts.notification_plan import ChannelsEnabled
from runtime.health import Health
from tests.alerts.fixtures import seed_ward, spo2
from tests.alerts.http_server import serve

NOW = datetime.now(UTC).replace(microsecond=0)
OFF = ChannelsEnabled(webhook=False, sms=False)


@pytest.fixture
def console(db_dsn: str) -> Iterator[httpx.Client]:
    """The console app served by uvicorn on a local port, as in the service."""
    registry = CollectorRegistry()
    app = create_app(lambda: psycopg.connect(db_dsn, autocommit=True), Broadcaster(), registry, Health(), 15.0,
                     AlertMetrics(registry), OFF, ops_endpoints=True)
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as c:
        yield c


PASSWORD = "Test-password-1"
ROLES = {"lan": Grant("nurse", "w1"), "head.nurse": Grant("charge_nurse", "w1"), "dr.hung": Grant("clinician", None)}


def auth(c: httpx.Client, db: psycopg.Connection, user: str) -> dict[str, str]:
    """Bearer headers of a real signed-in user (created on first use)."""
    if db.execute("SELECT 1 FROM users WHERE id = %s", (user,)).fetchone() is None:
        users.create_user(db, "test", user, user, PASSWORD, [ROLES[user]])
    r = c.post("/api/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def raise_one(db: psycopg.Connection) -> str:
    seed_ward(db, NOW)
    with db.transaction():
        out = processing.handle_evaluation(db, spo2(NOW - timedelta(seconds=30)), NOW - timedelta(seconds=30), OFF, NOW)
    assert out is not None and out.alarm is not None
    return out.alarm.id


def test_acknowledge_and_pause_over_http(console: httpx.Client, db: psycopg.Connection) -> None:
    alarm_id = raise_one(db)
    c = console
    assert c.post(f"/api/alerts/{alarm_id}/pause").status_code == 401  # who? sign-in is required
    lan = auth(c, db, "lan")
    r = c.post(f"/api/alerts/{alarm_id}/pause", json={"seconds": 60}, headers=lan)
    assert r.status_code == 200 and r.json()["state"] == "paused" and r.json()["paused_until"] is not None
    r = c.post(f"/api/alerts/{alarm_id}/ack", json={"note": "đã đến giường"}, headers=lan)
    assert r.status_code == 200 and r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] == "lan"
    assert c.post(f"/api/alerts/{alarm_id}/ack", headers=lan).status_code == 409
    assert c.post(f"/api/alerts/{alarm_id}/pause", headers=lan).status_code == 409
    # An unknown id answers like another ward's alarm: existence is not leaked to a ward nurse.
    assert c.post("/api/alerts/unknown/ack", headers=lan).status_code == 403
    anonymous = httpx.get(f"{str(c.base_url).rstrip('/')}/api/alerts/{alarm_id}", timeout=10)
    assert anonymous.status_code == 401  # no session, no token
    detail = c.get(f"/api/alerts/{alarm_id}", headers=lan).json()
    assert [(e["event"], e["actor"]) for e in detail["events"]] == [
        ("raised", "system"), ("paused", "lan"), ("acknowledged", "lan")]
    assert detail["events"][2]["detail"]["reason"] == "đã đến giường"
    assert detail["events"][0]["detail"]["called"] == ["lan"]
    text = c.get("/metrics").text
    assert 'rpm_alarm_transitions_total{event="acknowledged"} 1.0' in text
    assert c.get("/api/alerts", headers=lan).json()[0]["id"] == alarm_id


def test_roster_editing_is_audited_and_routes_the_next_alarm(console: httpx.Client, db: psycopg.Connection) -> None:
    seed_ward(db, NOW)
    c = console
    hdr = auth(c, db, "head.nurse")
    assert c.put("/api/responders/mai", json={"display_name": "Mai", "phone": "+84900000009"},
                 headers=hdr).status_code == 200
    shift = {"responder_id": "mai", "role": "nurse", "ward_id": "w1", "beds": ["03"],
             "starts_at": (NOW - timedelta(minutes=5)).isoformat(), "ends_at": (NOW + timedelta(hours=8)).isoformat()}
    r = c.post("/api/roster", json=shift, headers=hdr)
    assert r.status_code == 201
    bad = {**shift, "ends_at": shift["starts_at"]}
    assert c.post("/api/roster", json=bad, headers=hdr).status_code == 422
    assert c.post("/api/roster", json={**shift, "responder_id": "ghost"}, headers=hdr).status_code == 422
    assert any(s["responder_id"] == "mai" for s in c.get("/api/roster", params={"ward_id": "w1"}, headers=hdr).json())
    with db.transaction():
        out = processing.handle_evaluation(db, spo2(NOW), NOW, OFF, NOW)
    assert out is not None and out.dispatches[0].route is not None
    assert set(out.dispatches[0].route.recipients) == {"lan", "mai"}  # both rostered for bed 03 now
    assert c.delete(f"/api/roster/{r.json()['id']}", headers=hdr).status_code == 200
    audit = db.execute("SELECT actor, action FROM audit_log WHERE actor = 'head.nurse' AND action <> 'auth.login'"
                       " ORDER BY id").fetchall()
    assert audit == [("head.nurse", "responder.upsert"), ("head.nurse", "roster.add"), ("head.nurse", "roster.read"),
                     ("head.nurse", "roster.remove")]


def test_per_patient_limit_override_is_audited_and_applied(console: httpx.Client, db: psycopg.Connection) -> None:
    seed_ward(db, NOW)
    c = console
    hdr = auth(c, db, "dr.hung")
    body = {"limit": 85, "reason": "COPD, target 88-92 % (BTS)"}
    r = c.put("/api/patients/P1/limits/spo2_low", json=body, headers=hdr)
    assert r.status_code == 200, r.text
    assert c.put("/api/patients/P1/limits/news2_high", json=body, headers=hdr).status_code == 422
    assert c.put("/api/patients/P1/limits/spo2_low", json={"limit": 85, "reason": ""}, headers=hdr).status_code == 422
    assert c.get("/api/patients/P1/limits", headers=hdr).json()[0]["limit"] == 85
    # SpO2 88 % is within this patient's limit: no alarm, however long it lasts.
    for t in range(0, 120, 10):
        at = NOW + timedelta(seconds=t)
        ev = spo2(at, severity=2.0).model_copy(update={"value": 88.0})
        with db.transaction():
            out = processing.handle_evaluation(db, ev, at, OFF, at)
        assert out is not None and not out.new_alarm
    assert db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    assert c.delete("/api/patients/P1/limits/spo2_low", params={"reason": "exacerbation over"},
                    headers=hdr).status_code == 200
    audit = db.execute("SELECT action, detail->>'limit', detail->>'previous' FROM audit_log WHERE actor = 'dr.hung'"
                       " AND action <> 'auth.login'"
                       " ORDER BY id").fetchall()
    assert audit == [("alarm_limit.set", "85.0", None), ("alarm_limit.read", None, None),
                     ("alarm_limit.clear", None, "85.0")]


def test_alarm_shows_the_current_value_beside_the_value_at_raise(console: httpx.Client, db: psycopg.Connection) -> None:
    alarm_id = raise_one(db)
    later = spo2(NOW - timedelta(seconds=10)).model_copy(update={"value": 74.0, "severity": 16.0})
    with db.transaction():
        processing.handle_evaluation(db, later, NOW - timedelta(seconds=10), OFF, NOW)
    lan = auth(console, db, "lan")
    detail = console.get(f"/api/alerts/{alarm_id}", headers=lan).json()
    assert (detail["value"], detail["current_value"], detail["condition_present"]) == (78.0, 74.0, True)
    assert console.get("/api/alerts", headers=lan).json()[0]["current_value"] == 74.0
