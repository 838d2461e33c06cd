"""Alarm actions and the live stream over HTTP: who may act, 409 on a refused transition, SSE per ward."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.console.conftest import Console
from tests.console.world import candidate, produce
from tests.services import wait_for
from wire.messages import Priority
from wire.units import ReadingType


def _stored(console: Console, alert_id: str) -> bool:
    with console.connect() as conn:
        return conn.execute("SELECT 1 FROM alerts WHERE id = %s", (alert_id,)).fetchone() is not None


@pytest.fixture(scope="module")
def alarm(console: Console) -> str:
    cand = candidate("PA3", "bp_systolic_low", 84, 90, datetime.now(UTC) - timedelta(minutes=30), Priority.HIGH,
                     ReadingType.BP_SYSTOLIC)
    produce(console.bootstrap, console.prefix, candidates=[cand])
    wait_for(lambda: _stored(console, cand.id), 30, "the alarm stored", console.services)
    return cand.id


def _events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event, data) of a server-sent event stream; comments (keepalives) as ("comment", text)."""
    kind, data = "message", ""
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            yield kind, data
            kind, data = "message", ""


def test_only_the_wards_staff_may_act_and_refusals_are_409(console: Console, alarm: str) -> None:
    with console.login("nurse.b") as other, console.login("patient.home") as patient:
        assert other.post(f"/api/alerts/{alarm}/ack").status_code == 403
        assert other.post("/api/alerts/no-such-alert/ack").json() == other.post(f"/api/alerts/{alarm}/ack").json()
        assert patient.post(f"/api/alerts/{alarm}/ack").status_code == 403
        assert alarm not in {a["id"] for a in other.get("/api/alerts").json()}
    with console.login("doctor") as doc:
        assert doc.post("/api/alerts/no-such-alert/ack").status_code == 404
    with console.login("nurse.a") as nurse:
        assert alarm in {a["id"] for a in nurse.get("/api/alerts").json()}
        r = nurse.post(f"/api/alerts/{alarm}/pause", json={"seconds": 120})
        assert r.status_code == 200, r.text
        body = r.json()
        until = datetime.fromisoformat(body["paused_until"])
        assert body["state"] == "paused" and timedelta(seconds=100) < until - datetime.now(UTC) <= timedelta(seconds=121)
        again = nurse.post(f"/api/alerts/{alarm}/pause")
        assert again.status_code == 409 and again.json()["error"] == "alert_state"
        assert "Tạm dừng âm thanh" in again.json()["message"]  # the state, in the nurse's language
        ack = nurse.post(f"/api/alerts/{alarm}/ack", json={"note": "BP rechecked manually"})
        assert ack.status_code == 200 and ack.json()["acknowledged_by"] == "nurse.a"
        twice = nurse.post(f"/api/alerts/{alarm}/ack")
        assert twice.status_code == 409 and "nurse.a" in twice.json()["message"]
    with console.connect() as conn:
        events = [r[0] for r in conn.execute("SELECT event FROM alert_events WHERE alert_id = %s ORDER BY id", (alarm,))]
        note = conn.execute("SELECT detail ->> 'reason' FROM alert_events WHERE alert_id = %s AND event = 'acknowledged'",
                            (alarm,)).fetchone()
    assert events == ["raised", "paused", "acknowledged"] and note == ("BP rechecked manually",)


def test_stream_pushes_ward_snapshots_and_only_my_wards_alarms(console: Console) -> None:
    cand = candidate("PA2", "heart_rate_low", 38, 40, datetime.now(UTC) - timedelta(minutes=40))
    with console.login("nurse.a") as nurse, console.login("nurse.b") as other:
        assert other.get("/api/alerts/stream?ward=ward-a").status_code == 403
        with nurse.stream("GET", "/api/alerts/stream?ward=ward-a") as mine, other.stream("GET", "/api/alerts/stream") as theirs:
            assert mine.status_code == theirs.status_code == 200
            mine_events, their_events = _events(mine), _events(theirs)
            kind, data = next(e for e in mine_events if e[0] != "comment")
            snap = json.loads(data)
            assert kind == "ward" and snap["ward_id"] == "ward-a" and {b["bed"] for b in snap["beds"]} == {"01", "02", "03"}
            produce(console.bootstrap, console.prefix, candidates=[cand])
            pushed = next(json.loads(d) for k, d in mine_events if k == "alert" and json.loads(d)["id"] == cand.id)
            assert pushed["bed"] == "02" and pushed["state"] == "active"
            # nurse.b (ward B) keeps receiving her stream's keepalives, never this alarm.
            seen: list[tuple[str, str]] = []
            for e in their_events:
                seen.append(e)
                if sum(1 for k, _ in seen if k == "comment") >= 3:
                    break
            assert all(cand.id not in d for _, d in seen)


def test_stream_says_signed_out_when_the_session_ends(console: Console) -> None:
    r = httpx.post(f"{console.base}/api/auth/login", json={"username": "nurse.a", "password": "Test-password-1"})
    token = r.json()["token"]
    with httpx.Client(base_url=console.base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        with c.stream("GET", "/api/alerts/stream") as s:
            assert c.post("/api/auth/logout").status_code == 204
            assert next(k for k, _ in _events(s) if k != "comment") == "signed_out"


def test_openapi_and_offline_docs(console: Console) -> None:
    spec = httpx.get(f"{console.base}/openapi.json", timeout=10).json()
    ack = spec["paths"]["/api/alerts/{alert_id}/ack"]["post"]
    assert ack["requestBody"]["content"]["application/json"]["schema"]["anyOf"][0]["$ref"].endswith("/AckBody")
    assert {"401", "403", "404", "409", "422"} <= set(ack["responses"])
    assert "WardOut" in spec["components"]["schemas"] and "/api/patients/{patient_id}/trends" in spec["paths"]
    docs = httpx.get(f"{console.base}/docs", timeout=10).text
    assert "/static/docs/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert httpx.get(f"{console.base}/static/docs/swagger-ui-bundle.js", timeout=10).status_code == 200
    page = httpx.get(f"{console.base}/login", timeout=10)
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text.replace(console.base, "") and "https://" not in page.text
