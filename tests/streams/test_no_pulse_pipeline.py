"""No pulse and a silent bedside monitor through the real pipeline, in wall time: MQTT -> bridge -> Kafka -> worker.

Mosquitto, the bridge and the stream worker run as their own processes on
the Kafka mock cluster, with the product's default timeouts and tick. Three
patients publish at 1 Hz in real time:

- PN1's bedside monitor starts reporting HR 0 and SpO2 0 (the bridge
  dead-letters both as implausible) while respiration goes on: the worker
  must raise ``no_pulse`` (high) within 15 s of the first zero;
- PN2's bedside monitor goes silent: ``monitor_no_signal`` within 15 s of
  its last message;
- PN3's home wearable goes silent at the same time: nothing within the
  test (its timeout stays 5 min), and none of the three raises anything
  else clinical.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from kafka import KafkaConsumer, TopicPartition

from embedded.kafka_mock import MockKafka
from embedded.ports import free_port
from runtime.mqtt import new_client
from storage import registry
from tests.services import Services, read_topic, wait_for
from wire.messages import DeviceKind, DeviceReading, Telemetry
from wire.topics import telemetry_topic
from wire.units import ReadingType as RT

DEVICES = {"PN1": ("bm-np-1", DeviceKind.BEDSIDE_MONITOR), "PN2": ("bm-np-2", DeviceKind.BEDSIDE_MONITOR),
           "PN3": ("wp-np-3", DeviceKind.WEARABLE)}
WARM_S = 25  # normal data first: every process up and the worker live on its partitions
WATCH_S = 35  # after the event: long enough for both alarms, far short of a wearable's 5 min


def _message(device: str, seq: int, now: datetime, hr: float, spo2: float) -> bytes:
    rs = (DeviceReading(type=RT.HEART_RATE, t=now, value=hr, unit="/min"),
          DeviceReading(type=RT.SPO2, t=now, value=spo2, unit="%"),
          DeviceReading(type=RT.RESP_RATE, t=now, value=15 + seq % 3, unit="/min"))
    return Telemetry(device_id=device, seq=seq, sent_at=now, readings=rs).model_dump_json().encode()


def _healthy(port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_no_pulse_and_silent_bedside_monitor_within_15_s_wearable_keeps_its_long_timeout(
    tmp_path: Path, db_dsn: str, db: psycopg.Connection, mqtt_url: str, mqtt_v5: bool,
    kafka_cluster: MockKafka, topic_prefix: str,
) -> None:
    registry.add_ward(db, "wn", "Ward N")
    start = datetime.now(UTC).replace(microsecond=0)
    for bed, (pid, (device, kind)) in enumerate(DEVICES.items(), 1):
        registry.add_patient(db, pid, f"Patient {pid}", "wn", f"{bed:02d}")
        registry.add_device(db, device, kind)
        registry.assign(db, device, pid, start.replace(year=start.year - 1))
    bridge_port, streams_port = free_port(), free_port()
    env = {
        "RPM_DATABASE_URL": db_dsn, "RPM_MQTT_URL": mqtt_url, "RPM_MQTT_V5": "true" if mqtt_v5 else "false",
        "RPM_KAFKA_BOOTSTRAP": kafka_cluster.bootstrap, "RPM_TOPIC_PREFIX": topic_prefix, "RPM_PARTITIONS": "4",
        "RPM_DATA_DIR": str(tmp_path / "streams"), "RPM_BRIDGE_INSTANCE": f"b{topic_prefix.strip('.')}",
    }
    cands_topic = f"{topic_prefix}rpm.alert-candidates.v1"
    svc = Services(env, tmp_path)
    client, target = new_client(mqtt_url, "no-pulse-publisher", v5=mqtt_v5)
    consumer = KafkaConsumer(bootstrap_servers=kafka_cluster.bootstrap, api_version=(2, 3, 0),
                             enable_auto_commit=False)
    seen: list[tuple[float, dict[str, object]]] = []  # (wall time received, candidate)
    try:
        for name, port in (("bridge", bridge_port), ("streams", streams_port)):
            svc.env["RPM_METRICS_PORT"] = str(port)
            svc.start(name)
        wait_for(lambda: _healthy(bridge_port) and _healthy(streams_port), 120, "bridge and worker ready", svc)
        client.connect(target.host, target.port)
        client.loop_start()
        tps = [TopicPartition(cands_topic, p) for p in range(4)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)

        def poll() -> None:
            for records in consumer.poll(timeout_ms=50).values():
                seen.extend((time.time(), json.loads(r.value)) for r in records)

        seq = 0
        event_wall = last_normal_wall = 0.0
        t_next = time.time()
        while True:
            now_wall = time.time()
            if seq == WARM_S:
                event_wall = now_wall  # PN1's first zero; PN2's and PN3's first missing message is 1 s later
            if seq >= WARM_S + WATCH_S:
                break
            now = datetime.now(UTC)
            if seq < WARM_S:
                for device, _ in DEVICES.values():
                    client.publish(telemetry_topic(device), _message(device, seq, now, 72 + seq % 4, 97), qos=1)
                last_normal_wall = now_wall
            else:
                client.publish(telemetry_topic("bm-np-1"), _message("bm-np-1", seq, now, 0, 0), qos=1)
            t_next += 1.0
            while time.time() < t_next:
                poll()
                time.sleep(0.02)
            seq += 1
        poll()
    finally:
        client.disconnect()
        client.loop_stop()
        consumer.close()
        svc.close()

    def first(pid: str, rule: str) -> tuple[float, dict[str, object]] | None:
        return next(((w, c) for w, c in seen if c["patient_id"] == pid and c["rule"] == rule
                     and c["status"] == "firing"), None)

    no_pulse = first("PN1", "no_pulse")
    silent = first("PN2", "monitor_no_signal")
    assert no_pulse is not None and silent is not None, [(c["patient_id"], c["rule"]) for _, c in seen]
    no_pulse_s, silent_s = no_pulse[0] - event_wall, silent[0] - last_normal_wall
    since_last_pulse_s = no_pulse[0] - last_normal_wall
    print(f"onset to candidate: no_pulse {no_pulse_s:.2f} s after the first HR 0 ({since_last_pulse_s:.2f} s after "
          f"the last pulse), monitor_no_signal {silent_s:.2f} s after the last message")
    assert no_pulse[1]["priority"] == "high" and since_last_pulse_s <= 15
    assert silent[1]["priority"] == "medium" and silent_s <= 15
    assert "check patient" in str(silent[1]["message"])
    # The wearable went silent with PN2's monitor: nothing in 35 s, it keeps its 5-min timeout; and nobody
    # got a clinical alarm from the missing or dead-lettered values.
    by_patient = {(c["patient_id"], c["rule"]) for _, c in seen if c["status"] == "firing"}
    assert by_patient == {("PN1", "no_pulse"), ("PN2", "monitor_no_signal")}, by_patient
    dead = [json.loads(v) for v in read_topic(kafka_cluster.bootstrap, f"{topic_prefix}rpm.dead-letter.v1")]
    assert {d["reason"] for d in dead} == {"implausible_value"} and len(dead) == 2 * WATCH_S
