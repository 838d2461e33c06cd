"""The console's narrow interface to the alarm lifecycle: acknowledge, pause, escalate.

Each function runs in the caller's transaction, records the step in
``alert_events`` (who, when) and moves ``alerts.state``. States and event
details follow the lifecycle of issue 7 (alerts.alarm_model: active,
escalated, acknowledged, paused, resolved; escalated events carry ``level``
and ``target``).

MERGE NOTE: when the alarm lifecycle (branch ``alerts``) is merged, the
bodies of ``acknowledge`` and ``pause`` become calls to
``alerts.processing.acknowledge`` / ``alerts.processing.pause`` (mapping
``processing.NotFound`` to ``AlertNotFound`` and ``TransitionError`` to
``Refused``), and ``escalate`` is what its timer loop does on its own
(``engine.on_alarm_tick``); the console keeps calling these names.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import psycopg

# Acknowledge silences a sounding or paused alarm; pause only a sounding one.
_ACKNOWLEDGEABLE = frozenset({"active", "escalated", "paused"})
_PAUSABLE = frozenset({"active", "escalated"})


class AlertNotFound(LookupError):
    pass


class Refused(ValueError):
    """The alarm's state does not allow this action (e.g. already acknowledged)."""

    def __init__(self, state: str, by: str | None = None) -> None:
        super().__init__(state)
        self.state = state
        self.by = by


def _lock(conn: psycopg.Connection, alert_id: str) -> str:
    row = conn.execute("SELECT state FROM alerts WHERE id = %s FOR UPDATE", (alert_id,)).fetchone()
    if row is None:
        raise AlertNotFound(alert_id)
    return str(row[0])


def _event(conn: psycopg.Connection, alert_id: str, event: str, actor: str, at: datetime,
           detail: dict[str, object]) -> None:
    conn.execute(
        "INSERT INTO alert_events (alert_id, event, actor, at, detail) VALUES (%s, %s, %s, %s, %s)",
        (alert_id, event, actor, at, json.dumps(detail, default=str)),
    )


def _last_ack(conn: psycopg.Connection, alert_id: str) -> str | None:
    row = conn.execute(
        "SELECT actor FROM alert_events WHERE alert_id = %s AND event = 'acknowledged' ORDER BY at DESC, id DESC LIMIT 1",
        (alert_id,),
    ).fetchone()
    return str(row[0]) if row else None


def acknowledge(conn: psycopg.Connection, alert_id: str, user: str, at: datetime, note: str = "") -> str:
    """Acknowledge; returns the new state. Refused if it is not sounding or paused."""
    state = _lock(conn, alert_id)
    if state not in _ACKNOWLEDGEABLE:
        raise Refused(state, _last_ack(conn, alert_id))
    conn.execute("UPDATE alerts SET state = 'acknowledged' WHERE id = %s", (alert_id,))
    _event(conn, alert_id, "acknowledged", user, at, {"from": state, "to": "acknowledged", "note": note})
    return "acknowledged"


def pause(conn: psycopg.Connection, alert_id: str, user: str, seconds: float, at: datetime) -> str:
    """Pause the audio of a sounding alarm for ``seconds`` (IEC 60601-1-8 audio paused)."""
    state = _lock(conn, alert_id)
    if state not in _PAUSABLE:
        raise Refused(state, _last_ack(conn, alert_id))
    until = at + timedelta(seconds=seconds)
    conn.execute("UPDATE alerts SET state = 'paused' WHERE id = %s", (alert_id,))
    _event(conn, alert_id, "paused", user, at, {"from": state, "to": "paused", "seconds": seconds,
                                                "until": until.isoformat()})
    return "paused"


def escalate(conn: psycopg.Connection, alert_id: str, at: datetime, level: int, target: str,
             actor: str = "system", reason: str = "not acknowledged in time") -> str:
    """Escalate a still-unacknowledged alarm to ``target`` (e.g. the charge nurse)."""
    state = _lock(conn, alert_id)
    if state not in _PAUSABLE:
        raise Refused(state, _last_ack(conn, alert_id))
    conn.execute("UPDATE alerts SET state = 'escalated' WHERE id = %s", (alert_id,))
    _event(conn, alert_id, "escalated", actor, at,
           {"from": state, "to": "escalated", "level": level, "target": target, "reason": reason})
    return "escalated"
