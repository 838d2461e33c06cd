"""Stream worker throughput: readings/s through Faust vs the pure core on the same records.

Records are bedside-monitor batches (HR, SpO2, RR at 1 Hz, one batch per
``--batch-s`` seconds per patient), packed per partition and time step as
the bridge packs them (wire.packed), produced to the packed readings topic
on the Kafka mock before the measured runs. Three rates on the same records, one core each:

* value: the real worker (``rpm streams``: dedup, quality, windows, NEWS2,
  state changelog, outputs), from its first to its last record, per CPU
  second of the worker process (/proc/<pid>/stat), so "per core" holds on a
  machine shared with other work; the wall-clock rate is reported beside it;
* limit: the pure core (decode + streams.engine.process + state encoding) in
  this process, per CPU second;
* noop: a Faust agent that does nothing (the consumption ceiling of Faust on
  the mock), converted to readings/s at the same readings per record.

Memory: tracemalloc of the pure core's patient states, scaled to 1,000
patients, and the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from embedded.kafka_mock import MockKafka
from embedded.ports import free_port
from runtime import procstat
from streams import engine, state
from streams.config import CoreConfig
from streams.decode import decode
from wire import topics
from wire.messages import DeviceKind, Reading, ReadingBatch
from wire.packed import pack, partition_of
from wire.units import ReadingType as RT

REPO = Path(__file__).resolve().parent.parent


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--patients", type=int, default=300)
    p.add_argument("--minutes", type=int, default=3)
    p.add_argument("--batch-s", type=int, default=10, help="seconds of 1 Hz vitals per record")
    p.add_argument("--partitions", type=int, default=8)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_records(patients: int, minutes: int, batch_s: int) -> list[tuple[bytes, bytes]]:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes + 5)
    out = []
    for k in range(minutes * 60 // batch_s):
        for p in range(patients):
            rs = []
            for i in range(batch_s):
                s = k * batch_s + i
                t = start + timedelta(seconds=s)
                w = (s * 7 + p) % 5 - 2
                rs += [Reading(type=RT.HEART_RATE, t=t, value=75 + p % 20 + w),
                       Reading(type=RT.SPO2, t=t, value=96 + w % 3), Reading(type=RT.RESP_RATE, t=t, value=16 + w)]
            b = ReadingBatch(patient_id=f"B{p:05d}", device_id=f"mon-{p:05d}", seq=k, sent_at=rs[-1].t,
                             received_at=rs[-1].t, readings=tuple(rs), device_kind=DeviceKind.BEDSIDE_MONITOR)
            out.append((b.patient_id.encode(), b.model_dump_json().encode()))
    return out


def pure_core(records: list[tuple[bytes, bytes]], partitions: int) -> tuple[float, float]:
    """Readings/s of decode + process + state encoding; MB of state per 1,000 patients."""
    cfg = CoreConfig()

    def once() -> tuple[int, int]:
        states: dict[str, tuple[state.Live, state.History]] = {}
        readings = 0
        for _key, value in records:
            b = decode(value)  # as the worker decodes
            live, hist = states.get(b.patient_id) or states.setdefault(b.patient_id, (state.Live(), state.History()))
            out = engine.process(live, hist, b, 0, cfg)
            if out.hist_dirty:
                state.encode(hist)
            state.encode(live)
            for c in out.candidates:
                c.model_dump_json()
            readings += b.n_readings
        return readings, len(states)

    started = time.process_time()  # CPU time: the figure holds on a shared machine
    readings, _ = once()
    seconds = time.process_time() - started
    tracemalloc.start()  # a second, untimed pass: tracemalloc slows allocation several-fold
    _, patients = once()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return readings / seconds, peak / 1e6 / patients * 1000


def packed(records: list[tuple[bytes, bytes]], patients: int, partitions: int) -> list[tuple[int, bytes]]:
    """The records as the bridge packs them (wire.packed): per time step, one record per partition."""
    out = []
    for at in range(0, len(records), patients):
        by_part: dict[int, list[bytes]] = {}
        for key, value in records[at:at + patients]:
            by_part.setdefault(partition_of(key.decode(), partitions), []).append(value)
        out += [(part, pack(values)) for part, values in sorted(by_part.items())]
    return out


def _produce(bootstrap: str, topic: str, records: list[tuple[int, bytes]]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=(2, 3, 0), acks=1, linger_ms=20,
                             batch_size=256 * 1024, max_request_size=4 * 1024 * 1024)
    for part, value in records:
        producer.send(topic, value=value, partition=part)
    producer.flush()
    producer.close()


def _metric(port: int, name: str) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def faust_worker(
    bootstrap: str, prefix: str, partitions: int, expected: int, readings: int
) -> tuple[float, float, float]:
    """(readings per wall second, readings per CPU second of the worker process, peak RSS MB),
    both rates between the worker's first and last record."""
    port = free_port()
    env = {**os.environ, "RPM_KAFKA_BOOTSTRAP": bootstrap, "RPM_TOPIC_PREFIX": prefix,
           "RPM_PARTITIONS": str(partitions), "RPM_METRICS_PORT": str(port), "RPM_LOG_LEVEL": "WARNING",
           "RPM_DATABASE_URL": "postgresql://127.0.0.1:1/none", "RPM_DATA_DIR": tempfile.mkdtemp(prefix="rpmb")}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "streams"], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first: tuple[float, float, float] | None = None  # (wall, cpu, batches) at the first record seen
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            n = _metric(port, "rpm_streams_batches_total")
            if n and first is None:
                s0 = procstat.sample(proc.pid)
                first = (time.perf_counter(), s0.cpu_s if s0 else 0.0, n)
            if n >= expected and first is not None:
                s1 = procstat.sample(proc.pid)
                seconds = time.perf_counter() - first[0]
                cpu = (s1.cpu_s if s1 else 0.0) - first[1]
                done = (expected - first[2]) * readings / expected
                return done / seconds, done / max(cpu, 1e-9), s1.peak_rss_mb if s1 else 0.0
            if proc.poll() is not None:
                raise RuntimeError("stream worker exited")
            time.sleep(0.05)
        raise RuntimeError("stream worker did not finish")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def noop_faust(bootstrap: str, topic: str, partitions: int, expected: int) -> float:
    out = subprocess.run([sys.executable, "-m", "streams.bench_noop", bootstrap, topic, str(partitions),
                          str(expected)], cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"no-op Faust agent failed: {out.stderr[-2000:]}")
    text = out.stdout + out.stderr  # Faust may redirect stdout and adds tty codes
    at = text.find('{"records"')
    if at < 0:
        raise RuntimeError(f"no result from the no-op Faust agent: {text[-2000:]}")
    result = json.loads(text[at:text.index("}", at) + 1])
    return float(result["records"]) / float(result["seconds"])


