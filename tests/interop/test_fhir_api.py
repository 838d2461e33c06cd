"""The /fhir API driven by the real clients fhirclient (SMART on FHIR's Python client) and fhirpy.

Every resource a client received is validated again with fhir.resources (R4B
models, R4-compatible). Scoping, refusals and audit are checked on the same
running console.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhirclient import client as fhir_client
from fhirclient.models.observation import Observation as FcObservation
from fhirclient.models.patient import Patient as FcPatient
from fhirpy import SyncFHIRClient

from tests.console import world
from tests.interop.conftest import CLIENT_SECRET, Interop
from tests.services import wait_for

MODELS = {"Patient": Patient, "Observation": Observation, "Device": Device, "Flag": Flag}


def token(it: Interop, client_id: str, scope: str) -> str:
    r = httpx.post(f"{it.fhir}/auth/token", data={"grant_type": "client_credentials", "scope": scope},
                   auth=(client_id, CLIENT_SECRET), timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    return str(body["access_token"])


def validate(resource: dict[str, Any]) -> None:
    MODELS[resource["resourceType"]].model_validate(resource)


def test_fhirclient_reads_capability_patient_and_vitals(interop: Interop) -> None:
    smart = fhir_client.FHIRClient(settings={"app_id": "rpm-test", "api_base": interop.fhir + "/"})
    smart.prepare()  # fetches /metadata and parses it with fhirclient's R4 models
    cap = smart.server.capabilityStatement
    assert cap.fhirVersion == "4.0.1"
    assert {r.type for r in cap.rest[0].resource} == {"Patient", "Observation", "Device", "Flag"}
    CapabilityStatement.model_validate(cap.as_json())
    # Client credentials at the token endpoint the CapabilityStatement names, through fhirclient's own form post.
    token_uri = smart.server.auth.token_uri if hasattr(smart.server.auth, "token_uri") else interop.fhir + "/auth/token"
    assert token_uri == interop.fhir + "/auth/token"
    res = smart.server.post_as_form(token_uri, {"grant_type": "client_credentials",
                                                "scope": "system/Patient.read system/Observation.rs"},
                                    auth=("his.ward-a", CLIENT_SECRET))
    smart.server.auth.access_token = res.json()["access_token"]

    pa1 = FcPatient.read("PA1", smart.server)
    assert pa1.name[0].text == "Nguyễn Văn An"
    Patient.model_validate(pa1.as_json())
    since = interop_history_end(interop) - timedelta(minutes=30)
    search = FcObservation.where(struct={"patient": "PA1", "code": "http://loinc.org|8867-4",
                                         "date": f"ge{since.isoformat()}", "_count": "20"})
    found = list(search.perform_resources_iter(smart.server))  # pages of 20, following the next links
    with interop.connect() as conn:
        expected = conn.execute("SELECT count(*) FROM readings WHERE patient_id = 'PA1' AND type = 'heart_rate'"
                                " AND measured_at >= %s", (since,)).fetchone()[0]
    assert len(found) == expected > 20
    for o in found:
        assert o.code.coding[0].code == "8867-4" and o.valueQuantity.code == "/min"
        assert o.subject.reference == "Patient/PA1"
        Observation.model_validate(o.as_json())
    one = FcObservation.read(found[0].id, smart.server)
    assert one.valueQuantity.value == found[0].valueQuantity.value


def interop_history_end(it: Interop) -> Any:
    with it.connect() as conn:
        row = conn.execute("SELECT max(measured_at) FROM readings WHERE patient_id = 'PA1'").fetchone()
    assert row is not None and row[0] is not None
    return row[0]


def test_fhirpy_pages_through_every_observation_of_a_period(interop: Interop) -> None:
    tok = token(interop, "his.all", "system/*.rs")
    fc = SyncFHIRClient(interop.fhir, authorization=f"Bearer {tok}")
    end = interop_history_end(interop)
    start = end - timedelta(minutes=20)
    got = (fc.resources("Observation")
           .search(patient="Patient/PA1", date=[f"ge{start.isoformat()}", f"le{end.isoformat()}"])
           .limit(25).fetch_all())  # follows the Bundle next links
    with interop.connect() as conn:
        n_vitals = conn.execute(
            "SELECT count(*) FROM readings WHERE patient_id = 'PA1' AND measured_at >= %s AND measured_at <= %s"
            " AND type IN ('heart_rate', 'resp_rate', 'spo2', 'temperature')", (start, end)).fetchone()[0]
        n_bp = conn.execute(
            "SELECT count(*) FROM readings WHERE patient_id = 'PA1' AND measured_at >= %s AND measured_at <= %s"
            " AND type = 'bp_systolic'", (start, end)).fetchone()[0]
        n_news2 = conn.execute("SELECT count(*) FROM news2_scores WHERE patient_id = 'PA1' AND scored_at >= %s"
                               " AND scored_at <= %s", (start, end)).fetchone()[0]
    assert len(got) == n_vitals + n_bp + n_news2 > 25
    assert len({o.id for o in got}) == len(got)
    for o in got:
        validate(o.serialize())
    bp = [o for o in got if o["code"]["coding"][0]["code"] == "85354-9"]
    assert len(bp) == n_bp and {c["code"]["coding"][0]["code"] for c in bp[0]["component"]} == {"8480-6", "8462-4"}
    news2 = fc.resources("Observation").search(patient="PA1", code="http://snomed.info/sct|1104051000000101") \
        .sort("-date").limit(5).fetch()
    assert news2 and news2[0]["valueInteger"] >= 0 and len(news2[0]["component"]) == 7
    devices = fc.resources("Device").search(patient="PA1").fetch_all()
    assert [d["id"] for d in devices] == ["bm-a1"] and devices[0]["patient"]["reference"] == "Patient/PA1"
    validate(devices[0].serialize())
    patients = fc.resources("Patient").fetch_all()
    assert {p["id"] for p in patients} >= {"PA1", "PA2", "PB1", "PH1"}


def test_active_alarm_is_a_flag(interop: Interop) -> None:
    from datetime import UTC, datetime

    cand = world.candidate("PA1", "heart_rate_high", 141, 130, datetime.now(UTC))
    world.produce(interop.bootstrap, interop.prefix, [cand])
    tok = token(interop, "his.ward-a", "system/Flag.rs")
    fc = SyncFHIRClient(interop.fhir, authorization=f"Bearer {tok}")
    flags = wait_for(lambda: [f for f in fc.resources("Flag").search(patient="PA1").fetch_all()
                              if f["code"]["coding"][0]["code"] == "heart_rate_high"], 60, "the alarm as a Flag",
                     interop.services)
    f = flags[0]
    validate(f.serialize())
    assert f["status"] == "active" and f["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "PH"
    assert fc.reference("Flag", f["id"]).to_resource()["id"] == f["id"]


@pytest.mark.parametrize("path", ["Patient/PB1", "Observation?patient=PB1", "Device?patient=PB1", "Flag?patient=PB1"])
def test_ward_scope_and_audit(interop: Interop, path: str) -> None:
    tok = token(interop, "his.ward-a", "system/*.rs")
    r = httpx.get(f"{interop.fhir}/{path}", headers={"Authorization": f"Bearer {tok}"}, timeout=30)
    assert r.status_code == 403, r.text
    assert r.json()["resourceType"] == "OperationOutcome" and r.json()["issue"][0]["code"] == "forbidden"
    with interop.connect() as conn:
        denied = conn.execute("SELECT count(*) FROM audit_log WHERE actor = 'his.ward-a' AND action = 'access.denied'"
                              " AND subject = 'PB1'").fetchone()[0]
        reads = conn.execute("SELECT count(*) FROM audit_log WHERE actor LIKE 'his.%%' AND action LIKE 'fhir.%%'"
                             ).fetchone()[0]
    assert denied >= 1 and reads >= 1


FHIR_ROUTES = ["Patient", "Patient/PA1", "Observation?patient=PA1", "Device?patient=PA1", "Device/bm-a1",
               "Flag?patient=PA1"]


def test_every_fhir_route_for_every_kind_of_caller(interop: Interop) -> None:
    """Anonymous 401; a console sign-in of another ward 403 (no ward-a name in the answer); ward A's nurse 200."""
    other = interop.console_login("nurse.b").headers
    own = interop.console_login("nurse.a").headers
    for path in FHIR_ROUTES:
        assert httpx.get(f"{interop.fhir}/{path}", timeout=30).status_code == 401, path
        refused = httpx.get(f"{interop.fhir}/{path}", headers=other, timeout=30)
        if path == "Patient":  # a search: nurse B gets her own ward only
            assert refused.status_code == 200 and "Nguyễn Văn An" not in refused.text
        else:
            assert refused.status_code == 403 and "Nguyễn Văn An" not in refused.text, path
        assert httpx.get(f"{interop.fhir}/{path}", headers=own, timeout=30).status_code == 200, path
    assert httpx.get(f"{interop.fhir}/metadata", timeout=30).status_code == 200  # public, as FHIR requires


