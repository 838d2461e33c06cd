"""What the chart's liveness probe (/healthz) relies on: it reflects only the
process's own loop, so dependency outages and long table recovery never
restart pods (no restart storms)."""

from __future__ import annotations

import asyncio
import threading
import time

from prometheus_client import CollectorRegistry

from runtime.health import Health, beat_from_loop
from storage.sink import SinkMetrics, Writer


def _alive_throughout(hc: Health, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not hc.alive():
            return False
        time.sleep(0.02)
    return True


def test_event_loop_beats_while_running_and_stops_when_blocked() -> None:
    hc = Health(stale_after_s=0.3)
    loop = asyncio.new_event_loop()
    beat_from_loop(loop, hc, every_s=0.05)
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    try:
        # Nothing else runs on the loop (like Faust recovering tables before
        # its agents and timers start), yet the process counts as alive.
        assert _alive_throughout(hc, 0.8)
        # A blocked loop is what liveness must catch.
        loop.call_soon_threadsafe(time.sleep, 0.8)
        time.sleep(0.6)
        assert not hc.alive()
        time.sleep(0.4)
        assert hc.alive()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(timeout=5)
        loop.close()


def test_sink_stays_alive_while_the_database_is_down() -> None:
    hc = Health(stale_after_s=1.0)
    metrics = SinkMetrics(CollectorRegistry())
    stop = threading.Event()
    # Nothing listens on port 1: every connection attempt fails at once.
    writer = Writer("postgresql://127.0.0.1:1/none?connect_timeout=1", "test-sink", metrics, hc, stop)
    t = threading.Thread(target=writer.write, args=([],), daemon=True)
    t.start()
    try:
        assert _alive_throughout(hc, 1.5)
        assert not hc.ready()  # readiness reports the outage instead
        assert hc.snapshot()["dependencies"]["database"]["ok"] is False  # type: ignore[index]
    finally:
        stop.set()
        t.join(timeout=5)
    assert not t.is_alive()
