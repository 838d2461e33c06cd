"""Pure Nightscout entries <-> wire contract (no IO).

Uploaders (xDrip+, AndroidAPS, Nightscout's own uploaders) POST an array of
entries: ``{"type": "sgv", "sgv": 123, "date": <epoch ms>, "dateString":
"...", "direction": "Flat", "device": "xDrip-DexcomG6", ...}``. ``sgv``
(sensor) and ``mbg`` (meter) are glucose in mg/dL, as Nightscout stores
them; each becomes a reading of the token's device and goes through the
bridge's validation (``ingest.validate``). Other entry types (``cal``,
unknown) carry no glucose value and are dead-lettered as schema violations,
counted, never silently dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingest.validate import Limits, Outcome, dead_letter, validate_telemetry
from storage.registry import AssignmentSnapshot
from wire.messages import DeadLetterReason
from wire.topics import telemetry_topic

MAX_ENTRIES = 2000  # the wire contract's batch limit (Telemetry.readings)


class Entry(BaseModel):
    """One uploaded entry; extra fields (rssi, noise, filtered, unfiltered, utcOffset, sysTime) are ignored."""

    model_config = ConfigDict(extra="ignore")
    type: str = "sgv"
    sgv: float | None = Field(default=None, allow_inf_nan=False)
    mbg: float | None = Field(default=None, allow_inf_nan=False)
    date: Annotated[int, Field(gt=0)] | None = None
    dateString: str | None = None  # Nightscout's field name
    direction: str | None = None
    device: str | None = Field(default=None, max_length=100)


@dataclass(frozen=True, slots=True)
class Mapped:
    outcome: Outcome
    accepted: list[tuple[int, Entry]]  # (index in the upload, entry) of readings accepted
    refused: list[tuple[int, str, str]]  # (index, reason, detail)


def _when(e: Entry) -> datetime | None:
    if e.date is not None:
        return datetime.fromtimestamp(e.date / 1000, UTC)
    if e.dateString:
        try:
            t = datetime.fromisoformat(e.dateString)
        except ValueError:
            return None
        return t if t.tzinfo else None
    return None


def route(device_id: str, body: list[object], raw: bytes, received_at: datetime, registry: AssignmentSnapshot,
          limits: Limits) -> Mapped:
    out = Outcome()
    refused: list[tuple[int, str, str]] = []
    readings: list[dict[str, object]] = []
    index_of: list[tuple[int, Entry]] = []

    def refuse(i: int, reason: DeadLetterReason, detail: str) -> None:
        refused.append((i, reason.value, detail))
        out.dead.append(dead_letter(reason, f"entry {i}: {detail}", raw, received_at, None, device_id, i))

    for i, item in enumerate(body):
        try:
            e = Entry.model_validate(item)
        except ValidationError as err:
            first = err.errors()[0]
            refuse(i, DeadLetterReason.SCHEMA_VIOLATION, f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
            continue
        value = e.sgv if e.type == "sgv" else e.mbg if e.type == "mbg" else None
        if value is None:
            refuse(i, DeadLetterReason.SCHEMA_VIOLATION, f"type {e.type!r} without a glucose value (sgv or mbg)")
            continue
        t = _when(e)
        if t is None:
            refuse(i, DeadLetterReason.SCHEMA_VIOLATION, "no date (epoch ms) or dateString with an offset")
            continue
        readings.append({"type": "glucose", "t": t, "value": value, "unit": "mg/dL"})
        index_of.append((i, e))
    accepted: list[tuple[int, Entry]] = []
    if readings:
        payload = orjson.dumps({"v": 1, "device_id": device_id, "seq": _seq(raw), "sent_at": received_at,
                                "readings": readings})
        checked = validate_telemetry(telemetry_topic(device_id), payload, received_at, registry, limits)
        bad = {d.reading_index for d in checked.dead if d.reading_index is not None}
        for d in checked.dead:
            if d.reading_index is None:
                refused.extend((i, d.reason.value, d.detail) for i, _ in index_of)
                bad = set(range(len(index_of)))
            else:
                refused.append((index_of[d.reading_index][0], d.reason.value, d.detail))
            out.dead.append(d.model_copy(update={"payload_b64": dead_letter(d.reason, "", raw, received_at, None)
                                                 .payload_b64, "mqtt_topic": None}))
        out.accepted.extend(checked.accepted)
        accepted = [ie for k, ie in enumerate(index_of) if k not in bad]
    return Mapped(out, accepted, refused)


def _seq(raw: bytes) -> int:
    # The same upload repeated (an uploader retrying) is the same message: same seq.
    return int(hashlib.sha256(raw).hexdigest()[:12], 16)


# Nightscout's trend arrows from the rate of change in mg/dL per minute (cgm-remote-monitor's direction table).
def direction(rate_per_min: float | None) -> str:
    if rate_per_min is None:
        return "NONE"
    r = rate_per_min
    if r < -3:
        return "DoubleDown"
    if r < -2:
        return "SingleDown"
    if r < -1:
        return "FortyFiveDown"
    if r <= 1:
        return "Flat"
    if r <= 2:
        return "FortyFiveUp"
    return "SingleUp" if r <= 3 else "DoubleUp"


class EntryOut(BaseModel):
    """An entry as GET /api/v1/entries returns it."""

    id: str = Field(serialization_alias="_id")
    type: Literal["sgv"] = "sgv"
    sgv: int
    delta: float  # mg/dL since the previous reading (0 for the first), as uploaders fill it
    date: int
    dateString: str
    direction: str
    device: str


def entries_out(rows: list[tuple[datetime, float, str]]) -> list[dict[str, object]]:
    """Newest first, as Nightscout answers; ``rows`` are (time, mg/dL, device) newest first."""
    out: list[dict[str, object]] = []
    for k, (t, v, dev) in enumerate(rows):
        rate, delta = None, 0.0
        if k + 1 < len(rows):
            prev_t, prev_v, _ = rows[k + 1]
            minutes = (t - prev_t).total_seconds() / 60
            rate = (v - prev_v) / minutes if 0 < minutes <= 15 else None
            delta = round(v - prev_v, 1)
        ms = int(t.timestamp() * 1000)
        e = EntryOut(id=hashlib.sha1(f"{dev}|{ms}".encode()).hexdigest()[:24], sgv=round(v), delta=delta, date=ms,
                     dateString=t.astimezone(UTC).isoformat().replace("+00:00", "Z"), direction=direction(rate),
                     device=dev)
        out.append(e.model_dump(by_alias=True))
    return out
