"""`rpm sim`: run a scenario's device fleet against the MQTT broker.

Bad input ends in one line on stderr and a non-zero exit: 2 for an unknown
scenario or an invalid scenario file (with its line and field), 1 for a
broker that cannot be reached or refuses the devices.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from pydantic import Field

from cli.argtypes import positive_float
from firmware_sim import scenario as scenarios
from firmware_sim.credentials import load_or_create, write_mosquitto_passwords
from firmware_sim.durations import format_duration, parse_duration
from firmware_sim.engine import Engine
from firmware_sim.labels import LabelSink
from firmware_sim.mqtt_fleet import BrokerUnreachable, MqttFleet, probe
from firmware_sim.plan import FleetPlan, build, rng_for
from firmware_sim.runner import DeviceCallback, Progress, RunOptions, SimRunner
from runtime import logs
from runtime.settings import DbConn, MqttConn, RpmSettings, load
from runtime.signals import stop_event

DEMO_SCENARIO = "demo-ward"
# Assignments start this long before the simulated clock: device clocks may
# be skewed backwards and replays start in the past.
ASSIGNMENT_LEAD = timedelta(days=1)


class SimSettings(RpmSettings, MqttConn, DbConn):
    mqtt_v5: bool = Field(default=True)


def demo_plan(patients: int, seed: int = 1) -> FleetPlan:
    return build(scenarios.load(DEMO_SCENARIO), seed, datetime.now(UTC), patients)


def seed_registry(conn: psycopg.Connection, plan: FleetPlan) -> None:
    """Register the plan's wards, patients and devices; re-running keeps matching assignments."""
    from firmware_sim.devices import WIRE_KIND
    from storage import registry

    since = plan.start - ASSIGNMENT_LEAD
    for ward_id, name in sorted({(p.ward_id, p.ward_name) for p in plan.patients}):
        registry.add_ward(conn, ward_id, name)
    current = {r.device_id: (r.patient_id, r.started_at) for r in registry.list_devices(conn)}
    for p in plan.patients:
        registry.add_patient(conn, p.patient_id, p.display_name, p.ward_id, p.bed, p.spo2_scale)
    for d in plan.devices:
        patient_id = plan.patients[d.patient_index].patient_id
        registry.add_device(conn, d.device_id, WIRE_KIND[d.model])
        assigned, started = current.get(d.device_id, (None, None))
        if assigned != patient_id:
            registry.assign(conn, d.device_id, patient_id, since)
        elif started is not None and started > since:
            # Same patient, but the assignment began after this run's first readings.
            conn.execute("UPDATE assignments SET started_at = %s WHERE device_id = %s AND ended_at IS NULL",
                         (since, d.device_id))


def _duration(text: str) -> float:
    try:
        v = parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if v <= 0:
        raise argparse.ArgumentTypeError("duration must be positive")
    return v


def _id_prefix(text: str) -> str:
    if text and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,30}", text):
        raise argparse.ArgumentTypeError("letters, digits, '_', '.', '-' (up to 31), starting with a letter or digit")
    return text


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "sim", help="simulated device fleet publishing over MQTT (scenarios with ground-truth labels)",
        description="Run a scenario's patients and devices against the MQTT broker (RPM_MQTT_URL).",
    )
    p.add_argument("--scenario", default=DEMO_SCENARIO,
                   help=f"built-in scenario name or a YAML file (default {DEMO_SCENARIO}; --list shows them)")
    p.add_argument("--patients", type=int, default=None, help="total patients, cohorts scaled (default: as in the scenario)")
    p.add_argument("--speed", type=positive_float, default=1.0, help="simulated seconds per wall second (default 1)")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same stream (default 1)")
    p.add_argument("--labels", type=Path, default=None, help="write ground-truth labels here (JSON lines)")
    p.add_argument("--duration", type=_duration, default=None,
                   help="simulated duration, e.g. 30m or 8h (default: the scenario's, else until Ctrl-C)")
    p.add_argument("--credentials", type=Path, default=None,
                   help="per-device MQTT credentials file (JSON), created/extended as needed")
    p.add_argument("--mosquitto-passwd", type=Path, default=None,
                   help="also write a Mosquitto password file for these devices")
    p.add_argument("--register", "--seed-registry", dest="register", action="store_true",
                   help="register wards, patients, devices and assignments in the database (RPM_DATABASE_URL)")
    p.add_argument("--id-prefix", default="", type=_id_prefix,
                   help="prefix for patient and device ids (several fleets on one broker)")
    p.add_argument("--list", action="store_true", help="list the built-in scenarios and exit")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run_sim)


