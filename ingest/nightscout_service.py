"""`rpm nightscout`: the Nightscout-compatible uploads API (ingest.nightscout_api) under uvicorn."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta

import psycopg
import uvicorn
from prometheus_client import CollectorRegistry

from ingest.kafka_out import KafkaOut, producer_config
from ingest.kafka_submit import KafkaSubmitter
from ingest.metrics import BridgeMetrics
from ingest.nightscout_api import NightscoutMetrics, create_app
from ingest.nightscout_settings import NightscoutSettings
from ingest.registry_cache import RegistryCache
from ingest.validate import Limits
from runtime import health, heartbeat, logs
from runtime.signals import stop_event
from storage.registry import AssignmentSnapshot, load_snapshot

log = logging.getLogger(__name__)


def run(s: NightscoutSettings) -> int:
    logs.setup("nightscout", s.log_level)
    dsn = s.database_url.get_secret_value()

    def connect() -> psycopg.Connection:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=5)

    def load() -> AssignmentSnapshot:
        with connect() as conn:
            return load_snapshot(conn)

    registry = CollectorRegistry()
    hc = health.Health()
    stop = stop_event()
    if s.metrics_port:
        health.serve(s.metrics_port, registry, hc)
    cache = RegistryCache(load, s.registry_refresh_s, on_status=lambda ok, d: hc.set("registry", ok, d))
    fatal: list[str] = []

    def on_fatal(why: str) -> None:
        # A fatal producer error: stop; nothing unconfirmed was acknowledged, so senders resend.
        fatal.append(why)
        stop.set()

    kafka = KafkaOut(producer_config(s.kafka_bootstrap, f"{s.topic_prefix}rpm-{s.nightscout_instance}",
                                     compression=s.kafka_compression, delivery_timeout_ms=s.kafka_delivery_timeout_ms),
                     on_fatal)
    submitter = KafkaSubmitter(kafka, s.topic_prefix, BridgeMetrics(registry))
    limits = Limits(s.max_payload_bytes, timedelta(seconds=s.max_future_skew_s), timedelta(seconds=s.late_horizon_s))
    app = create_app(connect, cache, submitter, limits, NightscoutMetrics(registry))
    heartbeat.start(dsn, "nightscout", s.nightscout_instance, hc.snapshot, stop)
    server = uvicorn.Server(uvicorn.Config(app, host=s.nightscout_host, port=s.nightscout_port, log_level="warning",
                                           lifespan="off"))

    def watch() -> None:
        # Health and registry refresh beside uvicorn; SIGTERM (stop) ends the server.
        while not stop.wait(0.5):
            hc.beat()
            hc.set("kafka", kafka.reachable, kafka.last_error)
            cache.maybe_refresh()
        server.should_exit = True

    threading.Thread(target=watch, name="nightscout-watch", daemon=True).start()
    hc.set("http", True)
    log.info("nightscout uploads API listening", extra={"host": s.nightscout_host, "port": s.nightscout_port})
    try:
        asyncio.run(server.serve())
    finally:
        stop.set()
        submitter.close()
    return 1 if fatal else 0
