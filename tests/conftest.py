"""Fixtures providing the real components: PostgreSQL, MQTT and Kafka.

- PostgreSQL: RPM_TEST_DATABASE_URL when set (CI: the machine's server),
  else an embedded PostgreSQL 16 (pgserver). Each test gets its own schema.
- MQTT: RPM_TEST_MQTT_URL when set (CI: the machine's Mosquitto), else a
  private Mosquitto (or amqtt where Mosquitto is not installed).
- Kafka: always librdkafka's mock cluster (a real Kafka protocol peer); each
  test gets its own topic prefix, so topics never leak between tests.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from embedded.kafka_mock import MockKafka
from storage.migrate import migrate
from wire import topics


@pytest.fixture(scope="session")
def pg_server_dsn() -> Iterator[str]:
    url = os.environ.get("RPM_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from embedded import postgres

    with tempfile.TemporaryDirectory(prefix="rpmpg", dir="/tmp") as d:
        dsn, server = postgres.start(Path(d) / "pg")
        yield dsn
        server.cleanup()


def with_search_path(dsn: str, schema: str) -> str:
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def db_dsn(pg_server_dsn: str) -> Iterator[str]:
    """A DSN whose search_path is a fresh, migrated schema (dropped afterwards)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    dsn = with_search_path(pg_server_dsn, schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
    yield dsn
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def db(db_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    url = os.environ.get("RPM_TEST_MQTT_URL")
    if url:
        yield url
        return
    from embedded import mqtt_broker

    with tempfile.TemporaryDirectory(prefix="rpmmq") as d:
        broker = mqtt_broker.start(Path(d))
        yield broker.url
        broker.stop()


@pytest.fixture(scope="session")
def mqtt_v5(mqtt_url: str) -> bool:
    from embedded.mqtt_broker import mosquitto_binary

    # An external broker in CI is Mosquitto; embedded falls back to amqtt (3.1.1 only).
    return bool(os.environ.get("RPM_TEST_MQTT_URL")) or mosquitto_binary() is not None


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[MockKafka]:
    cluster = MockKafka()
    yield cluster
    cluster.close()


@pytest.fixture
def topic_prefix(kafka_cluster: MockKafka) -> str:
    """A unique prefix with every product and Faust topic created under it."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    kafka_cluster.create_topics(topics.all_topics(prefix, partitions=4))
    return prefix
