"""`rpm alerts`: the alarm engine's consumer, timer loop and channel workers, plus the console HTTP server."""

from __future__ import annotations

import logging
import threading

import psycopg
import uvicorn
from prometheus_client import CollectorRegistry

from alerts import alarm_metrics, delivery, timers
from alerts.broadcast import Broadcaster
from alerts.channels import SmsGateway, Webhook
from alerts.consumer import consume
from alerts.http import create_app
from alerts.metrics import AlertMetrics
from alerts.notification_plan import Channel, ChannelsEnabled
from alerts.outbox import RetryPolicy
from alerts.settings import AlertSettings
from runtime import health, heartbeat, logs

log = logging.getLogger(__name__)


def channels_of(s: AlertSettings) -> ChannelsEnabled:
    return ChannelsEnabled(webhook=s.webhook_url is not None, sms=s.sms_gateway_url is not None)


def start_workers(s: AlertSettings, metrics: AlertMetrics, stop: threading.Event) -> list[threading.Thread]:
    dsn = s.database_url.get_secret_value()
    out = []
    if s.webhook_url:
        hook = Webhook(s.webhook_url, s.webhook_secret.get_secret_value().encode(), s.webhook_timeout_s)
        policy = RetryPolicy(s.webhook_max_attempts, s.webhook_backoff_s, s.backoff_max_s)
        out.append(delivery.run_worker(dsn, Channel.WEBHOOK, hook, policy, metrics, stop))
    if s.sms_gateway_url:
        token = s.sms_gateway_token.get_secret_value() if s.sms_gateway_token else None
        sms = SmsGateway(s.sms_gateway_url, token, s.sms_sender, s.sms_timeout_s)
        policy = RetryPolicy(s.sms_max_attempts, s.sms_backoff_s, s.backoff_max_s)
        out.append(delivery.run_worker(dsn, Channel.SMS, sms, policy, metrics, stop))
    return out


def run(s: AlertSettings) -> int:
    logs.setup("alerts", s.log_level)
    registry = CollectorRegistry()
    metrics = AlertMetrics(registry)
    hc = health.Health()
    stop = threading.Event()
    broadcaster = Broadcaster()
    dsn = s.database_url.get_secret_value()
    channels = channels_of(s)
    heartbeat.start(dsn, "alerts", s.alerts_instance, hc.snapshot, stop)
    # Liveness/readiness of this process alone on the metrics port (the
    # console's /healthz reports every stage, so a probe must not use it).
    if s.metrics_port:
        health.serve(s.metrics_port, registry, hc)
    alarm_metrics.start(dsn, alarm_metrics.AlarmMetrics(registry), stop)
    worker = threading.Thread(
        target=consume, args=(s, channels, broadcaster, metrics, hc, stop), name="alert-consumer", daemon=True
    )
    worker.start()
    timers.run_loop(dsn, channels, broadcaster, metrics, hc, stop, s.timer_interval_s)
    start_workers(s, metrics, stop)
    app = create_app(lambda: psycopg.connect(dsn, autocommit=True, connect_timeout=5), broadcaster, registry, hc,
                     s.heartbeat_stale_s, metrics, channels, s.console_ops_endpoints)
    log.info("console listening", extra={"url": f"http://{s.http_host}:{s.http_port}", "webhook": channels.webhook,
                                         "sms": channels.sms})
    # log_config=None: uvicorn logs (errors included) go through our JSON handler.
    config = uvicorn.Config(app, host=s.http_host, port=s.http_port, log_level="warning", access_log=False,
                            log_config=None)
    try:
        uvicorn.Server(config).run()  # handles SIGINT/SIGTERM itself
    finally:
        stop.set()
        worker.join(timeout=5)
    return 0
