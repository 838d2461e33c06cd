"""Readings records -> rows without building pydantic models, for the sink's hot path.

Validating every reading through pydantic costs ~9 us; this accepts only the
plain, canonical JSON that wire.messages.ReadingBatch.model_dump_json writes
(strictly a subset of what the model accepts) and builds the same rows in a
fraction of that. Anything else raises NotCanonical and the caller falls
back to the full model, which either accepts it or names the error.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import get_args

from storage.readings import ReadingRow
from wire.messages import DeviceKind, PatientId, QualityFlag
from wire.units import UNITS, ReadingType

_ID = re.compile(get_args(PatientId)[1].pattern)  # the wire contract's own id pattern
_BATCH_KEYS = frozenset({"v", "patient_id", "device_id", "seq", "sent_at", "received_at", "readings",
                         "waveforms", "device_kind", "spo2_scale"})
_KINDS = frozenset(k.value for k in DeviceKind)
_READING_KEYS = frozenset({"type", "t", "value", "flags"})
_UNIT = {t.value: UNITS[t].canonical for t in ReadingType}
_FLAGS = frozenset(f.value for f in QualityFlag)


class NotCanonical(ValueError):
    pass


def _time(s: object) -> datetime:
    # Extended ISO 8601 with a UTC offset, as pydantic writes it; the
    # separator checks keep out forms fromisoformat alone would accept
    # (basic format, a space or other separators) that the model may not.
    if type(s) is not str or len(s) < 20 or s[4] != "-" or s[7] != "-" or s[10] != "T" or s[13] != ":":
        raise NotCanonical("time")
    try:
        t = datetime.fromisoformat(s)
    except ValueError as e:
        raise NotCanonical("time") from e
    if t.tzinfo is None:
        raise NotCanonical("naive time")
    return t


def _ident(s: object) -> str:
    if type(s) is not str or not _ID.match(s):
        raise NotCanonical("id")
    return s


def rows(raw: bytes) -> list[ReadingRow]:
    try:
        d = json.loads(raw)
    except ValueError as e:
        raise NotCanonical("json") from e
    if type(d) is not dict or not d.keys() <= _BATCH_KEYS or d.get("v", 1) != 1 or type(d.get("v", 1)) is not int:
        raise NotCanonical("batch keys")
    try:
        patient, device, seq = _ident(d["patient_id"]), _ident(d["device_id"]), d["seq"]
        _time(d["sent_at"])
        received = _time(d["received_at"])
        items = d["readings"]
    except KeyError as e:
        raise NotCanonical("missing field") from e
    if type(seq) is not int or type(items) is not list:
        raise NotCanonical("seq/readings")
    # Routing hints the sink does not store: checked, not kept. Waveform
    # snippets (rare, large) are left to the model.
    kind, scale = d.get("device_kind"), d.get("spo2_scale")
    if d.get("waveforms", []) != [] or not (kind is None or (type(kind) is str and kind in _KINDS)):
        raise NotCanonical("waveforms/device_kind")
    if not (scale is None or (type(scale) is int and scale in (1, 2))):
        raise NotCanonical("spo2_scale")
    out: list[ReadingRow] = []
    for r in items:
        if type(r) is not dict or not r.keys() <= _READING_KEYS:
            raise NotCanonical("reading keys")
        try:
            kind, value, flags = r["type"], r["value"], r.get("flags", [])
            t = _time(r["t"])
        except KeyError as e:
            raise NotCanonical("missing reading field") from e
        unit = _UNIT.get(kind) if type(kind) is str else None
        if unit is None or type(value) not in (float, int) or not math.isfinite(value):
            raise NotCanonical("reading type/value")
        if type(flags) is not list:
            raise NotCanonical("flags")
        if flags:  # usually empty: skip the set test
            try:
                known = _FLAGS.issuperset(flags)
            except TypeError as e:  # an unhashable item
                raise NotCanonical("flags") from e
            if not known:
                raise NotCanonical("flags")
        out.append((t, patient, device, kind, float(value), unit, flags, seq, received))
    return out
