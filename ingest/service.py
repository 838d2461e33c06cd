"""`rpm bridge`: wire settings, registry, Kafka producer, metrics and the bridge loop."""

from __future__ import annotations

import logging

import psycopg
from kafka import KafkaProducer
from prometheus_client import CollectorRegistry

from ingest.bridge import Bridge, RegistryCache
from ingest.metrics import BridgeMetrics
from ingest.settings import BridgeSettings
from runtime import heartbeat, health, logs
from runtime.signals import stop_event
from storage.registry import load_snapshot

log = logging.getLogger(__name__)


def make_producer(bootstrap: str) -> KafkaProducer:
    # kafka-python cannot probe the API version of every broker (the
    # librdkafka mock included); 2.3 is what both real Kafka and the mock speak.
    return KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        api_version=(2, 3, 0),
        acks="all",
        linger_ms=5,
        batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
        retries=5,
        request_timeout_ms=10_000,
        delivery_timeout_ms=30_000,
    )


def run(settings: BridgeSettings) -> int:
    logs.setup("bridge", settings.log_level)
    dsn = settings.database_url.get_secret_value()

    def load():  # type: ignore[no-untyped-def]
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            return load_snapshot(conn)

    registry = CollectorRegistry()
    hc = health.Health()
    metrics = BridgeMetrics(registry)
    stop = stop_event()
    if settings.metrics_port:
        health.serve(settings.metrics_port, registry, hc)
    cache = RegistryCache(load, settings.registry_refresh_s)
    hc.set("registry", True)
    producer = make_producer(settings.kafka_bootstrap)
    hc.set("kafka", True)
    heartbeat.start(dsn, "bridge", settings.bridge_instance, hc.snapshot, stop)
    bridge = Bridge(settings, cache, producer, metrics, hc)
    log.info("bridge starting", extra={"mqtt": bridge.target.host, "port": bridge.target.port})
    bridge.run(stop)
    producer.close(timeout=10)
    log.info("bridge stopped")
    return 0
