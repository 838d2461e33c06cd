"""Shared set-up for the alert tests against real PostgreSQL: a ward with a roster, and helpers."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from alerts import roster_store
from alerts.alarm_model import StaffRole
from alerts.suppression import Evaluation
from storage import registry
from wire.messages import Priority


def seed_ward(conn: psycopg.Connection, now: datetime, escalate_after_s: float | None = None) -> None:
    """Ward w1 bed 03 (patient P1): nurse lan, charge nurse tuan, hospital-wide rapid response team."""
    registry.add_ward(conn, "w1", "Khoa Nội 1")
    registry.add_patient(conn, "P1", "Test Patient", "w1", "03")
    for rid, name, phone in (("lan", "Lan", "+84900000001"), ("tuan", "Tuấn", "+84900000002"),
                             ("rrt", "Đội cấp cứu", "+84900000003")):
        roster_store.upsert_responder(conn, "admin", rid, name, phone, "vi")
    day = (now - timedelta(hours=1), now + timedelta(hours=11))
    roster_store.add_shift(conn, "admin", "lan", StaffRole.NURSE, "w1", ("01", "02", "03"), *day)
    roster_store.add_shift(conn, "admin", "tuan", StaffRole.CHARGE_NURSE, "w1", None, *day)
    roster_store.add_shift(conn, "admin", "rrt", StaffRole.RAPID_RESPONSE, None, None, *day)
    if escalate_after_s is not None:
        conn.execute(
            "INSERT INTO escalation_steps (scope, priority, level, after_s, target) VALUES"
            " ('w1', 'high', 1, %s, 'charge_nurse'), ('w1', 'high', 2, %s, 'rapid_response')",
            (escalate_after_s, escalate_after_s),
        )


def spo2(at: datetime, severity: float = 12.0, firing: bool = True, cid: str | None = None) -> Evaluation:
    return Evaluation(
        candidate_id=cid or f"c-{at.timestamp():.0f}", patient_id="P1", rule="spo2_low", firing=firing,
        severity=severity if firing else 0.0, priority=Priority.HIGH, value=78.0 if firing else 95.0,
        threshold=90.0, window_start=at, window_end=at, device_id="mon-1", parameter="spo2",
        message="SpO2 below limit",
    )
