"""Outside channels: a generic HMAC-signed webhook and an HTTP SMS gateway.

Webhook: ``POST <url>`` with the JSON body from the outbox, unchanged on
every retry, and headers

- ``X-RPM-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`` (verify
  with a constant-time comparison, as GitHub/Stripe-style receivers do);
- ``X-RPM-Delivery: <alarm id>:<transition>:webhook:*`` to deduplicate a
  delivery repeated after a crash.

SMS gateway (configurable URL, e.g. a carrier's or an aggregator's HTTP API
behind a small adapter): ``POST <url>`` with JSON ``{"to", "text",
"reference", "sender"}`` and ``Authorization: Bearer <token>`` when a token
is set. Any 2xx answer is a success; anything else, or no answer within the
timeout, is a failed attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from alerts.outbox import OutboxRow


class DeliveryError(Exception):
    pass


class Sender(Protocol):
    def send(self, row: OutboxRow) -> None: ...


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature)


def _post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> None:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            if not 200 <= resp.status < 300:
                raise DeliveryError(f"HTTP {resp.status}")
    except urllib.error.HTTPError as e:
        raise DeliveryError(f"HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DeliveryError(f"{type(e).__name__}: {getattr(e, 'reason', e)}") from None


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    secret: bytes
    timeout_s: float = 5.0

    def send(self, row: OutboxRow) -> None:
        body = row.body.encode()
        _post(self.url, body, {"X-RPM-Signature-256": sign(self.secret, body), "X-RPM-Delivery": row.dedup_key},
              self.timeout_s)


@dataclass(frozen=True, slots=True)
class SmsGateway:
    url: str
    token: str | None = None
    sender: str = "RPM"
    timeout_s: float = 5.0

    def send(self, row: OutboxRow) -> None:
        body = json.dumps({"to": row.address, "text": row.body, "reference": row.dedup_key, "sender": self.sender},
                          ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        _post(self.url, body, headers, self.timeout_s)
