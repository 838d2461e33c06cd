"""Telemetry payloads decoded in one C pass (msgspec), for the bridge's happy path.

Parsing with ``Telemetry.model_validate_json`` was the largest single item of
the bridge's own Python (6 % of its samples at 2,000 devices, beside paho's
MQTT handling). This accepts only what the pydantic model accepts, in a
narrower form (strict JSON types, RFC 3339 times, finite values); anything
else raises ``NotFast`` and the model decides, naming the field when it
refuses. tests/ingest/test_telemetry_decode.py checks that both paths give
the same records on random and on edge-case payloads.

Two forms, tried in this order:

- ``decode_checked``: every reading also in a unit that needs no conversion
  and inside its plausible range (wire.units), checked by msgspec itself
  with one struct per reading type (tagged by ``type``). What passes needs
  no per-reading Python for units and values: the common case, a bedside
  monitor in canonical units, then costs the bridge a few C calls per
  message instead of a Python loop over its readings.
- ``decode``: the wire form only; the bridge converts and checks each
  reading and names the reason for each one it refuses.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

import msgspec

from wire.fast_types import AwareTime, FiniteFloat, FlagName, Id, TypeName, has_long_fraction
from wire.units import UNITS, ReadingType, same_unit


class FastReading(msgspec.Struct, forbid_unknown_fields=True):
    type: TypeName  # type: ignore[valid-type]
    t: AwareTime
    value: FiniteFloat
    unit: Annotated[str, msgspec.Meta(max_length=16)]
    flags: list[FlagName] = []  # type: ignore[valid-type]


class _Header(msgspec.Struct, forbid_unknown_fields=True):
    """The fields of ``wire.messages.Telemetry`` before its readings (both forms share them)."""

    device_id: Id
    seq: Annotated[int, msgspec.Meta(ge=0)]
    sent_at: AwareTime


class FastTelemetry(_Header, forbid_unknown_fields=True):
    readings: Annotated[list[FastReading], msgspec.Meta(min_length=1, max_length=2000)]
    v: Literal[1] = 1
    waveforms: Annotated[list[Any], msgspec.Meta(max_length=0)] = []


class CheckedReading(msgspec.Struct):
    """Base of the per-type reading structs of ``decode_checked`` (``type`` is their tag)."""

    type: ClassVar[str]
    t: datetime
    value: float
    unit: str
    flags: list[str]


def _checked_reading(rt: ReadingType) -> type[CheckedReading]:
    spec = UNITS[rt]
    identity = tuple(u for u, convert in spec.accepted.items() if convert is same_unit)
    bounds = msgspec.Meta(ge=spec.plausible_min, le=spec.plausible_max, multiple_of=1 if spec.integral else None)
    cls = msgspec.defstruct(
        f"Checked_{rt.name.lower()}",
        [
            ("t", AwareTime),
            ("value", Annotated[float, bounds]),
            ("unit", Literal[identity]),  # type: ignore[valid-type]
            ("flags", list[FlagName], []),  # type: ignore[valid-type]
        ],
        bases=(CheckedReading,),
        tag_field="type",
        tag=rt.value,
        forbid_unknown_fields=True,
        namespace={"type": rt.value},
    )
    assert issubclass(cls, CheckedReading)
    return cls


CHECKED_READINGS: dict[ReadingType, type[CheckedReading]] = {rt: _checked_reading(rt) for rt in ReadingType}
if TYPE_CHECKING:
    _AnyChecked = CheckedReading
else:
    _AnyChecked = Union[tuple(CHECKED_READINGS.values())]  # noqa: UP007 (a Union of a run-time tuple)


class CheckedTelemetry(_Header, forbid_unknown_fields=True):
    readings: Annotated[list[_AnyChecked], msgspec.Meta(min_length=1, max_length=2000)]
    v: Literal[1] = 1
    waveforms: Annotated[list[Any], msgspec.Meta(max_length=0)] = []


_decode = msgspec.json.Decoder(FastTelemetry).decode
_decode_checked = msgspec.json.Decoder(CheckedTelemetry).decode


class NotFast(ValueError):
    """Not in the narrow form: the pydantic model decides."""


def decode_checked(payload: bytes) -> CheckedTelemetry | None:
    """The message if it and every reading are in the checked form (units, ranges), else None."""
    if has_long_fraction(payload):
        return None
    try:
        return _decode_checked(payload)
    except msgspec.DecodeError:  # msgspec.ValidationError is a DecodeError
        return None


def decode(payload: bytes) -> FastTelemetry:
    if has_long_fraction(payload):
        raise NotFast("sub-microsecond time")
    try:
        return _decode(payload)
    except msgspec.DecodeError as e:
        raise NotFast(str(e)) from e
