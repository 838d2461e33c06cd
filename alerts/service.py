"""`rpm alerts`: the alert consumer thread plus the console HTTP server."""

from __future__ import annotations

import logging
import threading

import psycopg
import uvicorn
from prometheus_client import CollectorRegistry

from alerts import alarm_metrics
from alerts.broadcast import Broadcaster
from alerts.consumer import AlertMetrics, consume
from alerts.http import create_app
from alerts.settings import AlertSettings
from runtime import health, heartbeat, logs

log = logging.getLogger(__name__)


def run(s: AlertSettings) -> int:
    logs.setup("alerts", s.log_level)
    registry = CollectorRegistry()
    hc = health.Health()
    stop = threading.Event()
    broadcaster = Broadcaster()
    dsn = s.database_url.get_secret_value()
    heartbeat.start(dsn, "alerts", s.alerts_instance, hc.snapshot, stop)
    # Liveness/readiness of this process alone on the metrics port (the
    # console's /healthz reports every stage, so a probe must not use it).
    if s.metrics_port:
        health.serve(s.metrics_port, registry, hc)
    alarm_metrics.start(dsn, alarm_metrics.AlarmMetrics(registry), stop)
    worker = threading.Thread(
        target=consume, args=(s, broadcaster, AlertMetrics(registry), hc, stop), name="alert-consumer", daemon=True
    )
    worker.start()
    app = create_app(lambda: psycopg.connect(dsn, connect_timeout=5), broadcaster, registry, hc, s.heartbeat_stale_s)
    log.info("console listening", extra={"url": f"http://{s.http_host}:{s.http_port}"})
    config = uvicorn.Config(app, host=s.http_host, port=s.http_port, log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run()  # handles SIGINT/SIGTERM itself
    finally:
        stop.set()
        worker.join(timeout=5)
    return 0
