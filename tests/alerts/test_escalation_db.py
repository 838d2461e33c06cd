"""Escalation with real PostgreSQL: timers persisted as due times and fired by explicit time, every step recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from alerts import processing, timers
from alerts.alarm_model import TransitionError
from alerts.notification_plan import ChannelsEnabled
from tests.alerts.fixtures import seed_ward, spo2

T0 = datetime.now(UTC).replace(microsecond=0)
BOTH = ChannelsEnabled(webhook=True, sms=True)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def handle(conn: psycopg.Connection, at: float, **kw: object) -> processing.Outcome | None:
    with conn.transaction():
        return processing.handle_evaluation(conn, spo2(s(at), **kw), s(at), BOTH, s(at))  # type: ignore[arg-type]


def events(conn: psycopg.Connection, alert_id: str) -> list[tuple[str, str, object, object]]:
    return conn.execute(
        "SELECT event, actor, detail->>'level', detail->'called' FROM alert_events WHERE alert_id = %s ORDER BY id",
        (alert_id,),
    ).fetchall()


def sms_to(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT recipient FROM notification_outbox WHERE channel = 'sms' ORDER BY id")]


def test_high_alarm_escalates_to_charge_nurse_then_rapid_response(db: psycopg.Connection) -> None:
    seed_ward(db, T0)
    out = handle(db, 0)
    assert out is not None and out.new_alarm and out.alarm is not None
    alarm_id = out.alarm.id
    assert db.execute("SELECT state, due_at FROM alerts WHERE id = %s", (alarm_id,)).fetchone() == ("active", s(60))
    assert sms_to(db) == ["lan"]

    assert timers.run_due(db, s(59), BOTH) == []
    fired = timers.run_due(db, s(60), BOTH)
    assert [t.kind.value for o in fired for t in o.transitions] == ["escalated"]
    assert timers.run_due(db, s(60), BOTH) == []  # a timer fires once
    timers.run_due(db, s(120), BOTH)
    assert events(db, alarm_id) == [
        ("raised", "system", "0", ["lan"]),
        ("escalated", "system", "1", ["tuan"]),
        ("escalated", "system", "2", ["rrt"]),
    ]
    assert sms_to(db) == ["lan", "tuan", "rrt"]
    assert db.execute("SELECT count(*) FROM notification_outbox WHERE channel = 'webhook'").fetchone()[0] == 3
    view = db.execute("SELECT state, escalation_level, due_at FROM alerts WHERE id = %s", (alarm_id,)).fetchone()
    assert view == ("escalated", 2, None)


def test_acknowledgement_silences_until_the_condition_ends_or_worsens(db: psycopg.Connection) -> None:
    """IEC 60601-1-8: acknowledged = silent for the rest of the condition; only worsening sounds it again."""
    seed_ward(db, T0)
    out = handle(db, 0)
    assert out is not None and out.alarm is not None
    alarm_id = out.alarm.id
    with db.transaction():
        ack = processing.acknowledge(db, alarm_id, "lan", s(30), BOTH, "at bedside")
    assert [t.kind.value for t in ack.transitions] == ["acknowledged"]
    assert timers.run_due(db, s(90), BOTH) == []  # no escalation after the acknowledgement
    for t in (100, 400, 900, 1500):  # the condition persists, as deep as when acknowledged (severity 12)
        persists = handle(db, t, severity=15.0)
        assert persists is not None and persists.transitions == ()
        assert timers.run_due(db, s(t + 50), BOTH) == []  # no timed re-announce
    worse = handle(db, 1600, severity=24.0)  # twice as far beyond the limit as at the acknowledgement
    assert worse is not None and [t.kind.value for t in worse.transitions] == ["reannounced"]
    assert [e[0] for e in events(db, alarm_id)] == ["raised", "acknowledged", "reannounced"]
    assert db.execute("SELECT state FROM alerts WHERE id = %s", (alarm_id,)).fetchone() == ("active",)
    assert events(db, alarm_id)[1][1] == "lan"
    with db.transaction():
        try:
            processing.acknowledge(db, "nope", "lan", s(151), BOTH)
        except processing.NotFound:
            pass
        else:
            raise AssertionError("acknowledging an unknown alert must fail")


def test_ward_chain_from_the_database_and_pause_expiry(db: psycopg.Connection) -> None:
    seed_ward(db, T0, escalate_after_s=10)
    out = handle(db, 0)
    assert out is not None and out.alarm is not None
    alarm_id = out.alarm.id
    with db.transaction():
        processing.pause(db, alarm_id, "lan", 600, s(2), BOTH)
    assert db.execute("SELECT state, paused_until FROM alerts WHERE id = %s", (alarm_id,)).fetchone() == (
        "paused", s(122))  # capped at 2 minutes
    with db.transaction():
        try:
            processing.pause(db, alarm_id, "lan", 60, s(3), BOTH)
        except TransitionError:
            pass
        else:
            raise AssertionError("a paused alarm cannot be paused again")
    assert timers.run_due(db, s(100), BOTH) == []  # escalation waits for the pause
    outs = timers.run_due(db, s(122), BOTH)
    assert [t.kind.value for o in outs for t in o.transitions] == ["unpaused"]
    outs = timers.run_due(db, s(132), BOTH)  # this ward escalates after 10 s
    assert [(t.kind.value, t.escalation_level) for o in outs for t in o.transitions] == [("escalated", 1)]


def test_latched_high_alarm_survives_the_condition_and_resolves_on_ack(db: psycopg.Connection) -> None:
    seed_ward(db, T0)
    out = handle(db, 0)
    assert out is not None and out.alarm is not None
    alarm_id = out.alarm.id
    for t in (5, 6, 7):
        handle(db, t, firing=False)
    row = db.execute("SELECT state, condition_present FROM alerts WHERE id = %s", (alarm_id,)).fetchone()
    assert row == ("active", False)
    with db.transaction():
        ack = processing.acknowledge(db, alarm_id, "lan", s(20), BOTH)
    assert [t.kind.value for t in ack.transitions] == ["acknowledged", "resolved"]
    assert db.execute("SELECT state FROM alerts WHERE id = %s", (alarm_id,)).fetchone() == ("resolved",)
    # The same condition coming back is a new alarm (the old one is closed).
    out2 = handle(db, 30)
    assert out2 is not None and out2.new_alarm and out2.alarm is not None and out2.alarm.id != alarm_id
