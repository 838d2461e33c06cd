"""`rpm bridge`: wire settings, registry, Kafka producer, metrics and the bridge loop."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import psycopg
from prometheus_client import CollectorRegistry

from ingest.bridge import Bridge
from ingest.kafka_out import KafkaOut, producer_config
from ingest.metrics import BridgeMetrics
from ingest.registry_cache import RegistryCache
from ingest.settings import BridgeSettings
from runtime import gc_tuning, health, heartbeat, logs
from runtime.signals import stop_event
from storage.registry import AssignmentSnapshot, load_snapshot

log = logging.getLogger(__name__)


def make_kafka(settings: BridgeSettings, on_fatal: Callable[[str], None]) -> KafkaOut:
    conf = producer_config(
        settings.kafka_bootstrap,
        f"{settings.topic_prefix}rpm-{settings.bridge_instance}",
        compression=settings.kafka_compression,
        linger_ms=settings.kafka_linger_ms,
        batch_bytes=settings.kafka_batch_bytes,
        delivery_timeout_ms=settings.kafka_delivery_timeout_ms,
    )
    return KafkaOut(conf, on_fatal)


def run(settings: BridgeSettings) -> int:
    logs.setup("bridge", settings.log_level)
    dsn = settings.database_url.get_secret_value()

    def load() -> AssignmentSnapshot:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            return load_snapshot(conn)

    registry = CollectorRegistry()
    hc = health.Health()
    metrics = BridgeMetrics(registry)
    stop = stop_event()
    if settings.metrics_port:
        health.serve(settings.metrics_port, registry, hc)
    cache = RegistryCache(load, settings.registry_refresh_s, on_status=lambda ok, d: hc.set("registry", ok, d))
    fatal: list[str] = []

    def on_fatal(why: str) -> None:
        fatal.append(why)
        bridge.fatal.set()

    kafka = make_kafka(settings, on_fatal)
    heartbeat.start(dsn, "bridge", settings.bridge_instance, hc.snapshot, stop)
    bridge = Bridge(settings, cache, kafka, metrics, hc)
    gc_tuning.for_throughput()
    log.info("bridge starting", extra={"mqtt": bridge.target.host, "port": bridge.target.port,
                                       "filters": bridge.filters(), "pid": os.getpid()})
    rc = bridge.run(stop)
    if rc:
        log.error("bridge stopped on a fatal Kafka error; restart it", extra={"error": fatal[:1]})
    return rc
