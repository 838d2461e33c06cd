"""Packed readings: many ReadingBatch records of one pack group in one Kafka record.

A Faust agent costs about the same per Kafka record whatever the record
holds (the no-op agent: 2,000-9,000 records/s per core here), while a
bedside monitor sends 3 readings a second: one record per device message
would spend most of the stream worker on Faust itself. So the bridge also
writes the accepted batches of each partition (``partition_of(patient_id)``)
as one record of ``rpm.readings-packed.v1`` every ``RPM_PACK_LINGER_S``: a
patient always lands on the same partition, where the worker keeps the
patient's state. Every producer of this topic must use ``partition_of``.

The value is ``{"v":1,"batches":[<ReadingBatch JSON>, ...]}`` (the batch
records exactly as on ``rpm.readings.v1``, joined, never re-serialised).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

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
