"""`rpm up`: the whole pipeline on one machine.

Starts whatever is not configured as external (PostgreSQL via pgserver, a
private MQTT broker, the Kafka mock cluster), applies the schema, registers
a demo ward, then runs every service as its own process, exactly as in
production, and the simulated ward. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import cast

import psycopg

from alerts.console.seed import print_demo_users, seed_demo_users
from cli.argtypes import CliError
from cli.instance_lock import InstanceLock
from cli.sim_cmd import demo_plan, seed_registry
from embedded import mqtt_broker
from storage.migrate import migrate
from wire import topics

# hl7 (MLLP, RPM_HL7_PORT, default 2575) and nightscout (HTTP, RPM_NIGHTSCOUT_PORT, default 1337): docs/interop.md.
SERVICES = ("bridge", "streams", "sink", "alerts", "hl7", "nightscout")


def _step(n: int, total: int, text: str) -> None:
    print(f"[{n}/{total}] {text}", file=sys.stderr, flush=True)


def _console_health(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]
    except urllib.error.HTTPError as e:
        return json.loads(e.read())  # type: ignore[no-any-return]
    except OSError:
        return None


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError as e:
            raise CliError(f"--port {port} is not free ({e.strerror}); choose another with --port") from None


def _service(p: subprocess.Popen[bytes]) -> str:
    """The service a child runs: [python, -m, cli.main, NAME, ...]."""
    return str(cast("list[str]", p.args)[3])


# A console whose heartbeat is younger than this is running (heartbeats come every few seconds).
CONSOLE_ALIVE_S = 30


def refuse_if_console_running(conn: psycopg.Connection) -> None:
    """Demo passwords are reset at start: never under a console that is serving this database right now."""
    if conn.execute("SELECT to_regclass('service_heartbeats')").fetchone() in (None, (None,)):
        return  # a fresh database: nothing runs on it yet
    row = conn.execute(
        "SELECT instance, extract(epoch FROM now() - updated_at) FROM service_heartbeats"
        " WHERE service = 'alerts' AND updated_at > now() - make_interval(secs => %s) ORDER BY updated_at DESC LIMIT 1",
        (CONSOLE_ALIVE_S,),
    ).fetchone()
    if row is not None:
        raise CliError(
            f"a console (alerts instance {row[0]}) is running against RPM_DATABASE_URL (heartbeat {float(row[1]):.0f} s"
            f" ago); starting would reset its demo users' passwords. Stop it first, or point RPM_DATABASE_URL elsewhere")


def up(a: argparse.Namespace) -> int:
    data = Path(a.data_dir).resolve()
    # Everything that can refuse the start is checked before anything starts or any password changes.
    lock = InstanceLock(data).acquire()
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        _check_port_free(a.port)
        return _run(a, data)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
        lock.release()


def _run(a: argparse.Namespace, data: Path) -> int:
    logdir = data / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    total = 6
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    with ExitStack() as stack:
        _step(1, total, "PostgreSQL")
        if "RPM_DATABASE_URL" not in env:
            from embedded import postgres

            dsn, server = postgres.start(data / "pg")
            stack.callback(server.cleanup)
            env["RPM_DATABASE_URL"] = dsn
            print("      embedded PostgreSQL 16 (pgserver)", file=sys.stderr)
        else:
            print("      external, from RPM_DATABASE_URL", file=sys.stderr)
        dsn = env["RPM_DATABASE_URL"]
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            if "RPM_DATABASE_URL" in os.environ:
                # Another data directory, the same external database: the lock cannot see that one.
                refuse_if_console_running(conn)
            applied = migrate(conn)
            plan = demo_plan(a.patients)
            seed_registry(conn, plan)
            ward_id = plan.patients[0].ward_id
            demo_users = seed_demo_users(conn, ward_id, plan.patients[0].patient_id)
        print(f"      schema ready (applied {applied or 'nothing new'}); {a.patients} patients registered",
              file=sys.stderr)

        _step(2, total, "MQTT broker")
        if "RPM_MQTT_URL" not in env:
            broker = mqtt_broker.start(data / "mqtt")
            stack.callback(broker.stop)
            env["RPM_MQTT_URL"] = broker.url
            if not broker.supports_v5:
                env["RPM_MQTT_V5"] = "false"
            print(f"      embedded {broker.kind} at {broker.url}", file=sys.stderr)
            if broker.kind == "amqtt":
                print("      amqtt is a demo broker: install mosquitto for persistent sessions", file=sys.stderr)
        else:
            print("      external, from RPM_MQTT_URL", file=sys.stderr)

        _step(3, total, "Kafka")
        prefix = env.get("RPM_TOPIC_PREFIX", "")
        if "RPM_KAFKA_BOOTSTRAP" not in env:
            from embedded.kafka_mock import MockKafka

            kafka = MockKafka()
            stack.callback(kafka.close)
            kafka.create_topics(topics.all_topics(prefix))
            env["RPM_KAFKA_BOOTSTRAP"] = kafka.bootstrap
            print(f"      librdkafka mock cluster at {kafka.bootstrap} (in memory)", file=sys.stderr)
        else:
            print("      external, from RPM_KAFKA_BOOTSTRAP (topics must exist)", file=sys.stderr)

        _step(4, total, f"services: {', '.join(SERVICES)} (logs in {logdir})")
        env["RPM_HTTP_PORT"] = str(a.port)
        from embedded.ports import free_port

        # The interop listeners take free ports unless configured, so a second `rpm up` does not collide.
        env.setdefault("RPM_HL7_PORT", str(free_port()))
        env.setdefault("RPM_NIGHTSCOUT_PORT", str(free_port()))
        # The demo console listens on 127.0.0.1: its /healthz shows every stage (step 5 waits on it).
        env.setdefault("RPM_CONSOLE_OPS_ENDPOINTS", "true")
        env.setdefault("RPM_DATA_DIR", str(data / "streams"))
        procs: list[subprocess.Popen[bytes]] = []

        def spawn(name: str, *args: str) -> None:
            # The child keeps its own copy of the descriptor; ours closes at once.
            with open(logdir / f"{name}.log", "ab") as log:
                procs.append(subprocess.Popen([sys.executable, "-m", "cli.main", *args], env=env, stdout=log,
                                              stderr=log))

        def stop_children() -> None:
            for p in reversed(procs):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in reversed(procs):
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()

        stack.callback(stop_children)
        for name in SERVICES:
            spawn(name, name)

        _step(5, total, "waiting for every stage to report healthy")
        deadline = time.monotonic() + 90
        health: dict[str, object] | None = None
        while not stop.is_set() and time.monotonic() < deadline:
            health = _console_health(a.port)
            if health and health.get("status") == "ok":
                break
            dead = [_service(p) for p in procs if p.poll() is not None]
            if dead:
                print(f"error: service exited: {', '.join(map(str, dead))}; see {logdir}", file=sys.stderr)
                return 1
            stop.wait(1)
        if not health or health.get("status") != "ok":
            if stop.is_set():
                return 0
            print(f"error: not healthy after 90 s: {json.dumps(health)}; see {logdir}", file=sys.stderr)
            return 1

        _step(6, total, f"simulated ward: {a.patients} patients (scenario demo-ward)")
        spawn("sim", "sim", "--patients", str(a.patients))
        print(f"\nConsole: http://127.0.0.1:{a.port}/   (API docs /docs, health /healthz, FHIR R4 /fhir)",
              file=sys.stderr)
        print(f"HL7 v2 MLLP: 127.0.0.1:{env['RPM_HL7_PORT']}   Nightscout uploads:"
              f" http://127.0.0.1:{env['RPM_NIGHTSCOUT_PORT']}/api/v1/entries   (docs/interop.md)", file=sys.stderr)
        print_demo_users(demo_users)
        print("Press Ctrl-C to stop.\n", file=sys.stderr, flush=True)

        started = time.monotonic()
        last_report = 0.0
        while not stop.is_set():
            if a.duration is not None and time.monotonic() - started >= a.duration:
                break
            dead = [_service(p) for p in procs if p.poll() is not None]
            if dead:
                print(f"error: service exited: {', '.join(dead)}; see {logdir}", file=sys.stderr)
                return 1
            if time.monotonic() - last_report >= 10:
                last_report = time.monotonic()
                try:
                    with psycopg.connect(dsn, connect_timeout=5) as conn:
                        n_read, n_alert = conn.execute(
                            "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM alerts)"
                        ).fetchone() or (0, 0)
                    print(f"      readings stored: {n_read}, alerts: {n_alert}", file=sys.stderr, flush=True)
                except psycopg.Error:
                    pass
            stop.wait(1)
        print("stopping…", file=sys.stderr)
    print("stopped", file=sys.stderr)
    return 0
