"""Alarm metrics read from the database, for the operators' dashboards and alerts.

How many alarms wait for acknowledgement and for how long, how long
acknowledging took, and how long an alarm took from the end of its measured
window to being stored (the end-to-end delay a nurse experiences). They are
computed from the ``alerts`` and ``alert_events`` tables rather than counted
in-process, so they hold whichever console replica or tool acknowledged.

Contract with the alert lifecycle: an alert whose ``state`` is ``'active'``
is not yet acknowledged, and an ``'acknowledged'`` row in ``alert_events``
records the acknowledgement.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from wire.messages import Priority

log = logging.getLogger(__name__)

UNACKNOWLEDGED_STATE = "active"
ACK_EVENT = "acknowledged"
RAISED_EVENT = "raised"


class AlarmMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.unacknowledged = Gauge(
            "rpm_alerts_unacknowledged", "alarms not yet acknowledged, by priority", ["priority"], registry=registry
        )
        self.oldest = Gauge(
            "rpm_alerts_oldest_unacknowledged_seconds",
            "age of the oldest unacknowledged alarm (0 when none), by priority",
            ["priority"],
            registry=registry,
        )
        self.time_to_ack = Histogram(
            "rpm_alerts_time_to_acknowledge_seconds",
            "alarm raised to acknowledged, by priority",
            ["priority"],
            buckets=(5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
            registry=registry,
        )
        self.end_to_end = Histogram(
            "rpm_alerts_end_to_end_seconds",
            "end of the alarm's measured window to the alarm stored and pushed, by priority",
            ["priority"],
            buckets=(0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300),
            registry=registry,
        )
        self.poll_errors = Counter("rpm_alerts_metrics_poll_errors", "failed metric queries", registry=registry)
        # Every priority's series exists from the start: a dashboard or alert
        # sees 0, not "no data", before the first alarm of a priority.
        for p in Priority:
            for metric in (self.unacknowledged, self.oldest, self.time_to_ack, self.end_to_end):
                metric.labels(p.value)
        # alert_events ids already observed; None until the first poll, which
        # starts from the newest event rather than replaying history.
        self._last_event_id: int | None = None

    def poll(self, conn: psycopg.Connection) -> None:
        """Refresh the gauges and observe the events since the previous poll."""
        counts = {p.value: (0, 0.0) for p in Priority}
        for priority, n, oldest in conn.execute(
            "SELECT priority, count(*), extract(epoch FROM now() - min(raised_at))::float8"
            " FROM alerts WHERE state = %s GROUP BY priority",
            (UNACKNOWLEDGED_STATE,),
        ):
            counts[priority] = (n, max(0.0, oldest or 0.0))
        for priority, (n, oldest) in counts.items():
            self.unacknowledged.labels(priority).set(n)
            self.oldest.labels(priority).set(oldest)

        if self._last_event_id is None:
            self._last_event_id = conn.execute("SELECT coalesce(max(id), 0) FROM alert_events").fetchone()[0]  # type: ignore[index]
            return
        # Ids of concurrently committed events may appear out of order; one
        # missed observation skews a histogram slightly and loses no alarm.
        rows = conn.execute(
            "SELECT e.id, e.event, a.priority,"
            " extract(epoch FROM e.at - a.raised_at)::float8, extract(epoch FROM a.raised_at - a.window_end)::float8"
            " FROM alert_events e JOIN alerts a ON a.id = e.alert_id"
            " WHERE e.id > %s AND e.event IN (%s, %s) ORDER BY e.id",
            (self._last_event_id, RAISED_EVENT, ACK_EVENT),
        ).fetchall()
        for event_id, event, priority, since_raised, e2e in rows:
            if event == ACK_EVENT:
                self.time_to_ack.labels(priority).observe(max(0.0, since_raised))
            else:
                self.end_to_end.labels(priority).observe(max(0.0, e2e))
            self._last_event_id = event_id


def start(dsn: str, metrics: AlarmMetrics, stop: threading.Event, every_s: float = 10.0) -> threading.Thread:
    """Poll every ``every_s`` seconds until ``stop``; database errors are counted and retried."""

    def loop() -> None:
        conn: psycopg.Connection | None = None
        while not stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
                metrics.poll(conn)
            except psycopg.Error as e:
                metrics.poll_errors.inc()
                log.warning("alarm metrics query failed", extra={"error": str(e)[:200]})
                if conn is not None:
                    conn.close()
                conn = None
            stop.wait(every_s)
        if conn is not None:
            conn.close()

    t = threading.Thread(target=loop, name="alarm-metrics", daemon=True)
    t.start()
    return t
