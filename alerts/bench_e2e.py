"""End-to-end alarm latency: MQTT publish to the alert on the console's live stream (p50/p99).

Runs the real pipeline (bridge, streams, sink, alerts as processes, as in
``rpm up``) against PostgreSQL (RPM_DATABASE_URL, else embedded), MQTT
(RPM_MQTT_URL, else a private broker) and the Kafka mock, in a schema and
topic prefix of its own. ``--patients`` devices publish heart rate, SpO2 and
respiration rate at ``--rate-hz``; in each minute a different share of them
is tachycardic (HR 145/min, a high-priority condition), so every minute
raises a fresh alarm per tachycardic patient.

Two latencies per alarm, both to its arrival on ``/api/alerts/stream``:

* publish-to-console: from the publish of the reading that completes the
  rule's onset delay (wire.rules.CATALOG: the first reading at or after
  onset + delay), i.e. what the pipeline adds;
* onset-to-console: from the publish of the first tachycardic reading, what
  the nurse sees (the delay included), per priority.

The limit is the bare transport (``alerts.bench_probe``) in the same run.
``publisher_queue_*``: how long after publish() the broker's PUBACK for
those messages reached the bench's own client: seconds on a loaded machine
mean the bench's publisher, not the pipeline, is behind.
Cost: CPU seconds each service process used per 1,000 published readings
and its resident memory per 1,000 patients (/proc/<pid>, runtime.procstat),
and whether every reading reached the database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import quantiles

import confluent_kafka as ck
import httpx
import psycopg

from alerts.bench_probe import Probe, probe_topics
from alerts.bench_publisher import publish_fleet
from alerts.console.users import Grant, create_user
from alerts.local_pipeline import Infra, Processes
from embedded.ports import free_port
from runtime import kafka_batch, procstat
from wire import topics
from wire.messages import DeviceKind
from wire.rules import CATALOG, Rule

ONSET_DELAY_S = CATALOG[Rule.HEART_RATE_HIGH].onset_delay_s or 0.0
SERVICES = ("bridge", "streams", "sink", "alerts")
# What else the run charges the machine, by process name.
INFRA_COMMANDS = ("mosquitto", "postgres")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--patients", type=int, default=500)
    p.add_argument("--rate-hz", type=float, default=1.0, help="messages per device per second")
    p.add_argument("--alarm-share", type=float, default=0.1, help="share of patients tachycardic in each minute")
    p.add_argument("--duration", type=float, default=75.0, help="seconds of publishing")
    p.add_argument("--publishers", type=int, default=4,
                   help="processes the simulated fleet is split over (one MQTT connection each)")
    p.add_argument("--profile", type=Path, default=None, metavar="DIR",
                   help="sample each service with py-spy while publishing (collapsed stacks in DIR; costs CPU itself)")


def _say(msg: str) -> None:
    print(f"[bench e2e] {msg}", file=sys.stderr, flush=True)


def _pct(xs: list[float], q: int) -> float | None:
    if len(xs) < 2:
        return round(xs[0], 1) if xs else None
    return round(quantiles(xs, n=100, method="inclusive")[q - 1], 1)


def _minute(iso: str) -> str:
    """An alarm's onset minute: the bench makes a patient tachycardic from the start of a minute."""
    return datetime.fromisoformat(iso).astimezone(UTC).replace(second=0, microsecond=0).isoformat()


class Sse:
    """First arrival time of an alarm per patient on the live stream."""

    def __init__(self, url: str, token: str) -> None:
        self._headers = {"Authorization": f"Bearer {token}"}
        self.first: dict[tuple[str, str], float] = {}
        self.raised: dict[tuple[str, str], float] = {}  # the alert service's raise time, for the breakdown
        self.connected = threading.Event()
        self._url = url
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            with httpx.stream("GET", self._url, headers=self._headers, timeout=None) as r:
                for line in r.iter_lines():
                    self.connected.set()
                    if line.startswith("data: "):
                        a = json.loads(line[6:])
                        if "window_start" not in a:
                            continue
                        key = (a["patient_id"], _minute(a["window_start"]))
                        self.first.setdefault(key, time.time())
                        self.raised.setdefault(key, datetime.fromisoformat(a["raised_at"]).timestamp())
        except httpx.HTTPError:
            pass  # the console stopped at the end of the run


class CandidateWatch:
    """When each heart-rate candidate became visible on Kafka: splits the latency into streams and alerts."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.seen: dict[tuple[str, str], float] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": f"watch-{uuid.uuid4().hex[:8]}",
                               "auto.offset.reset": "latest", "enable.auto.commit": False,
                               "fetch.wait.max.ms": 10, "log_level": 3})
        self._c.subscribe([topic])
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        try:
            self._watch()
        except Exception as e:  # a diagnostic: reported with the result, never fails the run
            self.errors.append(f"{type(e).__name__}: {e}")

    def _watch(self) -> None:
        while not self._stop.is_set():
            for r in kafka_batch.ready(self._c, 500, 0.1):
                if r.error() is not None or (value := r.value()) is None:
                    continue
                c = json.loads(value)
                if c.get("rule") == "heart_rate_high" and c.get("status") == "firing":
                    self.seen.setdefault((c["patient_id"], _minute(c["window_start"])), time.time())
        self._c.close()

    def stop(self) -> None:
        self._stop.set()
        self._t.join(timeout=10)


BENCH_USER, BENCH_PASSWORD = "bench.nurse", "bench-Password-1"


def _login(base: str) -> str:
    """The console's live stream needs a signed-in user who may see the bench ward."""
    r = httpx.post(f"{base}/api/auth/login", json={"username": BENCH_USER, "password": BENCH_PASSWORD}, timeout=10)
    r.raise_for_status()
    return str(r.json()["token"])


