"""Patient state in a Faust table, written with an explicit changelog partition.

Faust only lets ``table[key] = value`` run inside a stream event and takes
the changelog partition from that event. Wall-clock work arrives as tick
records on ``rpm.stream-ticks.v1`` partition n (the same n as the readings
partition its patients live on), so writes from a tick are ordinary stream
writes too; they go through ``send_changelog`` with the patient's partition,
which is what ``__setitem__`` does, minus the assumption that the current
event's partition is the key's.

Values are decoded lazily: after recovery the table holds the changelog's
bytes, and a patient's state is decoded on first use.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import faust

from streams.state import History, Live, decode_history, decode_live, encode

HIST_SUFFIX = "#h"  # '#' cannot occur in a patient id (wire.messages.PatientId)


class StateStore:
    def __init__(self, table: faust.Table) -> None:
        self.table = table
        self.written: dict[str, float] = {}  # patient -> monotonic time of last write (refresh)

    def get(self, pid: str) -> tuple[Live, History]:
        data = self.table.data
        live_key, hist_key = pid.encode(), (pid + HIST_SUFFIX).encode()
        live = data.get(live_key)
        if live is None:
            live = Live()
        elif isinstance(live, bytes):
            live = decode_live(live)
        hist = data.get(hist_key)
        if hist is None:
            hist = History()
        elif isinstance(hist, bytes):
            hist = decode_history(hist)
        data[live_key], data[hist_key] = live, hist
        return live, hist

    def put(self, pid: str, live: Live, hist: History, *, live_dirty: bool, hist_dirty: bool) -> int:
        """Write what changed, History before Live (same partition, so ordered); returns bytes written."""
        size = 0
        if hist_dirty:
            raw = encode(hist)
            self.table.send_changelog(live.partition, (pid + HIST_SUFFIX).encode(), raw)
            size += len(raw)
        if live_dirty:
            raw = encode(live)
            self.table.send_changelog(live.partition, pid.encode(), raw)
            size += len(raw)
        if size:
            self.written[pid] = time.monotonic()
        return size

    def patients(self, partition: int) -> Iterator[str]:
        """Patients whose state lives on ``partition`` (decodes recovered states on first use)."""
        for key in list(self.table.data.keys()):
            pid = key.decode() if isinstance(key, bytes) else str(key)
            if pid.endswith(HIST_SUFFIX):
                continue
            live, _ = self.get(pid)
            if live.partition == partition:
                yield pid

    def stale(self, pid: str, older_than_s: float) -> bool:
        last = self.written.get(pid)
        if last is None:  # recovered, not written by this process yet
            self.written[pid] = time.monotonic()
            return False
        return time.monotonic() - last > older_than_s
