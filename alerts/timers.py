"""The timer loop: every due condition timer and alarm timer, as persisted due times in PostgreSQL.

Nothing lives only in memory: a restarted (or another) instance finds the
same due rows, and each is decided under its row lock, so a timer fires
once however many instances poll.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from alerts import alarm_store, live, processing
from alerts.broadcast import Broadcaster
from alerts.engine import Outcome
from alerts.metrics import AlertMetrics
from alerts.notification_plan import ChannelsEnabled
from runtime.health import Health

log = logging.getLogger(__name__)


def run_due(conn: psycopg.Connection, now: datetime, channels: ChannelsEnabled) -> list[Outcome]:
    """Fire everything due at ``now``, one transaction per condition or alarm. ``conn`` is autocommit."""
    outs: list[Outcome] = []
    for patient_id, rule, source in alarm_store.due_conditions(conn, now):
        _guarded(outs, functools.partial(processing.tick_condition, conn, patient_id, rule, source, now, channels),
                 conn, f"condition {rule}")
    for alarm_id in alarm_store.due_alarms(conn, now):
        _guarded(outs, functools.partial(processing.tick_alarm, conn, alarm_id, now, channels), conn,
                 f"alarm {alarm_id}")
    return outs


def _guarded(outs: list[Outcome], step: Callable[[], Outcome | None], conn: psycopg.Connection, what: str) -> None:
    """One timer in its own transaction; a failure other than the database's is logged and skipped, so one bad
    row does not stop every other timer (it stays due and is retried next round)."""
    try:
        with conn.transaction():
            out = step()
    except psycopg.Error:
        raise
    except Exception:
        log.exception("timer failed", extra={"what": what})
        return
    if out is not None:
        outs.append(out)


def run_loop(
    dsn: str, channels: ChannelsEnabled, broadcaster: Broadcaster, metrics: AlertMetrics, hc: Health,
    stop: threading.Event, interval_s: float = 1.0,
) -> threading.Thread:
    def loop() -> None:
        conn: psycopg.Connection | None = None
        while not stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
                outs = run_due(conn, datetime.now(UTC), channels)
                live.announce(conn, outs, broadcaster, metrics)
                hc.set("timers", True)
            except psycopg.Error as e:
                log.warning("timer loop database error", extra={"error": str(e)[:200]})
                hc.set("timers", False, str(e)[:200])
                if conn is not None:
                    conn.close()
                conn = None
            stop.wait(interval_s)
        if conn is not None:
            conn.close()

    t = threading.Thread(target=loop, name="alarm-timers", daemon=True)
    t.start()
    return t
