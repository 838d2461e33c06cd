"""The sink against real faults: connections killed mid-run, a database restart, redelivery.

`rpm sink` runs as its own process against the Kafka mock and PostgreSQL.
Every test checks the exact set of stored natural keys (nothing lost,
nothing twice) and that the faults really hit the sink (its error counter).
"""

from __future__ import annotations

import re
import tempfile
import threading
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg

from embedded import postgres
from embedded.kafka_mock import MockKafka
from embedded.ports import free_port
from storage.migrate import migrate
from tests.services import Services, produce_readings, wait_for
from wire.messages import Reading, ReadingBatch
from wire.units import ReadingType

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
TYPES = (ReadingType.HEART_RATE, ReadingType.SPO2, ReadingType.RESP_RATE, ReadingType.TEMPERATURE)
VALUES = {ReadingType.HEART_RATE: 72.0, ReadingType.SPO2: 97.0, ReadingType.RESP_RATE: 16.0,
          ReadingType.TEMPERATURE: 36.8}
Key = tuple[str, str, datetime, str]


def make_batches(first_seq: int, count: int, patients: int = 10, seconds: int = 5) -> list[ReadingBatch]:
    """``count`` records round-robin over patients; each holds 4 vitals x ``seconds`` samples."""
    out = []
    for i in range(first_seq, first_seq + count):
        p = i % patients
        t = T0 + timedelta(seconds=(i // patients) * seconds)
        out.append(ReadingBatch(
            patient_id=f"P{p}", device_id=f"D{p}", seq=i, sent_at=t, received_at=t,
            readings=tuple(Reading(type=k, t=t + timedelta(seconds=s), value=VALUES[k])
                           for k in TYPES for s in range(seconds)),
        ))
    return out


def keys(batches: list[ReadingBatch]) -> set[Key]:
    return {(b.patient_id, r.type.value, r.t, b.device_id) for b in batches for r in b.readings}


def produce(bootstrap: str, prefix: str, batches: list[ReadingBatch]) -> None:
    # One batch per record: the faults below land between small transactions (RPM_SINK_MAX_RECORDS=3).
    produce_readings(bootstrap, prefix, batches, per_record=1)


def stored(conn: psycopg.Connection) -> set[Key]:
    return {tuple(r) for r in conn.execute(  # type: ignore[misc]
        "SELECT patient_id, type, measured_at, device_id FROM readings")}


def _at_least(conn: psycopg.Connection, want: int) -> bool | None:
    return count(conn) >= want or None


def count(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM readings").fetchone()
    return int(row[0]) if row else 0


def metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    m = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


def kill_sink_connections(admin: psycopg.Connection, instance: str) -> int:
    row = admin.execute(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = %s", (f"rpm-sink:{instance}",)).fetchone()
    return int(row[0]) if row else 0


def sink_env(dsn: str, kafka: MockKafka, prefix: str, instance: str, port: int) -> dict[str, str]:
    return {
        "RPM_DATABASE_URL": dsn, "RPM_KAFKA_BOOTSTRAP": kafka.bootstrap, "RPM_TOPIC_PREFIX": prefix,
        "RPM_SINK_INSTANCE": instance, "RPM_METRICS_PORT": str(port),
        # Small batches: many transactions, so faults land mid-run.
        "RPM_SINK_MAX_RECORDS": "3", "RPM_MAINTAIN_INTERVAL_S": "0",
    }


def test_killed_connections_and_redelivery_lose_and_duplicate_nothing(
    tmp_path: Path, db_dsn: str, db: psycopg.Connection, kafka_cluster: MockKafka, topic_prefix: str,
) -> None:
    instance, port = f"f{uuid.uuid4().hex[:8]}", free_port()
    svc = Services(sink_env(db_dsn, kafka_cluster, topic_prefix, instance, port), tmp_path)
    phases = [make_batches(0, 60), make_batches(60, 60), make_batches(120, 90)]
    sent: list[ReadingBatch] = []
    kills = 0
    try:
        svc.start("sink")
        for batches in phases[:2]:
            produce(kafka_cluster.bootstrap, topic_prefix, batches)
            sent += batches
            want = len(keys(sent))
            wait_for(partial(_at_least, db, want), 60, f"{want} rows", svc)
            # The sink keeps its connection between batches: cut it.
            kills += kill_sink_connections(db, instance)
        assert kills == 2

        # Phase 3: keep cutting connections while the sink works through it.
        done = threading.Event()

        def chaos() -> None:
            nonlocal kills
            with psycopg.connect(db_dsn, autocommit=True) as admin:
                while not done.wait(0.05):  # often: a fast sink finishes phase 3 in well under a second
                    kills += kill_sink_connections(admin, instance)

        killer = threading.Thread(target=chaos)
        killer.start()
        try:
            produce(kafka_cluster.bootstrap, topic_prefix, phases[2])
            sent += phases[2]
            want = len(keys(sent))
            wait_for(lambda: count(db) >= want or None, 90, f"{want} rows under fire", svc)
        finally:
            done.set()
            killer.join()
        assert kills > 2
        assert count(db) == want == 210 * 20 and stored(db) == keys(sent)
        assert metric(port, "rpm_sink_db_errors_total") >= 2  # the cuts really hit the sink
        assert metric(port, "rpm_sink_rows_inserted_total") == want

        # Redelivery: the first phase again, as a producer retry would send it.
        produce(kafka_cluster.bootstrap, topic_prefix, phases[0])
        dupes = len(keys(phases[0]))
        wait_for(lambda: metric(port, "rpm_sink_rows_duplicate_total") >= dupes or None, 60, "replay handled", svc)
        assert count(db) == want and stored(db) == keys(sent)
        assert metric(port, "rpm_sink_rows_inserted_total") == want
        svc.assert_running()
    finally:
        svc.close()


def _pg_ctl(server: object, *args: str) -> None:
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # generated at import

    pg_ctl(list(args), pgdata=server.pgdata, user=server.system_user, timeout=60)  # type: ignore[attr-defined]


def test_plain_database_restart_mid_run(tmp_path: Path, kafka_cluster: MockKafka, topic_prefix: str) -> None:
    """A private embedded PostgreSQL, stopped while readings keep coming, then started again.

    Plain only: the embedded server (pgserver) has no TimescaleDB."""
    with tempfile.TemporaryDirectory(prefix="rpmrs", dir="/tmp") as d:
        dsn, server = postgres.start(Path(d) / "pg")
        socket_dir = parse_qs(urlparse(dsn).query)["host"][0]
        instance, port = f"r{uuid.uuid4().hex[:8]}", free_port()
        svc = Services(sink_env(dsn, kafka_cluster, topic_prefix, instance, port), tmp_path)
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                migrate(conn)
            first, second = make_batches(0, 60), make_batches(60, 90)
            svc.start("sink")
            produce(kafka_cluster.bootstrap, topic_prefix, first)
            with psycopg.connect(dsn, autocommit=True) as conn:
                wait_for(lambda: count(conn) >= len(keys(first)) or None, 60, "first phase stored", svc)
            _pg_ctl(server, "-w", "-m", "fast", "stop")
            produce(kafka_cluster.bootstrap, topic_prefix, second)
            wait_for(lambda: metric(port, "rpm_sink_db_errors_total") >= 1 or None, 30, "sink sees the outage", svc)
            _pg_ctl(server, "-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.log), "start")
            want = keys(first) | keys(second)
            with psycopg.connect(dsn, autocommit=True) as conn:
                wait_for(lambda: count(conn) >= len(want) or None, 90, "every reading after the restart", svc)
                assert count(conn) == len(want) and stored(conn) == want
            assert metric(port, "rpm_sink_rows_inserted_total") == len(want)
            svc.assert_running()
        finally:
            svc.close()
            server.cleanup()
