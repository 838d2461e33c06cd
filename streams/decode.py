"""Decode a readings record for the stream core: a fast path, pydantic for the rest.

Validating a record with ``ReadingBatch.model_validate_json`` and turning
each aware datetime into epoch ms cost about 2.3 us per reading, most of the
worker's per-reading budget. The fast path parses with orjson and checks by
hand the one shape the bridge writes (plain JSON numbers and strings, RFC
3339 times with ``Z`` or a numeric offset, no waveforms); it converts each
distinct time string once per record (a monitor stamps HR, SpO2 and RR with
the same instant). Whatever it does not recognise (unknown or missing keys,
waveforms, numeric strings, other time formats, invalid JSON) goes to the
pydantic model, which has the final word. So the fast path accepts only
records ReadingBatch accepts, and a record either path accepts yields the
same Batch (tests/streams/test_decode.py checks both on random records).

A record neither path accepts raises ValueError: the worker counts and
skips it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from streams.batch import Batch, Samples, from_model
from streams.quality import FLAG_BIT
from wire.messages import DeviceKind, ReadingBatch
from wire.units import ReadingType

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # wire.messages.DeviceId / PatientId
# Only ASCII digits and in-range fields: anything else is pydantic's to judge.
_TIME = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_TOP_KEYS = frozenset({"v", "patient_id", "device_id", "seq", "sent_at", "received_at", "readings", "waveforms",
                       "device_kind", "spo2_scale"})
_REQUIRED = frozenset({"patient_id", "device_id", "seq", "sent_at", "received_at", "readings"})
_TYPES: dict[str, ReadingType] = {t.value: t for t in ReadingType}
_FLAGS: dict[str, int] = {f.value: bit for f, bit in FLAG_BIT.items()}
_KINDS = frozenset(k.value for k in DeviceKind)
_EXACT_FLOAT = 2**53  # ints beyond this might round differently in the two parsers


class _Unrecognised(Exception):
    """Not the shape the fast path knows; pydantic decides."""


def decode(raw: bytes) -> Batch:
    """The record as a Batch; ValueError if it is not a valid ReadingBatch."""
    try:
        return _fast(orjson.loads(raw))
    except (_Unrecognised, orjson.JSONDecodeError, KeyError, TypeError, ValueError, OverflowError):
        pass
    return from_model(ReadingBatch.model_validate_json(raw))  # pydantic.ValidationError is a ValueError


def decode_packed(raw: bytes) -> tuple[list[Batch], int]:
    """The batches of a packed record (wire.packed) and how many of them were invalid.

    One bad batch costs only itself; a record that is not a packed envelope at
    all raises ValueError."""
    j = orjson.loads(raw)  # JSONDecodeError is a ValueError
    if type(j) is not dict or j.get("v") != 1 or type(batches := j.get("batches")) is not list:
        raise ValueError("not a packed readings record")
    out: list[Batch] = []
    bad = 0
    for b in batches:
        try:
            out.append(_fast(b))
            continue
        except (_Unrecognised, KeyError, TypeError, ValueError, OverflowError):
            pass
        try:  # the model decides, on exactly the JSON the bridge wrote
            out.append(from_model(ReadingBatch.model_validate_json(orjson.dumps(b))))
        except ValueError:
            bad += 1
    return out, bad


def _ms(s: str) -> int:
    if _TIME.fullmatch(s) is None:
        raise _Unrecognised
    # Same formula as streams.stats.to_ms on the datetime pydantic would build.
    return int(round(datetime.fromisoformat(s).timestamp() * 1000.0))


def _id(x: Any) -> str:
    if type(x) is not str or _ID.fullmatch(x) is None:
        raise _Unrecognised
    return x


def _fast(j: Any) -> Batch:
    if type(j) is not dict:
        raise _Unrecognised
    keys = j.keys()
    if not keys <= _TOP_KEYS or not _REQUIRED <= keys:
        raise _Unrecognised
    v = j.get("v", 1)
    seq = j["seq"]
    kind = j.get("device_kind")
    scale = j.get("spo2_scale")
    readings = j["readings"]
    if (
        (v != 1 or type(v) is not int)
        or type(seq) is not int
        or j.get("waveforms", ()) not in ((), [])
        or not (kind is None or (type(kind) is str and kind in _KINDS))
        or not (scale is None or (type(scale) is int and scale in (1, 2)))
        or type(readings) is not list
    ):
        raise _Unrecognised
    sent_at, received_at = j["sent_at"], j["received_at"]
    if type(sent_at) is not str or type(received_at) is not str:
        raise _Unrecognised
    times: dict[str, int] = {}  # time string -> epoch ms, within this record
    groups: dict[ReadingType, Samples] = {}
    for r in readings:
        if type(r) is not dict:
            raise _Unrecognised
        rt = _TYPES[r["type"]]  # KeyError / TypeError: unrecognised
        ts = r["t"]
        value = r["value"]
        if len(r) == 3:
            bits = 0
        elif len(r) == 4 and type(flags := r["flags"]) is list:
            bits = 0
            for f in flags:
                bits |= _FLAGS[f]
        else:
            raise _Unrecognised
        if type(value) is not float:
            if type(value) is not int or not -_EXACT_FLOAT < value < _EXACT_FLOAT:
                raise _Unrecognised
            value = float(value)
        t_ms = times.get(ts)
        if t_ms is None:
            if type(ts) is not str:
                raise _Unrecognised
            t_ms = times[ts] = _ms(ts)
        g = groups.get(rt)
        if g is None:
            g = groups[rt] = Samples()
        g.t.append(t_ms)
        g.v.append(value)
        g.bits.append(bits)
        if bits:
            g.flagged = True
    return Batch(
        patient_id=_id(j["patient_id"]), device_id=_id(j["device_id"]), seq=seq,
        sent_ms=times[sent_at] if sent_at in times else _ms(sent_at),
        received_ms=times[received_at] if received_at in times else _ms(received_at),
        groups=groups, n_readings=len(readings), device_kind=kind, spo2_scale=scale,
    )
