"""The limit for ``rpm bench e2e``: the same transport hops with no product logic, measured in the same run.

A probe message goes MQTT publish -> subscriber -> Kafka topic A -> consumer
-> Kafka topic B -> consumer -> PostgreSQL INSERT + COMMIT, on the same
broker, cluster and database as the pipeline and under the same load. Its
latency is what the hops themselves cost; the pipeline's latency over it is
what validation, windowing, the alarm engine and the console push add.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

import confluent_kafka as ck
import psycopg

from runtime import kafka_batch
from runtime.mqtt import new_client
from wire.topics import KafkaTopic

log = logging.getLogger(__name__)
MQTT_TOPIC = "rpm-bench/probe"


def probe_topics(prefix: str) -> list[KafkaTopic]:
    return [KafkaTopic(f"{prefix}bench.probe-{x}", 1, "-", "bench probe hop") for x in ("a", "b")]


class Probe:
    """Send a probe every ``interval_s`` while running; ``latencies_ms`` holds the measured trips."""

    def __init__(self, mqtt_url: str, v5: bool, bootstrap: str, prefix: str, dsn: str, interval_s: float = 0.2) -> None:
        self.latencies_ms: list[float] = []
        self._stop = threading.Event()
        self._interval = interval_s
        self._a, self._b = (t.name for t in probe_topics(prefix))
        # librdkafka clients: kafka-python's, polling every 10 ms, cost the bench a tenth of a core each.
        self._producer = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": 1, "log_level": 3})
        self._bootstrap = bootstrap
        self._dsn = dsn
        self._sub, target = new_client(mqtt_url, f"bench-probe-sub-{prefix}", v5=v5)
        self._sub.on_message = lambda c, u, m: self._producer.produce(self._a, bytes(m.payload))
        self._sub.on_connect = lambda c, u, f, rc, p=None: c.subscribe(MQTT_TOPIC, qos=1)
        self._sub.connect(target.host, target.port)
        self._pub, ptarget = new_client(mqtt_url, f"bench-probe-pub-{prefix}", v5=v5)
        self._pub.connect(ptarget.host, ptarget.port)
        self._threads = [threading.Thread(target=self._logged, args=(f,), daemon=True)
                         for f in (self._hop, self._land, self._send)]
        self.errors: list[str] = []

    def _logged(self, f: Callable[[], None]) -> None:
        try:
            f()
        except Exception as e:  # reported with the result: a limit without samples must say why
            self.errors.append(f"{f.__name__}: {type(e).__name__}: {e}")
            log.exception("bench probe thread failed")

    def start(self) -> None:
        self._sub.loop_start()
        self._pub.loop_start()
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        for c in (self._sub, self._pub):
            c.disconnect()
            c.loop_stop()
        self._producer.flush(5)

    def _consumer(self, topic: str) -> ck.Consumer:
        c = ck.Consumer({"bootstrap.servers": self._bootstrap, "group.id": f"probe-{topic}",
                         "auto.offset.reset": "latest", "enable.auto.commit": False, "fetch.wait.max.ms": 10,
                         "log_level": 3})
        c.subscribe([topic])
        return c

    def _send(self) -> None:
        time.sleep(3.0)  # let the consumers join before the first probe
        while not self._stop.is_set():
            self._pub.publish(MQTT_TOPIC, json.dumps({"t": time.time()}), qos=1)
            self._stop.wait(self._interval)

    def _hop(self) -> None:
        c = self._consumer(self._a)
        while not self._stop.is_set():
            for r in kafka_batch.ready(c, 100, 0.1):
                if r.error() is None and (value := r.value()) is not None:
                    self._producer.produce(self._b, value)
            self._producer.flush()
        c.close()

    def _land(self) -> None:
        c = self._consumer(self._b)
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute("CREATE TEMP TABLE probe (t double precision)")
            while not self._stop.is_set():
                for r in kafka_batch.ready(c, 100, 0.1):
                    if r.error() is not None or (value := r.value()) is None:
                        continue
                    sent = float(json.loads(value)["t"])
                    with conn.transaction():
                        conn.execute("INSERT INTO probe (t) VALUES (%s)", (sent,))
                    self.latencies_ms.append((time.time() - sent) * 1000.0)
        c.close()
