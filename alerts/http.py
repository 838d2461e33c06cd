"""The console's HTTP service: the console (alerts.console: sign-in, the alerts API and live stream,
ward/patient/home/admin pages) and, only when ``ops_endpoints`` is set, health of every stage
(/healthz) and metrics (/metrics).

The console port faces users; /metrics and the stage health answer without a
session, so by default they are served on the metrics port only
(runtime.health, RPM_METRICS_PORT), where the chart's probes and the
ServiceMonitor reach them. ``RPM_CONSOLE_OPS_ENDPOINTS=true`` adds them here
for a local demo (`rpm up` binds 127.0.0.1) and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from alerts.broadcast import Broadcaster
from alerts.console.app import install as install_console
from alerts.metrics import AlertMetrics
from alerts.notification_plan import ChannelsEnabled
from runtime.health import Health

STAGES = ("bridge", "streams", "sink", "alerts")


def create_app(
    connect: Callable[[], psycopg.Connection],
    broadcaster: Broadcaster,
    registry: CollectorRegistry,
    hc: Health,
    heartbeat_stale_s: float = 15.0,
    metrics: AlertMetrics | None = None,
    channels: ChannelsEnabled = ChannelsEnabled(webhook=False, sms=False),
    ops_endpoints: bool = False,
) -> FastAPI:
    # /docs comes from alerts.console (Swagger UI served locally, no CDN).
    app = FastAPI(title="RPM console", version="0.1.0", docs_url=None, redoc_url=None)
    metrics = metrics or AlertMetrics(registry)
    app.state.alert_metrics = metrics  # console actions count their lifecycle transitions here
    app.state.alert_channels = channels  # and notify through the service's channels
    install_console(app, connect, broadcaster, registry=registry)
    if ops_endpoints:
        add_ops_endpoints(app, connect, registry, hc, heartbeat_stale_s)
    return app


def add_ops_endpoints(
    app: FastAPI, connect: Callable[[], psycopg.Connection], registry: CollectorRegistry, hc: Health,
    heartbeat_stale_s: float,
) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        stages: dict[str, object] = {s: {"state": "missing"} for s in STAGES}
        db_ok = True
        try:
            with connect() as conn:
                rows = conn.execute(
                    "SELECT service, instance, ready, updated_at, extract(epoch FROM now() - updated_at)"
                    " FROM service_heartbeats ORDER BY service, instance"
                ).fetchall()
        except psycopg.Error as e:
            db_ok, rows = False, []
            stages["database"] = {"state": "down", "detail": str(e)[:200]}
        for service, instance, ready, updated_at, age in rows:
            fresh = float(age) < heartbeat_stale_s
            state = "up" if fresh and ready else ("not_ready" if fresh else "stale")
            entry = stages.setdefault(service, {"state": state, "instances": {}})
            assert isinstance(entry, dict)
            entry.setdefault("instances", {})[instance] = {"state": state, "last_seen": updated_at.isoformat()}
            if entry.get("state") != "up":
                entry["state"] = state
        if db_ok:
            stages["database"] = {"state": "up"}
        stages["console"] = {"state": "up" if hc.alive() else "stale", **hc.snapshot()}
        ok = all(isinstance(v, dict) and v.get("state") == "up" for v in stages.values())
        body = {"status": "ok" if ok else "degraded", "time": datetime.now(UTC).isoformat(), "stages": stages}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
