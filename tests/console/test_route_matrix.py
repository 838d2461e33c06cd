"""Every route of the OpenAPI document, for every kind of caller: who gets through, and that nobody else sees data.

The table ``ROUTES`` names, for each (method, path), the users whose request
is authorised when the path names ward-a's objects (patient PA1, ward-a, a
ward-a alarm, shift and responder). A route missing from the table fails the
test, so a new route cannot ship unclassified.

- anonymous: 401 on every route but sign-in;
- everyone else outside ``ok``: 403 or 404 (never 2xx), and no ward-a patient
  data in the answer;
- users in ``ok``: reads answer 2xx; state-changing requests are sent with an
  invalid body or parameter and answer 422, which proves the request passed
  authentication, role and ward checks without changing anything;
- users in ``scoped`` (list routes): 200, but nothing of ward-a in the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.console.conftest import Console
from tests.console.world import candidate, produce
from tests.services import wait_for
from wire.messages import Priority
from wire.units import ReadingType

ANON = "anonymous"
CALLERS = (ANON, "nurse.b", "patient.home", "nurse.a", "charge.a", "doctor", "admin", "auditor")
WARD_A = frozenset({"nurse.a", "charge.a", "doctor"})  # doctor: clinician of every ward
SIGNED = frozenset(CALLERS) - {ANON}
# What must never reach a caller outside ward-a: its patients' names.
WARD_A_NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường")


@dataclass(frozen=True)
class Route:
    ok: frozenset[str]
    scoped: frozenset[str] = frozenset()  # 200 with their own (ward-a free) data
    body: dict[str, object] | None = None  # a valid body, for the callers that must be refused
    probe: dict[str, str] = field(default_factory=dict)  # what makes the request invalid for the ok callers


def R(ok: frozenset[str] | set[str], scoped: frozenset[str] | set[str] = frozenset(), body: dict[str, object] | None = None,
      **probe: str) -> Route:
    return Route(frozenset(ok), frozenset(scoped), body, probe)


NOW = datetime.now(UTC)
SHIFT = {"responder_id": "resp.matrix", "role": "nurse", "ward_id": "ward-a", "beds": ["02"],
         "starts_at": NOW.isoformat(), "ends_at": (NOW + timedelta(hours=4)).isoformat()}
CHAIN = {"steps": [{"after_s": 30, "target": "rapid_response"}], "reason": "matrix"}
BAD = {"unexpected": True}  # every body model forbids extra fields and requires its own
ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/me"): R(SIGNED),
    ("PUT", "/api/me/locale"): R(SIGNED, body={"locale": "vi"}),
    ("GET", "/api/wards"): R(WARD_A, scoped={"nurse.b"}),
    ("GET", "/api/wards/{ward_id}"): R(WARD_A),
    ("GET", "/api/alerts"): R(WARD_A, scoped={"nurse.b"}),
    ("GET", "/api/alerts/stream"): R(WARD_A, scoped={"nurse.b"}),
    ("GET", "/api/alerts/{alert_id}"): R(WARD_A),
    ("POST", "/api/alerts/{alert_id}/ack"): R(WARD_A, body={"note": "x"}),
    ("POST", "/api/alerts/{alert_id}/pause"): R(WARD_A, body={"seconds": 60}),
    ("PUT", "/api/responders/{responder_id}"): R({"charge.a", "admin"}, body={"display_name": "Evil"}),
    ("GET", "/api/roster"): R(WARD_A | {"admin"}, scoped={"nurse.b"}),
    ("POST", "/api/roster"): R({"charge.a", "admin"}, body=SHIFT),
    ("DELETE", "/api/roster/{shift_id}"): R({"charge.a", "admin"}, shift_id="not-a-number"),
    ("GET", "/api/escalation-chains/{scope}"): R(WARD_A | {"admin"}),
    ("PUT", "/api/escalation-chains/{scope}/{priority}"): R({"charge.a", "admin"}, body=CHAIN),
    ("DELETE", "/api/escalation-chains/{scope}/{priority}"): R({"charge.a", "admin"}, reason=""),
    ("GET", "/api/patients/{patient_id}/limits"): R(WARD_A),
    ("PUT", "/api/patients/{patient_id}/limits/{rule}"): R({"charge.a", "doctor"}, body={"limit": 120, "reason": "x"}),
    ("DELETE", "/api/patients/{patient_id}/limits/{rule}"): R({"charge.a", "doctor"}, reason=""),
    ("GET", "/api/patients"): R(WARD_A, scoped={"nurse.b", "patient.home", "admin", "auditor"}),
    ("GET", "/api/patients/{patient_id}"): R(WARD_A),
    ("GET", "/api/patients/{patient_id}/trends"): R(WARD_A),
    ("GET", "/api/patients/{patient_id}/news2"): R(WARD_A),
    ("GET", "/api/patients/{patient_id}/alerts"): R(WARD_A),
    ("GET", "/api/patients/{patient_id}/glucose"): R(WARD_A),
    ("GET", "/api/patients/{patient_id}/waveform"): R(WARD_A),
    ("GET", "/api/patients/{patient_id}/export.csv"): R(WARD_A),
    ("GET", "/api/patients/{patient_id}/export.fhir.json"): R(WARD_A),
    ("GET", "/api/home"): R({"patient.home"}),
    ("GET", "/api/home/trends"): R({"patient.home"}),
    ("GET", "/api/home/glucose"): R({"patient.home"}),
    ("GET", "/api/admin/users"): R({"admin"}),
    ("POST", "/api/admin/users"): R({"admin"}, body={"user_id": "evil", "display_name": "E", "password": "Evil-pass-123",
                                                     "role": "clinician"}),
    ("POST", "/api/admin/users/{user_id}/roles"): R({"admin"}, body={"role": "clinician"}),
    ("POST", "/api/admin/users/{user_id}/disable"): R({"admin"}, enable="not-a-bool"),
    ("PUT", "/api/admin/wards/{ward_id}"): R({"admin"}, body={"name": "Evil"}),
    ("GET", "/api/admin/patients"): R({"admin"}),
    ("PUT", "/api/admin/patients/{patient_id}"): R({"admin"}, body={"display_name": "Evil", "ward_id": "ward-b"}),
    ("GET", "/api/admin/devices"): R({"admin"}),
    ("PUT", "/api/admin/devices/{device_id}"): R({"admin"}, body={"kind": "cgm"}),
    ("POST", "/api/admin/devices/{device_id}/assign"): R({"admin"}, body={"patient_id": "PB1"}),
    ("POST", "/api/admin/devices/{device_id}/unassign"): R({"admin"}, device_id="bad id"),
    ("GET", "/api/admin/audit"): R({"admin", "auditor"}),
}
# Reads that answer no patient data and are therefore not audited.
UNAUDITED = {("GET", "/api/me"), ("GET", "/api/wards"), ("GET", "/api/admin/users"),
             ("GET", "/api/escalation-chains/{scope}")}
# Sign-in answers anyone (that is its job) and sign-out ends the caller's own session: checked apart.
PUBLIC = {("POST", "/api/auth/login"), ("POST", "/api/auth/logout")}


@pytest.fixture(scope="module")
def world(console: Console) -> dict[str, str]:
    """Path values naming ward-a's objects."""
    cand = candidate("PA1", "heart_rate_low", 38, 40, datetime.now(UTC) - timedelta(minutes=55), Priority.HIGH,
                     ReadingType.HEART_RATE)
    produce(console.bootstrap, console.prefix, candidates=[cand])

    def stored() -> bool:
        with console.connect() as conn:
            return conn.execute("SELECT 1 FROM alerts WHERE id = %s", (cand.id,)).fetchone() is not None

    wait_for(stored, 30, "the alarm stored", console.services)
    with console.login("charge.a") as charge:
        assert charge.put("/api/responders/resp.matrix", json={"display_name": "Matrix"}).status_code == 200
        r = charge.post("/api/roster", json=SHIFT)
        assert r.status_code == 201, r.text
    return {"patient_id": "PA1", "ward_id": "ward-a", "alert_id": cand.id, "responder_id": "resp.matrix",
            "shift_id": str(r.json()["id"]), "rule": "heart_rate_high", "user_id": "nurse.a", "device_id": "bm-a1",
            "scope": "ward-a", "priority": "high"}


