"""Service heartbeats in PostgreSQL, read by the console's /healthz."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

import psycopg

log = logging.getLogger(__name__)


def start(
    dsn: str, service: str, instance: str, snapshot: Callable[[], dict[str, object]], stop: threading.Event,
    every_s: float = 3.0,
) -> threading.Thread:
    """Write this process's health snapshot every few seconds until ``stop``."""

    def loop() -> None:
        conn: psycopg.Connection | None = None
        while not stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
                snap = snapshot()
                conn.execute(
                    "INSERT INTO service_heartbeats (service, instance, ready, detail, updated_at)"
                    " VALUES (%s, %s, %s, %s, now()) ON CONFLICT (service, instance) DO UPDATE"
                    " SET ready = EXCLUDED.ready, detail = EXCLUDED.detail, updated_at = now()",
                    (service, instance, bool(snap.get("ready")), json.dumps(snap, default=str)),
                )
            except psycopg.Error as e:
                log.warning("heartbeat write failed", extra={"error": str(e)})
                if conn is not None:
                    conn.close()
                conn = None
            stop.wait(every_s)
        if conn is not None:
            conn.close()

    t = threading.Thread(target=loop, name=f"heartbeat-{service}", daemon=True)
    t.start()
    return t
