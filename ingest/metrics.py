"""Bridge metrics on an injected registry; label values bound once, never a device or patient id."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from wire.messages import DeadLetterReason


class BridgeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter("rpm_ingest_messages_received", "MQTT messages received", registry=registry)
        self.forwarded = Counter(
            "rpm_ingest_readings_forwarded", "readings confirmed by Kafka on the readings topic", registry=registry
        )
        dl = Counter(
            "rpm_ingest_dead_letters", "dead letters confirmed by Kafka, by reason", ["reason"], registry=registry
        )
        self.dead = {r: dl.labels(r.value) for r in DeadLetterReason}
        self.inflight = Gauge(
            "rpm_ingest_inflight", "MQTT messages received, not yet acknowledged (waiting for Kafka)", registry=registry
        )
        self.kafka_latency = Histogram(
            "rpm_ingest_kafka_latency_seconds",
            "MQTT receive to Kafka confirmation of every record of the message",
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=registry,
        )
        self.mqtt_connected = Gauge("rpm_ingest_mqtt_connected", "1 while connected to the broker", registry=registry)
        self.kafka_ready = Gauge(
            "rpm_ingest_kafka_ready", "1 while Kafka confirms records without delay", registry=registry
        )
        self.kafka_errors = Counter(
            "rpm_ingest_kafka_errors", "failed Kafka deliveries (each produced again)", registry=registry
        )

    def observe_latency(self, seconds: float) -> None:
        self.kafka_latency.observe(seconds)
