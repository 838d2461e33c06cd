"""The real pipeline on this machine, for benchmarks and evaluations: infrastructure and service processes.

PostgreSQL and MQTT come from ``RPM_DATABASE_URL`` / ``RPM_MQTT_URL`` when set
(else embedded, as ``rpm up`` does); Kafka is always a fresh mock cluster.
Each run gets a schema and a topic prefix of its own, dropped afterwards,
so runs never see each other's data. Services run as processes exactly as
in production (``python -m cli.main NAME``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from embedded.kafka_mock import MockKafka
from storage.migrate import migrate
from wire import topics
from wire.topics import KafkaTopic

REPO = Path(__file__).resolve().parent.parent


class Infra:
    """Context manager: ``dsn`` (a fresh migrated schema), ``mqtt_url``, ``v5``, ``kafka``, ``prefix``."""

    def __init__(self, tmp: Path, prefix: str, extra_topics: list[KafkaTopic] | None = None) -> None:
        self.tmp, self.prefix = tmp, prefix
        self._extra = extra_topics or []
        self._cleanup: list[Callable[[], object]] = []

    def __enter__(self) -> Infra:
        server_dsn = os.environ.get("RPM_DATABASE_URL", "")
        if not server_dsn:
            from embedded import postgres

            server_dsn, server = postgres.start(self.tmp / "pg")
            self._cleanup.append(server.cleanup)
        self.server_dsn = server_dsn
        schema = f"run_{self.prefix.strip('.')}"
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        self._cleanup.append(lambda: _drop(server_dsn, schema))
        sep = "&" if "?" in server_dsn else "?"
        self.dsn = f"{server_dsn}{sep}options=-csearch_path%3D{schema}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            migrate(conn)
        self.mqtt_url = os.environ.get("RPM_MQTT_URL", "")
        self.v5 = os.environ.get("RPM_MQTT_V5", "true").lower() != "false"
        if not self.mqtt_url:
            from embedded import mqtt_broker

            broker = mqtt_broker.start(self.tmp / "mqtt")
            self.mqtt_url, self.v5 = broker.url, broker.supports_v5
            self._cleanup.append(broker.stop)
        self.kafka = MockKafka()
        self._cleanup.append(self.kafka.close)
        self.kafka.create_topics([*topics.all_topics(self.prefix), *self._extra])
        return self

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "RPM_DATABASE_URL": self.dsn, "RPM_MQTT_URL": self.mqtt_url,
                "RPM_MQTT_V5": "true" if self.v5 else "false", "RPM_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
                "RPM_TOPIC_PREFIX": self.prefix, "RPM_BRIDGE_INSTANCE": f"run-{self.prefix.strip('.')}",
                "RPM_LOG_LEVEL": "WARNING", **extra}

    def __exit__(self, *exc: object) -> None:
        for c in reversed(self._cleanup):
            c()


def _drop(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


class Processes:
    """``rpm`` subcommands as processes, logs in ``logdir``; stopped (TERM, then KILL) on exit."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.logdir / f"{name}.log", "ab")
        p = subprocess.Popen([sys.executable, "-m", "cli.main", *(args or (name,))], env=self.env, cwd=REPO,
                             stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = p
        return p

    def check(self) -> None:
        dead = [n for n, p in self.procs.items() if p.poll() is not None and p.returncode != 0]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited:\n{self.tails()}")

    def tails(self, lines: int = 15) -> str:
        return "\n".join(f"--- {f.name}\n" + "\n".join(f.read_text(errors="replace").splitlines()[-lines:])
                         for f in sorted(self.logdir.glob("*.log")))

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_ready(dsn: str, services: tuple[str, ...], procs: Processes, timeout_s: float = 120.0) -> None:
    """Until each service's heartbeat says ready (service_heartbeats)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        procs.check()
        with psycopg.connect(dsn) as conn:
            ready = {r[0] for r in conn.execute(
                "SELECT service FROM service_heartbeats WHERE ready AND updated_at > now() - interval '15 seconds'")}
        if set(services) <= ready:
            return
        time.sleep(1)
    raise RuntimeError(f"not ready after {timeout_s:.0f} s:\n{procs.tails()}")
