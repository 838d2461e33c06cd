"""Pure HL7 v2 ORU^R01 -> wire contract: parse, map OBX to readings, validate, and build the ACK (no IO).

A message becomes one Telemetry payload per device it names (OBX-18
equipment instance identifier, else MSH-3 sending application) and goes
through the MQTT bridge's own validation (``ingest.validate``: units,
plausibility, clock skew, late horizon, registry at measurement time), so
the records and dead-letter reasons are the bridge's. Every dead letter
carries the original HL7 message. PID-3, when present, must name the
patient the registry assigns the device to at the reading's time: a
gateway filing a reading under another patient is refused, never re-filed.

Acknowledgement (HL7 v2.5 2.9, original mode): AA when every reading was
accepted, AE when some were refused (one ERR per refused OBX), AR when
nothing could be accepted (not an ORU^R01, malformed, too large, or every
reading refused).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import hl7
import orjson

from ingest import hl7_codes
from ingest.validate import Limits, Outcome, dead_letter, validate_telemetry
from storage.registry import AssignmentSnapshot
from wire.messages import DeadLetter, DeadLetterReason
from wire.topics import telemetry_topic

R = DeadLetterReason
# HL7 table 0357 (message error condition codes).
ERR_SEGMENT_SEQUENCE = "100"
ERR_REQUIRED_FIELD = "101"
ERR_DATA_TYPE = "102"
ERR_TABLE_VALUE = "103"
ERR_UNSUPPORTED_TYPE = "200"
ERR_UNKNOWN_KEY = "204"
ERR_APPLICATION = "207"
_REASON_ERR = {R.UNKNOWN_UNIT: ERR_TABLE_VALUE, R.IMPLAUSIBLE_VALUE: ERR_DATA_TYPE, R.UNKNOWN_DEVICE: ERR_UNKNOWN_KEY,
               R.UNASSIGNED_DEVICE: ERR_UNKNOWN_KEY, R.FUTURE_TIMESTAMP: ERR_DATA_TYPE, R.TOO_LATE: ERR_DATA_TYPE,
               R.PAYLOAD_TOO_LARGE: ERR_APPLICATION, R.SCHEMA_VIOLATION: ERR_REQUIRED_FIELD}


@dataclass(frozen=True, slots=True)
class Problem:
    """Why (part of) a message was refused, for the ERR segment and the counters."""

    kind: str  # counter label: malformed, unsupported_message, oversized, unknown_code, bad_value, <dead-letter reason>
    detail: str
    obx: str | None = None  # OBX set id (OBX-1) when one observation is at fault
    code: str = ERR_APPLICATION


@dataclass(slots=True)
class Hl7Outcome:
    outcome: Outcome = field(default_factory=Outcome)
    problems: list[Problem] = field(default_factory=list)
    control_id: str = ""
    message: hl7.Message | None = None

    @property
    def ack_code(self) -> str:
        if not self.problems:
            return "AA"
        return "AE" if self.outcome.accepted else "AR"


def _f(seg: hl7.Segment, fld: int, comp: int = 1, rep: int = 1) -> str:
    """Field ``fld``, repetition ``rep``, component ``comp`` as text ("" when absent); python-hl7 nests a
    field's repetitions and components only as deep as the message uses them."""
    try:
        value: object = seg(fld)
        for index in (rep, comp):
            if isinstance(value, str):
                return value if index == 1 else ""
            value = value(index)  # type: ignore[operator]
        return str(value)
    except (IndexError, TypeError):
        return ""


def _time(value: str, default_tz: timezone) -> datetime | None:
    if not value:
        return None
    t = hl7.parse_datetime(value)
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=default_tz)


def _seq(control_id: str) -> int:
    # A gateway resending a message keeps its control id: the same seq lets the stream worker drop the repeat whole.
    return int(hashlib.sha256(control_id.encode()).hexdigest()[:12], 16)


def parse(raw: bytes) -> hl7.Message:
    text = raw.decode("utf-8", errors="strict").replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    if not text.startswith("MSH"):
        raise ValueError("the message does not begin with an MSH segment")
    return hl7.parse(text)


