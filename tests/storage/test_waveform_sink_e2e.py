"""Raw waveforms end to end: a monitor publishes pleth and ECG snippets over MQTT, the real bridge forwards them
to Kafka, the real sink stores every sample; a replay of the same messages adds nothing, and the sink counts both.

Real Mosquitto, the librdkafka mock cluster and PostgreSQL; each service in its own process.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from embedded.kafka_mock import MockKafka
from embedded.ports import free_port
from firmware_sim.ppg import ppg_snippet
from storage import registry, waveforms
from tests.services import Services, publish_qos1, wait_for
from wire.messages import DeviceKind, Waveform, WaveformKind
from wire.topics import waveform_topic

DEVICE = "mon-wave-store-1"


def _metric(port: int, name: str) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return -1.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return -1.0


def test_published_waveforms_are_stored_sample_for_sample_and_replays_add_nothing(
    tmp_path: Path, db_dsn: str, db: psycopg.Connection, mqtt_url: str, mqtt_v5: bool,
    kafka_cluster: MockKafka, topic_prefix: str,
) -> None:
    registry.add_ward(db, "w1", "Ward 1")
    registry.add_patient(db, "PWS1", "Wave Store Patient", "w1", "09")
    registry.add_device(db, DEVICE, DeviceKind.BEDSIDE_MONITOR)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    registry.assign(db, DEVICE, "PWS1", start - timedelta(hours=1))

    rng = random.Random(11)
    sent: list[Waveform] = []
    for k in range(6):  # a minute of 10-s pleth snippets, 12-bit ADC codes
        t0 = start + timedelta(seconds=10 * k)
        samples = tuple(float(round(2048 + 900 * v)) for v in ppg_snippet(76, 15, 10.0, 100.0, rng))
        sent.append(Waveform(device_id=DEVICE, seq=k, sent_at=t0 + timedelta(seconds=10), kind=WaveformKind.PPG,
                             t0=t0, fs_hz=100.0, samples=samples, adc_bits=12))
    # 20 s of ECG in millivolts at 250 Hz (scaled values, not ADC codes).
    ecg = tuple(round(((i % 200) / 200.0) ** 8 * 1.5 - 0.125, 3) for i in range(5000))
    sent.append(Waveform(device_id=DEVICE, seq=6, sent_at=start + timedelta(seconds=21), kind=WaveformKind.ECG,
                         t0=start, fs_hz=250.0, unit="mV", samples=ecg))
    messages = [(waveform_topic(DEVICE), w.model_dump_json().encode()) for w in sent]

    env = {
        "RPM_DATABASE_URL": db_dsn, "RPM_MQTT_URL": mqtt_url, "RPM_MQTT_V5": "true" if mqtt_v5 else "false",
        "RPM_KAFKA_BOOTSTRAP": kafka_cluster.bootstrap, "RPM_TOPIC_PREFIX": topic_prefix, "RPM_PARTITIONS": "4",
        "RPM_BRIDGE_INSTANCE": f"ws{topic_prefix.strip('.')}",
    }
    port = free_port()
    bridge = Services(env, tmp_path)
    sink = Services({**env, "RPM_METRICS_PORT": str(port)}, tmp_path)
    try:
        bridge.start("bridge")
        sink.start("sink")

        def ready() -> bool:
            rows = db.execute("SELECT service FROM service_heartbeats WHERE ready "
                              "AND updated_at > now() - interval '15 seconds'").fetchall()
            return {"bridge", "sink"} <= {r[0] for r in rows}

        wait_for(ready, 120, "bridge and sink ready", bridge)
        publish_qos1(mqtt_url, mqtt_v5, messages, "wave-store-publisher")

        def stored() -> int | None:
            row = db.execute("SELECT count(*) FROM waveform_snippets WHERE patient_id = 'PWS1'").fetchone()
            return row[0] if row and row[0] >= 7 else None

        assert wait_for(stored, 120, "7 snippets in waveform_snippets", sink) == 7
        got = waveforms.read(db, "PWS1", start - timedelta(seconds=1), start + timedelta(minutes=2))
        by_key = {(s.kind, s.start_at): s for s in got}
        assert len(by_key) == 7
        for w in sent:
            s = by_key[(w.kind.value, w.t0)]
            assert s.device_id == DEVICE and s.fs_hz == w.fs_hz and s.unit == w.unit and s.adc_bits == w.adc_bits
            assert s.samples.tolist() == list(w.samples)  # every sample as the device sent it
        encodings = dict(db.execute("SELECT kind, min(encoding) FROM waveform_snippets GROUP BY kind").fetchall())
        assert encodings == {"ppg": "i16", "ecg": "f64"}
        assert wait_for(lambda: _metric(port, "rpm_sink_waveform_snippets_inserted_total") == 7, 30,
                        "the sink counting 7 new snippets", sink)

        # The monitor re-sends everything (a reconnect without its acknowledgements): no new rows, counted.
        publish_qos1(mqtt_url, mqtt_v5, messages, "wave-store-publisher")
        wait_for(lambda: _metric(port, "rpm_sink_waveform_snippets_duplicate_total") == 7, 120,
                 "the sink counting 7 replayed snippets", sink)
        assert db.execute("SELECT count(*) FROM waveform_snippets").fetchone() == (7,)
        assert _metric(port, "rpm_sink_waveform_snippets_inserted_total") == 7
        assert _metric(port, 'rpm_sink_waveform_snippets_bad_total{reason="invalid"}') in (-1.0, 0.0)
    finally:
        sink.close()
        bridge.close()
