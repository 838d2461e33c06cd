"""Alarm conditions, alarms, their transitions and outbox rows in PostgreSQL (thin IO around the engine).

Callers hold one transaction per decision: the condition row is locked
first, then the alarm row (the same order everywhere, so concurrent
consumers, timers and console actions cannot deadlock each other), and the
alarm, its ``alert_events`` rows and its notifications commit together.
"""

from __future__ import annotations

import json
from datetime import datetime

import psycopg

from alerts.alarm_model import Alarm
from alerts.engine import Outcome
from alerts.notification_plan import Dispatch, Notification
from alerts.suppression import ConditionState, Evaluation, Phase, loss_gates
from alerts.suppression_policy import SIGNAL_LOSS_RULES, SuppressionPolicy

_ALARM_COLS = (
    "id, patient_id, rule, source, priority, state, raised_at, condition_present, escalation_level,"
    " escalation_due_at, paused_until, reannounce_at, acknowledged_by, acknowledged_at, resolved_at,"
    " trigger_count, last_value, worst_severity, seq"
)
_FIELDS = [c.strip() for c in _ALARM_COLS.split(",")]


def load_condition(conn: psycopg.Connection, patient_id: str, rule: str, source: str) -> ConditionState | None:
    row = conn.execute(
        "SELECT state FROM alarm_conditions WHERE patient_id = %s AND rule = %s AND source = %s FOR UPDATE",
        (patient_id, rule, source),
    ).fetchone()
    return ConditionState.model_validate(row[0]) if row else None


def save_condition(conn: psycopg.Connection, cond: ConditionState, policy: SuppressionPolicy) -> None:
    conn.execute(
        "INSERT INTO alarm_conditions (patient_id, rule, source, phase, state, alarm_id, due_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, now()) ON CONFLICT (patient_id, rule, source) DO UPDATE SET"
        " phase = EXCLUDED.phase, state = EXCLUDED.state, alarm_id = EXCLUDED.alarm_id, due_at = EXCLUDED.due_at,"
        " updated_at = now()",
        (cond.patient_id, cond.rule, cond.source, cond.phase.value, cond.model_dump_json(), cond.alarm_id,
         cond.next_due(policy)),
    )


def signal_lost(conn: psycopg.Connection, ev: Evaluation) -> bool:
    """A signal-loss condition (signal loss, sensor off, device offline) of the patient that concerns ``ev``."""
    rows = conn.execute(
        "SELECT source FROM alarm_conditions WHERE patient_id = %s AND rule = ANY(%s) AND phase <> 'idle'",
        (ev.patient_id, [r.value for r in SIGNAL_LOSS_RULES]),
    ).fetchall()
    return any(loss_gates(r[0], ev) for r in rows)


def _alarm(row: tuple[object, ...]) -> Alarm:
    return Alarm.model_validate(dict(zip(_FIELDS, row, strict=True)))


def load_alarm(conn: psycopg.Connection, alarm_id: str, lock: bool = True) -> Alarm | None:
    sql = f"SELECT {_ALARM_COLS} FROM alerts WHERE id = %s" + (" FOR UPDATE" if lock else "")
    row = conn.execute(sql, (alarm_id,)).fetchone()
    return _alarm(row) if row else None


def load_open_alarm(conn: psycopg.Connection, patient_id: str, rule: str, source: str) -> Alarm | None:
    row = conn.execute(
        f"SELECT {_ALARM_COLS} FROM alerts WHERE patient_id = %s AND rule = %s AND source = %s"
        " AND state <> 'resolved' ORDER BY raised_at DESC LIMIT 1 FOR UPDATE",
        (patient_id, rule, source),
    ).fetchone()
    return _alarm(row) if row else None


def _values(a: Alarm) -> tuple[object, ...]:
    return (a.state.value, a.condition_present, a.escalation_level, a.escalation_due_at, a.paused_until,
            a.reannounce_at, a.acknowledged_by, a.acknowledged_at, a.resolved_at, a.trigger_count, a.last_value,
            a.worst_severity, a.seq, a.due_at)


