"""`rpm bench sink`: the readings sink's rows/s against raw COPY binary into the same table.

Three measurements on one schema, the table emptied between them:
  limit     COPY (binary) of the same rows straight into ``readings``, first and
            last (the better run counts: on a shared machine the rate drifts);
  db_write  the sink's write path alone (COPY to a temp stage + INSERT ... ON CONFLICT);
  value     the sink loop itself (the code `rpm sink` runs): Kafka poll, JSON
            validation, write, offset commit, from the Kafka mock.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
from confluent_kafka import Producer
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from embedded.kafka_mock import MockKafka
from runtime import gc_tuning
from runtime.health import Health
from storage import readings, sink, timescale
from storage.backend import Backend, recorded
from storage.bench import bench_schema, progress
from storage.settings import SinkSettings
from wire import packed, topics
from wire.messages import Reading, ReadingBatch
from wire.units import ReadingType

VITALS = (ReadingType.HEART_RATE, ReadingType.SPO2, ReadingType.RESP_RATE, ReadingType.TEMPERATURE,
          ReadingType.BP_SYSTOLIC)
BASE = {ReadingType.HEART_RATE: 70.0, ReadingType.SPO2: 96.0, ReadingType.RESP_RATE: 15.0,
        ReadingType.TEMPERATURE: 36.8, ReadingType.BP_SYSTOLIC: 120.0}
SECONDS_PER_RECORD = 12  # 5 vitals x 12 one-second samples = 60 readings per Kafka record
CHUNK = 100_000  # rows per transaction for the COPY limit and the write-path run


def make_batches(n_readings: int, patients: int) -> list[ReadingBatch]:
    per_record = len(VITALS) * SECONDS_PER_RECORD
    n_records = max(1, n_readings // per_record)
    # Recent times, so rows land in the partitions migrate created.
    t0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    out = []
    for i in range(n_records):
        p = i % patients
        t = t0 + timedelta(seconds=(i // patients) * SECONDS_PER_RECORD)
        out.append(ReadingBatch(
            patient_id=f"B{p:04d}", device_id=f"BD{p:04d}", seq=i, sent_at=t, received_at=t,
            readings=tuple(Reading(type=k, t=t + timedelta(seconds=s), value=BASE[k] + (i + s) % 7)
                           for k in VITALS for s in range(SECONDS_PER_RECORD)),
        ))
    return out


def _empty(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        # agg_pending (the refresh queue) exists on plain PostgreSQL only.
        row = conn.execute("SELECT to_regclass('agg_pending') IS NOT NULL").fetchone()
        conn.execute("TRUNCATE readings, agg_pending" if row and row[0] else "TRUNCATE readings")


def _storage(dsn: str, n: int) -> dict[str, object]:
    """Bytes per million readings as the sink stored them; on TimescaleDB also after compressing them."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        backend = recorded(conn)
        if backend is Backend.TIMESCALEDB:
            before = timescale.hypertable_bytes(conn, "readings")
            progress("compressing what the sink wrote")
            timescale.compress_chunks(conn, "readings", datetime.now(UTC) + timedelta(days=2))
            _, chunk_before, chunk_after = timescale.compression_stats(conn, "readings")
            return {"backend": str(backend), "bytes_per_million_readings": round(before / n * 1e6),
                    "bytes_per_million_readings_compressed": round(chunk_after / n * 1e6),
                    "compression_ratio": round(chunk_before / chunk_after, 1) if chunk_after else None}
        row = conn.execute("SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits"
                           " WHERE inhparent = 'readings'::regclass").fetchone()
        return {"backend": str(backend), "bytes_per_million_readings": round(int(row[0] if row else 0) / n * 1e6)}


def _copy_limit(dsn: str, rows: list[readings.ReadingRow]) -> float:
    with psycopg.connect(dsn) as conn:
        t = time.perf_counter()
        for i in range(0, len(rows), CHUNK):
            with conn.transaction(), conn.cursor() as cur:
                readings.copy_rows(cur, "readings", rows[i:i + CHUNK])
        return len(rows) / (time.perf_counter() - t)


def _write_path(dsn: str, rows: list[readings.ReadingRow],
                write: Callable[[psycopg.Connection, list[readings.ReadingRow]], int]) -> float:
    with psycopg.connect(dsn) as conn:
        t = time.perf_counter()
        for i in range(0, len(rows), CHUNK):
            with conn.transaction():
                write(conn, rows[i:i + CHUNK])
        return len(rows) / (time.perf_counter() - t)