def test_refusals_are_clear_and_counted(interop: Interop) -> None:
    f = interop.fhir
    assert httpx.get(f"{f}/Patient/PA1", timeout=30).status_code == 401
    bad = httpx.get(f"{f}/Patient/PA1", headers={"Authorization": "Bearer nope"}, timeout=30)
    assert bad.status_code == 401 and "invalid_token" in bad.headers["www-authenticate"]
    wrong = httpx.post(f"{f}/auth/token", data={"grant_type": "client_credentials", "scope": "system/*.rs"},
                       auth=("his.all", "wrong-secret"), timeout=30)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = httpx.post(f"{f}/auth/token", data={"grant_type": "password"}, auth=("his.all", CLIENT_SECRET), timeout=30)
    assert grant.status_code == 400 and grant.json()["error"] == "invalid_request"
    narrow = token(interop, "his.all", "system/Patient.rs")
    h = {"Authorization": f"Bearer {narrow}"}
    r = httpx.get(f"{f}/Observation?patient=PA1", headers=h, timeout=30)
    assert r.status_code == 403 and "insufficient_scope" in r.headers["www-authenticate"]
    assert httpx.get(f"{f}/Patient?unknown=1", headers=h, timeout=30).status_code == 400
    full = {"Authorization": f"Bearer {token(interop, 'his.all', 'system/*.rs')}"}
    assert httpx.get(f"{f}/Observation?patient=PA1&date=yesterday", headers=full, timeout=30).status_code == 400
    assert httpx.get(f"{f}/Observation", headers=full, timeout=30).status_code == 400
    assert httpx.get(f"{f}/Observation/hr.1.PA1.bm-a1", headers=full, timeout=30).status_code == 404
    metrics = httpx.get(f"{interop.base}/metrics", timeout=30).text
    for reason in ("unauthenticated", "invalid_client", "insufficient_scope", "bad_search"):
        line = next(x for x in metrics.splitlines() if x.startswith(f'rpm_fhir_refused_total{{reason="{reason}"}}'))
        assert float(line.split()[-1]) >= 1, line
    bundle = httpx.get(f"{f}/Observation?patient=PA1&_count=2", headers=full, timeout=30).json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset" and any(link["relation"] == "next" for link in bundle["link"])
