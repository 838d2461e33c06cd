"""Produce a validated message's records (readings and dead letters) and wait until Kafka confirmed all of them.

The request/response inbound interfaces (HL7 v2 over MLLP, the Nightscout
uploads API) answer their sender only after this returns: like the MQTT
bridge's PUBACK, an ACK or a 200 means "in Kafka". A record that fails is
produced again with backoff while the sender waits (and, if it gives up,
resends: the natural key of each reading makes the repeat harmless).
Same producer (``ingest.kafka_out``), topics and dead-letter counters as the
bridge.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import confluent_kafka as ck

from ingest.kafka_out import KafkaOut
from ingest.metrics import BridgeMetrics
from ingest.validate import Dest, Outcome
from wire import topics
from wire.messages import DeadLetterReason
from wire.packed import pack, partition_of

log = logging.getLogger(__name__)


def _settle(done: asyncio.Future[ck.KafkaError | None], err: ck.KafkaError | None) -> None:
    if not done.done():
        done.set_result(err)


class KafkaSubmitter:
    def __init__(self, kafka: KafkaOut, topic_prefix: str, metrics: BridgeMetrics,
                 backoff_s: float = 0.2, backoff_max_s: float = 10.0) -> None:
        self.kafka = kafka
        self.metrics = metrics
        names = {k: t.name for k, t in topics.kafka_topics(topic_prefix).items()}
        self.status_topic = names[topics.DEVICE_STATUS]
        self.dead_topic = names[topics.DEAD_LETTER]
        self.packed_topic = names[topics.READINGS_PACKED]
        self._partitions: int | None = None  # of the packed topic, once the cluster told
        self._backoff, self._backoff_max = backoff_s, backoff_max_s
        self._stop = threading.Event()
        # librdkafka confirms records through callbacks served by poll(): one thread serves them.
        self._poller = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.kafka.poll(0.05)

    async def _packed_partitions(self) -> int:
        """The packed topic's partition count (readings must land on ``partition_of`` their patient)."""
        delay = self._backoff
        while self._partitions is None:
            self._partitions = await asyncio.to_thread(self.kafka.partitions, self.packed_topic, 1.0)
            if self._partitions is None:
                log.warning("packed readings topic not known to the cluster yet; waiting", extra={"backoff_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff_max)
        return self._partitions

    async def _one(self, topic: str, key: bytes | None, value: bytes, partition: int = -1) -> None:
        loop = asyncio.get_running_loop()
        delay = self._backoff
        while True:
            done: asyncio.Future[ck.KafkaError | None] = loop.create_future()

            def on_delivery(err: ck.KafkaError | None, _m: object, done: asyncio.Future[ck.KafkaError | None] = done) -> None:
                loop.call_soon_threadsafe(_settle, done, err)

            self.kafka.produce(topic, key, value, on_delivery, partition)
            err = await done
            if err is None:
                self.kafka.delivered()
                return
            self.metrics.kafka_errors.inc()
            log.warning("kafka delivery failed; producing again", extra={"error": str(err), "backoff_s": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)

    async def submit(self, outcome: Outcome) -> None:
        """Every record of ``outcome`` confirmed by Kafka; counts readings forwarded and dead letters by reason."""
        groups: dict[int, list[bytes]] = {}
        readings = [f for f in outcome.accepted if f.dest is Dest.READINGS]
        if readings:
            n = await self._packed_partitions()
            for f in readings:
                groups.setdefault(partition_of(f.key, n), []).append(f.value)
        # Readings packed like the bridge's (wire.packed), one record per partition touched.
        jobs = [self._one(self.packed_topic, b"p%d" % part, pack(values), part) for part, values in groups.items()]
        jobs += [self._one(self.status_topic, f.key.encode(), f.value)
                 for f in outcome.accepted if f.dest is Dest.DEVICE_STATUS]
        jobs += [self._one(self.dead_topic, d.device_id.encode() if d.device_id else None, d.model_dump_json().encode())
                 for d in outcome.dead]
        await asyncio.gather(*jobs)
        self.metrics.forwarded.inc(outcome.forwarded_readings)
        reasons: list[DeadLetterReason] = [d.reason for d in outcome.dead]
        for r in reasons:
            self.metrics.dead[r].inc()

    def close(self, flush_s: float = 5.0) -> None:
        self._stop.set()
        self._poller.join(timeout=2)
        self.kafka.flush(flush_s)