def _produce(bootstrap: str, prefix: str, batches: list[ReadingBatch]) -> None:
    # gzip keeps the records under the mock's 5 MiB-per-partition retention.
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": "gzip", "linger.ms": 50})
    name = topics.kafka_topics(prefix)[topics.READINGS_PACKED].name
    partitions = len(p.list_topics(name, timeout=10).topics[name].partitions)
    # Packed as the bridge writes them (wire.packed).
    for part, value in packed.group(((b.patient_id, b.model_dump_json().encode()) for b in batches), partitions):
        while True:
            try:
                p.produce(name, key=b"p%d" % part, value=value, partition=part)
                break
            except BufferError:
                p.poll(0.1)
    if p.flush(120):
        raise RuntimeError("Kafka mock did not take every record")


def _sink_loop(dsn: str, bootstrap: str, prefix: str, total: int, batch_records: int) -> tuple[float, float]:
    """Run the sink's own step() until ``total`` rows are in; (wall rows/s, rows per CPU-second)."""
    s = SinkSettings(database_url=SecretStr(dsn), kafka_bootstrap=bootstrap, topic_prefix=prefix,
                     sink_max_records=batch_records, maintain_interval_s=0)
    m = sink.SinkMetrics(CollectorRegistry())
    writer = sink.Writer(dsn, "rpm-sink:bench", m, Health(), threading.Event())
    consumer = sink.make_consumer(s)
    pipeline = sink.Pipeline(consumer, writer, s, m)
    gc_tuning.for_throughput()  # as `rpm sink` does before its loop
    started = cpu0 = 0.0
    deadline = time.monotonic() + 600
    try:
        while m.rows._value.get() + m.dupes._value.get() < total:  # registry-free read of the counters
            if time.monotonic() > deadline:
                raise RuntimeError("sink did not finish within 10 minutes")
            got = pipeline.step()
            if got and not started:
                started, cpu0 = time.perf_counter(), time.process_time()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        pipeline.close()
        consumer.close(autocommit=False)
        writer.close()
    if m.dupes._value.get():
        raise RuntimeError("duplicates in a fresh table: the bench is broken")
    return total / wall, total / cpu


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--readings", type=int, default=1_000_000)
    p.add_argument("--patients", type=int, default=100)
    p.add_argument("--batch-records", type=int, default=100, help="packed Kafka records (64 device messages each) per sink batch")


def run(a: argparse.Namespace) -> dict[str, object]:
    return measure(a.readings, a.patients, a.batch_records)


def measure(n_readings: int, patients: int, batch_records: int) -> dict[str, object]:
    kafka = MockKafka()
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    kafka.create_topics(topics.all_topics(prefix, partitions=8))
    try:
        with bench_schema() as (dsn, _):
            progress(f"building {n_readings:,} readings")
            batches = make_batches(n_readings, patients)
            rows = readings.rows_from(batches)
            progress(f"raw COPY binary of {len(rows):,} rows into readings")
            limit = _copy_limit(dsn, rows)
            _empty(dsn)
            progress("sink write path, new rows")
            db_write = _write_path(dsn, rows, readings.write)
            progress("sink write path, every row a replay (stage COPY + INSERT ON CONFLICT)")
            replay = _write_path(dsn, rows, readings.write)
            _empty(dsn)
            progress("staged path alone on new rows")
            staged = _write_path(dsn, rows, readings.write_staged)
            _empty(dsn)
            progress(f"producing {len(batches):,} Kafka records")
            _produce(kafka.bootstrap, prefix, batches)
            progress("sink loop from Kafka")
            value, per_cpu = _sink_loop(dsn, kafka.bootstrap, prefix, len(rows), batch_records)
            storage = _storage(dsn, len(rows))
            _empty(dsn)
            progress("raw COPY binary again (the limit is the better of the two runs)")
            limits = (limit, _copy_limit(dsn, rows))
            limit = max(limits)
    finally:
        kafka.close()
    return {
        "name": "sink", "unit": "rows/s", "value": round(value), "limit": round(limit),
        "ratio": round(value / limit, 3), "rows": len(rows), "limit_runs": [round(x) for x in limits],
        "readings_per_record": len(VITALS) * SECONDS_PER_RECORD,
        "db_write_rows_s": round(db_write), "db_write_ratio": round(db_write / limit, 3),
        "staged_upsert_rows_s": round(staged), "replay_rows_s": round(replay),
        "sink_rows_per_cpu_s": round(per_cpu), **storage,
        "note": "value: the `rpm sink` loop (Kafka poll, validation, write, commit) in one process;"
                " limit: COPY binary of the same rows into readings in the same run",
    }