def _spec(console: Console) -> list[tuple[str, str, dict[str, object]]]:
    spec = httpx.get(f"{console.base}/openapi.json", timeout=30).json()
    return [(m.upper(), path, op) for path, ops in spec["paths"].items() for m, op in ops.items()]


def test_every_route_in_the_openapi_document_is_classified(console: Console) -> None:
    routes = {(m, p) for m, p, _ in _spec(console)}
    assert routes - PUBLIC - set(ROUTES) == set(), "classify the new routes in ROUTES"
    assert set(ROUTES) - routes == set(), "ROUTES names routes that no longer exist"


def _request(client: httpx.Client, method: str, path: str, op: dict[str, object], values: dict[str, str],
             route: Route, authorised: bool) -> httpx.Response:
    probe = route.probe if authorised else {}
    params: dict[str, str] = {}
    for p in op.get("parameters", []):  # type: ignore[union-attr]
        assert isinstance(p, dict)
        if p["in"] == "query" and (p.get("required") or p["name"] in probe):
            params[p["name"]] = probe.get(p["name"], "because")
    url = re.sub(r"{(\w+)}", lambda m: probe.get(m.group(1), values[m.group(1)]), path)
    has_body = "requestBody" in op
    body = (BAD if authorised and not probe else route.body) if has_body else None
    if path.endswith("/stream"):
        with client.stream(method, url, params=params) as r:
            r.read() if r.status_code != 200 else None
            return r
    return client.request(method, url, params=params, json=body)


