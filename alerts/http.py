"""The console's HTTP service: health of every stage, alerts API, live page.

The console shows ward, bed and patient id but no names, because sign-in and
per-user audit arrive with the console issue. Alarm actions (acknowledge,
pause) and the roster/limit editing live in ``alerts.http_actions``; every
alarm change is pushed on ``/api/alerts/stream`` as an ``alert`` event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from importlib import resources

import psycopg
from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from alerts import http_actions, store
from alerts.broadcast import Broadcaster
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
) -> FastAPI:
    app = FastAPI(title="RPM console", version="0.1.0")

    @app.get("/healthz")
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

    @app.get("/api/alerts")
    def api_alerts(
        limit: int = Query(100, ge=1, le=1000), open_only: bool = Query(False, alias="open")
    ) -> list[dict[str, object]]:
        with connect() as conn:
            return [a.to_json() for a in store.list_alerts(conn, limit, open_only=open_only)]

    @app.get("/api/alerts/stream")
    async def stream() -> StreamingResponse:
        q = broadcaster.subscribe()

        async def events() -> AsyncIterator[bytes]:
            try:
                yield b": connected\n\n"
                while True:
                    try:
                        msg = await asyncio.wait_for(q.get(), timeout=15)
                        yield f"event: alert\ndata: {msg}\n\n".encode()
                    except TimeoutError:
                        yield b": keepalive\n\n"
            finally:
                broadcaster.unsubscribe(q)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    page = resources.files("alerts.static").joinpath("console.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page

    # After the fixed paths: /api/alerts/{alert_id} must not swallow /api/alerts/stream.
    http_actions.add_routes(app, connect, broadcaster, metrics or AlertMetrics(registry), channels)
    return app
