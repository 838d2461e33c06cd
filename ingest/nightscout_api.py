"""Nightscout-compatible uploads API: POST/GET /api/v1/entries[.json], GET /api/v1/status.json.

Authentication as uploaders send it: header ``api-secret`` with the SHA-1 hex
of the secret (or ``?token=<secret>``), one secret per patient's device
(``storage.upload_tokens``). An upload answers 200 only after Kafka confirmed
every record made from it (readings and dead letters); 401 bad token, 400
not a JSON array, 413 too large, 422 when no entry could be accepted (each
entry's reason in the body, and each dead-lettered and counted).
GET reads back the patient's stored glucose (the readings table), newest first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter

from ingest import nightscout_map
from ingest.kafka_submit import KafkaSubmitter
from ingest.registry_cache import RegistryCache
from ingest.validate import Limits
from storage import audit, upload_tokens

REFUSALS = ("bad_token", "not_json", "payload_too_large", "no_entry_accepted", "entry_refused")


class NightscoutMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        refused = Counter("rpm_nightscout_refused", "Nightscout uploads or entries refused, by reason", ["reason"],
                          registry=registry)
        self.refused = {r: refused.labels(r) for r in REFUSALS}
        self.entries = Counter("rpm_nightscout_entries_accepted", "entries confirmed by Kafka", registry=registry)


def create_app(connect: Callable[[], psycopg.Connection], cache: RegistryCache, submitter: KafkaSubmitter,
               limits: Limits, metrics: NightscoutMetrics) -> FastAPI:
    app = FastAPI(title="RPM Nightscout-compatible uploads", version="0.1.0")

    def device_of(request: Request) -> str | None:
        secret = request.headers.get("api-secret") or ""
        token = request.query_params.get("token")
        if token:
            secret = upload_tokens.sha1_hex(token)
        if not secret:
            return None
        with connect() as conn:
            return upload_tokens.device_for(conn, secret)

    def unauthorized() -> JSONResponse:
        metrics.refused["bad_token"].inc()
        return JSONResponse({"status": 401, "message": "Unauthorized", "description": "Invalid/Missing api-secret"},
                            status_code=401)

    @app.get("/api/v1/status.json")
    @app.get("/api/v1/status")
    def status() -> JSONResponse:
        now = datetime.now(UTC)
        return JSONResponse({"status": "ok", "name": "rpm", "version": "14.2.6-rpm", "serverTime": now.isoformat(),
                             "serverTimeEpoch": int(now.timestamp() * 1000), "apiEnabled": True,
                             "careportalEnabled": False, "boluscalcEnabled": False,
                             "settings": {"units": "mg/dl", "enable": []},
                             "extendedSettings": {}, "authorized": None})

    async def upload(request: Request) -> Response:
        device = await asyncio.to_thread(device_of, request)
        if device is None:
            return unauthorized()
        raw = await request.body()
        if len(raw) > limits.max_payload_bytes:
            metrics.refused["payload_too_large"].inc()
            return JSONResponse({"status": 413, "message": f"upload larger than {limits.max_payload_bytes} bytes"},
                                status_code=413)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            metrics.refused["not_json"].inc()
            return JSONResponse({"status": 400, "message": f"not JSON: {e}"}, status_code=400)
        items = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
        if items is None or len(items) > nightscout_map.MAX_ENTRIES:
            metrics.refused["not_json"].inc()
            return JSONResponse({"status": 400, "message": f"expected an array of at most"
                                 f" {nightscout_map.MAX_ENTRIES} entries"}, status_code=400)
        now = datetime.now(UTC)
        mapped = await asyncio.to_thread(nightscout_map.route, device, items, raw, now, cache.get(device), limits)
        await submitter.submit(mapped.outcome)
        metrics.entries.inc(len(mapped.accepted))
        if mapped.refused:
            metrics.refused["entry_refused"].inc(len(mapped.refused))
        refused = [{"index": i, "reason": r, "detail": d} for i, r, d in mapped.refused]
        if not mapped.accepted and refused:
            metrics.refused["no_entry_accepted"].inc()
            return JSONResponse({"status": 422, "message": "no entry accepted", "refused": refused}, status_code=422)
        accepted = [{**e.model_dump(exclude_none=True), "_id": f"{device}-{e.date or i}"} for i, e in mapped.accepted]
        headers = {"X-RPM-Refused": str(len(refused))} if refused else {}
        return JSONResponse(accepted, headers=headers)

    def read(request: Request) -> Response:
        device = device_of(request)
        if device is None:
            return unauthorized()
        try:
            count = min(int(request.query_params.get("count", "10")), 10_000)
        except ValueError:
            return JSONResponse({"status": 400, "message": "count must be an integer"}, status_code=400)
        since = request.query_params.get("find[date][$gte]") or request.query_params.get("find[date][$gt]")
        start = datetime.fromtimestamp(int(since) / 1000, UTC) if since and since.isdigit() else \
            datetime.now(UTC) - timedelta(days=30)
        with connect() as conn, conn.transaction():
            patient = conn.execute(
                "SELECT patient_id FROM assignments WHERE device_id = %s AND ended_at IS NULL", (device,)).fetchone()
            rows = [] if patient is None else conn.execute(
                "SELECT measured_at, value, device_id FROM readings WHERE patient_id = %s AND type = 'glucose'"
                " AND measured_at >= %s ORDER BY measured_at DESC LIMIT %s", (patient[0], start, count + 1)).fetchall()
            if patient is not None:
                # A read of patient data like any other: attributable to the uploader's secret (its device).
                audit.append(conn, f"device:{device}", "nightscout.read", str(patient[0]),
                             {"since": start, "returned": min(len(rows), count)})
        return JSONResponse(nightscout_map.entries_out(rows)[:count])

    for path in ("/api/v1/entries", "/api/v1/entries.json"):
        app.add_api_route(path, upload, methods=["POST"])
        app.add_api_route(path, read, methods=["GET"])
    app.add_api_route("/api/v1/entries/sgv.json", read, methods=["GET"])
    app.add_api_route("/api/v1/entries/sgv", read, methods=["GET"])
    return app
