"""Run a database operation until it commits, reconnecting with backoff through outages."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import psycopg

from runtime.health import Health

T = TypeVar("T")
log = logging.getLogger(__name__)


def run_with_retry(
    dsn: str,
    conn: psycopg.Connection | None,
    op: Callable[[psycopg.Connection], T],
    hc: Health,
    stop: threading.Event,
    on_error: Callable[[psycopg.Error], None] | None = None,
    max_backoff_s: float = 10.0,
) -> tuple[psycopg.Connection | None, T | None]:
    """Return (connection to reuse, op's result), or (…, None) if stopped before success.

    ``op`` must be idempotent: after a lost connection it is not known whether
    the last attempt committed, so it runs again.
    """
    backoff = 0.2
    while not stop.is_set():
        try:
            if conn is None or conn.closed:
                conn = psycopg.connect(dsn, connect_timeout=5)
            result = op(conn)
            hc.set("database", True)
            return conn, result
        except psycopg.Error as e:
            if on_error is not None:
                on_error(e)
            hc.set("database", False, str(e)[:200])
            log.warning("database operation failed, retrying", extra={"error": str(e)[:200], "backoff_s": backoff})
            hc.beat()  # retrying is alive: a database outage must not fail the liveness probe
            if conn is not None:
                conn.close()
            conn = None
            stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff_s)
    return conn, None