def _register(dsn: str, patients: list[str]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO wards (id, name) VALUES ('bench', 'Bench ward')")
        since = datetime.now(UTC) - timedelta(hours=1)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO patients (id, display_name, ward_id, bed) VALUES (%s, %s, 'bench', %s)",
                            [(p, f"Bench {p}", p[-3:]) for p in patients])
            cur.executemany("INSERT INTO devices (id, kind) VALUES (%s, %s)",
                            [(f"d{p}", DeviceKind.BEDSIDE_MONITOR.value) for p in patients])
            cur.executemany("INSERT INTO assignments (device_id, patient_id, started_at) VALUES (%s, %s, %s)",
                            [(f"d{p}", p, since) for p in patients])
        create_user(conn, "bench", BENCH_USER, "Bench nurse", BENCH_PASSWORD, [Grant("nurse", "bench")])


def _machine(busy_s: float, infra_s: dict[str, float], services_s: float, readings_k: float,
             wall_s: float, publishers_s: float) -> dict[str, object]:
    per_k = {f"{c}_cpu_s_per_1000_readings": round(v / readings_k, 4) for c, v in infra_s.items()}
    rest = busy_s - services_s - sum(infra_s.values()) - publishers_s
    return {"cores_busy": round(busy_s / wall_s, 2), "cores": os.cpu_count(), "wall_s": round(wall_s, 1), **per_k,
            "publishers_cpu_s_per_1000_readings": round(publishers_s / readings_k, 4),
            "rest_cpu_s_per_1000_readings": round(rest / readings_k, 4)}


