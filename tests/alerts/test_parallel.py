"""Bursts decided per patient on several connections: every patient's evaluations in order, none lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg

from alerts import processing
from alerts.notification_plan import ChannelsEnabled
from alerts.parallel import ConnectionPool, by_patient, run_groups
from alerts.suppression import Evaluation
from storage import registry
from wire.messages import Priority

OFF = ChannelsEnabled(webhook=False, sms=False)
T0 = datetime.now(UTC).replace(microsecond=0)


def _ev(patient: str, second: int, firing: bool = True) -> tuple[Evaluation, datetime]:
    at = T0 + timedelta(seconds=second)
    return Evaluation(candidate_id=f"{patient}-{second}", patient_id=patient, rule="spo2_low", firing=firing,
                      severity=12.0 if firing else 0.0, priority=Priority.HIGH, window_start=at,
                      window_end=at), at


def test_a_burst_of_many_patients_raises_one_alarm_each(db_dsn: str, db: psycopg.Connection) -> None:
    registry.add_ward(db, "w1", "W1")
    patients = [f"P{i:02d}" for i in range(12)]
    for p in patients:
        registry.add_patient(db, p, p, "w1", p)
    # Each patient: fires (raises), keeps firing twice (updates), in order.
    burst = [_ev(p, s) for s in (0, 5, 10) for p in patients]
    groups = by_patient(burst)
    assert len(groups) == 12 and [e.candidate_id for e, _ in groups[0]] == ["P00-0", "P00-5", "P00-10"]

    def decide(c: psycopg.Connection, group: list[tuple[Evaluation, datetime]]) -> int:
        n = 0
        for ev, at in group:
            with c.transaction():
                n += processing.handle_evaluation(c, ev, at, OFF, at) is not None
        return n

    pool = ConnectionPool(db_dsn, 4)
    with ThreadPoolExecutor(4) as ex:
        assert run_groups(pool, ex, groups, decide) == 36
        assert run_groups(pool, ex, groups, decide) == 36  # the same burst again: all recognised as replays
    pool.close()
    rows = db.execute("SELECT patient_id, trigger_count FROM alerts ORDER BY patient_id").fetchall()
    assert rows == [(p, 3) for p in patients]
    assert db.execute("SELECT count(*) FROM alert_events WHERE event = 'raised'").fetchone()[0] == 12
