"""Read what a librdkafka consumer has, as soon as it has anything.

``Consumer.consume(n, timeout)`` waits until it holds ``n`` messages or the
timeout passed: with few records (alarm candidates) every batch waited the
whole timeout, which is alarm latency. ``poll`` returns at the first message;
the rest of what is already fetched follows without waiting.
"""

from __future__ import annotations

import confluent_kafka as ck


def ready(consumer: ck.Consumer, max_records: int, timeout_s: float) -> list[ck.Message]:
    first = consumer.poll(timeout_s)
    if first is None:
        return []
    return [first, *consumer.consume(max_records - 1, timeout=0)] if max_records > 1 else [first]
