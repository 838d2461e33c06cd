"""Shared pieces of the ingest tests: payloads, a QoS 1 publisher, a Kafka collector, bridge processes."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import confluent_kafka as ck
import paho.mqtt.client as mqtt

from embedded.ports import free_port
from runtime.mqtt import new_client
from wire.messages import DeviceReading, Telemetry
from wire.units import ReadingType


def telemetry(device: str, seq: int, t: datetime | None = None, n: int = 2) -> bytes:
    t = t or datetime.now(UTC)
    readings = tuple(
        DeviceReading(type=ReadingType.HEART_RATE, t=t - timedelta(seconds=n - i), value=70 + i % 20, unit="/min")
        for i in range(n)
    )
    return Telemetry(device_id=device, seq=seq, sent_at=t, readings=readings).model_dump_json().encode()


class Publisher:
    """A device-side QoS 1 publisher that knows which messages the broker accepted."""

    def __init__(self, url: str, v5: bool, client_id: str | None = None,
                 username: str | None = None, password: str | None = None, ca_file: str | None = None) -> None:
        self.client, target = new_client(url, client_id or f"pub-{uuid.uuid4().hex[:8]}", v5=v5,
                                         username=username, password=password, ca_file=ca_file)
        self.client.max_inflight_messages_set(200)
        self.connected = threading.Event()
        self.refused: str | None = None

        def on_connect(_c: mqtt.Client, _u: object, _f: object, rc: object, _p: object = None) -> None:
            if getattr(rc, "is_failure", False):
                self.refused = str(rc)
            self.connected.set()

        self.client.on_connect = on_connect
        self.client.connect_async(target.host, target.port)
        self.client.loop_start()

    def wait_connected(self, timeout_s: float = 10) -> bool:
        """True when the broker accepted the connection, False when it refused it."""
        assert self.connected.wait(timeout_s), "no CONNACK"
        return self.refused is None

    def publish(self, topic: str, payload: bytes) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=1)

    def publish_all(self, messages: Iterable[tuple[str, bytes]], per_s: float | None = None) -> int:
        assert self.wait_connected(), f"publisher refused: {self.refused}"
        infos = []
        start = time.monotonic()
        for i, (topic, payload) in enumerate(messages):
            if per_s:
                delay = start + i / per_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            infos.append(self.publish(topic, payload))
        for info in infos:
            info.wait_for_publish(timeout=30)
            assert info.is_published(), "broker did not acknowledge a QoS 1 publish"
        return len(infos)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


PACKED = "rpm.readings-packed.v1"


class Collector:
    """Consumes topics continuously (the mock keeps only 5 MiB per partition: stay caught up).

    Packed readings records (wire.packed) are kept as the ReadingBatch objects they carry."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.consumer = ck.Consumer({
            "bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
        })
        self.consumer.subscribe(topics)
        self.records: list[tuple[str, dict[str, object]]] = []
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for m in self.consumer.consume(500, timeout=0.2):
                if m.error():
                    # An offset reset would hide data the mock deleted: a test-environment failure.
                    if m.error().code() == ck.KafkaError._AUTO_OFFSET_RESET:
                        self.errors.append(str(m.error()))
                    continue
                value = json.loads(m.value())
                with self.lock:
                    if m.topic().endswith(PACKED):  # one entry per ReadingBatch it carries
                        self.records.extend((m.topic(), b) for b in value["batches"])
                    else:
                        self.records.append((m.topic(), value))

    def of(self, topic_suffix: str) -> list[dict[str, object]]:
        with self.lock:
            return [v for t, v in self.records if t.endswith(topic_suffix)]

    def seqs(self, devices: set[str] | None = None) -> Counter[tuple[str, int]]:
        return Counter(
            (str(v["device_id"]), int(v["seq"]))  # type: ignore[call-overload]
            for v in self.of(PACKED) if devices is None or v["device_id"] in devices
        )

    def dead_payloads(self) -> dict[bytes, list[str]]:
        out: dict[bytes, list[str]] = {}
        for v in self.of("rpm.dead-letter.v1"):
            out.setdefault(base64.b64decode(str(v["payload_b64"])), []).append(str(v["reason"]))
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.consumer.close()
        assert not self.errors, f"consumer fell behind the mock's retention: {self.errors}"


def bridge_env(db_dsn: str, mqtt_url: str, v5: bool, bootstrap: str, prefix: str, instance: str,
               **extra: str) -> tuple[dict[str, str], int]:
    port = free_port()
    env = {
        "RPM_DATABASE_URL": db_dsn, "RPM_MQTT_URL": mqtt_url, "RPM_MQTT_V5": "true" if v5 else "false",
        "RPM_KAFKA_BOOTSTRAP": bootstrap, "RPM_TOPIC_PREFIX": prefix, "RPM_METRICS_PORT": str(port),
        "RPM_BRIDGE_INSTANCE": instance,
        # Sessions outlive a test on a shared broker: let them go soon after.
        "RPM_MQTT_SESSION_EXPIRY_S": "120",
        **extra,
    }
    return env, port


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def ready(port: int) -> bool:
    return http_get(port, "/readyz")[0] == 200


def metric(port: int, name: str, labels: str = "") -> float:
    """A sample's value from /metrics (0 when absent)."""
    _, text = http_get(port, "/metrics")
    want = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return 0.0
