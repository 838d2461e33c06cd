"""Storage test helpers: an empty (unmigrated) schema, and hand-made readings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from storage import readings
from tests.conftest import with_search_path

# A fixed instant, so partition names, buckets and retention are deterministic.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def empty_dsn(pg_server_dsn: str) -> Iterator[str]:
    """A DSN whose search_path is a fresh schema with nothing in it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield with_search_path(pg_server_dsn, schema)
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def reading(
    t: datetime, value: float, type_: str = "heart_rate", patient: str = "P1", device: str = "D1",
    flags: tuple[str, ...] = (), unit: str = "/min",
) -> readings.ReadingRow:
    return (t, patient, device, type_, value, unit, list(flags), 0, t)


def insert(conn: psycopg.Connection, rows: list[readings.ReadingRow]) -> int:
    with conn.transaction():
        return readings.write(conn, rows)
