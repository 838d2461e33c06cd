"""Pure routing of one MQTT message to its Kafka records (no IO, explicit time).

Every message yields at least one record: accepted readings, a device
status, or a dead letter naming why it was refused. That is what lets the
bridge acknowledge a message to the broker only once all of its records are
in Kafka, and lets tests account for every message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingest.ratelimit import TokenBuckets
from ingest.validate import (
    Limits,
    Outcome,
    dead_letter,
    validate_status,
    validate_telemetry,
    validate_waveform,
)
from storage.registry import AssignmentSnapshot
from wire.messages import DeadLetter, DeadLetterReason
from wire.topics import (
    STATUS_SUFFIX,
    TELEMETRY_SUFFIX,
    WAVEFORM_SUFFIX,
    parse_device_topic,
)


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs microseconds per message
class Inbound:
    """An MQTT message as received: ``mid``/``qos``/``generation`` identify it for the acknowledgement."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    received_mono: float
    generation: int = 0


def route(
    msg: Inbound, registry: AssignmentSnapshot, limits: Limits, buckets: TokenBuckets | None
) -> Outcome:
    parsed = parse_device_topic(msg.topic)
    device = parsed[0] if parsed else None
    # The rate limit comes first, before any parsing, so a flood costs the
    # bridge as little as possible. It is keyed by the topic's device id:
    # with the broker's ACL only that device's credentials can publish there.
    if buckets is not None and not buckets.allow(device or msg.topic, msg.received_mono):
        return _one_dead(msg, DeadLetterReason.RATE_LIMITED,
                         f"device over {buckets.rate:g} msg/s (burst {buckets.burst:g})", device)
    if parsed is None or parsed[1] not in (TELEMETRY_SUFFIX, STATUS_SUFFIX, WAVEFORM_SUFFIX):
        return _one_dead(msg, DeadLetterReason.TOPIC_MISMATCH,
                         f"{msg.topic!r} is not a device telemetry, status or waveform topic", device)
    if parsed[1] == STATUS_SUFFIX:
        return validate_status(msg.topic, msg.payload, msg.received_at, registry, limits)
    if parsed[1] == WAVEFORM_SUFFIX:
        return validate_waveform(msg.topic, msg.payload, msg.received_at, registry, limits)
    return validate_telemetry(msg.topic, msg.payload, msg.received_at, registry, limits)


def _one_dead(msg: Inbound, reason: DeadLetterReason, detail: str, device: str | None) -> Outcome:
    dl: DeadLetter = dead_letter(reason, detail, msg.payload, msg.received_at, msg.topic, device)
    return Outcome(dead=[dl])
