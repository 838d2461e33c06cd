"""One decision per transaction: load states and context, decide once, plan its notifications, persist.

Each decision loads the context a decision reads (ward settings, limits,
escalation chains) once and runs the engine once; only when it changed an
alarm are the routing data (roster, responders, care team) loaded to plan
who is notified (``engine.replan``).

Used by the Kafka consumer (evaluations), the timer loop (due conditions and
alarms) and the console's actions (acknowledge, pause). Each function runs
inside the caller's transaction and returns the outcomes, so the caller can
count and broadcast them once the transaction committed.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from alerts import alarm_store, config_store, engine
from alerts.alarm_model import Alarm, TransitionError
from alerts.engine import Outcome
from alerts.notification_plan import ChannelsEnabled
from alerts.suppression import Evaluation
from alerts.suppression_policy import is_known


class NotFound(LookupError):
    pass


def handle_evaluation(
    conn: psycopg.Connection, ev: Evaluation, now: datetime, channels: ChannelsEnabled, detected_at: datetime
) -> Outcome | None:
    """Apply one evaluation; None for a rule outside the catalog (counted as a bad record by the caller)."""
    if not is_known(ev.rule):
        return None
    source = engine.source_of(ev)
    cond = alarm_store.load_condition(conn, ev.patient_id, ev.rule, source)
    alarm = _open_alarm(conn, ev.patient_id, ev.rule, source, cond.alarm_id if cond else None)
    ctx = config_store.load_context(conn, ev.patient_id, now, channels, full=False)
    lost = ev.firing and alarm_store.signal_lost(conn, ev)
    out = engine.on_evaluation(cond, alarm, ev, ctx, now, signal_lost=lost)
    if out.dispatches:  # an alarm changed: plan who hears of it with the roster and responders
        out = engine.replan(out, config_store.load_context(conn, ev.patient_id, now, channels, light=ctx))
    if not alarm_store.persist(conn, out, ctx.suppression_policy(ev.rule), detected_at):
        return None
    return out


def _open_alarm(
    conn: psycopg.Connection, patient_id: str, rule: str, source: str, alarm_id: str | None
) -> Alarm | None:
    if alarm_id is not None:
        a = alarm_store.load_alarm(conn, alarm_id)
        if a is not None:
            return a
    return alarm_store.load_open_alarm(conn, patient_id, rule, source)


def tick_condition(
    conn: psycopg.Connection, patient_id: str, rule: str, source: str, now: datetime, channels: ChannelsEnabled
) -> Outcome | None:
    cond = alarm_store.load_condition(conn, patient_id, rule, source)
    if cond is None:
        return None
    alarm = _open_alarm(conn, patient_id, rule, source, cond.alarm_id)
    ctx = config_store.load_context(conn, patient_id, now, channels, full=False)
    out = engine.on_condition_tick(cond, alarm, ctx, now)
    if out.dispatches:
        out = engine.replan(out, config_store.load_context(conn, patient_id, now, channels, light=ctx))
    alarm_store.persist(conn, out, ctx.suppression_policy(rule), now)
    return out


def tick_alarm(conn: psycopg.Connection, alarm_id: str, now: datetime, channels: ChannelsEnabled) -> Outcome | None:
    alarm = alarm_store.load_alarm(conn, alarm_id)
    if alarm is None:
        return None
    ctx = config_store.load_context(conn, alarm.patient_id, now, channels)
    out = engine.on_alarm_tick(alarm, ctx, now)
    if out.dispatches:
        alarm_store.persist(conn, out, None, now)
    return out


def acknowledge(
    conn: psycopg.Connection, alarm_id: str, actor: str, now: datetime, channels: ChannelsEnabled, note: str = ""
) -> Outcome:
    alarm = _user_target(conn, alarm_id)
    ctx = config_store.load_context(conn, alarm.patient_id, now, channels)
    out = engine.acknowledge(alarm, actor, ctx, now, note)
    alarm_store.persist(conn, out, None, now)
    return out


def pause(
    conn: psycopg.Connection, alarm_id: str, actor: str, seconds: float, now: datetime, channels: ChannelsEnabled
) -> Outcome:
    alarm = _user_target(conn, alarm_id)
    ctx = config_store.load_context(conn, alarm.patient_id, now, channels)
    out = engine.pause(alarm, actor, seconds, ctx, now)
    alarm_store.persist(conn, out, None, now)
    return out


def _user_target(conn: psycopg.Connection, alarm_id: str) -> Alarm:
    # Lock order: condition before alarm, as everywhere else.
    row = conn.execute("SELECT patient_id, rule, source FROM alerts WHERE id = %s", (alarm_id,)).fetchone()
    if row is None:
        raise NotFound(alarm_id)
    alarm_store.load_condition(conn, row[0], row[1], row[2])
    alarm = alarm_store.load_alarm(conn, alarm_id)
    if alarm is None:
        raise NotFound(alarm_id)
    return alarm


__all__ = ["NotFound", "TransitionError", "acknowledge", "handle_evaluation", "pause", "tick_alarm", "tick_condition"]