def _header(raw: bytes) -> tuple[hl7.Message | None, str]:
    """MSH alone of a message too large to parse whole, so its NACK still names it."""
    first = raw[:4096].split(b"\r", 1)[0]
    try:
        msg = parse(first)
        return msg, _f(msg.segment("MSH"), 10)
    except (ValueError, KeyError, IndexError, UnicodeDecodeError):
        return None, ""


def _dead(reason: DeadLetterReason, detail: str, raw: bytes, received_at: datetime, device: str | None,
          index: int | None = None) -> DeadLetter:
    return dead_letter(reason, detail, raw, received_at, None, device, index)


def route(raw: bytes, received_at: datetime, registry_for: Callable[[str], AssignmentSnapshot], limits: Limits,
          default_tz: timezone = timezone(timedelta(hours=7))) -> Hl7Outcome:
    """``registry_for(device_id)`` returns the registry snapshot to check that device against."""
    out = Hl7Outcome()

    def refuse(kind: str, reason: DeadLetterReason, detail: str, code: str, device: str | None = None) -> Hl7Outcome:
        out.problems.append(Problem(kind, detail, None, code))
        out.outcome.dead.append(_dead(reason, detail, raw, received_at, device))
        return out

    if len(raw) > limits.max_payload_bytes:
        out.message, out.control_id = _header(raw)
        return refuse("oversized", R.PAYLOAD_TOO_LARGE, f"{len(raw)} bytes > {limits.max_payload_bytes}",
                      ERR_APPLICATION)
    try:
        msg = parse(raw)
        msh = msg.segment("MSH")
    except (ValueError, KeyError, IndexError, UnicodeDecodeError) as e:
        return refuse("malformed", R.SCHEMA_VIOLATION, f"not an HL7 v2 message: {e}", ERR_SEGMENT_SEQUENCE)
    out.message = msg
    out.control_id = _f(msh, 10)
    mtype, trigger = _f(msh, 9, 1), _f(msh, 9, 2)
    if (mtype, trigger) != ("ORU", "R01"):
        return refuse("unsupported_message", R.SCHEMA_VIOLATION,
                      f"message type {mtype}^{trigger} not accepted; this interface takes ORU^R01", ERR_UNSUPPORTED_TYPE)
    if not out.control_id:
        return refuse("malformed", R.SCHEMA_VIOLATION, "MSH-10 (message control id) is empty", ERR_REQUIRED_FIELD)
    sent_at = _time(_f(msh, 7), default_tz) or received_at
    sender = _f(msh, 3) or None
    pids: set[str] = set()
    try:
        pid = msg.segment("PID")
        pids = {str(rep(1)) for rep in pid(3) if str(rep(1))} if not isinstance(pid(3), str) else {str(pid(3))}
    except (KeyError, IndexError):
        pass
    obr_time: datetime | None = None
    try:
        obr_time = _time(_f(msg.segment("OBR"), 7), default_tz)
    except (KeyError, IndexError):
        pass
    except ValueError as e:
        out.problems.append(Problem("bad_value", f"OBR-7: {e}", None, ERR_DATA_TYPE))

    by_device: dict[str, list[tuple[str, dict[str, object]]]] = {}
    try:
        obxs = msg.segments("OBX")
    except KeyError:
        obxs = []
    for obx in obxs:
        set_id = _f(obx, 1) or "?"
        code, name, system = _f(obx, 3, 1), _f(obx, 3, 2), _f(obx, 3, 3)
        vtype, value = _f(obx, 2), _f(obx, 5)
        if vtype != "NM" or not value or hl7_codes.skipped(code, name):
            continue  # structure (device, channel) or a parameter this product does not read
        device = _f(obx, 18) or sender
        kind = hl7_codes.reading_type(system, code, name)
        if kind is None:
            detail = f"OBX {set_id}: unknown observation code {code}^{name}^{system} (MDC or LOINC vital signs only)"
            out.problems.append(Problem("unknown_code", detail, set_id, ERR_TABLE_VALUE))
            out.outcome.dead.append(_dead(R.SCHEMA_VIOLATION, detail, raw, received_at, device))
            continue
        try:
            number = float(value)
            t = _time(_f(obx, 14), default_tz) or obr_time or sent_at
        except ValueError as e:
            detail = f"OBX {set_id}: {e}"
            out.problems.append(Problem("bad_value", detail, set_id, ERR_DATA_TYPE))
            out.outcome.dead.append(_dead(R.SCHEMA_VIOLATION, detail, raw, received_at, device))
            continue
        if device is None:
            detail = f"OBX {set_id}: no device (OBX-18) and no sending application (MSH-3)"
            out.problems.append(Problem("unknown_device", detail, set_id, ERR_REQUIRED_FIELD))
            out.outcome.dead.append(_dead(R.UNKNOWN_DEVICE, detail, raw, received_at, None))
            continue
        unit = hl7_codes.unit(_f(obx, 6, 1), _f(obx, 6, 2))
        reading: dict[str, object] = {"type": kind.value, "t": t, "value": number, "unit": unit}
        by_device.setdefault(device, []).append((set_id, reading))
    if not by_device and not out.problems:
        return refuse("malformed", R.SCHEMA_VIOLATION, "no numeric OBX with a vital sign", ERR_REQUIRED_FIELD)

    for device_id, items in by_device.items():
        payload = orjson.dumps({"v": 1, "device_id": device_id, "seq": _seq(out.control_id), "sent_at": sent_at,
                                "readings": [r for _, r in items]})
        checked = validate_telemetry(telemetry_topic(device_id), payload, received_at, registry_for(device_id), limits)
        for d in checked.dead:
            at_obx = items[d.reading_index][0] if d.reading_index is not None else None
            out.problems.append(Problem(d.reason.value, f"OBX {at_obx}: {d.detail}" if at_obx else d.detail, at_obx,
                                        _REASON_ERR.get(d.reason, ERR_APPLICATION)))
            out.outcome.dead.append(d.model_copy(update={"payload_b64": _dead(d.reason, "", raw, received_at,
                                                                               None).payload_b64, "mqtt_topic": None}))
        for fwd in checked.accepted:
            if pids and fwd.key not in pids:
                detail = (f"PID-3 names {sorted(pids)} but device {device_id!r} is assigned to another patient at"
                          " these readings' time")
                out.problems.append(Problem(R.UNASSIGNED_DEVICE.value, detail, None, ERR_UNKNOWN_KEY))
                out.outcome.dead.append(_dead(R.UNASSIGNED_DEVICE, detail, raw, received_at, device_id))
                continue
            out.outcome.accepted.append(fwd)
    return out


