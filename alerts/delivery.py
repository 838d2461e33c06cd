"""One delivery worker per outside channel: claim a due outbox row, send it, record the result.

Each channel has its own thread and database connection, so a webhook
receiver that hangs until the timeout, or an SMS gateway that is down,
delays only its own channel; the alarm itself is already committed and on
the console.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from alerts import outbox
from alerts.channels import DeliveryError, Sender
from alerts.metrics import AlertMetrics
from alerts.notification_plan import Channel
from alerts.outbox import RetryPolicy

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def deliver_one(
    conn: psycopg.Connection, channel: Channel, sender: Sender, policy: RetryPolicy, metrics: AlertMetrics | None,
    clock: Clock = _utcnow,
) -> bool:
    """Send at most one due notification; False when none was due. ``conn`` must be in autocommit mode."""
    outcome = ""
    with conn.transaction():
        row = outbox.claim(conn, channel, clock())
        if row is None:
            return False
        try:
            sender.send(row)
        except DeliveryError as e:
            dead = outbox.mark_failed(conn, row, clock(), str(e), policy)
            outcome = "dead" if dead else "retry"
            log.warning("notification failed", extra={"channel": channel.value, "alert_id": row.alert_id,
                                                      "attempt": row.attempts + 1, "error": str(e), "dead": dead})
        else:
            outbox.mark_sent(conn, row, clock())
            outcome = "sent"
    if metrics is not None:
        metrics.notifications[(channel, outcome)].inc()
    return True


def run_worker(
    dsn: str, channel: Channel, sender: Sender, policy: RetryPolicy, metrics: AlertMetrics, stop: threading.Event,
    idle_s: float = 0.25,
) -> threading.Thread:
    def loop() -> None:
        conn: psycopg.Connection | None = None
        backoff = 0.5
        while not stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
                busy = deliver_one(conn, channel, sender, policy, metrics)
                backoff = 0.5
            except psycopg.Error as e:
                log.warning("outbox database error", extra={"channel": channel.value, "error": str(e)[:200]})
                if conn is not None:
                    conn.close()
                conn, busy = None, False
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if not busy:
                stop.wait(idle_s)
        if conn is not None:
            conn.close()

    t = threading.Thread(target=loop, name=f"deliver-{channel.value}", daemon=True)
    t.start()
    return t
