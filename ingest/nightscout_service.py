"""`rpm nightscout`: the Nightscout-compatible uploads API (ingest.nightscout_api) under uvicorn."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta

import psycopg
import uvicorn

from ingest import submit_service
from ingest.nightscout_api import NightscoutMetrics, create_app
from ingest.nightscout_settings import NightscoutSettings
from ingest.validate import Limits
from runtime import heartbeat, logs
from storage.registry import AssignmentSnapshot, load_snapshot

log = logging.getLogger(__name__)


def run(s: NightscoutSettings) -> int:
    logs.setup("nightscout", s.log_level)
    dsn = s.database_url.get_secret_value()

    def connect() -> psycopg.Connection:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=5)

    def load() -> AssignmentSnapshot:
        with connect() as conn:
            return load_snapshot(conn)

    svc = submit_service.start(s, s.nightscout_instance, load)
    hc, stop, cache, kafka, submitter, fatal = svc.hc, svc.stop, svc.cache, svc.kafka, svc.submitter, svc.fatal
    limits = Limits(s.max_payload_bytes, timedelta(seconds=s.max_future_skew_s), timedelta(seconds=s.late_horizon_s))
    app = create_app(connect, cache, submitter, limits, NightscoutMetrics(svc.registry))
    heartbeat.start(dsn, "nightscout", s.nightscout_instance, hc.snapshot, stop)
    server = uvicorn.Server(uvicorn.Config(app, host=s.nightscout_host, port=s.nightscout_port, log_level="warning",
                                           lifespan="off"))

    def watch() -> None:
        # Health and registry refresh beside uvicorn; SIGTERM (stop) ends the server.
        while not stop.wait(0.5):
            hc.beat()
            hc.set("kafka", kafka.reachable, kafka.last_error)
            cache.maybe_refresh()
        server.should_exit = True

    threading.Thread(target=watch, name="nightscout-watch", daemon=True).start()
    hc.set("http", True)
    log.info("nightscout uploads API listening", extra={"host": s.nightscout_host, "port": s.nightscout_port})
    try:
        asyncio.run(server.serve())
    finally:
        stop.set()
        submitter.close()
    return 1 if fatal else 0
