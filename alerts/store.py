"""Alerts as the console reads them: the list (highest priority first) and one alert with its history."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

import psycopg

from wire.messages import AlertCandidate


@dataclass(frozen=True, slots=True)
class AlertView:
    id: str
    patient_id: str
    ward_id: str | None
    bed: str | None
    rule: str
    priority: str
    state: str
    value: float | None
    threshold: float | None
    message: str
    window_start: datetime
    raised_at: datetime
    condition_present: bool
    escalation_level: int
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    paused_until: datetime | None
    resolved_at: datetime | None
    trigger_count: int
    last_value: float | None
    source: str

    def to_json(self) -> dict[str, object]:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class EventView:
    event: str
    actor: str
    at: datetime
    detail: dict[str, object]

    def to_json(self) -> dict[str, object]:
        return {"event": self.event, "actor": self.actor, "at": self.at.isoformat(), "detail": self.detail}


_SELECT = (
    "SELECT a.id, a.patient_id, p.ward_id, p.bed, a.rule, a.priority, a.state, a.value, a.threshold,"
    " a.message, a.window_start, a.raised_at, a.condition_present, a.escalation_level, a.acknowledged_by,"
    " a.acknowledged_at, a.paused_until, a.resolved_at, a.trigger_count, a.last_value, a.source"
    " FROM alerts a LEFT JOIN patients p ON p.id = a.patient_id"
)


def list_alerts(
    conn: psycopg.Connection, limit: int = 100, alert_id: str | None = None, open_only: bool = False
) -> list[AlertView]:
    rows = conn.execute(
        _SELECT + " WHERE (%(id)s::text IS NULL OR a.id = %(id)s) AND (NOT %(open)s OR a.state <> 'resolved')"
        " ORDER BY CASE a.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, a.raised_at DESC"
        " LIMIT %(limit)s",
        {"id": alert_id, "limit": limit, "open": open_only},
    )
    return [AlertView(*r) for r in rows]


def events(conn: psycopg.Connection, alert_id: str) -> list[EventView]:
    """Every recorded step of one alert, oldest first: transitions, escalations, deliveries."""
    rows = conn.execute(
        "SELECT event, actor, at, detail FROM alert_events WHERE alert_id = %s ORDER BY at, id", (alert_id,)
    )
    return [EventView(*r) for r in rows]


def raise_alert(conn: psycopg.Connection, c: AlertCandidate, actor: str = "system") -> bool:
    """Record an alert straight from a candidate, with its 'raised' event; False if it exists already.

    For tools and tests that need an alert row. The service raises alarms
    through the lifecycle (``alerts.engine``), which decides whether and when.
    """
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO alerts (id, patient_id, rule, parameter, priority, value, threshold, message,"
            " window_start, window_end, detected_at, evidence, last_value)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
            (c.id, c.patient_id, c.rule, c.parameter.value if c.parameter else None, c.priority.value, c.value,
             c.threshold, c.message, c.window_start, c.window_end, c.detected_at, json.dumps(c.evidence), c.value),
        ).fetchone()
        if row is None:
            return False
        conn.execute(
            "INSERT INTO alert_events (alert_id, event, actor, detail) VALUES (%s, 'raised', %s, %s)",
            (c.id, actor, json.dumps({"rule": c.rule})),
        )
        return True
