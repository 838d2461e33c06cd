"""A real local HTTP server standing in for a webhook receiver or an SMS gateway: it records what it received."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class HttpPeer:
    """``status`` is what it answers (e.g. 500 for an outage); ``hang`` set: it answers only once released;
    ``stop()`` makes it unreachable."""

    status: int = 200
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    hang: threading.Event | None = None

    def __post_init__(self) -> None:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                peer.attempts += 1
                if peer.hang is not None:
                    peer.hang.wait(60)  # a receiver that accepted the connection and never answers
                if 200 <= peer.status < 300:
                    peer.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(peer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server.fileno() == -1:
            return  # stopped already
        self._server.shutdown()
        self._server.server_close()
