"""Packed readings: many ReadingBatch records of one pack group in one Kafka record.

A Faust agent costs about the same per Kafka record whatever the record
holds (the no-op agent: 2,000-9,000 records/s per core here), while a
bedside monitor sends 3 readings a second: one record per device message
would spend most of the stream worker (and the sink's kafka-python
consumer) on per-record overhead. So the bridge writes the accepted batches
of each partition (``partition_of(patient_id)``) as one record of
``rpm.readings-packed.v1`` every ``RPM_PACK_LINGER_S``: a patient always
lands on the same partition, where the worker keeps the patient's state.
Every producer of this topic must use ``partition_of``. It is the only
readings topic: the stream worker, the sink and the evaluation read it.

The value is ``{"v":1,"batches":[<ReadingBatch JSON>, ...]}`` (the batch
records exactly as the bridge validated them, joined, never re-serialised).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

from pydantic import Field

from wire.messages import ReadingBatch, _Frozen

_HEAD, _SEP, _TAIL = b'{"v":1,"batches":[', b",", b"]}"


class PackedReadings(_Frozen):
    v: int = Field(default=1, ge=1, le=1)
    batches: tuple[ReadingBatch, ...] = Field(min_length=1)


def partition_of(patient_id: str, partitions: int) -> int:
    """The packed-readings partition of a patient (stable across bridge instances and restarts)."""
    return zlib.crc32(patient_id.encode()) % partitions


def pack(batches: Sequence[bytes]) -> bytes:
    """Join ReadingBatch JSON records (as produced to the readings topic) into one packed value."""
    return _HEAD + _SEP.join(batches) + _TAIL


def group(batches: Iterable[tuple[str, bytes]], partitions: int, per_record: int = 64) -> list[tuple[int, bytes]]:
    """(patient id, ReadingBatch JSON) pairs as packed records: (partition, value), at most ``per_record`` batches each.

    For producers that hold many batches at once (replays, benches, tests); the
    bridge packs as messages arrive."""
    by_part: dict[int, list[bytes]] = {}
    out: list[tuple[int, bytes]] = []
    for patient_id, value in batches:
        part = partition_of(patient_id, partitions)
        waiting = by_part.setdefault(part, [])
        waiting.append(value)
        if len(waiting) >= per_record:
            out.append((part, pack(waiting)))
            by_part[part] = []
    out += [(part, pack(values)) for part, values in by_part.items() if values]
    return out
