"""Issue 17: the escalation chain API. Ward-scoped, role-checked, validated with reasons, audited, and applied by
the running alert service to the next alarm without a restart.

Ward-c is this module's own (other modules' alarms in ward-a keep the default chains).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alerts.console import users
from alerts.console.users import Grant
from storage import registry
from tests.console.conftest import Console
from tests.console.world import PASSWORD, candidate, produce
from tests.services import wait_for
from wire.messages import Priority
from wire.units import ReadingType

URL = "/api/escalation-chains"
FAST = {"steps": [{"after_s": 30, "target": "charge_nurse"}, {"after_s": 120, "target": "rapid_response"}],
        "reason": "two nurses on nights"}


@pytest.fixture(scope="module")
def ward_c(console: Console) -> str:
    with console.connect() as conn:
        registry.add_ward(conn, "ward-c", "Khoa Hồi sức C")
        registry.add_patient(conn, "PC1", "Đỗ Văn Chung", "ward-c", "01")
        for uid, name, grant, locale in (("charge.c", "Hương (C, trưởng)", Grant("charge_nurse", "ward-c"), "vi"),
                                         ("nurse.c", "Nga (C)", Grant("nurse", "ward-c"), "en")):
            users.create_user(conn, "test", uid, name, PASSWORD, [grant], locale)
            users.set_locale(conn, uid, locale, chosen=True)
    return "ward-c"


@pytest.fixture
def clients(console: Console, ward_c: str) -> Iterator[dict[str, httpx.Client]]:
    out = {u: console.login(u) for u in ("charge.c", "nurse.c", "charge.a", "admin", "doctor", "auditor")}
    yield out
    for c in out.values():
        c.close()
    with console.connect() as conn:  # each test starts from the defaults
        conn.execute("DELETE FROM escalation_steps WHERE scope IN ('ward-c', 'home', '*')")
        conn.execute("DELETE FROM escalation_chains WHERE scope IN ('ward-c', 'home', '*')")


def _audit(console: Console, actor: str) -> list[tuple[str, str, dict[str, object]]]:
    with console.connect() as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(
            "SELECT action, subject, detail FROM audit_log WHERE actor = %s AND action LIKE 'escalation_chain.%%'"
            " ORDER BY id", (actor,))]


def _chain(client: httpx.Client, scope: str, priority: str) -> dict[str, object]:
    r = client.get(f"{URL}/{scope}")
    assert r.status_code == 200, r.text
    return next(c for c in r.json()["chains"] if c["priority"] == priority)


def test_the_charge_nurse_replaces_and_resets_her_wards_chain_with_old_and_new_audited(
        console: Console, clients: dict[str, httpx.Client]) -> None:
    charge = clients["charge.c"]
    r = charge.get(f"{URL}/ward-c")
    assert r.status_code == 200 and r.json()["scope"] == "ward-c"
    chains = {c["priority"]: c for c in r.json()["chains"]}
    assert list(chains) == ["high", "medium", "low"]
    high = chains["high"]
    assert high["source"] == "declared" and (high["min_after_s"], high["max_after_s"], high["min_steps"]) == (30, 300, 1)
    assert [(s["after_s"], s["target"], s["source"]) for s in high["steps"]] == [
        (60, "charge_nurse", "declared"), (60, "rapid_response", "declared")]
    assert chains["low"]["steps"] == [] and chains["medium"]["max_after_s"] == 1800

    r = charge.put(f"{URL}/ward-c/high", json=FAST)
    assert r.status_code == 200, r.text
    assert r.json()["previous"] is None and [s["after_s"] for s in r.json()["steps"]] == [30, 120]
    high = _chain(clients["nurse.c"], "ward-c", "high")  # the ward's nurse sees whom her alarm goes to next
    assert high["source"] == "configured" and high["set_by"] == "charge.c" and high["reason"] == "two nurses on nights"
    assert high["set_by_name"] == "Hương (C, trưởng)"
    assert [(s["level"], s["after_s"], s["target"], s["source"]) for s in high["steps"]] == [
        (1, 30, "charge_nurse", "configured"), (2, 120, "rapid_response", "configured")]
    assert [s["after_s"] for s in high["declared"]] == [60, 60]  # the default stays visible beside it

    r = charge.put(f"{URL}/ward-c/high", json={"steps": [{"after_s": 45, "target": "rapid_response"}], "reason": "RRT"})
    assert r.status_code == 200 and [s["after_s"] for s in r.json()["previous"]] == [30, 120]

    assert charge.delete(f"{URL}/ward-c/high").status_code == 422  # a reason is required
    assert charge.delete(f"{URL}/ward-c/high", params={"reason": "trial over"}).status_code == 200
    assert _chain(charge, "ward-c", "high")["source"] == "declared"
    r = charge.delete(f"{URL}/ward-c/high", params={"reason": "again"})
    assert r.status_code == 404 and r.json()["error"] == "no_chain"

    rows = _audit(console, "charge.c")
    assert [(a, s) for a, s, _ in rows] == [("escalation_chain.set", "ward:ward-c")] * 2 + [
        ("escalation_chain.reset", "ward:ward-c")]
    assert rows[0][2] == {"priority": "high", "old": None, "old_source": "default", "reason": "two nurses on nights",
                          "new": [{"after_s": 30.0, "target": "charge_nurse"}, {"after_s": 120.0, "target": "rapid_response"}]}
    assert rows[1][2]["old"] == rows[0][2]["new"] and rows[2][2]["old"] == rows[1][2]["new"]
    assert rows[2][2]["reason"] == "trial over" and rows[2][2]["new"] is None


def test_who_may_read_and_change_which_scope(console: Console, clients: dict[str, httpx.Client]) -> None:
    c = clients
    # Another ward's charge nurse: the same 403 for ward-c as for a ward that does not exist.
    r = c["charge.a"].put(f"{URL}/ward-c/high", json=FAST)
    assert r.status_code == 403 and r.json() == c["charge.a"].put(f"{URL}/no-such-ward/high", json=FAST).json()
    assert c["charge.a"].get(f"{URL}/ward-c").status_code == 403
    assert c["charge.a"].delete(f"{URL}/ward-c/high", params={"reason": "x"}).status_code == 403
    # The ward's own nurse and a clinician read it, but changing it is the charge nurse's: the role is named.
    for who in ("nurse.c", "doctor"):
        assert c[who].get(f"{URL}/ward-c").status_code == 200
        r = c[who].put(f"{URL}/ward-c/high", json=FAST)
        assert r.status_code == 403 and r.json()["error"] == "forbidden_chain_role", (who, r.text)
    assert c["auditor"].get(f"{URL}/ward-c").status_code == 403
    # The hospital scopes are the admins' only.
    for scope in ("*", "home"):
        assert c["charge.c"].get(f"{URL}/{scope}").status_code == 403
        assert c["charge.c"].put(f"{URL}/{scope}/high", json=FAST).status_code == 403
        assert c["admin"].get(f"{URL}/{scope}").status_code == 200
    assert c["admin"].get(f"{URL}/no-such-ward").status_code == 404  # an every-ward admin learns nothing new
    assert c["admin"].put(f"{URL}/ward-c/medium", json={"steps": [], "reason": "bedside only"}).status_code == 200
    assert _chain(c["charge.c"], "ward-c", "medium")["source"] == "configured"
    # Home: a care team phones the patient, so a high alarm may wait 30 min; on a ward that is refused.
    thirty = {"steps": [{"after_s": 1800, "target": "charge_nurse"}], "reason": "commune station hours"}
    assert c["admin"].put(f"{URL}/home/high", json=thirty).status_code == 200
    assert c["admin"].put(f"{URL}/ward-c/high", json=thirty).status_code == 422
    r = c["admin"].put(f"{URL}/*/high", json=FAST)
    assert r.status_code == 200
    # Ward-c has no high chain of its own: it now follows the configured default of every ward.
    high = _chain(c["charge.c"], "ward-c", "high")
    assert high["source"] == "ward_default" and [s["after_s"] for s in high["steps"]] == [30, 120]
    assert [(a, s) for a, s, _ in _audit(console, "admin")][-3:] == [
        ("escalation_chain.set", "ward:ward-c"), ("escalation_chain.set", "escalation:home"),
        ("escalation_chain.set", "escalation:*")]


def test_refusals_say_why_in_the_users_language(clients: dict[str, httpx.Client]) -> None:
    vi, en = clients["charge.c"], clients["admin"]

    def put(client: httpx.Client, steps: list[tuple[float, str]], priority: str = "high",
            reason: str = "test") -> httpx.Response:
        return client.put(f"{URL}/ward-c/{priority}",
                          json={"steps": [{"after_s": a, "target": t} for a, t in steps], "reason": reason})

    r = put(en, [(1800, "charge_nurse")])
    assert r.status_code == 422 and r.json()["error"] == "chain_delay" and "30-300 s" in r.json()["message"]
    r = put(vi, [(10, "charge_nurse")])
    assert r.status_code == 422 and "khoảng an toàn 30-300 giây" in r.json()["message"]
    r = put(en, [(60, "rapid_response"), (60, "charge_nurse")])
    assert r.status_code == 422 and r.json()["error"] == "chain_down"
    assert "from the rapid response team to the charge nurse" in r.json()["message"]
    r = put(vi, [(60, "rapid_response"), (60, "nurse")])
    assert "từ đội phản ứng nhanh về điều dưỡng phụ trách" in r.json()["message"]
    r = put(en, [])
    assert r.status_code == 422 and r.json()["error"] == "chain_empty"
    r = put(en, [(300, "charge_nurse")] * 6, priority="medium")
    assert r.status_code == 422 and r.json()["error"] == "chain_too_long" and "5" in r.json()["message"]
    r = put(en, [(60, "charge_nurse")], reason="   ")
    assert r.status_code == 422 and r.json()["error"] == "chain_reason"
    r = put(en, [(60, "cleaner")])
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "steps.0.target"
    r = en.put(f"{URL}/ward-c/high", json={"steps": [{"after_s": 60, "target": "charge_nurse"}]})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "reason"
    assert en.put(f"{URL}/ward-c/urgent", json=FAST).status_code == 422
    assert _chain(en, "ward-c", "high")["source"] == "declared"  # nothing refused was stored


def test_the_running_service_escalates_an_alarm_raised_after_the_change_by_the_new_chain(
        console: Console, clients: dict[str, httpx.Client]) -> None:
    """No restart: the chain is saved through the console while `rpm alerts` runs; the next alarm follows it."""
    r = clients["charge.c"].put(f"{URL}/ward-c/high", json={"steps": [{"after_s": 30, "target": "rapid_response"}],
                                                            "reason": "RRT first while short-staffed"})
    assert r.status_code == 200, r.text
    cand = candidate("PC1", "spo2_low", 84, 90, datetime.now(UTC), Priority.HIGH, ReadingType.SPO2)
    produce(console.bootstrap, console.prefix, candidates=[cand])

    def escalated() -> list[tuple[object, ...]]:
        with console.connect() as conn:
            return conn.execute(
                "SELECT e.at - a.raised_at, e.detail->>'level', e.detail->>'target' FROM alert_events e"
                " JOIN alerts a ON a.id = e.alert_id WHERE a.id = %s AND e.event = 'escalated'", (cand.id,)).fetchall()

    wait_for(lambda: bool(escalated()), 90, "the alarm escalated", console.services)
    [(after, level, target)] = escalated()
    # The declared default would have called the charge nurse after 60 s; the timer loop runs every second
    # (a loaded machine may fire it late, never early).
    assert (level, target) == ("1", "rapid_response")
    assert timedelta(seconds=30) <= after < timedelta(seconds=60), after  # type: ignore[operator]


def test_a_cookie_session_changes_a_chain_only_with_its_csrf_token(console: Console, clients: dict[str, httpx.Client]) -> None:
    browser = httpx.Client(base_url=console.base, timeout=30)
    try:
        r = browser.post("/api/auth/login", json={"username": "charge.c", "password": PASSWORD})
        assert r.status_code == 200
        csrf = r.json()["csrf_token"]
        # What another site could make the nurse's browser send: the cookie alone.
        r = browser.put(f"{URL}/ward-c/high", json=FAST)
        assert r.status_code == 403 and r.json()["error"] == "csrf"
        assert browser.delete(f"{URL}/ward-c/high", params={"reason": "x"}).status_code == 403
        assert _chain(browser, "ward-c", "high")["source"] == "declared"
        assert browser.put(f"{URL}/ward-c/high", json=FAST, headers={"X-CSRF-Token": csrf}).status_code == 200
        assert _chain(browser, "ward-c", "high")["source"] == "configured"
    finally:
        browser.close()
