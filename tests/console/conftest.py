"""Console fixtures: one seeded schema and one set of real services (alerts/console + sink) per package run.

The services run as their own processes (`rpm alerts`, `rpm sink`) against
PostgreSQL and the Kafka protocol (librdkafka's mock cluster), exactly as in
production; the browser is Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from embedded.kafka_mock import MockKafka
from embedded.ports import free_port
from storage.migrate import migrate
from tests.conftest import with_search_path
from tests.console import world
from tests.services import Services, wait_for
from wire import topics

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]


@dataclass(frozen=True)
class Console:
    base: str
    dsn: str
    bootstrap: str
    prefix: str
    history: world.History
    services: Services

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=True)

    def login(self, user: str, password: str = world.PASSWORD) -> httpx.Client:
        """An API client signed in with a bearer token."""
        r = httpx.post(f"{self.base}/api/auth/login", json={"username": user, "password": password}, timeout=30)
        assert r.status_code == 200, r.text
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {r.json()['token']}"}, timeout=30)


@pytest.fixture(scope="package")
def console_schema(pg_server_dsn: str) -> Iterator[str]:
    schema = f"c_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    dsn = with_search_path(pg_server_dsn, schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
    yield dsn
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="package")
def console(console_schema: str, kafka_cluster: MockKafka, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    prefix = f"c{uuid.uuid4().hex[:10]}."
    kafka_cluster.create_topics(topics.all_topics(prefix, partitions=2))
    with psycopg.connect(console_schema, autocommit=True) as conn:
        history = world.seed(conn, datetime.now(UTC))
    port = free_port()
    logdir = tmp_path_factory.mktemp("console-services")
    svc = Services({
        "RPM_DATABASE_URL": console_schema, "RPM_KAFKA_BOOTSTRAP": kafka_cluster.bootstrap, "RPM_TOPIC_PREFIX": prefix,
        "RPM_HTTP_PORT": str(port), "RPM_PARTITIONS": "2", "RPM_SINK_INSTANCE": "console-test",
        # Snapshots every second keep waits short; production default is 5 s.
        "RPM_CONSOLE_PUSH_INTERVAL_S": "1",
    }, logdir)
    base = f"http://127.0.0.1:{port}"
    try:
        svc.start("alerts")
        svc.start("sink")

        def up() -> bool:
            try:
                return httpx.get(f"{base}/login", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 90, "the console answering", svc)
        yield Console(base, console_schema, kafka_cluster.bootstrap, prefix, history, svc)
    finally:
        svc.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
