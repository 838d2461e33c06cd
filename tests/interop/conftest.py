"""Interop fixtures: the console world (tests.console.world) and every service as its own process.

`rpm alerts` (console + /fhir), `rpm sink`, `rpm hl7` and `rpm nightscout`
run against PostgreSQL and librdkafka's mock cluster, exactly as in
production; the tests drive them with the real clients (fhirclient, fhirpy,
python-hl7's MLLP client with hl7apy messages, httpx in xDrip+'s shape and
py-nightscout).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from alerts.console import users
from alerts.console.users import Grant
from embedded.kafka_mock import MockKafka
from embedded.ports import free_port
from storage import registry, upload_tokens
from storage.migrate import migrate
from tests.conftest import with_search_path
from tests.console import world
from tests.services import Services, wait_for
from wire import topics
from wire.messages import DeviceKind

CLIENT_SECRET = "System-client-secret-1"
# System clients (client credentials): one for ward A only, one for every ward.
CLIENTS = {"his.ward-a": [Grant("clinician", "ward-a")], "his.all": [Grant("clinician", None)]}
HL7_DEVICE = "mon-a2"  # bedside monitor behind the HL7 gateway, assigned to PA2
CGM_DEVICE = "cgm-n1"  # a patient's CGM app uploading to the Nightscout API, assigned to PA3


@dataclass(frozen=True)
class Interop:
    base: str
    fhir: str
    hl7_port: int
    nightscout: str
    upload_secret: str
    dsn: str
    bootstrap: str
    prefix: str
    services: Services

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=True)

    def console_login(self, user: str) -> httpx.Client:
        r = httpx.post(f"{self.base}/api/auth/login", json={"username": user, "password": world.PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {r.json()['token']}"}, timeout=30)


def _port_open(port: int) -> bool:  # also used by test_hl7_no_loss
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="package")
def interop(pg_server_dsn: str, kafka_cluster: MockKafka, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Interop]:
    schema = f"i_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    dsn = with_search_path(pg_server_dsn, schema)
    prefix = f"i{uuid.uuid4().hex[:10]}."
    kafka_cluster.create_topics(topics.all_topics(prefix, partitions=2))
    now = datetime.now(UTC)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        world.seed(conn, now)
        for cid, grants in CLIENTS.items():
            users.create_user(conn, "test", cid, f"HIS {cid}", CLIENT_SECRET, grants, "en")
        for dev, kind, pid in ((HL7_DEVICE, DeviceKind.BEDSIDE_MONITOR, "PA2"), (CGM_DEVICE, DeviceKind.CGM, "PA3")):
            registry.add_device(conn, dev, kind)
            registry.assign(conn, dev, pid, now.replace(year=now.year - 1))
        secret = upload_tokens.create(conn, CGM_DEVICE, "test phone")
    http, hl7_port, ns_port = free_port(), free_port(), free_port()
    svc = Services({
        "RPM_DATABASE_URL": dsn, "RPM_KAFKA_BOOTSTRAP": kafka_cluster.bootstrap, "RPM_TOPIC_PREFIX": prefix,
        "RPM_HTTP_PORT": str(http), "RPM_PARTITIONS": "2", "RPM_SINK_INSTANCE": "interop-test",
        "RPM_HL7_PORT": str(hl7_port), "RPM_HL7_HOST": "127.0.0.1", "RPM_NIGHTSCOUT_PORT": str(ns_port),
        "RPM_NIGHTSCOUT_HOST": "127.0.0.1", "RPM_REGISTRY_REFRESH_S": "1",
        "RPM_CONSOLE_OPS_ENDPOINTS": "true",  # the FHIR refusal counters on the console's /metrics
    }, tmp_path_factory.mktemp("interop-services"))
    base = f"http://127.0.0.1:{http}"
    try:
        for name in ("alerts", "sink", "hl7", "nightscout"):
            svc.start(name)

        def up() -> bool:
            try:
                ok = httpx.get(f"{base}/fhir/metadata", timeout=2).status_code == 200
                ok = ok and httpx.get(f"http://127.0.0.1:{ns_port}/api/v1/status.json", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
            return ok and _port_open(hl7_port)

        wait_for(up, 90, "the console, the Nightscout API and the MLLP port answering", svc)
        yield Interop(base, f"{base}/fhir", hl7_port, f"http://127.0.0.1:{ns_port}", secret, dsn,
                      kafka_cluster.bootstrap, prefix, svc)
    finally:
        svc.close()
        with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
