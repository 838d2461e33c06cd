"""Start-up shared by the request/response inbound services (HL7 v2 MLLP, Nightscout uploads).

Both need the same parts, wired the same way as the MQTT bridge: metrics and health on the metrics
port, the device-assignment cache, a Kafka producer whose fatal error stops the service (nothing
unconfirmed was acknowledged, so senders resend), and the submitter that answers only after Kafka
confirmed. Each service adds its own listener around these.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry

from ingest.kafka_out import KafkaOut, producer_config
from ingest.kafka_submit import KafkaSubmitter
from ingest.metrics import BridgeMetrics
from ingest.registry_cache import RegistryCache
from runtime import health
from runtime.signals import stop_event
from storage.registry import AssignmentSnapshot


class SubmitServiceSettings(Protocol):
    @property
    def kafka_bootstrap(self) -> str: ...
    @property
    def topic_prefix(self) -> str: ...
    @property
    def kafka_compression(self) -> str: ...
    @property
    def kafka_delivery_timeout_ms(self) -> int: ...
    @property
    def metrics_port(self) -> int: ...
    @property
    def registry_refresh_s(self) -> float: ...


@dataclass
class SubmitService:
    registry: CollectorRegistry
    hc: health.Health
    stop: threading.Event
    cache: RegistryCache
    kafka: KafkaOut
    submitter: KafkaSubmitter
    fatal: list[str]  # the fatal producer error, if one stopped the service


def start(s: SubmitServiceSettings, instance: str, load: Callable[[], AssignmentSnapshot]) -> SubmitService:
    registry = CollectorRegistry()
    hc = health.Health()
    stop = stop_event()
    if s.metrics_port:
        health.serve(s.metrics_port, registry, hc)
    cache = RegistryCache(load, s.registry_refresh_s, on_status=lambda ok, d: hc.set("registry", ok, d))
    fatal: list[str] = []

    def on_fatal(why: str) -> None:
        fatal.append(why)
        stop.set()

    kafka = KafkaOut(producer_config(s.kafka_bootstrap, f"{s.topic_prefix}rpm-{instance}",
                                     compression=s.kafka_compression, delivery_timeout_ms=s.kafka_delivery_timeout_ms),
                     on_fatal)
    submitter = KafkaSubmitter(kafka, s.topic_prefix, BridgeMetrics(registry))
    return SubmitService(registry, hc, stop, cache, kafka, submitter, fatal)
