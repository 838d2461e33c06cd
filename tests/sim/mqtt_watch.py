"""A real MQTT subscriber that records what devices with a given id prefix published."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt

from runtime.mqtt import new_client
from wire.topics import STATUS_FILTER, TELEMETRY_FILTER, WAVEFORM_FILTER, parse_device_topic


@dataclass
class Watch:
    prefix: str
    telemetry: list[dict] = field(default_factory=list)  # in arrival order
    status: list[tuple[str, str]] = field(default_factory=list)  # (device, state)
    waveforms: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, _c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        parsed = parse_device_topic(m.topic)
        if not parsed or not parsed[0].startswith(self.prefix):
            return
        body = json.loads(m.payload)
        with self.lock:
            if parsed[1] == "telemetry":
                self.telemetry.append(body)
            elif parsed[1] == "status" and not m.retain:
                self.status.append((parsed[0], body["state"]))
            elif parsed[1] == "waveform":
                self.waveforms.append(body)


class Subscriber:
    """Subscribes on every (re)connect; ``durable`` keeps a broker-side session (MQTT v5) across its restarts."""

    def __init__(self, url: str, v5: bool, prefix: str, durable: bool = False) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.watch = Watch(prefix)
        self.client, target = new_client(url, f"watch-{uuid.uuid4().hex[:8]}", v5=v5, clean_start=not durable)
        self.client.on_message = self.watch.on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        ready = threading.Event()
        filters = [(TELEMETRY_FILTER, 1), (STATUS_FILTER, 1), (WAVEFORM_FILTER, 1)]
        self.client.on_connect = lambda c, *_a: c.subscribe(filters)
        self.client.on_subscribe = lambda *_a: ready.set()
        props = None
        if durable and v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
        if v5:
            self.client.connect(target.host, target.port, clean_start=not durable, properties=props)
        else:
            self.client.connect(target.host, target.port)
        self.client.loop_start()
        assert ready.wait(10), "subscription not acknowledged"

    def wait_for(self, n_messages: int, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(self.watch.telemetry) < n_messages:
            time.sleep(0.05)

    def wait_until(self, check: Callable[[Watch], bool], timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.watch.lock:
                if check(self.watch):
                    return
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
