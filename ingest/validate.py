"""Pure boundary validation: raw MQTT message in, Kafka records out.

No IO here: the caller passes the receive time, the registry snapshot and
the limits, so every rejection path is testable without a broker. A batch
is validated reading by reading: one bad reading is dead-lettered on its own
and never costs the good readings beside it.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError

from storage.registry import AssignmentSnapshot
from wire.messages import DeadLetter, DeadLetterReason, ReadingBatch, Reading, Telemetry
from wire.topics import TELEMETRY_SUFFIX, parse_device_topic
from wire.units import Implausible, UnknownUnit, to_canonical

R = DeadLetterReason


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 256 * 1024
    max_future_skew: timedelta = timedelta(minutes=5)
    late_horizon: timedelta = timedelta(days=7)


@dataclass(slots=True)
class Outcome:
    batches: list[ReadingBatch] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


def dead_letter(
    reason: DeadLetterReason,
    detail: str,
    payload: bytes,
    received_at: datetime,
    topic: str | None,
    device_id: str | None = None,
    index: int | None = None,
) -> DeadLetter:
    return DeadLetter(
        reason=reason,
        detail=detail[:500],
        device_id=device_id,
        mqtt_topic=topic,
        reading_index=index,
        received_at=received_at,
        payload_b64=base64.b64encode(payload).decode(),
    )


def _schema_detail(e: ValidationError) -> str:
    first = e.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "<root>"
    more = f" (+{e.error_count() - 1} more)" if e.error_count() > 1 else ""
    return f"field {where}: {first['msg']}{more}"


def validate_telemetry(
    topic: str, payload: bytes, received_at: datetime, registry: AssignmentSnapshot, limits: Limits
) -> Outcome:
    out = Outcome()

    def reject(reason: DeadLetterReason, detail: str, device_id: str | None = None) -> Outcome:
        out.dead.append(dead_letter(reason, detail, payload, received_at, topic, device_id))
        return out

    parsed_topic = parse_device_topic(topic)
    topic_device = parsed_topic[0] if parsed_topic and parsed_topic[1] == TELEMETRY_SUFFIX else None
    if len(payload) > limits.max_payload_bytes:
        return reject(R.PAYLOAD_TOO_LARGE, f"{len(payload)} bytes > {limits.max_payload_bytes}", topic_device)
    try:
        obj = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return reject(R.NOT_JSON, str(e), topic_device)
    if not isinstance(obj, dict):
        return reject(R.SCHEMA_VIOLATION, "field <root>: expected a JSON object", topic_device)
    if obj.get("v") != 1:
        return reject(R.UNSUPPORTED_VERSION, f"v={obj.get('v')!r}; this bridge accepts v=1", topic_device)
    try:
        msg = Telemetry.model_validate(obj)
    except ValidationError as e:
        return reject(R.SCHEMA_VIOLATION, _schema_detail(e), topic_device)
    if topic_device != msg.device_id:
        return reject(R.TOPIC_MISMATCH, f"device_id {msg.device_id!r} published on {topic!r}", topic_device)
    if msg.device_id not in registry.devices:
        return reject(R.UNKNOWN_DEVICE, f"device {msg.device_id!r} is not registered", msg.device_id)

    by_patient: dict[str, list[Reading]] = defaultdict(list)
    for i, r in enumerate(msg.readings):
        reason, detail = None, ""
        try:
            value = to_canonical(r.type, r.value, r.unit)
        except UnknownUnit as e:
            reason, detail = R.UNKNOWN_UNIT, str(e)
        except Implausible as e:
            reason, detail = R.IMPLAUSIBLE_VALUE, str(e)
        if reason is None:
            if r.t > received_at + limits.max_future_skew:
                reason, detail = R.FUTURE_TIMESTAMP, f"t={r.t.isoformat()} is ahead of receive time {received_at.isoformat()}"
            elif r.t < received_at - limits.late_horizon:
                reason, detail = R.TOO_LATE, f"t={r.t.isoformat()} older than horizon {limits.late_horizon}"
        patient = registry.patient_at(msg.device_id, r.t) if reason is None else None
        if reason is None and patient is None:
            reason, detail = R.UNASSIGNED_DEVICE, f"device {msg.device_id!r} not assigned at {r.t.isoformat()}"
        if reason is not None:
            out.dead.append(dead_letter(reason, detail, payload, received_at, topic, msg.device_id, i))
            continue
        assert patient is not None
        by_patient[patient].append(Reading(type=r.type, t=r.t, value=value, flags=r.flags))

    for patient_id, readings in by_patient.items():
        out.batches.append(
            ReadingBatch(
                patient_id=patient_id,
                device_id=msg.device_id,
                seq=msg.seq,
                sent_at=msg.sent_at,
                received_at=received_at,
                readings=tuple(readings),
            )
        )
    return out