def run(args: argparse.Namespace) -> dict[str, object]:
    records = make_records(args.patients, args.minutes, args.batch_s)
    readings = len(records) * args.batch_s * 3
    per_record = readings / len(records)
    _log(f"{len(records)} records, {readings} readings ({per_record:.0f} per record)")
    core_rate, state_mb = pure_core(records, args.partitions)
    _log(f"pure core: {core_rate:,.0f} readings/s")
    kafka = MockKafka()
    try:
        prefix = f"bench{os.getpid()}."
        kafka.create_topics(topics.all_topics(prefix, args.partitions))
        readings_topic = f"{prefix}{topics.READINGS_PACKED}"
        packs = packed(records, args.patients, args.partitions)
        _produce(kafka.bootstrap, readings_topic, packs)
        _log(f"produced {len(packs)} packed records; no-op Faust agent ...")
        noop_records = noop_faust(kafka.bootstrap, readings_topic, args.partitions, len(packs))
        _log(f"no-op Faust: {noop_records:,.0f} records/s; stream worker ...")
        wall_rate, worker_rate, rss = faust_worker(kafka.bootstrap, prefix, args.partitions, len(records), readings)
        _log(f"worker: {worker_rate:,.0f} readings per CPU second ({wall_rate:,.0f} per wall second)")
    finally:
        kafka.close()
    return {
        "value": round(worker_rate),
        "unit": "readings/s/core",
        "limit": round(core_rate),
        "ratio": round(worker_rate / core_rate, 3),
        "worker_wall_readings_per_s": round(wall_rate),
        "worker_cpu_us_per_reading": round(1e6 / worker_rate, 2),
        "noop_faust_records_per_s": round(noop_records),
        "noop_faust_readings_per_s": round(noop_records * readings / len(packs)),
        "readings_per_batch": per_record,
        "batches_per_packed_record": round(len(records) / len(packs), 1),
        "batches": len(records),
        "packed_records": len(packs),
        "patients": args.patients,
        "core_peak_mb_per_1000_patients": round(state_mb, 2),
        "worker_peak_rss_mb": round(rss, 1),
        "targets": {"worker_readings_per_s": 50_000, "pure_core_readings_per_s": 200_000},
    }
