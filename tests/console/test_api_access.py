"""API authorisation: 401 before anything else, 403 that never reveals whether a patient exists, audit rows."""

from __future__ import annotations

import httpx
import pytest

from storage import audit
from tests.console.conftest import Console

PATIENT_PATHS = ("", "/trends?range=1h", "/news2", "/alerts", "/glucose", "/export.csv", "/export.fhir.json")


@pytest.mark.parametrize("path", ["/api/alerts", "/api/wards", "/api/wards/ward-a", "/api/patients/PA1",
                                  "/api/patients/NOPE/trends", "/api/home", "/api/admin/users", "/api/me"])
def test_unauthenticated_is_401_whatever_is_named(console: Console, path: str) -> None:
    r = httpx.get(console.base + path, timeout=10)
    assert r.status_code == 401
    assert r.json()["error"] == "unauthenticated" and r.headers["www-authenticate"].startswith("Bearer")
    # A made-up token is no better than none.
    r = httpx.get(console.base + path, headers={"Authorization": "Bearer forged"}, timeout=10)
    assert r.status_code == 401


def test_nurse_gets_same_403_for_other_ward_and_unknown_patient(console: Console) -> None:
    with console.login("nurse.a") as nurse:
        for path in PATIENT_PATHS:
            other = nurse.get(f"/api/patients/PB1{path}")
            missing = nurse.get(f"/api/patients/NO-SUCH-PATIENT{path}")
            assert other.status_code == missing.status_code == 403, (path, other.text, missing.text)
            assert other.json() == missing.json()
        assert nurse.get("/api/patients/PA1").status_code == 200
        assert nurse.get("/api/wards/ward-b").status_code == 403
        assert nurse.get("/api/wards/ward-zzz").json() == nurse.get("/api/wards/ward-b").json()
        assert [w["id"] for w in nurse.get("/api/wards").json()] == ["ward-a"]
        assert {p["id"] for p in nurse.get("/api/patients").json()} == {"PA1", "PA2", "PA3"}
        assert nurse.get("/api/patients?home=true").json() == []
    with console.connect() as conn:
        denied = [e for e in audit.entries(conn, "PB1") if e[1] == "nurse.a"]
    assert denied and all(e[2] == "access.denied" for e in denied)


def test_patient_sees_only_themself(console: Console) -> None:
    with console.login("patient.home") as me:
        assert me.get("/api/home").status_code == 200
        assert me.get("/api/patients/PH1/trends?range=24h").status_code == 200
        assert me.get("/api/patients/PA1").status_code == 403
        assert me.get("/api/patients/NOPE").json() == me.get("/api/patients/PA1").json()
        assert me.get("/api/alerts").status_code == 403
        assert me.get("/api/wards/ward-a").status_code == 403
        # Exports are for clinicians.
        assert me.get("/api/patients/PH1/export.csv").status_code == 403


def test_clinician_with_every_ward_gets_404_for_unknown(console: Console) -> None:
    with console.login("doctor") as doc:
        assert doc.get("/api/patients/PB1").status_code == 200
        assert [p["id"] for p in doc.get("/api/patients?home=true").json()] == ["PH1"]
        r = doc.get("/api/patients/NO-SUCH-PATIENT")
        assert r.status_code == 404 and r.json()["message"] == "No such patient."
        assert doc.get("/api/admin/users").status_code == 403


def test_every_patient_read_is_audited_with_its_period(console: Console) -> None:
    with console.login("doctor") as doc:
        assert doc.get("/api/patients/PA1/trends?range=6h&types=heart_rate").status_code == 200
        assert doc.get("/api/patients/PA1/news2?range=6h").status_code == 200
    with console.connect() as conn:
        rows = [(actor, action, detail) for _, actor, action, detail in audit.entries(conn, "PA1")]
    trends = [d for a, act, d in rows if a == "doctor" and act == "patient.trends"]
    assert trends and trends[-1]["types"] == ["heart_rate"] and "start" in trends[-1]
    assert ("doctor", "patient.news2") in {(a, act) for a, act, _ in rows}


