"""Issue 18: alarm limits, responders, the roster and alarm detail are ward-scoped, role-checked and audited;
/metrics and /healthz are not served on the console port.

Each test attacks one route as the issue's reporter did (a nurse of ward-b
against ward-a's patients) and then checks the allowed path and its audit row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alerts.console import users
from alerts.console.users import Grant
from tests.console.conftest import Console
from tests.console.world import PASSWORD, candidate, produce
from tests.services import wait_for
from wire.messages import Priority
from wire.units import ReadingType


def _audit(console: Console, actor: str, action: str) -> list[dict[str, object]]:
    with console.connect() as conn:
        return [r[0] for r in conn.execute(
            "SELECT detail FROM audit_log WHERE actor = %s AND action = %s ORDER BY id", (actor, action))]


@pytest.fixture(scope="module")
def charge_b(console: Console) -> str:
    """A charge nurse of ward-b: may edit ward-b's roster, never ward-a's."""
    with console.connect() as conn:
        if conn.execute("SELECT 1 FROM users WHERE id = 'charge.b'").fetchone() is None:
            users.create_user(conn, "test", "charge.b", "Charge B", PASSWORD, [Grant("charge_nurse", "ward-b")])
    return "charge.b"


@pytest.fixture(scope="module")
def ward_a_alarm(console: Console) -> str:
    cand = candidate("PA3", "temperature_high", 39.6, 39.0, datetime.now(UTC) - timedelta(minutes=50), Priority.LOW,
                     ReadingType.TEMPERATURE)
    produce(console.bootstrap, console.prefix, candidates=[cand])

    def stored() -> bool:
        with console.connect() as conn:
            return conn.execute("SELECT 1 FROM alerts WHERE id = %s", (cand.id,)).fetchone() is not None

    wait_for(stored, 30, "the alarm stored", console.services)
    return cand.id


def test_only_the_wards_charge_nurse_or_clinician_changes_limits_within_the_safe_range(console: Console) -> None:
    url = "/api/patients/PA2/limits/heart_rate_high"
    with console.login("nurse.b") as other, console.login("nurse.a") as nurse, \
            console.login("charge.a") as charge, console.login("doctor") as doc:
        # The reported attack: another ward's nurse silencing tachycardia.
        r = other.put(url, json={"limit": 200, "reason": "x"})
        assert r.status_code == 403 and r.json() == other.put("/api/patients/NOPE/limits/heart_rate_high",
                                                               json={"limit": 200, "reason": "x"}).json()
        assert other.delete(url, params={"reason": "x"}).status_code == 403
        # The ward's own nurse may read limits but not change them: the role is named.
        r = nurse.put(url, json={"limit": 140, "reason": "AF"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden_role"
        # Outside the clinically safe range, refused with the range in the message, for anyone.
        r = charge.put(url, json={"limit": 200, "reason": "AF"})
        assert r.status_code == 422 and r.json()["error"] == "limit_range" and "100-150" in r.json()["message"]
        assert charge.put("/api/patients/PA2/limits/news2_high", json={"limit": 8, "reason": "x"}).status_code == 422
        r = charge.put(url, json={"limit": 140, "reason": "rate-controlled AF"})
        assert r.status_code == 200 and r.json()["previous"] is None
        r = doc.put(url, json={"limit": 145, "reason": "AF, reviewed on the round"})
        assert r.status_code == 200 and r.json()["previous"] == 140
        limits = nurse.get("/api/patients/PA2/limits")
        assert limits.status_code == 200
        assert [(x["rule"], x["limit"], x["safe_low"], x["safe_high"]) for x in limits.json()] == [
            ("heart_rate_high", 145, 100, 150)]
        assert nurse.delete(url, params={"reason": "x"}).status_code == 403
        assert doc.delete(url, params={"reason": "AF resolved"}).status_code == 200
    changes = _audit(console, "doctor", "alarm_limit.set")
    assert changes[-1]["previous"] == 140 and changes[-1]["limit"] == 145
    assert changes[-1]["previous_reason"] == "rate-controlled AF" and changes[-1]["reason"] == "AF, reviewed on the round"
    assert _audit(console, "doctor", "alarm_limit.clear")[-1] == {"rule": "heart_rate_high", "previous": 145.0,
                                                                   "reason": "AF resolved"}
    assert _audit(console, "nurse.a", "alarm_limit.read")


def test_limits_of_another_wards_patient_are_not_readable(console: Console) -> None:
    with console.login("nurse.b") as other, console.login("patient.home") as patient:
        assert other.get("/api/patients/PA2/limits").status_code == 403
        assert patient.get("/api/patients/PA2/limits").status_code == 403
        assert patient.put("/api/patients/PH1/limits/glucose_low", json={"limit": 70, "reason": "x"}).status_code == 403


def test_responders_are_edited_only_by_their_wards_charge_nurse(console: Console, charge_b: str) -> None:
    now = datetime.now(UTC)
    shift = {"responder_id": "resp.a", "role": "nurse", "ward_id": "ward-a", "beds": ["01"],
             "starts_at": (now - timedelta(minutes=5)).isoformat(), "ends_at": (now + timedelta(hours=8)).isoformat()}
    with console.login("charge.a") as charge, console.login(charge_b) as other_charge, \
            console.login("nurse.b") as nurse_b, console.login("nurse.a") as nurse_a:
        assert charge.put("/api/responders/resp.a", json={"display_name": "Resp A", "phone": "+84900000011"}
                          ).status_code == 200
        created = charge.post("/api/roster", json=shift)
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        # The reported attack: editing ward-a's responder from another ward.
        assert nurse_b.put("/api/responders/resp.a", json={"display_name": "Evil", "phone": "+84999999999"}
                           ).status_code == 403
        assert other_charge.put("/api/responders/resp.a", json={"display_name": "Evil"}).status_code == 403
        assert nurse_a.put("/api/responders/resp.a", json={"display_name": "Evil"}).status_code == 403  # role
        # Shifts: another ward's charge nurse may neither add to nor remove from ward-a's roster.
        assert other_charge.post("/api/roster", json={**shift, "responder_id": "resp.a"}).status_code == 403
        assert other_charge.delete(f"/api/roster/{sid}").status_code == 403
        assert other_charge.delete("/api/roster/999999").status_code == 403  # same answer as another ward's
        assert other_charge.post("/api/roster", json={**shift, "ward_id": None, "role": "rapid_response"}
                                 ).status_code == 403  # hospital-wide needs every ward
        # Reading: each ward's own shifts (and hospital-wide ones) only.
        assert sid not in {s["id"] for s in nurse_b.get("/api/roster").json()}
        assert nurse_b.get("/api/roster", params={"ward_id": "ward-a"}).status_code == 403
        assert sid in {s["id"] for s in nurse_a.get("/api/roster", params={"ward_id": "ward-a"}).json()}
        assert charge.delete(f"/api/roster/{sid}").status_code == 200
    with console.connect() as conn:
        name = conn.execute("SELECT display_name FROM responders WHERE id = 'resp.a'").fetchone()
        denied = conn.execute("SELECT count(*) FROM audit_log WHERE actor IN ('nurse.b', 'charge.b', 'nurse.a')"
                              " AND action = 'access.denied'").fetchone()
    assert name == ("Resp A",) and denied is not None and denied[0] >= 6
    assert [d["responder_id"] for d in _audit(console, "charge.a", "roster.add")] == ["resp.a"]


def test_alarm_detail_is_for_the_wards_staff_and_audited(console: Console, ward_a_alarm: str) -> None:
    with console.login("nurse.b") as other, console.login("nurse.a") as nurse, \
            console.login("patient.home") as patient, console.login("admin") as adm:
        r = other.get(f"/api/alerts/{ward_a_alarm}")
        assert r.status_code == 403 and r.json() == other.get("/api/alerts/no-such-alarm").json()
        assert patient.get(f"/api/alerts/{ward_a_alarm}").status_code == 403
        assert adm.get(f"/api/alerts/{ward_a_alarm}").status_code == 403
        r = nurse.get(f"/api/alerts/{ward_a_alarm}")
        assert r.status_code == 200 and r.json()["patient_id"] == "PA3"
        assert [e["event"] for e in r.json()["events"]][0] == "raised"
    assert {"alert_id": ward_a_alarm} in _audit(console, "nurse.a", "alert.view")


@pytest.mark.parametrize("path", ["/metrics", "/healthz"])
def test_metrics_and_stage_health_are_not_on_the_console_port(console: Console, path: str) -> None:
    r = httpx.get(console.base + path, timeout=10)
    assert r.status_code == 404
    assert "rpm_" not in r.text and "stages" not in r.text
