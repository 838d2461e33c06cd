"""After a commit: count the outcomes and push every changed alarm's id to the consoles' live streams.

Each stream reads the alarm it is told about through the console's one read
model (alerts.console.alarms) and filters it to its user's wards.
"""

from __future__ import annotations

import logging

import psycopg

from alerts.broadcast import Broadcaster
from alerts.engine import Outcome
from alerts.metrics import AlertMetrics

log = logging.getLogger(__name__)


def announce(
    conn: psycopg.Connection, outcomes: list[Outcome], broadcaster: Broadcaster, metrics: AlertMetrics
) -> None:
    pushed: set[str] = set()
    for out in outcomes:
        metrics.observe(out)
        a = out.alarm
        if a is None or not (out.new_alarm or out.dispatches) or a.id in pushed:
            continue
        pushed.add(a.id)
        broadcaster.publish(a.id)
        for t in out.transitions:
            log.info("alarm %s", t.kind.value, extra={"alert_id": a.id, "rule": a.rule, "priority": a.priority.value,
                                                    "state": t.to_state.value, "actor": t.actor})