def test_bad_input_gets_4xx_with_a_message_in_the_users_language(console: Console) -> None:
    with console.login("nurse.a") as nurse:  # Vietnamese account
        r = nurse.get("/api/patients/PA1/trends?range=2y")
        assert r.status_code == 422
        body = r.json()
        assert body["error"] == "validation" and body["fields"][0]["field"] == "range"
        assert "Khoảng thời gian" in body["message"]
        r = nurse.get("/api/patients/PA1/trends?range=1h&end=2026-01-01T00:00:00")
        assert r.status_code == 422 and "múi giờ" in r.json()["message"]
        r = nurse.post("/api/alerts/x/pause", json={"seconds": 99999})
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "seconds"
    with console.login("doctor") as doc:  # English account
        r = doc.post("/api/admin/users", json={"user_id": "x"})
        assert r.status_code == 403
    with console.login("admin") as adm:
        r = adm.post("/api/admin/users", json={"user_id": "new.nurse", "display_name": "N", "password": "short",
                                               "role": "nurse", "ward_id": "ward-a"})
        assert r.status_code == 422 and r.json()["message"] == "The password needs at least 10 characters."
        r = adm.post("/api/admin/users", json={"display_name": "N"})
        assert r.status_code == 422
        assert {f["field"] for f in r.json()["fields"]} == {"user_id", "password", "role"}
        assert all(f["message"].endswith("required.") for f in r.json()["fields"])
        r = adm.post("/api/admin/users", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422


def test_cookie_session_needs_csrf_token_for_actions(console: Console) -> None:
    client = httpx.Client(base_url=console.base, timeout=30)
    r = client.post("/api/auth/login", json={"username": "nurse.a", "password": "Test-password-1"})
    assert r.status_code == 200 and "rpm_session" in client.cookies
    csrf, token = r.json()["csrf_token"], client.cookies["rpm_session"]
    me = client.get("/api/me")
    assert me.status_code == 200 and me.json()["wards"] == ["ward-a"]
    # A state-changing request with the cookie alone is refused (another site could send that).
    r = client.put("/api/me/locale", json={"locale": "en"})
    assert r.status_code == 403 and r.json()["error"] == "csrf"
    r = client.put("/api/me/locale", json={"locale": "vi"}, headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.put("/api/me/locale", json={"locale": "vi"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    # Signing out ends the session for good.
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert httpx.get(f"{console.base}/api/me", cookies={"rpm_session": token}, timeout=10).status_code == 401
    assert httpx.get(f"{console.base}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 401
    client.close()


def test_wrong_passwords_are_rate_limited(console: Console) -> None:
    url = f"{console.base}/api/auth/login"
    codes = [httpx.post(url, json={"username": "locked.user", "password": f"wrong-{i}"}, timeout=30).status_code
             for i in range(5)]
    assert codes == [401] * 5
    r = httpx.post(url, json={"username": "locked.user", "password": "Test-password-1"}, timeout=30)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "Try again" in r.json()["message"] or "thử lại" in r.json()["message"]
    # Another user from the same client is not locked out by it.
    assert httpx.post(url, json={"username": "nurse.a", "password": "Test-password-1"}, timeout=30).status_code == 200
    # Unknown names and wrong passwords get the same answer.
    unknown = httpx.post(url, json={"username": "nobody", "password": "whatever-1"}, timeout=30)
    wrong = httpx.post(url, json={"username": "nurse.b", "password": "whatever-1"}, timeout=30)
    assert unknown.status_code == wrong.status_code == 401 and unknown.json() == wrong.json()


def test_sign_in_form_says_what_is_wrong_in_the_pages_language(console: Console) -> None:
    url = f"{console.base}/login"
    vi = httpx.post(url, data={"username": "nurse.a", "password": ""}, headers={"Accept-Language": "vi"}, timeout=30)
    assert vi.status_code == 422 and "Mật khẩu: bắt buộc phải nhập." in vi.text
    en = httpx.post(url, data={"username": "", "password": "x"}, headers={"Accept-Language": "en-GB"}, timeout=30)
    assert en.status_code == 422 and "User name: required." in en.text
    wrong = httpx.post(url, data={"username": "nurse.b", "password": "not-her-password"},
                       headers={"Accept-Language": "en"}, timeout=30)
    assert wrong.status_code == 401 and "Wrong user name or password." in wrong.text and "rpm_session" not in wrong.cookies
    ok = httpx.post(url, data={"username": "nurse.b", "password": "Test-password-1", "next": "https://evil.example/"},
                    timeout=30)
    assert ok.status_code == 303 and ok.headers["location"] == "/ward"  # never redirected off-site
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    # A sign-in form posted from another site is refused.
    forged = httpx.post(url, data={"username": "nurse.b", "password": "Test-password-1"},
                        headers={"Origin": "http://evil.example"}, timeout=30)
    assert forged.status_code == 403
