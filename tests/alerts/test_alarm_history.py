"""A patient's alarm history through the console's one alarm read model (alerts.console.alarms)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from alerts.console import alarms


def T(hh: int, mm: int = 0, day: int = 10) -> datetime:  # noqa: N802 (reads like a time literal)
    return datetime(2026, 3, day, hh, mm, tzinfo=UTC)


def test_alert_history_with_who_did_what(db: psycopg.Connection) -> None:
    for alert_id, raised in (("a1", T(10)), ("a2", T(11)), ("a3", T(9, day=1))):
        db.execute(
            "INSERT INTO alerts (id, patient_id, rule, parameter, priority, state, value, threshold, message,"
            " window_start, window_end, detected_at, raised_at)"
            " VALUES (%s, 'P1', 'heart_rate_high', 'heart_rate', 'high', 'active', 140, 130, 'HR 140',"
            " %s, %s, %s, %s)", (alert_id, raised, raised, raised, raised))
    db.execute("INSERT INTO alert_events (alert_id, event, actor, at) VALUES"
               " ('a1', 'raised', 'system', %s), ('a1', 'acknowledged', 'nurse-lan', %s),"
               " ('a1', 'resolved', 'nurse-lan', %s), ('a2', 'raised', 'system', %s)",
               (T(10), T(10, 2), T(10, 30), T(11)))
    got = alarms.history(db, "P1", T(0), T(23))
    assert [a.id for a in got] == ["a2", "a1"]  # newest first, a3 outside the range
    assert [(e.event, e.actor, e.at) for e in got[1].events] == [
        ("raised", "system", T(10)), ("acknowledged", "nurse-lan", T(10, 2)), ("resolved", "nurse-lan", T(10, 30))]
    assert (got[0].value, got[0].threshold, got[0].priority) == (140, 130, "high")
