"""The Faust worker against the Kafka protocol (mock cluster), killed mid-stream and restarted.

The worker runs as its own process (``rpm streams``); the test produces
packed ReadingBatch records the way the bridge does (wire.packed), SIGKILLs the worker after it
processed the first part, re-delivers some records (as a bridge redelivery
would), restarts it, and checks that every window was counted exactly once
and every alert condition was emitted under one id.
"""

from __future__ import annotations

import json
import signal
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaProducer

from embedded.kafka_mock import MockKafka
from tests.services import Services, read_topic, wait_for
from wire.messages import DeviceKind, Reading, ReadingBatch
from wire.packed import pack, partition_of
from wire.units import ReadingType as RT

PATIENTS = ("PA", "PB")


def records(start: datetime) -> list[tuple[str, bytes]]:
    """10 minutes per patient, 10-s batches of HR/SpO2/RR at 1 Hz; HR 140 in minutes 4-7 for PA."""
    out = []
    for k in range(60):
        for pid in PATIENTS:
            rs = []
            for i in range(10):
                s = k * 10 + i
                hr = 140 if pid == "PA" and 240 <= s < 480 else 80
                rs += [Reading(type=RT.HEART_RATE, t=start + timedelta(seconds=s), value=hr + (s * 7) % 5 - 2),
                       Reading(type=RT.SPO2, t=start + timedelta(seconds=s), value=97 + (s % 3) - 1),
                       Reading(type=RT.RESP_RATE, t=start + timedelta(seconds=s), value=16 + (s % 5) - 2)]
            t_sent = start + timedelta(seconds=k * 10 + 10)
            b = ReadingBatch(patient_id=pid, device_id=f"mon-{pid}", seq=k, sent_at=t_sent,
                             received_at=datetime.now(UTC), readings=tuple(rs), device_kind=DeviceKind.BEDSIDE_MONITOR)
            out.append((pid, b.model_dump_json().encode()))
    return out


def read_all(bootstrap: str, topic: str) -> list[dict[str, object]]:
    return [json.loads(v) for v in read_topic(bootstrap, topic)]


def test_kill_and_restart_recovers_state_without_double_counting(
    tmp_path: Path, db_dsn: str, kafka_cluster: MockKafka, topic_prefix: str
) -> None:
    env = {
        "RPM_DATABASE_URL": db_dsn, "RPM_KAFKA_BOOTSTRAP": kafka_cluster.bootstrap, "RPM_TOPIC_PREFIX": topic_prefix,
        "RPM_PARTITIONS": "4", "RPM_DATA_DIR": str(tmp_path / "streams"), "RPM_WALL_CLOSE_S": "1",
        "RPM_IDLE_CLOSE_S": "10", "RPM_SIGNAL_LOSS_BEDSIDE_S": "0",
    }
    features_topic, cands_topic = f"{topic_prefix}rpm.features.v1", f"{topic_prefix}rpm.alert-candidates.v1"
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=15)
    data = records(start)
    producer = KafkaProducer(bootstrap_servers=kafka_cluster.bootstrap, api_version=(2, 3, 0), acks="all")

    def produce(part: list[tuple[str, bytes]]) -> None:
        # As the bridge writes them for the worker (wire.packed), here one batch per packed record.
        for pid, value in part:
            producer.send(f"{topic_prefix}rpm.readings-packed.v1", partition=partition_of(pid, 4), value=pack([value]))
        producer.flush()

    def minute_closed(m: int) -> bool:
        want = (start + timedelta(minutes=m)).isoformat().replace("+00:00", "Z")
        return any(w["start"] == want and w["length_s"] == 60
                   for f in read_all(kafka_cluster.bootstrap, features_topic) for w in f["windows"])

    svc = Services(env, tmp_path)
    try:
        svc.start("streams")
        produce(data[:60])  # minutes 0-4
        wait_for(lambda: minute_closed(3), 90, "minute 3 features before the kill", svc)
        svc.stop("streams", signal.SIGKILL)
        produce(data[40:])  # minutes 3-9, the first 20 records again (redelivery)
        svc.start("streams")
        wait_for(lambda: minute_closed(9), 120, "minute 9 features after the restart", svc)
    finally:
        svc.close()
        producer.close()

    windows: dict[tuple[str, str, str], list[dict[str, object]]] = defaultdict(list)
    for f in read_all(kafka_cluster.bootstrap, features_topic):
        for w in f["windows"]:
            if w["length_s"] == 60:
                windows[(str(f["patient_id"]), str(w["type"]), str(w["start"]))].append(w)
    assert len(windows) == 2 * 3 * 10
    for key, emitted in windows.items():
        assert emitted[0]["received"] == 60, key  # never double counted, nothing lost
        assert all(e == emitted[0] for e in emitted), key  # a re-emission after the crash is identical

    cands = read_all(kafka_cluster.bootstrap, cands_topic)
    by_event = defaultdict(set)
    for c in cands:
        by_event[(c["patient_id"], c["rule"], c["status"], c["window_start"])].add(c["id"])
    assert all(len(ids) == 1 for ids in by_event.values())
    hr = sorted((k[2], k[3]) for k in by_event if k[1] == "heart_rate_high")

    def iso(sec: int) -> str:
        return (start + timedelta(seconds=sec)).isoformat().replace("+00:00", "Z")

    # HR 140 from 240 s to 480 s on the sliding path (wire.rules: 10 s onset delay): onset at 240 s,
    # fired at 250 s, re-announced every 30 s while it held, one clear when the median came back.
    assert hr == [("clear", iso(482))] + [("firing", iso(x)) for x in [240, *range(250, 460, 30)]]
    # HR 140 also scores 3 in NEWS2 (a red flag beside HR, SpO2 and RR): its own rule, once per minute.
    assert {k[1] for k in by_event} == {"heart_rate_high", "news2_red_flag"} and {k[0] for k in by_event} == {"PA"}