def _list() -> int:
    for name in scenarios.builtin_names():
        s = scenarios.load(name)
        n = sum(c.count for c in s.cohorts)
        length = format_duration(s.duration) if s.duration else "open-ended"
        print(f"{name:<18} {n:>5} patients  {length:<10} {s.description}")
    return 0


def _print_progress(pr: Progress) -> None:
    end = "\r" if sys.stderr.isatty() else "\n"
    print(pr.line(), file=sys.stderr, end=end, flush=True)


def run_sim(a: argparse.Namespace) -> int:
    if a.list:
        return _list()
    s = load(SimSettings)
    logs.setup("sim", s.log_level)
    try:
        scenario = scenarios.load(a.scenario)
    except scenarios.ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.patients is not None and a.patients < 1:
        print("error: --patients must be at least 1", file=sys.stderr)
        return 2
    duration = a.duration if a.duration is not None else scenario.duration
    if a.speed > 1 and duration is None:
        print("error: --speed above 1 needs a duration (--duration or the scenario's), so measurement times"
              " stay in the past", file=sys.stderr)
        return 2
    start = scenarios.start_time(scenario, datetime.now(UTC), a.speed, duration)
    plan = build(scenario, a.seed, start, a.patients, duration, a.id_prefix)
    device_ids = [d.device_id for d in plan.devices]
    passwords: dict[str, str] = {}
    if a.credentials:
        passwords = load_or_create(a.credentials, device_ids)
        if a.mosquitto_passwd:
            write_mosquitto_passwords(a.mosquitto_passwd, passwords)
    if a.register:
        with psycopg.connect(s.database_url.get_secret_value(), autocommit=True, connect_timeout=10) as conn:
            seed_registry(conn, plan)
    try:
        probe(s.mqtt_url)
    except BrokerUnreachable as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    labels = LabelSink(a.labels)
    engine = Engine(plan, labels)
    fallback = s.mqtt_password.get_secret_value() if s.mqtt_password else None

    def fleet(on_connected: DeviceCallback, on_acked: DeviceCallback) -> MqttFleet:
        return MqttFleet(
            s.mqtt_url, v5=s.mqtt_v5, password_for=lambda d: passwords.get(d, fallback),
            on_connected=on_connected, on_acked=on_acked, rng=rng_for(a.seed, "backoff"), ca_file=s.mqtt_ca_file,
        )

    # A terminal gets a live line every 2 s; a log file (rpm up) one line every 30 s.
    every = 2.0 if sys.stderr.isatty() else 30.0
    runner = SimRunner(plan, engine, fleet, RunOptions(speed=a.speed, progress_every_s=every),
                       None if a.quiet else _print_progress)
    stop = stop_event()
    print(f"scenario {scenario.name}: {len(plan.patients)} patients, {len(plan.devices)} devices, seed {a.seed},"
          f" speed {a.speed:g}x, simulated start {plan.start.astimezone(scenario.tz).isoformat(timespec='seconds')}",
          file=sys.stderr)
    try:
        final = runner.run(stop)
    except BrokerUnreachable as e:
        print(f"error: {e}", file=sys.stderr)
        runner.fleet.close()
        labels.close()
        return 1
    runner.shutdown()
    labels.close()
    if not a.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    _summary(final, plan, len(labels.labels), a.labels)
    return 0


def _summary(pr: Progress, plan: FleetPlan, n_labels: int, labels_path: Path | None) -> None:
    print(
        f"simulated {format_duration(pr.sim_s)} in {pr.wall_s:.1f} s: {pr.devices} devices,"
        f" {pr.messages} messages, {pr.readings} readings, {pr.duplicates} duplicates,"
        f" {pr.buffered} still buffered, {pr.dropped} dropped (buffer full), {pr.unacked} unacknowledged;"
        f" {n_labels} labels" + (f" in {labels_path}" if labels_path else "")
    )
