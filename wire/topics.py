"""Every MQTT topic and Kafka topic name, in one place.

The Helm chart's topic job, the embedded Kafka and the services all read
this registry, so names and partition counts cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ---------------------------------------------------------------- MQTT
MQTT_ROOT = "rpm/v1/devices"
TELEMETRY_SUFFIX = "telemetry"
STATUS_SUFFIX = "status"
CONFIG_SUFFIX = "config"
WAVEFORM_SUFFIX = "waveform"

_DEVICE_TOPIC = re.compile(rf"^{re.escape(MQTT_ROOT)}/([^/]+)/([^/]+)$")


def telemetry_topic(device_id: str) -> str:
    return f"{MQTT_ROOT}/{device_id}/{TELEMETRY_SUFFIX}"


def status_topic(device_id: str) -> str:
    return f"{MQTT_ROOT}/{device_id}/{STATUS_SUFFIX}"


def waveform_topic(device_id: str) -> str:
    return f"{MQTT_ROOT}/{device_id}/{WAVEFORM_SUFFIX}"


def config_topic(device_id: str) -> str:
    return f"{MQTT_ROOT}/{device_id}/{CONFIG_SUFFIX}"


TELEMETRY_FILTER = f"{MQTT_ROOT}/+/{TELEMETRY_SUFFIX}"
STATUS_FILTER = f"{MQTT_ROOT}/+/{STATUS_SUFFIX}"
WAVEFORM_FILTER = f"{MQTT_ROOT}/+/{WAVEFORM_SUFFIX}"


def parse_device_topic(topic: str) -> tuple[str, str] | None:
    """Return (device_id, suffix) for a device topic, None otherwise."""
    m = _DEVICE_TOPIC.match(topic)
    return (m.group(1), m.group(2)) if m else None


# ---------------------------------------------------------------- Kafka


@dataclass(frozen=True, slots=True)
class KafkaTopic:
    name: str
    partitions: int
    key: str
    description: str


DEFAULT_PARTITIONS = 8


def kafka_topics(prefix: str = "", partitions: int = DEFAULT_PARTITIONS) -> dict[str, KafkaTopic]:
    """The product's own topics. ``prefix`` isolates deployments (and tests)."""
    p = prefix
    topics = [
        # Validated readings, many device messages per record (wire.packed): the one readings
        # stream. Faust's and kafka-python's cost per record bounds the stream worker and the
        # sink, not the readings, so no topic carries one device message per record.
        KafkaTopic(f"{p}rpm.readings-packed.v1", partitions, "pack group", "validated readings, packed (PackedReadings)"),
        KafkaTopic(f"{p}rpm.device-status.v1", partitions, "device_id", "online/offline (DeviceStatus)"),
        KafkaTopic(f"{p}rpm.alert-candidates.v1", partitions, "patient_id", "conditions detected (AlertCandidate)"),
        KafkaTopic(f"{p}rpm.dead-letter.v1", partitions, "device_id", "rejected input (DeadLetter)"),
        KafkaTopic(f"{p}rpm.features.v1", partitions, "patient_id", "window features (WindowFeatures)"),
        KafkaTopic(f"{p}rpm.scores.v1", partitions, "patient_id", "NEWS2, glucose, waveform HR (ScoreBatch)"),
        # Same partition count as the packed readings topic: tick n drives the wall-clock
        # work (window closing, signal loss) of the patients on packed readings partition n.
        KafkaTopic(f"{p}rpm.stream-ticks.v1", partitions, "-", "stream worker wall-clock ticks (internal)"),
    ]
    return {t.name.removeprefix(p): t for t in topics}


READINGS_PACKED = "rpm.readings-packed.v1"
DEVICE_STATUS = "rpm.device-status.v1"
ALERT_CANDIDATES = "rpm.alert-candidates.v1"
DEAD_LETTER = "rpm.dead-letter.v1"
FEATURES = "rpm.features.v1"
SCORES = "rpm.scores.v1"
STREAM_TICKS = "rpm.stream-ticks.v1"

# Faust tables keep their state in changelog topics named
# "<app id>-<table name>-changelog"; without a CreateTopics API on the Kafka
# mock (and for ops clarity in production) they are declared here too.
STREAM_APP_ID = "rpm-streams"
STREAM_TABLES = ("patient-state",)


SINK_GROUP = "rpm-sink"
ALERTS_GROUP = "rpm-alerts"


def consumer_group(prefix: str, name: str) -> str:
    """The Kafka consumer group of a service (``SINK_GROUP``, ``ALERTS_GROUP``); the helm lag alert matches these."""
    return f"{prefix}{name}"


def stream_app_id(prefix: str = "") -> str:
    return f"{prefix}{STREAM_APP_ID}"


def faust_internal_topics(prefix: str = "", partitions: int = DEFAULT_PARTITIONS) -> list[KafkaTopic]:
    app = stream_app_id(prefix)
    return [
        KafkaTopic(f"{app}-{t}-changelog", partitions, "patient_id", f"Faust table {t} changelog")
        for t in STREAM_TABLES
    ] + [KafkaTopic(f"{app}-__assignor-__leader", 1, "-", "Faust leader election")]


def all_topics(prefix: str = "", partitions: int = DEFAULT_PARTITIONS) -> list[KafkaTopic]:
    return [*kafka_topics(prefix, partitions).values(), *faust_internal_topics(prefix, partitions)]