def _profile(out_dir: Path, pids: dict[str, int]) -> list[subprocess.Popen[bytes]]:
    """py-spy sampling each service while the fleet publishes: collapsed stacks in ``out_dir/<service>.txt``."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    out_dir.mkdir(parents=True, exist_ok=True)
    _say(f"profiling {', '.join(pids)} with py-spy into {out_dir}")
    return [subprocess.Popen([exe, "record", "--rate", "50", "--format", "raw", "--nonblocking", "--threads",
                              "-o", str(out_dir / f"{name}.txt"), "--pid", str(pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]


def run(args: argparse.Namespace) -> dict[str, object]:
    prefix = f"b{uuid.uuid4().hex[:8]}."
    patients = [f"{prefix.strip('.')}p{i:04d}" for i in range(args.patients)]
    per_minute = max(1, int(args.patients * args.alarm_share))
    with tempfile.TemporaryDirectory(prefix="rpmbench") as tmp, \
            Infra(Path(tmp), prefix, probe_topics(prefix)) as infra:
        _register(infra.dsn, patients)
        port = free_port()
        # The worker's wall-clock tick runs at its production interval (its cost is part of the
        # figures). Only the silent-bedside alarm is pushed out of the run: when the fleet stops at
        # the end, every monitor would report "no signal" 10 s later, which is not what is measured.
        env = infra.env(RPM_HTTP_PORT=str(port), RPM_CONSOLE_OPS_ENDPOINTS="true", RPM_DATA_DIR=f"{tmp}/streams",
                        RPM_SIGNAL_LOSS_BEDSIDE_S="600")
        with Processes(env, Path(tmp)) as procs:
            for name in ("bridge", "streams", "sink", "alerts"):
                procs.start(name)
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(base, procs)
            sse = Sse(f"{base}/api/alerts/stream", _login(base))
            sse.connected.wait(30)
            probe = Probe(infra.mqtt_url, infra.v5, infra.kafka.bootstrap, prefix, infra.dsn)
            probe.start()
            watch = CandidateWatch(infra.kafka.bootstrap, f"{prefix}{topics.ALERT_CANDIDATES}")
            _say(f"publishing {args.patients} devices at {args.rate_hz} Hz for {args.duration:.0f} s")
            cpu0 = {n: procstat.sample(procs.procs[n].pid) for n in SERVICES}
            machine0, infra0 = procstat.machine_busy_s(), {c: procstat.by_command(c) for c in INFRA_COMMANDS}
            spies = _profile(args.profile, {n: procs.procs[n].pid for n in SERVICES}) if args.profile else []
            t_pub = time.time()
            fleet = publish_fleet(infra.mqtt_url, infra.v5, patients, per_minute, args.rate_hz, args.duration,
                                  ONSET_DELAY_S, args.publishers)
            triggers, onsets, published, queued = fleet.triggers, fleet.onsets, fleet.published, fleet.queued
            elapsed = time.time() - t_pub
            _say(f"waiting for the last alarms ({len(triggers)} expected)")
            deadline = time.time() + 90
            while time.time() < deadline and any(k not in sse.first for k in triggers):
                time.sleep(0.5)
            stored = _wait_stored(infra.dsn, 3 * published, 60)
            cpu1 = {n: procstat.sample(procs.procs[n].pid) for n in SERVICES}
            machine1, infra1 = procstat.machine_busy_s(), {c: procstat.by_command(c) for c in INFRA_COMMANDS}
            elapsed_total = time.time() - t_pub
            for spy in spies:
                spy.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            for spy in spies:
                spy.wait(30)
            probe.stop()
            watch.stop()
    readings_k = 3 * published / 1000
    cost = {n: {"cpu_s_per_1000_readings": round((b.cpu_s - a.cpu_s) / readings_k, 4),
                "rss_mb_per_1000_patients": round(b.rss_mb / args.patients * 1000, 1),
                "rss_mb": round(b.rss_mb, 1)}
            for n in SERVICES if (a := cpu0[n]) is not None and (b := cpu1[n]) is not None}
    onset_lat = [(sse.first[k] - t) * 1000.0 for k, t in onsets.items() if k in sse.first]
    lat = [(sse.first[k] - t) * 1000.0 for k, t in triggers.items() if k in sse.first]
    to_raise = [(sse.raised[k] - t) * 1000.0 for k, t in triggers.items() if k in sse.raised]
    to_candidate = [(watch.seen[k] - t) * 1000.0 for k, t in triggers.items() if k in watch.seen]
    limit, p99 = _pct(probe.latencies_ms, 99), _pct(lat, 99)
    return {
        "value": p99, "unit": "ms", "limit": limit,
        "ratio": round(p99 / limit, 2) if p99 is not None and limit else None,
        "p50_ms": _pct(lat, 50), "p99_ms": p99, "max_ms": round(max(lat), 1) if lat else None,
        "alarms_expected": len(triggers), "alarms_received": len(lat),
        # Where the time goes: trigger -> candidate on Kafka (bridge + streams) -> alarm raised (alerts).
        "to_candidate_p50_ms": _pct(to_candidate, 50), "to_candidate_p99_ms": _pct(to_candidate, 99),
        "to_raise_p50_ms": _pct(to_raise, 50), "to_raise_p99_ms": _pct(to_raise, 99),
        "limit_p50_ms": _pct(probe.latencies_ms, 50), "limit_samples": len(probe.latencies_ms),
        **({"limit_errors": probe.errors} if probe.errors else {}),
        "patients": args.patients, "rate_msgs_s": round(args.patients * args.rate_hz, 1),
        "published_msgs_s": round(published / max(1e-9, elapsed), 1), "duration_s": round(elapsed, 1),
        "candidates_seen": len(watch.seen), **({"watch_errors": watch.errors} if watch.errors else {}),
        "onset_to_console_ms": {"high": {"p50": _pct(onset_lat, 50), "p99": _pct(onset_lat, 99),
                                         "n": len(onset_lat), "rule": Rule.HEART_RATE_HIGH.value,
                                         "onset_delay_s": ONSET_DELAY_S}},
        "publishers": args.publishers, "publish_errors": fleet.errors,
        "publisher_queue_p50_ms": _pct([q * 1000 for q in queued], 50),
        "publisher_queue_p99_ms": _pct([q * 1000 for q in queued], 99),
        "readings_published": 3 * published, "readings_stored": stored,
        "readings_stored_share": round(stored / max(1, 3 * published), 4),
        "cost_per_service": cost,
        "cpu_s_per_1000_readings_total": round(sum(c["cpu_s_per_1000_readings"] for c in cost.values()), 4),
        # The whole machine over the same interval: the four services, the brokers and database,
        # and the rest (the bench itself: its publisher processes, probe, SSE client; other load).
        "machine": _machine(machine1 - machine0, {c: infra1[c] - infra0[c] for c in INFRA_COMMANDS},
                            sum((b.cpu_s - a.cpu_s) for n in SERVICES
                                if (a := cpu0[n]) is not None and (b := cpu1[n]) is not None),
                            readings_k, elapsed_total, fleet.cpu_s),
        "targets": {"p99_publish_to_console_ms": 2000, "p99_onset_to_console_high_ms": 15000,
                    "readings_stored_share": 1.0},
    }


def _wait_stored(dsn: str, want: int, timeout_s: float) -> int:
    """Readings in the database once the sink caught up (or the timeout passed): nothing may be lost."""
    deadline = time.time() + timeout_s
    stored, last_change = -1, time.time()
    while True:
        with psycopg.connect(dsn) as conn:
            n = conn.execute("SELECT count(*) FROM readings").fetchone()[0]  # type: ignore[index]
        if n != stored:
            stored, last_change = n, time.time()
        if stored >= want or time.time() > deadline or time.time() - last_change > 15:
            return stored
        time.sleep(1)


def _wait_healthy(base: str, procs: Processes) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        procs.check()
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                _say("pipeline healthy")
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"pipeline not healthy after 120 s:\n{procs.tails()}")
