"""The bridge's inbox against a real Kafka peer (the librdkafka mock): batches are routed in arrival order,
and a bug in routing a batch costs neither the batch nor paho's thread."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from prometheus_client import CollectorRegistry

import ingest.bridge as bridge_mod
from embedded.kafka_mock import MockKafka
from ingest.bridge import INBOX_MAX, Bridge
from ingest.kafka_out import KafkaOut, producer_config
from ingest.metrics import BridgeMetrics
from ingest.registry_cache import RegistryCache
from ingest.route import Inbound, route
from ingest.settings import BridgeSettings
from ingest.validate import Outcome
from runtime.health import Health
from storage.registry import AssignmentSnapshot, Interval
from tests.ingest.helpers import telemetry
from wire.messages import DeadLetterReason
from wire.topics import telemetry_topic

DEVICES = [f"inbox-{i}" for i in range(5)]
SNAP = AssignmentSnapshot(frozenset(DEVICES), {d: (Interval(f"P-{d}", datetime(2020, 1, 1, tzinfo=UTC), None),)
                                               for d in DEVICES})


def _bridge(kafka_cluster: MockKafka, topic_prefix: str) -> tuple[Bridge, BridgeMetrics]:
    s = BridgeSettings(mqtt_url="mqtt://127.0.0.1:1", kafka_bootstrap=kafka_cluster.bootstrap,
                       topic_prefix=topic_prefix, _env_file=None)  # type: ignore[call-arg]
    metrics = BridgeMetrics(CollectorRegistry())
    kafka = KafkaOut(producer_config(kafka_cluster.bootstrap, "inbox-test"), lambda _e: None)
    return Bridge(s, RegistryCache(lambda: SNAP, 3600), kafka, metrics, Health()), metrics


def _message(mid: int, device: str, payload: bytes) -> mqtt.MQTTMessage:
    m = mqtt.MQTTMessage(mid=mid, topic=telemetry_topic(device).encode())
    m.payload, m.qos = payload, 1
    return m


def _settle(bridge: Bridge, metrics: BridgeMetrics, readings: int, dead: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        bridge.step()
        bridge._flush_packs(time.monotonic(), force=True)  # noqa: SLF001 (no linger wait in a test)
        bridge.kafka.poll(0.05)
        got = metrics.forwarded._value.get()  # noqa: SLF001 (prometheus_client has no public getter)
        dl = sum(c._value.get() for c in metrics.dead.values())  # noqa: SLF001
        if got >= readings and dl >= dead and len(bridge.tracker) == 0:
            break
    assert (metrics.forwarded._value.get(), len(bridge.tracker)) == (readings, 0)  # noqa: SLF001


def test_a_full_inbox_is_routed_at_once_and_the_rest_on_the_main_threads_turn(
        kafka_cluster: MockKafka, topic_prefix: str) -> None:
    bridge, metrics = _bridge(kafka_cluster, topic_prefix)
    now = datetime.now(UTC) - timedelta(seconds=5)
    n = INBOX_MAX + 7
    for i in range(n):
        bridge._on_message(bridge.client, None, _message(i + 1, DEVICES[i % 5], telemetry(DEVICES[i % 5], i, now)))  # noqa: SLF001
    assert len(bridge._inbox) == 7  # noqa: SLF001 (the first INBOX_MAX went when the inbox filled)
    assert metrics.received._value.get() == INBOX_MAX  # noqa: SLF001
    _settle(bridge, metrics, readings=2 * n, dead=0)  # step() routes the 7 left
    assert metrics.received._value.get() == n  # noqa: SLF001


def test_a_bug_routing_a_batch_dead_letters_only_its_message(
        kafka_cluster: MockKafka, topic_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    bridge, metrics = _bridge(kafka_cluster, topic_prefix)

    def broken_batch(*_a: object, **_k: object) -> list[Outcome]:
        raise RuntimeError("bug in route_many")

    def route_or_break(msg: Inbound, *a: object, **k: object) -> Outcome:
        if msg.payload == b"boom":
            raise RuntimeError("bug in route")
        return route(msg, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(bridge_mod, "route_many", broken_batch)
    monkeypatch.setattr(bridge_mod, "route", route_or_break)
    now = datetime.now(UTC) - timedelta(seconds=5)
    bridge._on_message(bridge.client, None, _message(1, DEVICES[0], telemetry(DEVICES[0], 1, now)))  # noqa: SLF001
    bridge._on_message(bridge.client, None, _message(2, DEVICES[1], b"boom"))  # noqa: SLF001
    bridge._on_message(bridge.client, None, _message(3, DEVICES[2], telemetry(DEVICES[2], 1, now)))  # noqa: SLF001
    _settle(bridge, metrics, readings=4, dead=1)
    assert metrics.dead[DeadLetterReason.SCHEMA_VIOLATION]._value.get() == 1  # noqa: SLF001
