"""Readings records -> rows without building pydantic models, for the sink's hot path.

Validating every reading through pydantic costs ~9 us; this accepts only the
plain, canonical JSON that wire.messages.ReadingBatch.model_dump_json writes
(strictly a subset of what the model accepts) and builds the same rows in a
fraction of that. Anything else raises NotCanonical and the caller falls
back to the full model, which either accepts it or names the error.

msgspec decodes and checks a record in one C pass (types, patterns, enums,
aware times, no unknown keys), which profiling the sink showed is what the
JSON parse plus per-reading Python checks cost before (most of the sink's
CPU time). Its JSON parser is strict: no NaN/Infinity, ints only where an
int is due, times in RFC 3339 with an offset; all of which the model
accepts too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from storage.readings import ReadingRow
from wire.fast_types import AwareTime, FiniteFloat, FlagName, Id, KindName, TypeName, has_long_fraction
from wire.units import UNITS, ReadingType

_UNIT = {t.value: UNITS[t].canonical for t in ReadingType}


class _Reading(msgspec.Struct, forbid_unknown_fields=True):
    type: TypeName  # type: ignore[valid-type]
    t: AwareTime
    value: FiniteFloat
    flags: list[FlagName] = []  # type: ignore[valid-type]


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    patient_id: Id
    device_id: Id
    seq: int
    sent_at: AwareTime
    received_at: AwareTime
    readings: list[_Reading]
    v: Literal[1] = 1
    # Routing hints the sink does not store: checked, not kept. Waveform
    # snippets (rare, large) are left to the model.
    waveforms: Annotated[list[Any], msgspec.Meta(max_length=0)] = []
    device_kind: KindName | None = None  # type: ignore[valid-type]
    spo2_scale: Literal[1, 2] | None = None


_decode = msgspec.json.Decoder(_Batch).decode


class NotCanonical(ValueError):
    pass


class _Packed(msgspec.Struct, forbid_unknown_fields=True):
    batches: list[_Batch]
    v: Literal[1] = 1


class _PackedRaw(msgspec.Struct, forbid_unknown_fields=True):
    batches: list[msgspec.Raw]
    v: Literal[1] = 1


_decode_packed = msgspec.json.Decoder(_Packed).decode
_decode_packed_raw = msgspec.json.Decoder(_PackedRaw).decode


def _rows_of(b: _Batch) -> list[ReadingRow]:
    patient, device, seq, received = b.patient_id, b.device_id, b.seq, b.received_at
    unit = _UNIT
    return [(r.t, patient, device, r.type, r.value, unit[r.type], r.flags, seq, received) for r in b.readings]


def rows(raw: bytes | msgspec.Raw) -> list[ReadingRow]:
    """The rows of one ReadingBatch record; NotCanonical if it is not in the canonical form."""
    if has_long_fraction(memoryview(raw)):
        raise NotCanonical("sub-microsecond time")
    try:
        return _rows_of(_decode(raw))
    except msgspec.DecodeError as e:  # ValidationError is a DecodeError
        raise NotCanonical(str(e)) from e


def packed_rows(raw: bytes) -> list[ReadingRow]:
    """The rows of a packed record (wire.packed) whose every batch is canonical, in one C pass."""
    if has_long_fraction(raw):
        raise NotCanonical("sub-microsecond time")
    try:
        return [row for b in _decode_packed(raw).batches for row in _rows_of(b)]
    except msgspec.DecodeError as e:
        raise NotCanonical(str(e)) from e


def packed_batches(raw: bytes) -> list[bytes]:
    """The batch records of a packed record, each exactly as the bridge wrote it; ValueError if not packed."""
    try:
        return [bytes(b) for b in _decode_packed_raw(raw).batches]
    except msgspec.DecodeError as e:
        raise ValueError(f"not a packed readings record: {e}") from e
