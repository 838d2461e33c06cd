"""Raw waveform snippets (PPG, ECG): rows from readings records, idempotent writes, reads for the strip.

One row per snippet in ``waveform_snippets`` (migration 0400), natural key
(patient, device, kind, start): a replayed or re-sent snippet adds nothing.
Samples are stored in the smallest encoding that gives every sample back
exactly (``encode``): devices mostly send ADC codes, which fit int16.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
import psycopg
from pydantic import ValidationError

from wire.messages import MAX_WAVEFORM_SECONDS, ReadingBatch, WaveformSnippet

log = logging.getLogger(__name__)

# Little endian whatever the server or client: the bytes are portable.
DTYPES: dict[str, np.dtype[Any]] = {
    "i16": np.dtype("<i2"), "i32": np.dtype("<i4"), "f32": np.dtype("<f4"), "f64": np.dtype("<f8"),
}
# The longest snippet the wire contract allows: a strip query looks this far
# back for snippets that began before its span and reach into it.
MAX_SNIPPET = timedelta(seconds=MAX_WAVEFORM_SECONDS)


@dataclass(frozen=True, slots=True)
class SnippetRow:
    """One ``waveform_snippets`` row; fields in column order."""

    patient_id: str
    device_id: str
    kind: str
    start_at: datetime
    end_at: datetime
    fs_hz: float
    adc_bits: int | None
    unit: str
    n_samples: int
    encoding: str
    samples: bytes
    received_at: datetime


_COLUMNS = [f.name for f in fields(SnippetRow)]


def encode(samples: Sequence[float]) -> tuple[str, bytes]:
    """The smallest lossless encoding: integers as int16/int32, else float32 if exact, else float64."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError("samples must be finite and not empty")
    if np.array_equal(x, np.rint(x)):
        lo, hi = x.min(), x.max()
        if -(2 ** 15) <= lo and hi < 2 ** 15:
            return "i16", x.astype("<i2").tobytes()
        if -(2 ** 31) <= lo and hi < 2 ** 31:
            return "i32", x.astype("<i4").tobytes()
    f32 = x.astype("<f4")
    if np.array_equal(f32.astype(np.float64), x):
        return "f32", f32.tobytes()
    return "f64", x.astype("<f8").tobytes()


def decode(encoding: str, data: bytes) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.frombuffer(data, dtype=DTYPES[encoding]).astype(np.float64)


def row_from(batch: ReadingBatch, s: WaveformSnippet) -> SnippetRow:
    encoding, data = encode(s.samples)
    n = len(s.samples)
    return SnippetRow(batch.patient_id, batch.device_id, s.kind.value, s.t, s.t + timedelta(seconds=n / s.fs_hz),
                      s.fs_hz, s.adc_bits, s.unit, n, encoding, data, batch.received_at)


def rows_from(batch: ReadingBatch) -> list[SnippetRow]:
    return [row_from(batch, s) for s in batch.waveforms]


def salvage(raw: bytes) -> tuple[ReadingBatch, int] | None:
    """A record the model refused, without its invalid snippets: (the rest, how many were dropped).

    None when the snippets were not the problem. A bad snippet must not cost
    the readings or the good snippets travelling with it."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("waveforms"), list) or not obj["waveforms"]:
        return None
    good: list[WaveformSnippet] = []
    for w in obj["waveforms"]:
        try:
            good.append(WaveformSnippet.model_validate(w))
        except ValidationError:
            pass
    dropped = len(obj["waveforms"]) - len(good)
    if not dropped:
        return None
    try:
        return ReadingBatch.model_validate({**obj, "waveforms": []}).model_copy(update={"waveforms": tuple(good)}), dropped
    except ValidationError:
        return None


_INSERT = (f"INSERT INTO waveform_snippets ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
           " ON CONFLICT DO NOTHING")
# What the database refuses because of the row itself (a constraint, a value
# out of range): skipped and counted. Anything else (connection lost, server
# shutting down) propagates so the caller retries the whole batch.
_ROW_ERRORS = (psycopg.errors.DataError, psycopg.errors.IntegrityError)


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: int
    duplicate: int
    rejected: int


def write(conn: psycopg.Connection, rows: Sequence[SnippetRow]) -> WriteResult:
    """Insert snippets idempotently in the caller's transaction.

    All rows in one statement inside a savepoint; if the database refuses
    one, each row again in its own savepoint, so the refused one is counted
    and skipped and never blocks the rest (or the readings of the same
    transaction)."""
    if not rows:
        return WriteResult(0, 0, 0)
    values = [astuple(r) for r in rows]
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(_INSERT, values)
            inserted = cur.rowcount
        return WriteResult(inserted, len(rows) - inserted, 0)
    except _ROW_ERRORS:
        pass
    inserted = rejected = 0
    for r, v in zip(rows, values, strict=True):
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(_INSERT, v)
                inserted += cur.rowcount
        except _ROW_ERRORS as e:
            rejected += 1
            log.error("waveform snippet refused by the database",
                      extra={"device": r.device_id, "kind": r.kind, "error": str(e)[:200]})
    return WriteResult(inserted, len(rows) - inserted - rejected, rejected)


@dataclass(frozen=True, slots=True)
class Snippet:
    """A stored snippet with its samples decoded."""

    device_id: str
    kind: str
    start_at: datetime
    fs_hz: float
    adc_bits: int | None
    unit: str
    samples: np.ndarray[Any, np.dtype[np.float64]]

    def time_of(self, i: int) -> datetime:
        return self.start_at + timedelta(seconds=i / self.fs_hz)


def read(conn: psycopg.Connection, patient_id: str, start: datetime, end: datetime) -> list[Snippet]:
    """Snippets overlapping [start, end), by device, kind and time."""
    rows = conn.execute(
        "SELECT device_id, kind, start_at, fs_hz, adc_bits, unit, encoding, samples FROM waveform_snippets"
        " WHERE patient_id = %s AND start_at < %s AND start_at >= %s AND end_at > %s"
        " ORDER BY device_id, kind, start_at",
        (patient_id, end, start - MAX_SNIPPET, start),
    ).fetchall()
    return [Snippet(dev, kind, at, fs, bits, unit, decode(enc, bytes(data)))
            for dev, kind, at, fs, bits, unit, enc, data in rows]


def latest_end(conn: psycopg.Connection, patient_id: str, not_before: datetime) -> datetime | None:
    """End of the newest snippet the patient has since ``not_before`` (any device or kind)."""
    row = conn.execute(
        "SELECT max(end_at) FROM waveform_snippets WHERE patient_id = %s AND start_at >= %s",
        (patient_id, not_before),
    ).fetchone()
    return row[0] if row else None
