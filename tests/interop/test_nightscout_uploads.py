"""Nightscout-compatible uploads: xDrip+'s exact HTTP shape in, py-nightscout reading back, console and FHIR too.

py-nightscout (1.3) can only read (entries/sgv.json, status.json), so the
upload is the request xDrip+ and the Nightscout uploaders send: POST
/api/v1/entries with a JSON array and ``api-secret: <SHA-1 hex>``.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import py_nightscout

from tests.interop.conftest import CGM_DEVICE, Interop
from tests.interop.fhir_auth import bearer
from tests.services import readings_batches, wait_for


def xdrip_entry(t: datetime, sgv: int, direction: str = "Flat") -> dict[str, object]:
    ms = int(t.timestamp() * 1000)
    return {"device": "xDrip-DexcomG6", "date": ms, "dateString": t.isoformat(), "sgv": sgv, "delta": 1.5,
            "direction": direction, "type": "sgv", "filtered": sgv * 1000, "unfiltered": sgv * 1000, "rssi": 100,
            "noise": 1, "sysTime": t.isoformat()}


def post(it: Interop, body: object, secret: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json", "User-Agent": "xDrip+ 2024.01"}
    headers["api-secret"] = hashlib.sha1((secret or it.upload_secret).encode()).hexdigest()
    return httpx.post(f"{it.nightscout}/api/v1/entries", json=body, headers=headers, timeout=30)


def test_upload_then_read_back_with_py_nightscout_console_and_fhir(interop: Interop) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    entries = [xdrip_entry(now - timedelta(minutes=5 * k), 150 - 4 * k) for k in range(6)]
    r = post(interop, entries)
    assert r.status_code == 200, r.text
    assert len(r.json()) == 6
    # A retry of the same upload is harmless (the readings' natural key).
    assert post(interop, entries).status_code == 200

    def stored() -> int:
        with interop.connect() as conn:
            return int(conn.execute("SELECT count(*) FROM readings WHERE device_id = %s", (CGM_DEVICE,)).fetchone()[0])

    wait_for(lambda: stored() == 6, 60, "six CGM readings in PostgreSQL", interop.services)
    # The stream worker's input (glucose analytics) has them too, not only the sink.
    on_kafka = [b for b in readings_batches(interop.bootstrap, interop.prefix) if b["device_id"] == CGM_DEVICE]
    assert len({r["t"] for b in on_kafka for r in b["readings"]}) == 6  # type: ignore[attr-defined]

    async def read() -> tuple[list[object], object]:
        api = py_nightscout.Api(interop.nightscout, api_secret=interop.upload_secret)
        return await api.get_sgvs(), await api.get_server_status()

    sgvs, status = asyncio.run(read())
    assert status.status == "ok" and status.apiEnabled is True
    assert [s.sgv for s in sgvs] == [150, 146, 142, 138, 134, 130]
    assert sgvs[0].direction == "Flat"  # +4 mg/dL in 5 min: 0.8 mg/dL per minute
    with interop.connect() as conn:
        audited = conn.execute("SELECT count(*) FROM audit_log WHERE actor = %s AND action = 'nightscout.read'"
                               " AND subject = 'PA3'", (f"device:{CGM_DEVICE}",)).fetchone()[0]
    assert audited >= 1
    nurse = interop.console_login("nurse.a")
    glucose = nurse.get("/api/patients/PA3/trends", params={"range": "1h"}).json()
    points = next(t for t in glucose["trends"] if t["type"] == "glucose")["points"]
    assert max(p["value"] for p in points) == 150.0
    fhir = httpx.get(f"{interop.fhir}/Observation", params={"patient": "PA3", "code": "99504-3"},
                     headers=bearer(interop, "his.ward-a"), timeout=30).json()
    assert sorted(e["resource"]["valueQuantity"]["value"] for e in fhir["entry"]) == [130, 134, 138, 142, 146, 150]


def test_bad_uploads_are_refused_clearly_and_counted(interop: Interop) -> None:
    now = datetime.now(UTC)
    assert post(interop, [xdrip_entry(now, 120)], secret="wrong").status_code == 401
    no_header = httpx.post(f"{interop.nightscout}/api/v1/entries", json=[xdrip_entry(now, 120)], timeout=30)
    assert no_header.status_code == 401
    assert httpx.get(f"{interop.nightscout}/api/v1/entries.json", timeout=30).status_code == 401
    bad_json = httpx.post(f"{interop.nightscout}/api/v1/entries", content=b"[{", timeout=30,
                          headers={"api-secret": hashlib.sha1(interop.upload_secret.encode()).hexdigest()})
    assert bad_json.status_code == 400
    refused = post(interop, [xdrip_entry(now, 5000), {"type": "cal", "date": 1, "slope": 1000},
                             xdrip_entry(now + timedelta(hours=2), 120)])
    assert refused.status_code == 422
    reasons = sorted(x["reason"] for x in refused.json()["refused"])
    assert reasons == ["future_timestamp", "implausible_value", "schema_violation"]
    partial = post(interop, [xdrip_entry(now - timedelta(minutes=40), 101), xdrip_entry(now, 0)])
    assert partial.status_code == 200 and len(partial.json()) == 1 and partial.headers["x-rpm-refused"] == "1"
    big = post(interop, [xdrip_entry(now, 100)] * 2001)
    assert big.status_code in (400, 413)
