"""Pure boundary validation: raw MQTT message in, Kafka records out.

No IO here: the caller passes the receive time, the registry snapshot and
the limits, so every rejection path is testable without a broker. A batch
is validated reading by reading: one bad reading is dead-lettered on its own
and never costs the good readings beside it.

Speed matters here (the bridge's budget is a few tens of microseconds per
message). The common message is decoded and checked (units, plausible
ranges) by msgspec in one C pass (ingest.telemetry_decode) and accepted
whole (``accept_whole``); one that needs a conversion or has a bad reading
goes reading by reading, and one msgspec refuses goes to the pydantic model,
which names the field. Records are encoded by msgspec from structs in the
contract's field order. Tests check that every path gives the same records
and dead letters, and that every record validates as a ReadingBatch.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from operator import attrgetter
from typing import NamedTuple, Protocol, TypeVar

import msgspec
from pydantic import ValidationError

from ingest import telemetry_decode
from storage.registry import AssignmentSnapshot
from wire.messages import (
    DeadLetter,
    DeadLetterReason,
    DeviceStatus,
    ReadingBatch,
    Telemetry,
    Waveform,
    WaveformSnippet,
)
from wire.topics import (
    STATUS_SUFFIX,
    TELEMETRY_SUFFIX,
    WAVEFORM_SUFFIX,
    parse_device_topic,
)
from wire.units import UNITS, same_unit

R = DeadLetterReason
_UNITS_BY_NAME = {t.value: spec for t, spec in UNITS.items()}  # either parser's reading type
# (type, unit) -> (converter, None for the canonical unit; plausible min, max; integral): one
# lookup per reading on the hot path instead of two and an identity call.
_CHECKS: dict[tuple[str, str], tuple[Callable[[float], float] | None, float, float, bool]] = {
    (t.value, unit): (None if conv is same_unit else conv, spec.plausible_min, spec.plausible_max, spec.integral)
    for t, spec in UNITS.items() for unit, conv in spec.accepted.items()
}


class Dest(Enum):
    """Which Kafka topic a record goes to (names come from wire.topics with the deployment prefix)."""

    READINGS = "readings"
    DEVICE_STATUS = "device_status"


class ReadingLike(Protocol):
    """A device reading as either telemetry parser yields it (pydantic model or msgspec struct)."""

    @property
    def type(self) -> str: ...
    @property
    def t(self) -> datetime: ...
    @property
    def value(self) -> float: ...
    @property
    def unit(self) -> str: ...
    @property
    def flags(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 256 * 1024
    max_future_skew: timedelta = timedelta(minutes=5)
    late_horizon: timedelta = timedelta(days=7)


class Forward(NamedTuple):
    """An accepted Kafka record: JSON value, key, and how many readings it carries.

    A named tuple: made once per message, and a frozen dataclass's ``__init__``
    costs a Python frame and a ``setattr`` per field."""

    dest: Dest
    key: str
    value: bytes
    readings: int = 0


@dataclass(slots=True)
class Outcome:
    accepted: list[Forward] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)

    @property
    def forwarded_readings(self) -> int:
        return sum(f.readings for f in self.accepted)

    @property
    def batches(self) -> list[ReadingBatch]:
        """The accepted readings records, parsed back through the wire contract (for callers and tests)."""
        return [ReadingBatch.model_validate_json(f.value) for f in self.accepted if f.dest is Dest.READINGS]


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


def _topic_device(topic: str, suffix: str) -> str | None:
    parsed = parse_device_topic(topic)
    return parsed[0] if parsed and parsed[1] == suffix else None



class Unset:
    """No value given (``None`` is a value: a topic that names no device)."""


UNSET = Unset()
_T = attrgetter("t")
_encode = msgspec.json.Encoder().encode


class _OutReading(msgspec.Struct):
    """``wire.messages.Reading`` as the bridge writes it (fields in the model's order)."""

    type: str
    t: datetime
    value: float
    flags: Sequence[str]


class _OutBatch(msgspec.Struct):
    """``wire.messages.ReadingBatch`` as the bridge writes it (a struct encodes faster than a dict)."""

    v: int
    patient_id: str
    device_id: str
    seq: int
    sent_at: datetime
    received_at: datetime
    readings: list[_OutReading]
    device_kind: str | None
    spo2_scale: int


def _record(msg: Telemetry | telemetry_decode.FastTelemetry | telemetry_decode.CheckedTelemetry, patient_id: str,
            readings: list[_OutReading], received_at: datetime, registry: AssignmentSnapshot) -> Forward:
    value = _encode(_OutBatch(1, patient_id, msg.device_id, msg.seq, msg.sent_at, received_at, readings,
                              registry.device_kinds.get(msg.device_id), registry.spo2_scales.get(patient_id, 1)))
    return Forward(Dest.READINGS, patient_id, value, len(readings))


def accept_whole(msg: telemetry_decode.CheckedTelemetry, received_at: datetime, registry: AssignmentSnapshot,
                 limits: Limits) -> Outcome | None:
    """The message as one record, if every reading is in the time bounds and its device has one open assignment
    that began before the first; else None (the reading-by-reading checks decide).

    Units and plausible ranges were checked by the decoder, so the common message
    costs a few C-level passes over its readings here rather than a Python loop."""
    intervals = registry.by_device.get(msg.device_id, ())
    if len(intervals) != 1 or intervals[0].ended_at is not None:
        return None
    rs = msg.readings
    times = sorted(map(_T, rs))  # n-1 comparisons for readings in time order, half of min() and max()
    only = intervals[0]
    if (times[0] < only.started_at or times[0] < received_at - limits.late_horizon
            or times[-1] > received_at + limits.max_future_skew):
        return None
    readings = [_OutReading(r.type, r.t, r.value, r.flags) for r in rs]
    return Outcome(accepted=[_record(msg, only.patient_id, readings, received_at, registry)])


def _parse_slow(payload: bytes) -> tuple[dict[str, object] | None, DeadLetterReason | None, str]:
    """Name why a payload is not a v1 JSON object: not JSON, not an object, or another version."""
    try:
        obj = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, R.NOT_JSON, str(e)
    except RecursionError:
        return None, R.NOT_JSON, "nesting too deep"
    if not isinstance(obj, dict):
        return None, R.SCHEMA_VIOLATION, "field <root>: expected a JSON object"
    if obj.get("v") != 1:
        return None, R.UNSUPPORTED_VERSION, f"v={obj.get('v')!r}; this bridge accepts v=1"
    return obj, None, ""


_M = TypeVar("_M", Telemetry, Waveform)


def _parse_model(model: type[_M], payload: bytes) -> _M | tuple[DeadLetterReason, str]:
    """The payload as ``model``, or why not (not JSON, another version, or the first field the model refuses)."""
    try:
        return model.model_validate_json(payload)
    except ValidationError:
        obj, reason, detail = _parse_slow(payload)
        if obj is None:
            assert reason is not None
            return reason, detail
        try:  # the authoritative check on the parsed object names the field
            return model.model_validate(obj)
        except ValidationError as e:
            return R.SCHEMA_VIOLATION, _schema_detail(e)


def validate_telemetry(
    topic: str, payload: bytes, received_at: datetime, registry: AssignmentSnapshot, limits: Limits,
    topic_device: str | None | Unset = UNSET,
    checked: telemetry_decode.CheckedTelemetry | None | Unset = UNSET,
) -> Outcome:
    """Readings records and dead letters of one telemetry message.

    ``topic_device``: the device id of a telemetry ``topic`` when the caller has parsed it already;
    ``checked``: ``telemetry_decode.decode_checked(payload)`` when the caller has decoded it already
    (``ingest.route.route_many`` decodes a whole batch of messages in one go)."""
    if isinstance(topic_device, Unset):
        topic_device = _topic_device(topic, TELEMETRY_SUFFIX)
    too_large = len(payload) > limits.max_payload_bytes
    if too_large:
        checked = None
    elif isinstance(checked, Unset):
        checked = telemetry_decode.decode_checked(payload)
    # The common message first, before anything a rejection needs is made.
    if checked is not None and topic_device == checked.device_id and checked.device_id in registry.devices:
        whole = accept_whole(checked, received_at, registry, limits)
        if whole is not None:
            return whole
    # Else the checks below name what is wrong, or which readings are.
    out = Outcome()

    def reject(reason: DeadLetterReason, detail: str, device_id: str | None = None) -> Outcome:
        out.dead.append(dead_letter(reason, detail, payload, received_at, topic, device_id))
        return out

    if too_large:
        return reject(R.PAYLOAD_TOO_LARGE, f"{len(payload)} bytes > {limits.max_payload_bytes}", topic_device)
    msg: Telemetry | telemetry_decode.FastTelemetry | telemetry_decode.CheckedTelemetry | None = checked
    if msg is None:
        try:
            msg = telemetry_decode.decode(payload)
        except telemetry_decode.NotFast:
            parsed = _parse_model(Telemetry, payload)
            if isinstance(parsed, tuple):
                return reject(*parsed, topic_device)
            msg = parsed
    if topic_device != msg.device_id:
        return reject(R.TOPIC_MISMATCH, f"device_id {msg.device_id!r} published on {topic!r}", topic_device)
    if msg.device_id not in registry.devices:
        return reject(R.UNKNOWN_DEVICE, f"device {msg.device_id!r} is not registered", msg.device_id)

    # Bounds as POSIX seconds: one timestamp() per reading is about half the
    # cost of the three aware-datetime comparisons it replaces.
    newest = (received_at + limits.max_future_skew).timestamp()
    oldest = (received_at - limits.late_horizon).timestamp()
    intervals = registry.by_device.get(msg.device_id, ())
    # The common case, one open assignment: a reading belongs to its patient
    # if it is not older than the start. Comparing aware datetimes costs
    # about a microsecond each here, so the loop keeps to as few as it can.
    only = intervals[0] if len(intervals) == 1 and intervals[0].ended_at is None else None
    only_start = only.started_at.timestamp() if only is not None else 0.0
    by_patient: dict[str, list[_OutReading]] = defaultdict(list)
    rs: Sequence[ReadingLike] = msg.readings
    for i, r in enumerate(rs):
        t = r.t
        ts = t.timestamp()
        check = _CHECKS.get((r.type, r.unit))
        if check is None:
            spec = _UNITS_BY_NAME[r.type]
            reason = R.UNKNOWN_UNIT
            detail = f"unit {r.unit!r} not accepted for {r.type}; accepted: {', '.join(spec.accepted)}"
        else:
            convert, lo, hi, integral = check
            value = r.value if convert is None else convert(r.value)
            if not lo <= value <= hi or (integral and value != int(value)):
                spec = _UNITS_BY_NAME[r.type]
                reason = R.IMPLAUSIBLE_VALUE
                detail = (
                    f"{r.type}={value:g} {spec.canonical} outside plausible range "
                    f"{spec.plausible_min:g}..{spec.plausible_max:g}"
                )
            elif not oldest <= ts <= newest:
                if ts > newest:
                    reason = R.FUTURE_TIMESTAMP
                    detail = f"t={t.isoformat()} is ahead of receive time {received_at.isoformat()}"
                else:
                    reason = R.TOO_LATE
                    detail = f"t={t.isoformat()} older than horizon {limits.late_horizon}"
            else:
                if only is not None:
                    patient = only.patient_id if only_start <= ts else None
                else:
                    patient = registry.patient_at(msg.device_id, t)
                if patient is not None:
                    by_patient[patient].append(_OutReading(r.type, t, value, r.flags))
                    continue
                reason = R.UNASSIGNED_DEVICE
                detail = f"device {msg.device_id!r} not assigned at {t.isoformat()}"
        out.dead.append(dead_letter(reason, detail, payload, received_at, topic, msg.device_id, i))

    for patient_id, readings in by_patient.items():
        out.accepted.append(_record(msg, patient_id, readings, received_at, registry))
    return out


def validate_status(
    topic: str, payload: bytes, received_at: datetime, registry: AssignmentSnapshot, limits: Limits
) -> Outcome:
    """A device's (retained, last-will) status message, held to the same boundary rules as telemetry."""
    out = Outcome()
    topic_device = _topic_device(topic, STATUS_SUFFIX)

    def reject(reason: DeadLetterReason, detail: str) -> Outcome:
        out.dead.append(dead_letter(reason, detail, payload, received_at, topic, topic_device))
        return out

    if len(payload) > limits.max_payload_bytes:
        return reject(R.PAYLOAD_TOO_LARGE, f"{len(payload)} bytes > {limits.max_payload_bytes}")
    obj, reason, detail = _parse_slow(payload)
    if obj is None:
        assert reason is not None
        return reject(reason, detail)
    try:
        status = DeviceStatus.model_validate(obj)
    except ValidationError as e:
        return reject(R.SCHEMA_VIOLATION, _schema_detail(e))
    if status.device_id != topic_device:
        return reject(R.TOPIC_MISMATCH, f"device_id {status.device_id!r} published on {topic!r}")
    # No registry check: a status carries no patient data, the broker's ACL
    # already ties it to the device's own credentials, and retained statuses
    # of devices registered elsewhere would be dead-lettered again on every
    # fresh subscription.
    out.accepted.append(Forward(Dest.DEVICE_STATUS, status.device_id, status.model_dump_json().encode()))
    return out


def validate_waveform(
    topic: str, payload: bytes, received_at: datetime, registry: AssignmentSnapshot, limits: Limits
) -> Outcome:
    """A device's waveform snippet (``wire.messages.Waveform``) -> one readings record with the snippet.

    Same boundary rules as telemetry: payload size, schema (which bounds the
    snippet to 60 s / 30,000 finite samples), topic/device match, registered
    device, time bounds on the first and last sample, assigned to a patient
    when measured. A waveform is one unit: any failure dead-letters all of it.
    """
    out = Outcome()
    topic_device = _topic_device(topic, WAVEFORM_SUFFIX)

    def reject(reason: DeadLetterReason, detail: str, device_id: str | None = topic_device) -> Outcome:
        out.dead.append(dead_letter(reason, detail, payload, received_at, topic, device_id))
        return out

    if len(payload) > limits.max_payload_bytes:
        return reject(R.PAYLOAD_TOO_LARGE, f"{len(payload)} bytes > {limits.max_payload_bytes}")
    msg = _parse_model(Waveform, payload)
    if isinstance(msg, tuple):
        return reject(*msg)
    if topic_device != msg.device_id:
        return reject(R.TOPIC_MISMATCH, f"device_id {msg.device_id!r} published on {topic!r}")
    if msg.device_id not in registry.devices:
        return reject(R.UNKNOWN_DEVICE, f"device {msg.device_id!r} is not registered", msg.device_id)
    end = msg.t0 + timedelta(seconds=len(msg.samples) / msg.fs_hz)
    if end > received_at + limits.max_future_skew:
        return reject(R.FUTURE_TIMESTAMP, f"snippet ends {end.isoformat()}, ahead of receive time "
                      f"{received_at.isoformat()}", msg.device_id)
    if msg.t0 < received_at - limits.late_horizon:
        return reject(R.TOO_LATE, f"t0={msg.t0.isoformat()} older than horizon {limits.late_horizon}", msg.device_id)
    patient = registry.patient_at(msg.device_id, msg.t0)
    if patient is None:
        return reject(R.UNASSIGNED_DEVICE, f"device {msg.device_id!r} not assigned at {msg.t0.isoformat()}",
                      msg.device_id)
    snippet = WaveformSnippet(kind=msg.kind, t=msg.t0, fs_hz=msg.fs_hz, samples=msg.samples, adc_bits=msg.adc_bits,
                              unit=msg.unit)
    # A device counts waveforms apart from telemetry; the record's seq is
    # -(waveform seq + 1) so the worker's message dedup (device, seq, sent_at)
    # never takes a waveform for the telemetry message of the same instant.
    batch = ReadingBatch(
        patient_id=patient, device_id=msg.device_id, seq=-(msg.seq + 1), sent_at=msg.sent_at, received_at=received_at,
        readings=(), waveforms=(snippet,), device_kind=registry.device_kinds.get(msg.device_id),
        spo2_scale=2 if registry.spo2_scales.get(patient) == 2 else 1,
    )
    out.accepted.append(Forward(Dest.READINGS, patient, batch.model_dump_json().encode()))
    return out
