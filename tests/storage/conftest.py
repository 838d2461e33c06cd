"""Storage test helpers: each storage test runs on both backends, plus hand-made readings.

The ``backend`` parameter gives every test using ``db``, ``db_dsn`` or
``empty_dsn`` two variants, ``[pg]`` (plain PostgreSQL: the RPM_TEST_DATABASE_URL
server, or an embedded one) and ``[tsdb]`` (TimescaleDB). The TimescaleDB server
is RPM_TEST_TIMESCALE_URL, or the main test server when it reports the
extension available and preloaded. Where neither exists (CI: plain PostgreSQL
only) the ``[tsdb]`` variants are skipped as "not applicable"; the ``[pg]``
ones always run. Tests that only make sense on one backend say so in their
name (``test_plain_...``, ``test_timescaledb_...``) and use the ``plain_*`` or
``tsdb_*`` fixtures.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
import pytest

from storage import maintain, readings, timescale
from storage.backend import Backend
from storage.migrate import migrate
from storage.policy import RetentionPolicy
from tests.conftest import with_search_path

# A fixed instant, so partition names, buckets and retention are deterministic.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

TIMESCALE_ENV = "RPM_TEST_TIMESCALE_URL"
# TimescaleDB's scheduler runs the jobs on the real clock, and a new job runs
# at once: with the product's 90-day retention it would drop the fixed-date
# test data above while a test runs. Keeping everything ten years, and
# compressing only after nine, leaves the jobs in place and scheduled without
# touching the data. Tests of retention and compression themselves use data
# relative to the real clock (test_timescaledb.py).
TSDB_TEST_POLICY = RetentionPolicy(raw_days=3650, features_days=3650, scores_days=3650, agg_1m_days=3650,
                                   agg_1h_days=3650, compress_after_days=3300, agg_compress_after_days=3300,
                                   waveform_days=3650, waveform_compress_after_days=3300)


def offers_timescaledb(conn: psycopg.Connection) -> bool:
    """What the server reports: the extension installed and preloaded (so it can be created)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')"
        " AND current_setting('shared_preload_libraries', true) LIKE '%%timescaledb%%'"
    ).fetchone()
    return bool(row and row[0])


@pytest.fixture(scope="session")
def tsdb_server_dsn(pg_server_dsn: str) -> str:
    url = os.environ.get(TIMESCALE_ENV)
    if url:
        with psycopg.connect(url, autocommit=True) as conn:
            if not offers_timescaledb(conn):
                pytest.fail(f"{TIMESCALE_ENV} points at a server without TimescaleDB preloaded")
        return url
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        if offers_timescaledb(conn):
            return pg_server_dsn
    pytest.skip(f"not applicable: no TimescaleDB server ({TIMESCALE_ENV} unset; see docs/storage.md)")


@pytest.fixture(params=[Backend.POSTGRES, Backend.TIMESCALEDB], ids=["pg", "tsdb"])
def backend(request: pytest.FixtureRequest) -> Backend:
    return Backend(request.param)


@pytest.fixture
def server_dsn(backend: Backend, request: pytest.FixtureRequest) -> str:
    name = "tsdb_server_dsn" if backend is Backend.TIMESCALEDB else "pg_server_dsn"
    return str(request.getfixturevalue(name))


def policy_for(backend: Backend) -> RetentionPolicy:
    return TSDB_TEST_POLICY if backend is Backend.TIMESCALEDB else RetentionPolicy()


@contextmanager
def _schema(server: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(server, schema)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            timescale.drop_schema(conn, schema)


@contextmanager
def _migrated(server: str, backend: Backend) -> Iterator[str]:
    with _schema(server) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn, backend, policy_for(backend))
        yield dsn


@pytest.fixture
def empty_dsn(server_dsn: str) -> Iterator[str]:
    """A DSN whose search_path is a fresh schema with nothing in it (on the ``backend``'s server)."""
    with _schema(server_dsn) as dsn:
        yield dsn


@pytest.fixture
def db_dsn(server_dsn: str, backend: Backend) -> Iterator[str]:
    """A DSN whose search_path is a fresh schema migrated for ``backend`` (dropped afterwards)."""
    with _migrated(server_dsn, backend) as dsn:
        yield dsn


@pytest.fixture
def plain_db_dsn(pg_server_dsn: str) -> Iterator[str]:
    with _migrated(pg_server_dsn, Backend.POSTGRES) as dsn:
        yield dsn


@pytest.fixture
def plain_empty_dsn(pg_server_dsn: str) -> Iterator[str]:
    with _schema(pg_server_dsn) as dsn:
        yield dsn


@pytest.fixture
def plain_db(plain_db_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(plain_db_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def tsdb_empty_dsn(tsdb_server_dsn: str) -> Iterator[str]:
    with _schema(tsdb_server_dsn) as dsn:
        yield dsn


@pytest.fixture
def tsdb_db_dsn(tsdb_server_dsn: str) -> Iterator[str]:
    with _migrated(tsdb_server_dsn, Backend.TIMESCALEDB) as dsn:
        yield dsn


@pytest.fixture
def tsdb_db(tsdb_db_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(tsdb_db_dsn, autocommit=True) as conn:
        yield conn


def materialise(conn: psycopg.Connection, backend: Backend, now: datetime) -> None:
    """Bring the aggregates up to date as of ``now``: plain, `rpm db maintain` (closed hours);
    TimescaleDB, a refresh up to the start of the hour (what its refresh job does on the real clock)."""
    if backend is Backend.POSTGRES:
        maintain.run_once(conn, RetentionPolicy(), now=now)
    else:
        timescale.refresh_aggregates(conn, None, now.replace(minute=0, second=0, microsecond=0))


def materialised_1m(conn: psycopg.Connection) -> int:
    """Rows in readings_1m's materialisation (TimescaleDB), as opposed to its real-time part."""
    ts = timescale.extension_schema(conn)
    row = conn.execute(
        "SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)"
        " FROM timescaledb_information.continuous_aggregates"
        " WHERE view_schema = current_schema() AND view_name = 'readings_1m'").fetchone()
    assert row is not None and ts
    got = conn.execute(f"SELECT count(*) FROM {row[0]}").fetchone()  # a name the catalogue gave
    return int(got[0]) if got else 0


def reading(
    t: datetime, value: float, type_: str = "heart_rate", patient: str = "P1", device: str = "D1",
    flags: tuple[str, ...] = (), unit: str = "/min",
) -> readings.ReadingRow:
    return (t, patient, device, type_, value, unit, list(flags), 0, t)


def insert(conn: psycopg.Connection, rows: list[readings.ReadingRow]) -> int:
    with conn.transaction():
        return readings.write(conn, rows)
