"""The wall clock a worker may act on: how far its input is known complete (pure).

Wall-clock work (closing the windows of a quiet sensor, signal loss) is
right only if the quiet is real. A worker replaying a backlog (after a
restart, a rebalance, or simply falling behind) has not yet read what
devices sent in the meantime: judged by the wall clock, every patient
further down its partition would look quiet, get windows closed early and
their readings then counted late, and a signal-loss alarm each.

So a tick acts on the input watermark of its partition instead of the raw
wall time: the wall time itself when the worker has read everything the
partition holds (live), else the bridge receive time of the last record it
processed (replaying: the input is complete up to there, not beyond). A
live worker therefore closes windows on time, a lagging one exactly as it
would have at that point live, and both give the same outputs on replay.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class PartitionInput:
    """What a worker knows of one readings partition."""

    next_offset: int = 0  # one past the last record processed
    last_received_ms: int | None = None  # bridge receive time of that record

    def processed(self, offset: int, received_ms: int) -> None:
        self.next_offset = max(self.next_offset, offset + 1)
        if self.last_received_ms is None or received_ms > self.last_received_ms:
            self.last_received_ms = received_ms


def input_watermark_ms(now_ms: int, highwater: int | None, p: PartitionInput) -> int:
    """Wall time the partition's input is complete up to; ``highwater``: the partition's end offset
    as the consumer last saw it (None when unknown: taken as caught up, the behaviour of a live worker)."""
    lag = 0 if highwater is None else highwater - p.next_offset
    if lag <= 0 or p.last_received_ms is None:
        return now_ms
    return min(now_ms, p.last_received_ms)
