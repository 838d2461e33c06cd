"""runtime.kafka_batch.ready on the Kafka mock: returns at the first record, with whatever else is fetched."""

from __future__ import annotations

import time
import uuid

import confluent_kafka as ck

from embedded.kafka_mock import MockKafka
from runtime import kafka_batch
from wire.topics import KafkaTopic


def test_ready_returns_at_once_with_what_is_there_and_empty_after_the_timeout(kafka_cluster: MockKafka) -> None:
    topic = f"kb{uuid.uuid4().hex[:8]}"
    kafka_cluster.create_topics([KafkaTopic(topic, 1, "-", "test")])
    c = ck.Consumer({"bootstrap.servers": kafka_cluster.bootstrap, "group.id": topic, "auto.offset.reset": "earliest",
                     "enable.auto.commit": False, "fetch.wait.max.ms": 10})
    c.subscribe([topic])
    try:
        p = ck.Producer({"bootstrap.servers": kafka_cluster.bootstrap})
        for i in range(3):
            p.produce(topic, b"%d" % i)
        assert p.flush(10) == 0
        got: list[ck.Message] = []
        deadline = time.monotonic() + 30
        while len(got) < 3 and time.monotonic() < deadline:  # the first call also joins the group
            got += [m for m in kafka_batch.ready(c, 500, 1.0) if m.error() is None]
        assert [m.value() for m in got] == [b"0", b"1", b"2"]
        p.produce(topic, b"late")
        assert p.flush(10) == 0
        t = time.monotonic()
        again = kafka_batch.ready(c, 500, 10.0)
        assert [m.value() for m in again] == [b"late"] and time.monotonic() - t < 5.0  # not the whole 10 s
        t = time.monotonic()
        assert kafka_batch.ready(c, 500, 0.3) == [] and time.monotonic() - t >= 0.25
    finally:
        c.close()
