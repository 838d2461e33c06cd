"""Open alarms as the console shows them: who acknowledged, pause end, escalation.

Reads the alert lifecycle from ``alert_events`` (who acknowledged and when,
pauses, escalations), which the foundation schema and the alarm lifecycle
(migration 0100) both write. Columns the lifecycle adds to ``alerts``
(paused_until, escalation_level) are read through ``to_jsonb(a)`` so the
same SQL runs with and without them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from alerts.console.config_models import AlarmEventOut
from alerts.console.models import AlarmOut, AlertEventOut, AlertHistoryOut
from alerts.console.users import Scope

PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}
# States in which an alarm is still sounding and needs someone.
UNANSWERED = frozenset({"active", "escalated"})

_SELECT = """
SELECT a.id, a.patient_id, p.ward_id, p.bed, p.display_name, a.rule, a.parameter, a.priority, a.state,
       a.value, a.threshold, a.message, a.window_start, a.raised_at,
       ack.actor, ack.at,
       coalesce((to_jsonb(a) ->> 'paused_until')::timestamptz, (pz.detail ->> 'until')::timestamptz),
       coalesce((to_jsonb(a) ->> 'escalation_level')::int, (esc.detail ->> 'level')::int, 0),
       esc.detail ->> 'target', a.last_value, a.condition_present,
       (SELECT u.display_name FROM users u WHERE u.id = ack.actor)
FROM alerts a
JOIN patients p ON p.id = a.patient_id
LEFT JOIN LATERAL (SELECT actor, at FROM alert_events e WHERE e.alert_id = a.id AND e.event = 'acknowledged'
                   ORDER BY e.at DESC, e.id DESC LIMIT 1) ack ON true
LEFT JOIN LATERAL (SELECT detail FROM alert_events e WHERE e.alert_id = a.id AND e.event = 'paused'
                   ORDER BY e.at DESC, e.id DESC LIMIT 1) pz ON true
LEFT JOIN LATERAL (SELECT detail FROM alert_events e WHERE e.alert_id = a.id AND e.event = 'escalated'
                   ORDER BY e.at DESC, e.id DESC LIMIT 1) esc ON true
"""


def _row(r: tuple[object, ...]) -> AlarmOut:
    keys = ("id", "patient_id", "ward_id", "bed", "display_name", "rule", "parameter", "priority", "state",
            "value", "threshold", "message", "window_start", "raised_at", "acknowledged_by", "acknowledged_at", "paused_until",
            "escalation_level", "escalated_to", "current_value", "condition_present", "acknowledged_by_name")
    return AlarmOut.model_validate(dict(zip(keys, r)))


def sort_key(a: AlarmOut) -> tuple[int, int, datetime]:
    """Unanswered alarms first, then by priority, then the longest waiting first."""
    return (0 if a.state in UNANSWERED else 1, PRIORITY_RANK.get(a.priority, 3), a.raised_at)


def open_alarms(
    conn: psycopg.Connection, scope: Scope, now: datetime, window: timedelta, ward_id: str | None = None,
    limit: int = 500,
) -> list[AlarmOut]:
    """Alarms not resolved, raised within ``window``, in the scope's wards (optionally one ward)."""
    rows = conn.execute(
        _SELECT + " WHERE a.state <> 'resolved' AND a.raised_at > %(since)s"
        " AND (%(all)s OR p.ward_id = ANY(%(wards)s)) AND (%(ward)s::text IS NULL OR p.ward_id = %(ward)s)"
        " ORDER BY a.raised_at LIMIT %(limit)s",
        {"since": now - window, "all": scope.every_ward, "wards": sorted(scope.wards), "ward": ward_id,
         "limit": limit},
    ).fetchall()
    return sorted((_row(r) for r in rows), key=sort_key)


def one(conn: psycopg.Connection, alert_id: str) -> AlarmOut | None:
    row = conn.execute(_SELECT + " WHERE a.id = %s", (alert_id,)).fetchone()
    return _row(row) if row else None


def many(conn: psycopg.Connection, alert_ids: list[str]) -> dict[str, AlarmOut]:
    """Several alarms in one query (the live stream's burst of changed ids)."""
    return {a.id: a for a in map(_row, conn.execute(_SELECT + " WHERE a.id = ANY(%s)", (alert_ids,)).fetchall())}


def events(conn: psycopg.Connection, alert_id: str) -> list[AlarmEventOut]:
    """Every recorded step of one alarm, oldest first: transitions, escalations, deliveries."""
    rows = conn.execute(
        "SELECT event, actor, at, detail FROM alert_events WHERE alert_id = %s ORDER BY at, id", (alert_id,)
    ).fetchall()
    return [AlarmEventOut(event=r[0], actor=r[1], at=r[2], detail=r[3] or {}) for r in rows]


def history(conn: psycopg.Connection, patient_id: str, start: datetime, end: datetime,
            limit: int = 500) -> list[AlertHistoryOut]:
    """A patient's alarms raised in [start, end), newest first, each with who did what and when."""
    rows = conn.execute(
        "SELECT a.id, a.rule, a.parameter, a.priority, a.state, a.value, a.threshold, a.message, a.window_start,"
        " a.raised_at FROM alerts a WHERE a.patient_id = %s AND a.raised_at >= %s AND a.raised_at < %s"
        " ORDER BY a.raised_at DESC, a.id LIMIT %s",
        (patient_id, start, end, limit),
    ).fetchall()
    ids = [r[0] for r in rows]
    steps: dict[str, list[AlertEventOut]] = {i: [] for i in ids}
    if ids:
        for alert_id, event, actor, at, name in conn.execute(
            "SELECT e.alert_id, e.event, e.actor, e.at, u.display_name FROM alert_events e"
            " LEFT JOIN users u ON u.id = e.actor WHERE e.alert_id = ANY(%s) ORDER BY e.at, e.id", (ids,)
        ):
            steps[alert_id].append(AlertEventOut(event=event, actor=actor, at=at, actor_name=name))
    keys = ("id", "rule", "parameter", "priority", "state", "value", "threshold", "message", "window_start",
            "raised_at")
    return [AlertHistoryOut.model_validate({**dict(zip(keys, r)), "events": steps[r[0]]}) for r in rows]


def recent(conn: psycopg.Connection, scope: Scope, limit: int) -> list[AlarmOut]:
    """The newest alarms in scope, any state, highest priority first (the /api/alerts list)."""
    rows = conn.execute(
        _SELECT + " WHERE (%(all)s OR p.ward_id = ANY(%(wards)s))"
        " ORDER BY CASE a.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, a.raised_at DESC"
        " LIMIT %(limit)s",
        {"all": scope.every_ward, "wards": sorted(scope.wards), "limit": limit},
    ).fetchall()
    return [_row(r) for r in rows]
