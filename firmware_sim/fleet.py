"""Publish a simulated ward over MQTT (QoS 1, last will 'offline', one client per device)."""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from firmware_sim.physiology import Vitals
from firmware_sim.ward import SimPatient
from runtime.mqtt import new_client
from wire.messages import DeviceReading, DeviceState, DeviceStatus, Telemetry
from wire.topics import status_topic, telemetry_topic
from wire.units import UNITS

log = logging.getLogger(__name__)


class SimDevice:
    def __init__(self, p: SimPatient, mqtt_url: str, seed: int, v5: bool) -> None:
        self.p = p
        self.seq = 0
        self.vitals = Vitals(p.scenario, random.Random(seed))
        self.client, target = new_client(mqtt_url, f"sim-{p.device_id}", v5=v5)
        offline = DeviceStatus(device_id=p.device_id, state=DeviceState.OFFLINE).model_dump_json()
        self.client.will_set(status_topic(p.device_id), offline, qos=1, retain=True)
        self.client.connect_async(target.host, target.port, keepalive=30)
        self.client.loop_start()

    def publish(self, now: datetime, dt_s: float) -> mqtt.MQTTMessageInfo:
        values = self.vitals.step(dt_s)
        msg = Telemetry(
            device_id=self.p.device_id,
            seq=self.seq,
            sent_at=now,
            readings=tuple(
                DeviceReading(type=t, t=now, value=v, unit=UNITS[t].canonical) for t, v in values.items()
            ),
        )
        self.seq += 1
        return self.client.publish(telemetry_topic(self.p.device_id), msg.model_dump_json(), qos=1)

    def online(self, now: datetime) -> None:
        status = DeviceStatus(device_id=self.p.device_id, state=DeviceState.ONLINE, at=now, battery_pct=90)
        self.client.publish(status_topic(self.p.device_id), status.model_dump_json(), qos=1, retain=True)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run(
    ward: list[SimPatient], mqtt_url: str, stop: threading.Event, interval_s: float = 1.0, seed: int = 1,
    v5: bool = True, duration_s: float | None = None,
) -> int:
    devices = [SimDevice(p, mqtt_url, seed * 1000 + i, v5) for i, p in enumerate(ward)]
    started = time.monotonic()
    sent = 0
    try:
        for d in devices:
            d.online(datetime.now(UTC))
        next_tick = time.monotonic()
        while not stop.is_set():
            now = datetime.now(UTC)
            for d in devices:
                d.publish(now, interval_s)
                sent += 1
            if sent % (len(devices) * 30) == 0:
                log.info("simulator publishing", extra={"messages": sent, "devices": len(devices)})
            if duration_s is not None and time.monotonic() - started >= duration_s:
                break
            next_tick += interval_s
            stop.wait(max(0.0, next_tick - time.monotonic()))
    finally:
        for d in devices:
            d.close()
    return sent
