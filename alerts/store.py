"""Alerts in PostgreSQL: raise from a candidate idempotently, list for the console."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

import psycopg

from wire.messages import AlertCandidate


def raise_alert(conn: psycopg.Connection, c: AlertCandidate, actor: str = "system") -> bool:
    """Record the alert and its 'raised' event; False if this candidate was already raised."""
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO alerts (id, patient_id, rule, parameter, priority, value, threshold, message,"
            " window_start, window_end, detected_at, evidence)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
            (c.id, c.patient_id, c.rule, c.parameter.value if c.parameter else None, c.priority.value, c.value,
             c.threshold, c.message, c.window_start, c.window_end, c.detected_at, json.dumps(c.evidence)),
        ).fetchone()
        if row is None:
            return False
        conn.execute(
            "INSERT INTO alert_events (alert_id, event, actor, detail) VALUES (%s, 'raised', %s, %s)",
            (c.id, actor, json.dumps({"rule": c.rule})),
        )
        return True


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

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["window_start"] = self.window_start.isoformat()
        d["raised_at"] = self.raised_at.isoformat()
        return d


def list_alerts(conn: psycopg.Connection, limit: int = 100, alert_id: str | None = None) -> list[AlertView]:
    rows = conn.execute(
        "SELECT a.id, a.patient_id, p.ward_id, p.bed, a.rule, a.priority, a.state, a.value, a.threshold,"
        " a.message, a.window_start, a.raised_at FROM alerts a LEFT JOIN patients p ON p.id = a.patient_id"
        " WHERE (%(id)s::text IS NULL OR a.id = %(id)s)"
        " ORDER BY CASE a.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, a.raised_at DESC"
        " LIMIT %(limit)s",
        {"id": alert_id, "limit": limit},
    )
    return [AlertView(*r) for r in rows]
