"""A wearable patch's readings through the real Faust worker: every patient keeps being processed.

A patch sends skin temperature and its accelerometer's activity level beside
heart rate and SpO2. Closing a minute of those two types raised in the stream
core (no vital spec for them), which crashed the worker's agent: the
worker's log said "Crashed" and windows and alarms of every patient on the
worker stopped or came late. Here the worker (``rpm streams``, its own
process, Kafka mock) gets five minutes of a patch patient and of a bedside
patient who becomes tachycardic, in event time: the patch patient's HR and
SpO2 minutes close, the bedside patient's alarm is raised, nothing is
skipped and the agent never crashes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from embedded.kafka_mock import MockKafka
from embedded.ports import free_port
from tests.services import Services, produce_readings, read_topic, wait_for
from wire.messages import DeviceKind, Reading, ReadingBatch
from wire.units import ReadingType as RT


def _batches(start: datetime) -> list[ReadingBatch]:
    out = []
    for k in range(10):  # the patch uploads every 30 s: six samples of each type, 5 s apart
        rs = []
        for i in range(6):
            t = start + timedelta(seconds=k * 30 + i * 5)
            rs += [Reading(type=RT.HEART_RATE, t=t, value=78 + i % 3), Reading(type=RT.SPO2, t=t, value=97 - i % 2),
                   Reading(type=RT.SKIN_TEMPERATURE, t=t, value=34.1 + 0.1 * (i % 3)),
                   Reading(type=RT.MOTION, t=t, value=0.2 * i)]
        out.append(ReadingBatch(patient_id="PW", device_id="patch-w", seq=k, sent_at=rs[-1].t,
                                received_at=datetime.now(UTC), readings=tuple(rs), device_kind=DeviceKind.WEARABLE))
    for k in range(30):  # the bedside patient: 10-s batches at 1 Hz, HR 150 from 2 min on
        rs = []
        for i in range(10):
            s = k * 10 + i
            t = start + timedelta(seconds=s)
            rs += [Reading(type=RT.HEART_RATE, t=t, value=(150 if s >= 120 else 80) + s % 3),
                   Reading(type=RT.SPO2, t=t, value=97), Reading(type=RT.RESP_RATE, t=t, value=16 + s % 2)]
        out.append(ReadingBatch(patient_id="PB", device_id="mon-b", seq=k, sent_at=rs[-1].t,
                                received_at=datetime.now(UTC), readings=tuple(rs),
                                device_kind=DeviceKind.BEDSIDE_MONITOR))
    return sorted(out, key=lambda b: b.sent_at)


def _failed(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith("rpm_streams_failed_batches_total"))


def test_patch_readings_close_their_minutes_and_every_patient_keeps_its_alarms(
    tmp_path: Path, db_dsn: str, kafka_cluster: MockKafka, topic_prefix: str
) -> None:
    port = free_port()
    env = {
        "RPM_DATABASE_URL": db_dsn, "RPM_KAFKA_BOOTSTRAP": kafka_cluster.bootstrap, "RPM_TOPIC_PREFIX": topic_prefix,
        "RPM_PARTITIONS": "4", "RPM_DATA_DIR": str(tmp_path / "streams"), "RPM_WALL_CLOSE_S": "1",
        "RPM_IDLE_CLOSE_S": "10", "RPM_SIGNAL_LOSS_BEDSIDE_S": "0", "RPM_METRICS_PORT": str(port),
    }
    features_topic, cands_topic = f"{topic_prefix}rpm.features.v1", f"{topic_prefix}rpm.alert-candidates.v1"
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=15)

    def closed(pid: str) -> set[tuple[str, str]]:
        return {(str(w["type"]), str(w["start"])) for v in read_topic(kafka_cluster.bootstrap, features_topic)
                if (f := json.loads(v))["patient_id"] == pid for w in f["windows"] if w["length_s"] == 60}

    def minute(m: int) -> str:
        return (start + timedelta(minutes=m)).isoformat().replace("+00:00", "Z")

    want = {(t, minute(m)) for t in ("heart_rate", "spo2") for m in range(5)}
    svc = Services(env, tmp_path)
    try:
        svc.start("streams")
        produce_readings(kafka_cluster.bootstrap, topic_prefix, _batches(start), per_record=4)
        # Five minutes in event time, 15 minutes ago: the wall-clock tick closes the last one too.
        wait_for(lambda: want <= closed("PW"), 120, "the patch patient's HR and SpO2 minutes", svc)
        wait_for(lambda: any(json.loads(v)["patient_id"] == "PB" and json.loads(v)["rule"] == "heart_rate_high"
                             for v in read_topic(kafka_cluster.bootstrap, cands_topic)),
                 60, "the bedside patient's heart-rate alarm", svc)
        failed = _failed(port)
    finally:
        svc.close()
    log = (tmp_path / "streams.log").read_text(encoding="utf-8", errors="replace")
    assert "Crashed" not in log and "could not be processed" not in log, log[-3000:]
    assert failed == 0
    # Skin temperature and activity are stored and shown, not windowed: no features of theirs.
    assert {t for t, _ in closed("PW")} == {"heart_rate", "spo2"}
