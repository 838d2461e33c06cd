"""MQTT -> Kafka bridge: the IO driver around ingest.validate.

Delivery rule: an MQTT message is acknowledged (PUBACK) only after every
Kafka record made from it, valid readings and dead letters alike, was
acknowledged by Kafka. Until then the broker keeps it in the persistent
session and redelivers it after a reconnect or a bridge restart.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from kafka import KafkaProducer
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
from pydantic import ValidationError

from ingest.metrics import BridgeMetrics
from ingest.settings import BridgeSettings
from ingest.validate import Limits, Outcome, dead_letter, validate_telemetry
from runtime.health import Health
from runtime.mqtt import new_client
from storage.registry import AssignmentSnapshot
from wire import topics
from wire.messages import DeadLetterReason, DeviceStatus
from wire.topics import STATUS_SUFFIX, parse_device_topic

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Inbound:
    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    received_mono: float


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes


class RegistryCache:
    """Holds the latest assignment snapshot; reloads periodically and, rate-limited, on a miss."""

    def __init__(self, load: Callable[[], AssignmentSnapshot], refresh_s: float) -> None:
        self._load = load
        self._refresh_s = refresh_s
        self._snapshot = load()
        self._loaded = time.monotonic()

    def get(self, device_id: str | None = None) -> AssignmentSnapshot:
        age = time.monotonic() - self._loaded
        stale = age > self._refresh_s
        miss = device_id is not None and device_id not in self._snapshot.devices and age > 1.0
        if stale or miss:
            try:
                self._snapshot = self._load()
            except Exception:  # keep serving the last good snapshot
                log.exception("registry reload failed")
            self._loaded = time.monotonic()
        return self._snapshot


def records_for(
    msg: Inbound, cache: RegistryCache, limits: Limits, kafka_topics: dict[str, str]
) -> tuple[list[Record], Outcome]:
    parsed = parse_device_topic(msg.topic)
    if parsed and parsed[1] == STATUS_SUFFIX:
        return _status_records(msg, parsed[0], kafka_topics)
    outcome = validate_telemetry(msg.topic, msg.payload, msg.received_at, cache.get(parsed[0] if parsed else None), limits)
    recs = [
        Record(kafka_topics[topics.READINGS], b.patient_id.encode(), b.model_dump_json().encode())
        for b in outcome.batches
    ]
    recs += [
        Record(kafka_topics[topics.DEAD_LETTER], d.device_id.encode() if d.device_id else None, d.model_dump_json().encode())
        for d in outcome.dead
    ]
    return recs, outcome


def _status_records(msg: Inbound, device_id: str, kafka_topics: dict[str, str]) -> tuple[list[Record], Outcome]:

    out = Outcome()
    try:
        status = DeviceStatus.model_validate_json(msg.payload)
        if status.device_id != device_id:
            raise ValueError(f"device_id {status.device_id!r} published on {msg.topic!r}")
        return [Record(kafka_topics[topics.DEVICE_STATUS], device_id.encode(), status.model_dump_json().encode())], out
    except ValidationError as e:
        out.dead.append(dead_letter(DeadLetterReason.SCHEMA_VIOLATION, str(e.errors()[0]), msg.payload, msg.received_at, msg.topic, device_id))
    except ValueError as e:
        out.dead.append(dead_letter(DeadLetterReason.TOPIC_MISMATCH, str(e), msg.payload, msg.received_at, msg.topic, device_id))
    dl = out.dead[0]
    return [Record(kafka_topics[topics.DEAD_LETTER], device_id.encode(), dl.model_dump_json().encode())], out


class Bridge:
    def __init__(
        self,
        settings: BridgeSettings,
        registry: RegistryCache,
        producer: KafkaProducer,
        metrics: BridgeMetrics,
        health: Health,
    ) -> None:
        self.s = settings
        self.registry = registry
        self.producer = producer
        self.metrics = metrics
        self.health = health
        self.limits = Limits(
            settings.max_payload_bytes,
            timedelta(seconds=settings.max_future_skew_s),
            timedelta(seconds=settings.late_horizon_s),
        )
        self.kafka_topics = {k: t.name for k, t in topics.kafka_topics(settings.topic_prefix).items()}
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.client = self._make_client()

    # ------------------------------------------------------------ MQTT side
    def _make_client(self) -> mqtt.Client:
        s = self.s
        client, self.target = new_client(
            s.mqtt_url,
            f"{s.topic_prefix}rpm-{s.bridge_instance}",
            username=s.mqtt_username,
            password=s.mqtt_password.get_secret_value() if s.mqtt_password else None,
            ca_file=s.mqtt_ca_file,
            v5=s.mqtt_v5,
            clean_start=False,
            manual_ack=True,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _filters(self) -> list[str]:
        fs = [topics.TELEMETRY_FILTER, topics.STATUS_FILTER]
        g = self.s.mqtt_shared_group
        return [f"$share/{g}/{f}" for f in fs] if g else fs

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object = None) -> None:
        if getattr(rc, "is_failure", False):
            log.error("mqtt connect refused", extra={"reason": str(rc)})
            return
        self.metrics.mqtt_connected.set(1)
        self.health.set("mqtt", True)
        client.subscribe([(f, 1) for f in self._filters()])
        log.info("mqtt connected", extra={"filters": self._filters()})

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, rc: object, _p: object = None) -> None:
        self.metrics.mqtt_connected.set(0)
        self.health.set("mqtt", False, str(rc))
        log.warning("mqtt disconnected", extra={"reason": str(rc)})

    def _on_message(self, _c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        self.metrics.received.inc()
        self.metrics.inflight.inc()
        self.inbox.put(Inbound(m.mid, m.qos, m.topic, m.payload, datetime.now(UTC), time.monotonic()))

    # ------------------------------------------------------------ forwarding loop
    def _take_batch(self, stop: threading.Event) -> list[Inbound]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.s.batch_wait_ms / 1000
        while len(batch) < self.s.batch_max:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get_nowait() if remaining <= 0 else self.inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _deliver(self, records: list[Record], stop: threading.Event) -> None:
        """Send until Kafka acknowledged every record; back off while it is unavailable."""
        backoff = 0.1
        pending = records
        while pending and not stop.is_set():
            futures = [(r, self.producer.send(r.topic, key=r.key, value=r.value)) for r in pending]
            self.producer.flush(timeout=30)
            pending = [r for r, f in futures if not f.succeeded()]
            if pending:
                self.metrics.kafka_errors.inc(len(pending))
                self.health.set("kafka", False, f"{len(pending)} records not acknowledged")
                log.warning("kafka delivery failed, retrying", extra={"pending": len(pending), "backoff_s": backoff})
                self.health.beat()  # retrying is alive: a Kafka outage must not restart the bridge
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            else:
                self.health.set("kafka", True)
        if pending:
            raise InterruptedError("stopped with undelivered records; they stay unacknowledged")

    def process(self, batch: list[Inbound], stop: threading.Event) -> None:
        records: list[Record] = []
        forwarded = 0
        dead: list[DeadLetterReason] = []
        for msg in batch:
            recs, outcome = records_for(msg, self.registry, self.limits, self.kafka_topics)
            records += recs
            forwarded += sum(len(b.readings) for b in outcome.batches)
            dead += [d.reason for d in outcome.dead]
        self._deliver(records, stop)
        done = time.monotonic()
        for msg in batch:
            if msg.qos > 0:
                self.client.ack(msg.mid, msg.qos)
            self.metrics.kafka_latency.observe(done - msg.received_mono)
        self.metrics.inflight.dec(len(batch))
        self.metrics.forwarded.inc(forwarded)
        for reason in dead:
            self.metrics.dead[reason].inc()

    def run(self, stop: threading.Event) -> None:
        self.health.set("mqtt", False, "connecting")
        props = None
        if self.s.mqtt_v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 7 * 86400
            props.ReceiveMaximum = self.s.mqtt_receive_maximum
            self.client.connect_async(
                self.target.host, self.target.port, keepalive=30, clean_start=False, properties=props
            )
        else:
            self.client.connect_async(self.target.host, self.target.port, keepalive=30)
        self.client.loop_start()
        try:
            while not stop.is_set():
                self.health.beat()
                batch = self._take_batch(stop)
                if batch:
                    self.process(batch, stop)
        except InterruptedError:
            log.warning("stopping with unacknowledged messages; the broker redelivers them")
        finally:
            self.client.disconnect()
            self.client.loop_stop()