def _esc(text: str) -> str:
    # HL7 escape sequences for the delimiters a free-text ERR-8 may contain.
    return (text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\")
            .replace("~", "\\R\\").replace("\r", " ").replace("\n", " "))


def ack(result: Hl7Outcome, application: str, facility: str, now: datetime | None = None) -> bytes:
    """ACK^R01 with MSA (code, the message's control id) and one ERR (v2.5 layout) per problem."""
    now = now or datetime.now(UTC)
    code = result.ack_code
    control = hashlib.sha256(f"{result.control_id}|{now.isoformat()}".encode()).hexdigest()[:20]
    if result.message is not None:
        msh = result.message.segment("MSH")
        version = _f(msh, 12) or "2.6"
        header = (f"MSH|^~\\&|{application}|{facility}|{_esc(_f(msh, 3))}|{_esc(_f(msh, 4))}|"
                  f"{now:%Y%m%d%H%M%S}+0000||ACK^R01^ACK|{control}|{_f(msh, 11) or 'P'}|{version}")
    else:
        header = f"MSH|^~\\&|{application}|{facility}|||{now:%Y%m%d%H%M%S}+0000||ACK|{control}|P|2.6"
    lines = [header, f"MSA|{code}|{_esc(result.control_id)}"]
    for p in result.problems:
        where = f"OBX^{p.obx}^5" if p.obx else ""
        lines.append(f"ERR||{where}|{p.code}^{_esc(p.kind)}^HL70357|E||||{_esc(p.detail[:200])}")
    return ("\r".join(lines) + "\r").encode()