def insert_alarm(conn: psycopg.Connection, a: Alarm, onset: Evaluation, detected_at: datetime) -> bool:
    """False when an alarm with this id exists already (a replay after a crash): nothing is written."""
    row = conn.execute(
        "INSERT INTO alerts (id, patient_id, rule, parameter, priority, value, threshold, message, window_start,"
        " window_end, detected_at, raised_at, evidence, source, state, condition_present, escalation_level,"
        " escalation_due_at, paused_until, reannounce_at, acknowledged_by, acknowledged_at, resolved_at,"
        " trigger_count, last_value, worst_severity, seq, due_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO NOTHING RETURNING id",
        (a.id, a.patient_id, a.rule, onset.parameter, a.priority.value, onset.value, onset.threshold,
         onset.message or a.rule, onset.window_start, onset.window_end, detected_at, a.raised_at,
         json.dumps({"severity": onset.severity, "artifact": onset.artifact, "candidate_id": onset.candidate_id}),
         a.source, *_values(a)),
    ).fetchone()
    return row is not None


def update_alarm(conn: psycopg.Connection, a: Alarm) -> None:
    conn.execute(
        "UPDATE alerts SET state = %s, condition_present = %s, escalation_level = %s, escalation_due_at = %s,"
        " paused_until = %s, reannounce_at = %s, acknowledged_by = %s, acknowledged_at = %s, resolved_at = %s,"
        " trigger_count = %s, last_value = %s, worst_severity = %s, seq = %s, due_at = %s, updated_at = now()"
        " WHERE id = %s",
        (*_values(a), a.id),
    )


def record_dispatches(conn: psycopg.Connection, dispatches: tuple[Dispatch, ...]) -> None:
    """One ``alert_events`` row per transition (who, when, why, whom it called), and its notifications."""
    for d in dispatches:
        t = d.transition
        detail = {
            "seq": t.seq, "from": t.from_state.value if t.from_state else None, "to": t.to_state.value,
            "reason": t.reason, "level": t.escalation_level, "target": t.target.value if t.target else None,
            "called": list(d.route.recipients) if d.route else [], "route": d.route.reason if d.route else None,
        }
        conn.execute(
            "INSERT INTO alert_events (alert_id, event, actor, at, detail) VALUES (%s, %s, %s, %s, %s)",
            (t.alarm_id, t.kind.value, t.actor, t.at, json.dumps(detail)),
        )
        enqueue(conn, d.notifications)


def enqueue(conn: psycopg.Connection, notes: tuple[Notification, ...]) -> None:
    for n in notes:
        conn.execute(
            "INSERT INTO notification_outbox (dedup_key, alert_id, seq, channel, recipient, address, body,"
            " next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dedup_key) DO NOTHING",
            (n.dedup_key, n.alarm_id, n.seq, n.channel.value, n.recipient, n.address, n.body, n.not_before),
        )


def persist(conn: psycopg.Connection, out: Outcome, policy: SuppressionPolicy | None, detected_at: datetime) -> bool:
    """Write an engine outcome; False if it was a replay of an alarm already raised (nothing else written)."""
    if out.alarm is not None:
        if out.new_alarm:
            assert out.onset is not None
            if not insert_alarm(conn, out.alarm, out.onset, detected_at):
                return False
        else:
            update_alarm(conn, out.alarm)
        record_dispatches(conn, out.dispatches)
    if out.condition is not None and policy is not None:
        save_condition(conn, out.condition, policy)
    return True


def due_conditions(conn: psycopg.Connection, now: datetime, limit: int = 100) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        "SELECT patient_id, rule, source FROM alarm_conditions WHERE due_at <= %s AND phase <> 'idle'"
        " ORDER BY due_at LIMIT %s",
        (now, limit),
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def due_alarms(conn: psycopg.Connection, now: datetime, limit: int = 100) -> list[str]:
    rows = conn.execute(
        "SELECT id FROM alerts WHERE due_at <= %s AND state <> 'resolved' ORDER BY due_at LIMIT %s", (now, limit)
    ).fetchall()
    return [r[0] for r in rows]


def is_idle(cond: ConditionState | None) -> bool:
    return cond is None or cond.phase is Phase.IDLE
