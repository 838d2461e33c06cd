"""Channels against real HTTP peers: signed webhook, SMS gateway, retries with backoff, dead letter, isolation."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
from prometheus_client import CollectorRegistry

from alerts import delivery, processing
from alerts.channels import SmsGateway, Webhook, verify
from alerts.metrics import AlertMetrics
from alerts.notification_plan import Channel, ChannelsEnabled
from alerts.outbox import RetryPolicy, next_attempt
from tests.alerts.fixtures import seed_ward, spo2
from tests.alerts.http_peer import HttpPeer

T0 = datetime.now(UTC).replace(microsecond=0)
BOTH = ChannelsEnabled(webhook=True, sms=True)
SECRET = b"s3cret"


def raise_one(db: psycopg.Connection) -> str:
    seed_ward(db, T0)
    with db.transaction():
        out = processing.handle_evaluation(db, spo2(T0), T0, BOTH, T0)
    assert out is not None and out.alarm is not None
    return out.alarm.id


def drain(db: psycopg.Connection, channel: Channel, sender: Webhook | SmsGateway, policy: RetryPolicy,
          clock: list[datetime], metrics: AlertMetrics | None = None) -> int:
    n = 0
    while delivery.deliver_one(db, channel, sender, policy, metrics, lambda: clock[0]):
        n += 1
    return n


def test_backoff_doubles_and_gives_up() -> None:
    p = RetryPolicy(max_attempts=5, base_s=1.0, max_backoff_s=5.0)
    assert [next_attempt(n, p) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, None]


def test_webhook_body_is_hmac_signed_and_sms_reaches_the_gateway(db: psycopg.Connection) -> None:
    hook, gateway = HttpPeer(), HttpPeer()
    try:
        alarm_id = raise_one(db)
        clock = [T0]
        metrics = AlertMetrics(CollectorRegistry())
        assert drain(db, Channel.WEBHOOK, Webhook(hook.url, SECRET), RetryPolicy(), clock, metrics) == 1
        assert drain(db, Channel.SMS, SmsGateway(gateway.url, "tok"), RetryPolicy(), clock, metrics) == 1
        (got,) = hook.received
        assert verify(SECRET, got.body, got.headers["x-rpm-signature-256"])
        assert not verify(b"wrong", got.body, got.headers["x-rpm-signature-256"])
        assert got.headers["x-rpm-delivery"] == f"{alarm_id}:1:webhook:*"
        assert got.json()["event"] == "raised" and got.json()["alarm"]["id"] == alarm_id
        (sms,) = gateway.received
        assert sms.headers["authorization"] == "Bearer tok"
        assert sms.json()["to"] == "+84900000001" and "SpO2 thấp" in str(sms.json()["text"])
        notified = db.execute("SELECT detail->>'channel' FROM alert_events WHERE alert_id = %s AND event = 'notified'"
                              " ORDER BY id", (alarm_id,)).fetchall()
        assert notified == [("webhook",), ("sms",)]
        assert metrics.notifications[(Channel.SMS, "sent")]._value.get() == 1
    finally:
        hook.stop()
        gateway.stop()


def test_webhook_down_retries_with_backoff_then_dead_letters(db: psycopg.Connection) -> None:
    hook = HttpPeer(status=503)
    try:
        alarm_id = raise_one(db)
        policy = RetryPolicy(max_attempts=3, base_s=10.0, max_backoff_s=100.0)
        sender = Webhook(hook.url, SECRET, timeout_s=2)
        clock = [T0]
        assert drain(db, Channel.WEBHOOK, sender, policy, clock) == 1  # attempt 1 fails, next in 10 s
        row = db.execute("SELECT status, attempts, next_attempt_at, last_error FROM notification_outbox"
                         " WHERE channel = 'webhook'").fetchone()
        assert row == ("pending", 1, T0 + timedelta(seconds=10), "HTTP 503")
        clock[0] = T0 + timedelta(seconds=9)
        assert drain(db, Channel.WEBHOOK, sender, policy, clock) == 0  # not due yet
        clock[0] = T0 + timedelta(seconds=10)
        assert drain(db, Channel.WEBHOOK, sender, policy, clock) == 1  # attempt 2, next in 20 s
        hook.stop()  # now not even reachable
        clock[0] = T0 + timedelta(seconds=30)
        assert drain(db, Channel.WEBHOOK, sender, policy, clock) == 1  # attempt 3: dead letter
        assert hook.attempts == 2
        row = db.execute("SELECT status, attempts FROM notification_outbox WHERE channel = 'webhook'").fetchone()
        assert row == ("dead", 3)
        failed = db.execute("SELECT actor, detail->>'attempts' FROM alert_events WHERE alert_id = %s"
                            " AND event = 'notify_failed'", (alarm_id,)).fetchall()
        assert failed == [("channel:webhook", "3")]
        # The alarm itself is untouched by the channel's failure.
        assert db.execute("SELECT state FROM alerts WHERE id = %s", (alarm_id,)).fetchone() == ("active",)
        clock[0] = T0 + timedelta(hours=1)
        assert drain(db, Channel.WEBHOOK, sender, policy, clock) == 0  # dead rows are never retried
    finally:
        hook.stop()


def test_one_channel_down_does_not_block_another(db_dsn: str, db: psycopg.Connection) -> None:
    """Worker threads as in the service: the webhook receiver never answers, SMS still goes out at once."""
    release = threading.Event()
    hanging = HttpPeer(hang=release)
    gateway = HttpPeer()
    stop = threading.Event()
    metrics = AlertMetrics(CollectorRegistry())
    try:
        raise_one(db)
        policy = RetryPolicy(max_attempts=2, base_s=0.1)
        delivery.run_worker(db_dsn, Channel.WEBHOOK, Webhook(hanging.url, SECRET, timeout_s=30), policy, metrics,
                            stop, idle_s=0.05)
        delivery.run_worker(db_dsn, Channel.SMS, SmsGateway(gateway.url), policy, metrics, stop, idle_s=0.05)
        deadline = time.monotonic() + 20
        # Wait for both workers to have started (on a loaded machine either may be first).
        while not (gateway.received and hanging.attempts) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(gateway.received) == 1
        assert hanging.attempts == 1  # the webhook is stuck in its request...
        assert db.execute("SELECT status FROM notification_outbox WHERE channel = 'webhook'").fetchone() == ("pending",)
        release.set()  # ...and delivered once the receiver answers
        deadline = time.monotonic() + 20
        while not hanging.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(hanging.received) == 1
    finally:
        release.set()
        stop.set()
        hanging.stop()
        gateway.stop()


def test_enqueueing_the_same_notification_twice_sends_once(db: psycopg.Connection) -> None:
    """A transition re-planned after a crash (before the offset commit) adds no second notification."""
    from alerts import alarm_store, config_store, engine

    alarm_id = raise_one(db)
    alarm = alarm_store.load_alarm(db, alarm_id, lock=False)
    assert alarm is not None
    ctx = config_store.load_context(db, "P1", T0, BOTH)
    out = engine.on_alarm_tick(alarm, ctx, T0 + timedelta(seconds=60))
    notes = tuple(n for d in out.dispatches for n in d.notifications)
    assert [(n.channel, n.recipient) for n in notes] == [(Channel.WEBHOOK, "*"), (Channel.SMS, "tuan")]
    before = db.execute("SELECT count(*) FROM notification_outbox").fetchone()[0]
    for _ in range(2):
        with db.transaction():
            alarm_store.enqueue(db, notes)
    assert db.execute("SELECT count(*) FROM notification_outbox").fetchone()[0] - before == 2
