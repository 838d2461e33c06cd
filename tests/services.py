"""Run product services as real processes for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from wire.messages import ReadingBatch

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


class Services:
    """Start `rpm <service>` processes with a given environment; print their logs on failure."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env = {**os.environ, **env}
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.logdir / f"{name}.log", "ab")
        p = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *(args or (name,))], env=self.env, stdout=log, stderr=log, cwd=REPO
        )
        self.procs[name] = p
        return p

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        p = self.procs.pop(name)
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def assert_running(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"services exited: {dead}\n{self.logs()}"

    def logs(self, tail: int = 40) -> str:
        out = []
        for f in sorted(self.logdir.glob("*.log")):
            lines = f.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"--- {f.name}\n" + "\n".join(lines))
        return "\n".join(out)

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def wait_for(check: Callable[[], T | None], timeout_s: float, what: str, services: Services | None = None) -> T:
    """Poll ``check`` until it returns something truthy; fail with the services' logs otherwise."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        if services is not None:
            services.assert_running()
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last={last!r}\n"
                         + (services.logs() if services else ""))


def read_topic(bootstrap: str, topic: str, timeout_s: float = 60.0) -> list[bytes]:
    """Every record of ``topic`` up to its end offsets at call time.

    Reading "until nothing arrives for N seconds" returned nothing at all when the shared mock cluster
    was slow to answer metadata late in the suite, and an empty read then passed for "no data".
    Reading to the end offsets known at call time either returns everything or fails loudly.
    """
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, api_version=(2, 3, 0), enable_auto_commit=False)
    deadline = time.time() + timeout_s
    try:
        parts = c.partitions_for_topic(topic)
        while not parts:
            if time.time() > deadline:
                raise AssertionError(f"topic {topic} has no partitions after {timeout_s:.0f} s")
            time.sleep(0.2)
            parts = c.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)
        out: list[bytes] = []
        while any(c.position(tp) < end[tp] for tp in tps):
            if time.time() > deadline:
                raise AssertionError(f"reading {topic} to its end offsets {end} took over {timeout_s:.0f} s")
            for records in c.poll(timeout_ms=500).values():
                out.extend(r.value for r in records)
        return out
    finally:
        c.close()


def produce_readings(bootstrap: str, prefix: str, batches: Sequence[ReadingBatch], per_record: int = 64) -> None:
    """``batches`` on the packed readings topic, partitioned and packed as the bridge writes them."""
    from confluent_kafka import Producer

    from wire import packed, topics

    name = topics.kafka_topics(prefix)[topics.READINGS_PACKED].name
    p = Producer({"bootstrap.servers": bootstrap})
    partitions = len(p.list_topics(name, timeout=10).topics[name].partitions)  # as created, not the default
    errors: list[str] = []

    def on_delivery(err: object, _m: object) -> None:
        if err is not None:
            errors.append(str(err))

    pairs = ((b.patient_id, b.model_dump_json().encode()) for b in batches)
    for part, value in packed.group(pairs, partitions, per_record):
        p.produce(name, key=b"p%d" % part, value=value, partition=part, on_delivery=on_delivery)
    assert p.flush(30) == 0 and not errors, f"Kafka did not confirm every readings record: {errors[:3]}"


def readings_batches(bootstrap: str, prefix: str, timeout_s: float = 60.0) -> list[dict[str, object]]:
    """Every ReadingBatch (as JSON objects) on the packed readings topic so far."""
    from wire import topics

    name = topics.kafka_topics(prefix)[topics.READINGS_PACKED].name
    return [b for v in read_topic(bootstrap, name, timeout_s) for b in json.loads(v)["batches"]]


def publish_qos1(url: str, v5: bool, messages: list[tuple[str, bytes]], client_id: str) -> None:
    """Publish ``(topic, payload)`` pairs at QoS 1 and return once the broker acknowledged every one."""
    import paho.mqtt.client as mqtt

    from runtime.mqtt import new_client

    client, target = new_client(url, client_id, v5=v5)
    client.connect(target.host, target.port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=30)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS
    client.disconnect()
    client.loop_stop()
