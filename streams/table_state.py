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

Writes are deferred: ``mark`` records that a patient's state changed and
``flush`` writes each changed state once (History before Live). The worker
flushes every ``RPM_STATE_FLUSH_S`` and acknowledges the input records only
after the flush that covers them, so a committed offset never runs ahead of
the state in the changelog; a patient sending every second costs one
changelog record per flush instead of one per reading batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import faust

from streams.state import History, Live, decode_history, decode_live, encode

HIST_SUFFIX = "#h"  # '#' cannot occur in a patient id (wire.messages.PatientId)


class StateStore:
    def __init__(self, table: faust.Table) -> None:
        self.table = table
        self.written: dict[str, float] = {}  # patient -> monotonic time of last write (refresh)
        self.dirty: dict[str, list[bool]] = {}  # patient -> [live changed, history changed] since the flush
        self._by_partition: dict[int, set[str]] | None = None  # built on first use (after recovery)

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

    def mark(self, pid: str, partition: int, *, live_dirty: bool, hist_dirty: bool) -> None:
        """Remember that the state changed; written by the next ``flush``."""
        if not (live_dirty or hist_dirty):
            return
        d = self.dirty.get(pid)
        if d is None:
            self.dirty[pid] = [live_dirty, hist_dirty]
        else:
            d[0] |= live_dirty
            d[1] |= hist_dirty
        if self._by_partition is not None:
            self._by_partition.setdefault(partition, set()).add(pid)

    def flush(self) -> int:
        """Write every changed state once; returns bytes written."""
        size = 0
        dirty, self.dirty = self.dirty, {}
        for pid, (live_dirty, hist_dirty) in dirty.items():
            live, hist = self.get(pid)
            size += self.put(pid, live, hist, live_dirty=live_dirty, hist_dirty=hist_dirty)
        return size

    async def flush_in_chunks(self, chunk: int = 50) -> int:
        """``flush``, giving the event loop a turn every ``chunk`` patients; returns bytes written.

        At ward scale a flush encodes and produces thousands of states (a few hundred ms here):
        done in one go, every reading queued behind it, alarms included, waited. States changed
        while it runs are marked dirty again and written by the next flush (the ones taken here
        are written as they are when their turn comes, which covers everything processed before)."""
        size = 0
        dirty, self.dirty = self.dirty, {}
        todo = list(dirty.items())
        try:
            for i, (pid, (live_dirty, hist_dirty)) in enumerate(todo):
                if i and i % chunk == 0:
                    await asyncio.sleep(0)
                live, hist = self.get(pid)
                size += self.put(pid, live, hist, live_dirty=live_dirty, hist_dirty=hist_dirty)
        except BaseException:
            for pid, (live_dirty, hist_dirty) in todo:  # written again next time (a rewrite is harmless)
                self.mark(pid, self.get(pid)[0].partition, live_dirty=live_dirty, hist_dirty=hist_dirty)
            raise
        return size

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
        """Patients whose state lives on ``partition`` (decodes recovered states on first use).

        The partition index is built once from the table (after recovery) and
        kept up to date by ``mark``: a tick must not scan every key of the
        table for each of its partitions."""
        if self._by_partition is None:
            index: dict[int, set[str]] = {}
            for key in list(self.table.data.keys()):
                pid = key.decode() if isinstance(key, bytes) else str(key)
                if not pid.endswith(HIST_SUFFIX):
                    index.setdefault(self.get(pid)[0].partition, set()).add(pid)
            self._by_partition = index
        yield from sorted(self._by_partition.get(partition, ()))

    def stale(self, pid: str, older_than_s: float) -> bool:
        last = self.written.get(pid)
        if last is None:  # recovered, not written by this process yet
            self.written[pid] = time.monotonic()
            return False
        return time.monotonic() - last > older_than_s
