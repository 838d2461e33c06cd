"""Per-process Prometheus metrics and health endpoints on one small HTTP port.

``/metrics`` serves the injected registry; ``/healthz`` answers while the
process's own loop is alive (liveness); ``/readyz`` answers 200 only when
the service says its dependencies are reachable (readiness).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Health:
    """Liveness (a loop heartbeat) and readiness (dependency checks), thread-safe."""

    def __init__(self, stale_after_s: float = 30.0) -> None:
        self._beat = time.monotonic()
        self._ready: dict[str, bool] = {}
        self._detail: dict[str, str] = {}
        self._lock = threading.Lock()
        self.stale_after_s = stale_after_s

    def beat(self) -> None:
        self._beat = time.monotonic()

    def set(self, dependency: str, ok: bool, detail: str = "") -> None:
        with self._lock:
            self._ready[dependency] = ok
            self._detail[dependency] = detail

    def alive(self) -> bool:
        return time.monotonic() - self._beat < self.stale_after_s

    def ready(self) -> bool:
        with self._lock:
            return self.alive() and bool(self._ready) and all(self._ready.values())

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            deps = {k: {"ok": v, "detail": self._detail.get(k, "")} for k, v in self._ready.items()}
        return {"alive": self.alive(), "ready": self.ready(), "dependencies": deps}


def beat_from_loop(loop: asyncio.AbstractEventLoop, health: Health, every_s: float = 1.0) -> None:
    """Beat from ``loop`` itself, every ``every_s`` while it runs callbacks.

    For asyncio services whose own tasks start late or pause (Faust starts
    agents and timers only after table recovery): liveness then means "the
    event loop is not blocked", and a long recovery never looks like a hang.
    """

    def beat() -> None:
        health.beat()
        loop.call_later(every_s, beat)

    loop.call_soon_threadsafe(beat)


def serve(port: int, registry: CollectorRegistry, health: Health, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
                "/metrics": lambda: (200, CONTENT_TYPE_LATEST, generate_latest(registry)),
                "/healthz": lambda: _json(200 if health.alive() else 503, health.snapshot()),
                "/readyz": lambda: _json(200 if health.ready() else 503, health.snapshot()),
            }
            route = routes.get(self.path.split("?")[0])
            code, ctype, body = route() if route else (404, "text/plain", b"not found")
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server


def _json(code: int, obj: object) -> tuple[int, str, bytes]:
    return code, "application/json", json.dumps(obj).encode()
