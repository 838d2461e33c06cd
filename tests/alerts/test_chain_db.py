"""Escalation chains edited through alerts.chain_store, on real PostgreSQL: audited, and applied by the engine to
the next alarm with no restart (alerts.config_store reads chains fresh for every decision)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alerts import chain_store, config_store, processing, timers
from alerts.alarm_model import EscalationStep, StaffRole
from alerts.chain_safety import ChainRefused
from alerts.chain_store import Source
from alerts.notification_plan import ChannelsEnabled
from tests.alerts.fixtures import seed_ward, spo2
from wire.messages import Priority

T0 = datetime.now(UTC).replace(microsecond=0)
BOTH = ChannelsEnabled(webhook=True, sms=True)
S, R = EscalationStep, StaffRole


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def raise_alarm(conn: psycopg.Connection, at: float) -> str:
    with conn.transaction():
        out = processing.handle_evaluation(conn, spo2(s(at), cid=f"c-{at}"), s(at), BOTH, s(at))
    assert out is not None and out.new_alarm and out.alarm is not None
    return out.alarm.id


def escalations(conn: psycopg.Connection, alarm_id: str) -> list[tuple[datetime, str, str, list[str]]]:
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(
        "SELECT at, detail->>'level', detail->>'target', detail->'called' FROM alert_events"
        " WHERE alert_id = %s AND event = 'escalated' ORDER BY id", (alarm_id,))]


def resolve(conn: psycopg.Connection, alarm_id: str, at: float) -> None:
    with conn.transaction():
        processing.acknowledge(conn, alarm_id, "lan", s(at), BOTH)
    for t in (at + 1, at + 2, at + 3):  # the condition ends
        with conn.transaction():
            processing.handle_evaluation(conn, spo2(s(t), firing=False, cid=f"c-{t}"), s(t), BOTH, s(t))


def test_an_alarm_raised_after_a_change_escalates_by_the_new_chain_and_after_reset_by_the_default(
        db: psycopg.Connection) -> None:
    seed_ward(db, T0)
    first = raise_alarm(db, 0)  # declared default: 60 s -> charge nurse, 60 s more -> rapid response
    timers.run_due(db, s(60), BOTH)
    assert [(e[1], e[2]) for e in escalations(db, first)] == [("1", "charge_nurse")]
    resolve(db, first, 70)

    # The service keeps running; the charge nurse edits the chain.
    before = chain_store.set_chain(db, "tuan", "w1", Priority.HIGH, [S(30, R.RAPID_RESPONSE)], "RRT on the ward")
    assert before is None
    second = raise_alarm(db, 100)
    assert db.execute("SELECT escalation_due_at FROM alerts WHERE id = %s", (second,)).fetchone() == (s(130),)
    assert timers.run_due(db, s(129), BOTH) == []
    timers.run_due(db, s(130), BOTH)
    assert [(e[1], e[2], e[3]) for e in escalations(db, second)] == [("1", "rapid_response", ["rrt"])]
    timers.run_due(db, s(400), BOTH)  # a one-step chain ends there
    assert len(escalations(db, second)) == 1
    resolve(db, second, 410)

    assert chain_store.reset_chain(db, "tuan", "w1", Priority.HIGH, "trial over")
    assert not chain_store.reset_chain(db, "tuan", "w1", Priority.HIGH, "again")
    third = raise_alarm(db, 500)
    timers.run_due(db, s(620), BOTH)
    assert [(e[1], e[2]) for e in escalations(db, third)] == [("1", "charge_nurse"), ("2", "rapid_response")]

    audit = db.execute("SELECT actor, action, subject, detail FROM audit_log WHERE action LIKE 'escalation_chain.%'"
                       " ORDER BY id").fetchall()
    assert [(a[0], a[1], a[2]) for a in audit] == [("tuan", "escalation_chain.set", "ward:w1"),
                                                 ("tuan", "escalation_chain.reset", "ward:w1")]
    assert audit[0][3] == {"priority": "high", "old": None, "old_source": "default",
                           "new": [{"after_s": 30.0, "target": "rapid_response"}], "reason": "RRT on the ward"}
    assert audit[1][3]["old"] == [{"after_s": 30.0, "target": "rapid_response"}] and audit[1][3]["new"] is None


def test_an_empty_configured_chain_means_no_escalation_not_the_default(db: psycopg.Connection) -> None:
    seed_ward(db, T0)
    chain_store.set_chain(db, "admin", "w1", Priority.MEDIUM, [], "medium alarms handled at the bedside")
    assert config_store.load_chains(db, "w1") == {("w1", Priority.MEDIUM): ()}
    views = {v.priority: v for v in chain_store.effective(db, "w1")}
    assert views[Priority.MEDIUM].source is Source.CONFIGURED and views[Priority.MEDIUM].steps == ()
    assert views[Priority.MEDIUM].set_by == "admin" and views[Priority.MEDIUM].reason == "medium alarms handled at the bedside"
    assert views[Priority.HIGH].source is Source.DECLARED and views[Priority.HIGH].steps == views[Priority.HIGH].declared


def test_a_ward_follows_the_configured_ward_default_until_it_has_its_own(db: psycopg.Connection) -> None:
    seed_ward(db, T0)
    chain_store.set_chain(db, "admin", "*", Priority.HIGH, [S(45, R.CHARGE_NURSE), S(45, R.RAPID_RESPONSE)], "policy")
    view = chain_store.effective(db, "w1")[0]
    assert (view.source, view.steps) == (Source.WARD_DEFAULT, (S(45, R.CHARGE_NURSE), S(45, R.RAPID_RESPONSE)))
    assert chain_store.effective(db, "*")[0].source is Source.CONFIGURED
    assert chain_store.effective(db, "home")[0].source is Source.DECLARED  # home never follows the ward default
    alarm = raise_alarm(db, 0)
    assert db.execute("SELECT escalation_due_at FROM alerts WHERE id = %s", (alarm,)).fetchone() == (s(45),)


def test_refused_chains_change_nothing(db: psycopg.Connection) -> None:
    seed_ward(db, T0)
    chain_store.set_chain(db, "tuan", "w1", Priority.HIGH, [S(60, R.CHARGE_NURSE)], "start")
    for steps, reason, key in (
        ([S(1800, R.CHARGE_NURSE)], "slower", "error.chain_delay"),
        ([S(60, R.RAPID_RESPONSE), S(60, R.CHARGE_NURSE)], "down", "error.chain_down"),
        ([], "none", "error.chain_empty"),
        ([S(60, R.CHARGE_NURSE)], "  ", "error.chain_reason"),
    ):
        with pytest.raises(ChainRefused) as e:
            chain_store.set_chain(db, "tuan", "w1", Priority.HIGH, steps, reason)
        assert e.value.key == key
    assert config_store.load_chains(db, "w1") == {("w1", Priority.HIGH): (S(60, R.CHARGE_NURSE),)}
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'escalation_chain.set'").fetchone() == (1,)


def test_concurrent_saves_of_one_chain_never_mix_their_levels(db_dsn: str, db: psycopg.Connection) -> None:
    """Each save replaces every level in one transaction; the second waits and audits the first one's chain as old."""
    import threading

    seed_ward(db, T0)
    long = [S(30, R.NURSE), S(30, R.CHARGE_NURSE), S(30, R.CHARGE_NURSE), S(30, R.RAPID_RESPONSE), S(30, R.RAPID_RESPONSE)]
    short = [S(200, R.RAPID_RESPONSE)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def save(steps: list[EscalationStep], actor: str) -> None:
        try:
            with psycopg.connect(db_dsn, autocommit=True) as conn:
                start.wait()
                for _ in range(20):
                    chain_store.set_chain(conn, actor, "w1", Priority.HIGH, steps, "race")
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=save, args=(long, "a")), threading.Thread(target=save, args=(short, "b"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    assert config_store.load_chains(db, "w1")[("w1", Priority.HIGH)] in (tuple(long), tuple(short))
    rows = [r[0] for r in db.execute("SELECT detail FROM audit_log WHERE action = 'escalation_chain.set' ORDER BY id")]
    assert len(rows) == 40
    for prev, row in zip(rows, rows[1:], strict=False):
        assert row["old"] == prev["new"]  # every save saw the whole chain the one before it left
