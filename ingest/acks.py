"""Which MQTT messages may be acknowledged now (pure bookkeeping, no IO).

A message is acknowledged only when every Kafka record made from it was
confirmed, and acknowledgements go out in the order the messages arrived:
MQTT requires a receiver to send PUBACKs in the order of the PUBLISHes
(MQTT 5.0 section 4.6). Messages received on an earlier connection are
never acknowledged on a later one: after a reconnect the broker resends
them (possibly under a packet id it has since reused), so acknowledging
the old copy could acknowledge a different message.

Thread-safe: records are confirmed from librdkafka delivery callbacks,
which run in whichever thread polls the producer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(slots=True)
class Entry:
    mid: int
    qos: int
    generation: int
    received_mono: float
    remaining: int


class Release(NamedTuple):
    """A message whose records are all in Kafka; ``ack`` is False if its connection is gone."""

    mid: int
    qos: int
    ack: bool
    received_mono: float


class AckTracker:
    def __init__(self) -> None:
        self._queue: deque[Entry] = deque()
        self._lock = threading.Lock()
        self.generation = 0

    def new_connection(self) -> int:
        with self._lock:
            self.generation += 1
            return self.generation

    def add(self, mid: int, qos: int, generation: int, received_mono: float, records: int) -> Entry:
        e = Entry(mid, qos, generation, received_mono, records)
        with self._lock:
            self._queue.append(e)
        return e

    def add_many(self, entries: list[Entry]) -> list[Entry]:
        """``add`` of each, in order, under one lock (a batch of messages)."""
        with self._lock:
            self._queue.extend(entries)
        return entries

    def confirm(self, entry: Entry) -> list[Release]:
        """One record of ``entry`` is in Kafka; return the messages that can now be released, in order."""
        return self.confirm_many((entry,))

    def confirm_many(self, entries: Sequence[Entry]) -> list[Release]:
        """``confirm`` of one record of each entry (a packed record), under one lock."""
        with self._lock:
            for entry in entries:
                entry.remaining -= 1
            return self._release()

    def release_ready(self) -> list[Release]:
        with self._lock:
            return self._release()

    def _release(self) -> list[Release]:
        out: list[Release] = []
        q = self._queue
        while q and q[0].remaining <= 0:
            e = q.popleft()
            out.append(Release(e.mid, e.qos, e.qos > 0 and e.generation == self.generation, e.received_mono))
        return out

    def __len__(self) -> int:
        return len(self._queue)

    def oldest(self) -> float | None:
        """Receive time (monotonic) of the oldest message still waiting for Kafka."""
        with self._lock:
            return self._queue[0].received_mono if self._queue else None
