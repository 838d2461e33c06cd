"""Per-device token buckets (pure: the caller passes the time).

A flooding device must not starve the others: each device id (taken from
the MQTT topic, which the broker's ACL ties to the device's credentials)
gets ``burst`` messages at once and ``rate`` messages per second after
that. The excess is not dropped silently: the caller dead-letters it as
``rate_limited`` with its payload, so it stays recoverable and counted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    def __init__(self, rate_per_s: float, burst: float, max_tracked: int = 100_000) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate_per_s
        self.burst = burst
        self.max_tracked = max_tracked
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str, now_s: float, cost: float = 1.0) -> bool:
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_tracked:
                self._forget_full(now_s)
            b = self._buckets[key] = _Bucket(self.burst, now_s)
        elif now_s > b.at:
            b.tokens = min(self.burst, b.tokens + (now_s - b.at) * self.rate)
            b.at = now_s
        if b.tokens >= cost:
            b.tokens -= cost
            return True
        return False

    def tokens(self, key: str, now_s: float) -> float:
        b = self._buckets.get(key)
        if b is None:
            return self.burst
        return min(self.burst, b.tokens + max(0.0, now_s - b.at) * self.rate)

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_full(self, now_s: float) -> None:
        # A bucket that has refilled is indistinguishable from a new one:
        # forgetting it bounds memory when many device ids come and go.
        full_after = self.burst / self.rate
        stale = [k for k, b in self._buckets.items() if now_s - b.at >= full_after]
        for k in stale:
            del self._buckets[k]
