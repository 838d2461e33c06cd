"""Telemetry payloads decoded in one C pass (msgspec), for the bridge's happy path.

Parsing with ``Telemetry.model_validate_json`` was the largest single item of
the bridge's own Python (6 % of its samples at 2,000 devices, beside paho's
MQTT handling). This accepts only what the pydantic model accepts, in a
narrower form (strict JSON types, RFC 3339 times, finite values); anything
else raises ``NotFast`` and the model decides, naming the field when it
refuses. tests/ingest/test_telemetry_decode.py checks that both paths give
the same records on random and on edge-case payloads.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import msgspec

from wire.messages import DeviceId, QualityFlag
from wire.units import ReadingType

# The model's id pattern, with \\Z: Python's $ also matches before a final newline, pydantic's does not.
_ID = Annotated[str, msgspec.Meta(pattern=get_args(DeviceId)[1].pattern.removesuffix("$") + r"\Z")]
_Time = Annotated[datetime, msgspec.Meta(tz=True)]
_Value = Annotated[float, msgspec.Meta(ge=-1.7976931348623157e308, le=1.7976931348623157e308)]
_Type = Literal[tuple(t.value for t in ReadingType)]  # type: ignore[valid-type]
_Flag = Literal[tuple(f.value for f in QualityFlag)]  # type: ignore[valid-type]


class FastReading(msgspec.Struct, forbid_unknown_fields=True):
    type: _Type  # type: ignore[valid-type]
    t: _Time
    value: _Value
    unit: Annotated[str, msgspec.Meta(max_length=16)]
    flags: list[_Flag] = []  # type: ignore[valid-type]


class FastTelemetry(msgspec.Struct, forbid_unknown_fields=True):
    device_id: _ID
    seq: Annotated[int, msgspec.Meta(ge=0)]
    sent_at: _Time
    readings: Annotated[list[FastReading], msgspec.Meta(min_length=1, max_length=2000)]
    v: Literal[1] = 1
    waveforms: Annotated[list[Any], msgspec.Meta(max_length=0)] = []


_decode = msgspec.json.Decoder(FastTelemetry).decode
# Sub-microsecond digits: msgspec rounds them, pydantic truncates.
_LONG_FRACTION = re.compile(rb":\d\d\.\d{7}")


class NotFast(ValueError):
    """Not in the narrow form: the pydantic model decides."""


def decode(payload: bytes) -> FastTelemetry:
    if _LONG_FRACTION.search(payload):
        raise NotFast("sub-microsecond time")
    try:
        return _decode(payload)
    except msgspec.DecodeError as e:  # msgspec.ValidationError is a DecodeError
        raise NotFast(str(e)) from e
