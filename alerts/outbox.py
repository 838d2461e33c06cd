"""The notification outbox: claim one due row per channel, record the result (retry with backoff, or dead letter).

Rows are written with the alarm change they announce (``alarm_store``); a
worker per channel claims them with ``FOR UPDATE SKIP LOCKED``, so several
service instances share the work and a slow or dead channel holds only its
own rows. The row stays locked while it is sent: if the process dies
mid-send the lock is released and the row is sent again (at least once;
receivers deduplicate by the delivery id, see docs/alarms.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from alerts.alarm_model import EventKind
from alerts.notification_plan import Channel


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 1.0
    max_backoff_s: float = 300.0


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    dedup_key: str
    alert_id: str
    seq: int
    channel: Channel
    recipient: str
    address: str
    body: str
    attempts: int


def next_attempt(attempts_done: int, policy: RetryPolicy) -> float | None:
    """Seconds until the next attempt after ``attempts_done`` failures; None: give up (dead letter)."""
    if attempts_done >= policy.max_attempts:
        return None
    return min(policy.base_s * 2.0 ** (attempts_done - 1), policy.max_backoff_s)


def claim(conn: psycopg.Connection, channel: Channel, now: datetime) -> OutboxRow | None:
    """Lock the oldest due row of ``channel`` (inside the caller's transaction)."""
    row = conn.execute(
        "SELECT id, dedup_key, alert_id, seq, channel, recipient, address, body, attempts FROM notification_outbox"
        " WHERE channel = %s AND status = 'pending' AND next_attempt_at <= %s ORDER BY next_attempt_at, id"
        " LIMIT 1 FOR UPDATE SKIP LOCKED",
        (channel.value, now),
    ).fetchone()
    if row is None:
        return None
    return OutboxRow(row[0], row[1], row[2], row[3], Channel(row[4]), row[5], row[6], row[7], row[8])


def mark_sent(conn: psycopg.Connection, row: OutboxRow, now: datetime) -> None:
    conn.execute(
        "UPDATE notification_outbox SET status = 'sent', attempts = attempts + 1, sent_at = %s, last_error = NULL"
        " WHERE id = %s",
        (now, row.id),
    )
    _event(conn, row, EventKind.NOTIFIED, now, {"attempts": row.attempts + 1})


def mark_failed(conn: psycopg.Connection, row: OutboxRow, now: datetime, error: str, policy: RetryPolicy) -> bool:
    """Record a failed attempt; True if the row is now dead (no more attempts)."""
    attempts = row.attempts + 1
    wait = next_attempt(attempts, policy)
    if wait is None:
        conn.execute(
            "UPDATE notification_outbox SET status = 'dead', attempts = %s, last_error = %s WHERE id = %s",
            (attempts, error[:500], row.id),
        )
        _event(conn, row, EventKind.NOTIFY_FAILED, now, {"attempts": attempts, "error": error[:200]})
        return True
    conn.execute(
        "UPDATE notification_outbox SET attempts = %s, last_error = %s, next_attempt_at = %s WHERE id = %s",
        (attempts, error[:500], now + timedelta(seconds=wait), row.id),
    )
    return False


def _event(conn: psycopg.Connection, row: OutboxRow, kind: EventKind, at: datetime, extra: dict[str, object]) -> None:
    detail = {"seq": row.seq, "channel": row.channel.value, "recipient": row.recipient, **extra}
    conn.execute(
        "INSERT INTO alert_events (alert_id, event, actor, at, detail) VALUES (%s, %s, %s, %s, %s)",
        (row.alert_id, kind.value, f"channel:{row.channel.value}", at, json.dumps(detail)),
    )
