"""`rpm sim`: run the simulated ward (optionally registering it first)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import psycopg
from pydantic import Field

from firmware_sim import fleet
from firmware_sim.ward import WARD_ID, WARD_NAME, SimPatient, demo_ward
from runtime import logs
from runtime.settings import DbConn, MqttConn, RpmSettings, load
from runtime.signals import stop_event
from storage import registry


class SimSettings(RpmSettings, MqttConn, DbConn):
    mqtt_v5: bool = Field(default=True)


def seed_registry(conn: psycopg.Connection, ward: list[SimPatient]) -> None:
    """Register the demo ward; re-running keeps existing assignments."""
    registry.add_ward(conn, WARD_ID, WARD_NAME)
    now = datetime.now(UTC)
    current = {r.device_id: r.patient_id for r in registry.list_devices(conn)}
    for p in ward:
        registry.add_patient(conn, p.patient_id, p.display_name, WARD_ID, p.bed)
        registry.add_device(conn, p.device_id, p.kind)
        if current.get(p.device_id) != p.patient_id:
            registry.assign(conn, p.device_id, p.patient_id, now)


def run_sim(a: argparse.Namespace) -> int:
    s = load(SimSettings)
    logs.setup("sim", s.log_level)
    ward = demo_ward(a.patients, a.deteriorating)
    if a.seed_registry:
        with psycopg.connect(s.database_url.get_secret_value(), autocommit=True) as conn:
            seed_registry(conn, ward)
    fleet.run(ward, s.mqtt_url, stop_event(), a.interval, a.seed, s.mqtt_v5, a.duration)
    return 0
