"""Alerts as the console reads them: the list (highest priority first) and one alert with its history."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import psycopg


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
