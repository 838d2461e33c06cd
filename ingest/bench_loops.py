"""Pieces of `rpm bench ingest`: the raw forwarding loops (the limit), a publisher process, a Kafka process.

The raw loops are what a bridge with no validation, no bookkeeping and no
metrics would do: take each MQTT message, produce its payload unchanged,
acknowledge it when Kafka confirmed. The bridge is measured against them.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from runtime.mqtt import new_client
from wire.messages import DeviceReading, Telemetry
from wire.topics import TELEMETRY_FILTER, telemetry_topic
from wire.units import UNITS, ReadingType

VITALS = (ReadingType.HEART_RATE, ReadingType.SPO2, ReadingType.RESP_RATE, ReadingType.TEMPERATURE,
          ReadingType.BP_SYSTOLIC)
NORMAL = {ReadingType.HEART_RATE: 72.0, ReadingType.SPO2: 97.0, ReadingType.RESP_RATE: 16.0,
          ReadingType.TEMPERATURE: 36.8, ReadingType.BP_SYSTOLIC: 120.0}


def device_ids(n: int) -> list[str]:
    return [f"bench-{i:04d}" for i in range(n)]


def payload(device: str, seq: int, readings: int, now: datetime) -> bytes:
    rs = tuple(
        DeviceReading(type=VITALS[i % len(VITALS)], t=now - timedelta(seconds=readings - i),
                      value=NORMAL[VITALS[i % len(VITALS)]], unit=UNITS[VITALS[i % len(VITALS)]].canonical)
        for i in range(readings)
    )
    return Telemetry(device_id=device, seq=seq, sent_at=now, readings=rs).model_dump_json().encode()


def subscriber(url: str, client_id: str, on_message: object, receive_maximum: int = 1000) -> mqtt.Client:
    """A persistent-session, manual-ack subscriber to every device's telemetry, connected and looping."""
    client, target = new_client(url, client_id, v5=True, clean_start=False, manual_ack=True)
    client.on_message = on_message  # type: ignore[assignment]
    client.on_connect = lambda c, u, f, rc, p=None: c.subscribe([(TELEMETRY_FILTER, 1)])
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 600
    props.ReceiveMaximum = receive_maximum
    client.connect(target.host, target.port, clean_start=False, properties=props)
    client.loop_start()
    return client


def create_session(url: str, client_id: str) -> None:
    """Subscribe once and leave: the broker then queues everything published for this client."""
    c = subscriber(url, client_id, lambda *_: None)
    deadline = time.monotonic() + 10
    while not c.is_connected() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    c.disconnect()
    c.loop_stop()


def raw_confluent(url: str, client_id: str, bootstrap: str, topic: str, n: int) -> float:
    """Drain n queued messages: produce each payload unchanged, ack on Kafka's confirmation. Returns seconds."""
    import confluent_kafka as ck

    from ingest.kafka_out import producer_config

    prod = ck.Producer(producer_config(bootstrap, client_id))
    done = threading.Event()
    count = [0]
    holder: list[mqtt.Client] = []

    def on_message(c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        mid = m.mid

        def delivered(err: object, _msg: object) -> None:
            c.ack(mid, 1)
            count[0] += 1
            if count[0] >= n:
                done.set()

        prod.produce(topic, bytes(m.payload), m.topic.encode(), on_delivery=delivered)
        prod.poll(0)

    start = time.monotonic()
    holder.append(subscriber(url, client_id, on_message))
    while not done.wait(0.01):
        prod.poll(0)
    elapsed = time.monotonic() - start
    holder[0].disconnect()
    holder[0].loop_stop()
    prod.flush(5)
    return elapsed


def raw_kafka_python(url: str, client_id: str, bootstrap: str, topic: str, n: int) -> float:
    """The same loop on kafka-python (idempotent, acks=all, lz4 when the lz4 package is there)."""
    from kafka import KafkaProducer
    from kafka.codec import has_lz4

    prod = KafkaProducer(bootstrap_servers=bootstrap, api_version=(2, 3, 0), acks="all", enable_idempotence=True,
                         linger_ms=5, batch_size=1024 * 1024, compression_type="lz4" if has_lz4() else "gzip")
    done = threading.Event()
    count = [0]
    lock = threading.Lock()
    holder: list[mqtt.Client] = []

    def on_message(c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        mid = m.mid

        def delivered(_md: object) -> None:
            c.ack(mid, 1)
            with lock:
                count[0] += 1
                if count[0] >= n:
                    done.set()

        prod.send(topic, value=m.payload, key=m.topic.encode()).add_callback(delivered)

    start = time.monotonic()
    holder.append(subscriber(url, client_id, on_message))
    done.wait(300)
    elapsed = time.monotonic() - start
    holder[0].disconnect()
    holder[0].loop_stop()
    prod.close(5)
    return elapsed


def publisher_main() -> None:
    """Child process: publish N QoS 1 messages of R readings from D devices at RATE msg/s (0 = as fast as possible)."""
    url, n, devices, readings, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    client, target = new_client(url, f"bench-pub-{time.monotonic_ns()}", v5=True)
    client.max_inflight_messages_set(1000)
    client.connect(target.host, target.port)
    client.loop_start()
    ids = device_ids(devices)
    infos = []
    start = time.monotonic()
    for i in range(n):
        if rate:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        dev = ids[i % devices]
        # Fresh timestamps keep readings inside the skew/horizon limits whatever the pace.
        infos.append(client.publish(telemetry_topic(dev), payload(dev, i, readings, datetime.now(UTC)), qos=1))
    for info in infos:
        info.wait_for_publish(60)
    print(f"{time.monotonic() - start:.3f}", flush=True)
    client.disconnect()
    client.loop_stop()


def kafka_main() -> None:
    """Child process: a Kafka mock with the given topics; prints its bootstrap, lives until stdin closes."""
    from embedded.kafka_mock import MockKafka

    mock = MockKafka()
    for spec in sys.argv[1:]:
        name, parts = spec.rsplit(":", 1)
        mock.create_topic(name, int(parts))
    print(mock.bootstrap, flush=True)
    sys.stdin.read()
    mock.close()
