"""SIGINT/SIGTERM -> a stop event, for clean shutdown of thread-based services."""

from __future__ import annotations

import signal
import threading


def stop_event() -> threading.Event:
    stop = threading.Event()

    def handler(_sig: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