def _callers(console: Console) -> dict[str, httpx.Client]:
    out = {ANON: httpx.Client(base_url=console.base, timeout=30)}
    for user in CALLERS[1:]:
        out[user] = console.login(user)
    return out


def _audit_rows(console: Console, actor: str) -> int:
    with console.connect() as conn:
        row = conn.execute("SELECT count(*) FROM audit_log WHERE actor = %s", (actor,)).fetchone()
    assert row is not None
    return int(row[0])


def test_each_caller_gets_exactly_the_access_its_roles_and_wards_give(console: Console, world: dict[str, str]) -> None:
    clients = _callers(console)
    wrong: list[str] = []
    try:
        for method, path, op in _spec(console):
            if (method, path) in PUBLIC:
                continue
            route = ROUTES[(method, path)]
            for caller, client in clients.items():
                authorised = caller in route.ok
                before = _audit_rows(console, caller)
                r = _request(client, method, path, op, world, route, authorised)
                # Every answer with data is audited (an empty list shows nothing).
                read = (method == "GET" and r.status_code == 200 and (method, path) not in UNAUDITED
                        and (path.endswith("/stream") or r.text != "[]"))
                if read and _audit_rows(console, caller) == before:
                    wrong.append(f"{caller:13} {method:6} {path}: answered without an audit row")
                text = "" if path.endswith("/stream") else r.text
                if caller == ANON:
                    want: set[int] | range = {401}
                elif authorised:
                    mutating = method != "GET"
                    want = {422} if mutating else range(200, 300)
                elif caller in route.scoped:
                    want = {200}
                else:
                    want = {403, 404}
                if r.status_code not in want:
                    wrong.append(f"{caller:13} {method:6} {path}: {r.status_code} {text[:120]}")
                elif not authorised and any(n in text for n in WARD_A_NAMES):
                    wrong.append(f"{caller:13} {method:6} {path}: ward-a data in the answer")
    finally:
        for c in clients.values():
            c.close()
    assert not wrong, "\n".join(wrong)


def test_sign_in_and_sign_out_answer_without_data(console: Console) -> None:
    anon = httpx.Client(base_url=console.base, timeout=30)
    assert anon.post("/api/auth/login", json=BAD).status_code == 422
    assert anon.post("/api/auth/logout").status_code == 401
    anon.close()
