"""Fan-out of changed alarm ids from the consumer, timer and console actions to live console streams (SSE)."""

from __future__ import annotations

import asyncio
import threading


class Broadcaster:
    def __init__(self) -> None:
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> asyncio.Queue[str]:
        q: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subs.add((asyncio.get_running_loop(), q))
        return q

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        with self._lock:
            self._subs = {s for s in self._subs if s[1] is not q}

    def publish(self, message: str) -> None:
        """Thread-safe; a subscriber whose queue is full misses the push and catches up on reload."""
        with self._lock:
            subs = list(self._subs)
        for loop, q in subs:
            loop.call_soon_threadsafe(_put, q, message)


def _put(q: asyncio.Queue[str], message: str) -> None:
    if not q.full():
        q.put_nowait(message)
