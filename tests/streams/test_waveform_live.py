"""A simulated patch's pleth end to end: MQTT waveform topic -> bridge -> Kafka -> stream worker -> features,
scores and PostgreSQL; an ECG snippet of the same period is fused with it; bad waveforms are dead-lettered.

Real Mosquitto, the librdkafka mock cluster and PostgreSQL; each service in its own process.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

from embedded.kafka_mock import MockKafka
from firmware_sim.ppg import ppg_snippet
from storage import registry
from tests.services import Services, publish_qos1, read_topic, wait_for
from wire.messages import DeviceKind, Waveform, WaveformKind
from wire.topics import waveform_topic

DEVICE = "patch-wave-1"


def _ecg(hr: float, fs: float, seconds: float, lead_off_from: float | None = None) -> tuple[float, ...]:
    t = np.arange(int(seconds * fs)) / fs
    x = 0.02 * np.random.default_rng(1).standard_normal(t.size)
    for b in np.arange(0.2, seconds + 1, 60 / hr):
        x += np.exp(-0.5 * ((t - b) / 0.01) ** 2) + 0.3 * np.exp(-0.5 * ((t - b - 0.25) / 0.05) ** 2)
    if lead_off_from is not None:  # electrode lost: only noise remains, a false "asystole"
        off = t >= lead_off_from
        x[off] = 0.02 * np.random.default_rng(2).standard_normal(int(off.sum()))
    return tuple(np.round(x * 1000).tolist())


def _consume(bootstrap: str, topic: str) -> list[dict[str, object]]:
    return [json.loads(v) for v in read_topic(bootstrap, topic)]


def test_patch_pleth_gives_live_heart_rate_and_quality(
    tmp_path: Path, db_dsn: str, db: psycopg.Connection, mqtt_url: str, mqtt_v5: bool,
    kafka_cluster: MockKafka, topic_prefix: str,
) -> None:
    registry.add_ward(db, "w1", "Ward 1")
    registry.add_patient(db, "PW1", "Wave Patient", "w1", "07")
    registry.add_device(db, DEVICE, DeviceKind.WEARABLE)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    registry.assign(db, DEVICE, "PW1", start - timedelta(hours=1))

    env = {
        "RPM_DATABASE_URL": db_dsn, "RPM_MQTT_URL": mqtt_url, "RPM_MQTT_V5": "true" if mqtt_v5 else "false",
        "RPM_KAFKA_BOOTSTRAP": kafka_cluster.bootstrap, "RPM_TOPIC_PREFIX": topic_prefix, "RPM_PARTITIONS": "4",
        "RPM_DATA_DIR": str(tmp_path / "streams"), "RPM_BRIDGE_INSTANCE": f"w{topic_prefix.strip('.')}",
    }
    rng = random.Random(5)
    fs = 100.0
    messages: list[tuple[str, bytes]] = []
    for k in range(6):  # one minute of 10-s pleth snippets from the simulator's PPG model, HR 84
        t0 = start + timedelta(seconds=10 * k)
        samples = tuple(round(v * 1000) for v in ppg_snippet(84, 16, 10.0, fs, rng))
        msg = Waveform(device_id=DEVICE, seq=k, sent_at=t0 + timedelta(seconds=10), kind=WaveformKind.PPG, t0=t0,
                       fs_hz=fs, samples=samples)
        messages.append((waveform_topic(DEVICE), msg.model_dump_json().encode()))
    # The same patch's ECG for the first 20 s, its electrode lost after 8 s: a false asystole.
    ecg = Waveform(device_id=DEVICE, seq=6, sent_at=start + timedelta(seconds=21), kind=WaveformKind.ECG, t0=start,
                   fs_hz=250.0, samples=_ecg(84, 250.0, 20.0, lead_off_from=8.0))
    messages.append((waveform_topic(DEVICE), ecg.model_dump_json().encode()))
    # Then eight maximal snippets (60 s at 500 Hz, ~150 KB each): more than Kafka's 1 MB record limit together.
    for k in range(8):
        t0 = start + timedelta(seconds=60 + 60 * k)
        samples = tuple(round(v * 1000) for v in ppg_snippet(84, 16, 60.0, 500.0, rng))
        msg = Waveform(device_id=DEVICE, seq=7 + k, sent_at=t0 + timedelta(seconds=60), kind=WaveformKind.PPG,
                       t0=t0, fs_hz=500.0, samples=samples)
        messages.append((waveform_topic(DEVICE), msg.model_dump_json().encode()))
    too_long = json.loads(messages[0][1])
    too_long["fs_hz"] = 10.0  # 1000 samples at 10 Hz = 100 s: beyond the 60-s contract
    messages.append((waveform_topic(DEVICE), json.dumps(too_long).encode()))
    messages.append((waveform_topic("ghost-wave"), messages[0][1].replace(DEVICE.encode(), b"ghost-wave")))

    svc = Services(env, tmp_path)
    try:
        for name in ("bridge", "streams", "sink"):
            svc.start(name)
        def ready() -> bool:
            rows = db.execute("SELECT service FROM service_heartbeats WHERE ready "
                              "AND updated_at > now() - interval '15 seconds'").fetchall()
            return {"bridge", "streams", "sink"} <= {r[0] for r in rows}

        wait_for(ready, 120, "bridge, streams and sink ready", svc)
        publish_qos1(mqtt_url, mqtt_v5, messages, "wave-publisher")

        def stored() -> list[tuple[object, ...]] | None:
            rows = db.execute("SELECT waveform, hr_bpm, good_windows, windows, reason FROM waveform_hr "
                              "WHERE patient_id = 'PW1' ORDER BY at, waveform").fetchall()
            return rows if len(rows) >= 15 else None

        rows = wait_for(stored, 120, "15 waveform_hr rows in PostgreSQL", svc)
        ppg_rows = [r for r in rows if r[0] == "ppg"]
        assert len(ppg_rows) == 14
        for _, hr, good, windows, _reason in ppg_rows:
            assert hr is not None and abs(hr - 84) <= 3 and windows in (2, 27) and good >= 1

        scores = [s for b in _consume(kafka_cluster.bootstrap, f"{topic_prefix}rpm.scores.v1")
                  for s in b["scores"] if s["kind"] == "waveform_hr"]  # type: ignore[union-attr]
        ppg_scores = [s for s in scores if s["waveform"] == "ppg"]
        assert len(ppg_scores) == 14 and all(s["sqi"] is not None and s["sqi"] > 0 for s in ppg_scores)
        (ecg_score,) = [s for s in scores if s["waveform"] == "ecg"]
        # The ECG alone would report no QRS after 8 s; the pulse of the same period refutes it.
        assert any(str(x).startswith("asystole") for x in ecg_score["suppressed"])
        assert ecg_score["hr_bpm"] is not None and abs(ecg_score["hr_bpm"] - 84) <= 3

        def hr_feature() -> dict[str, object] | None:
            for rec in _consume(kafka_cluster.bootstrap, f"{topic_prefix}rpm.features.v1"):
                for w in rec["windows"]:  # type: ignore[union-attr]
                    if w["type"] == "heart_rate" and w["count"] >= 2:
                        return w  # type: ignore[no-any-return]
            return None

        w = wait_for(hr_feature, 90, "a heart-rate window feature from the pleth", svc)
        assert abs(float(w["median"]) - 84) <= 3  # type: ignore[arg-type]

        # The machine's broker is shared: other tests' devices are dead-lettered here too; keep ours.
        def ours_dead() -> list[str] | None:
            dead = [d for d in _consume(kafka_cluster.bootstrap, f"{topic_prefix}rpm.dead-letter.v1")
                    if d["mqtt_topic"] in (waveform_topic(DEVICE), waveform_topic("ghost-wave"))]
            return sorted(str(d["reason"]) for d in dead) if len(dead) >= 2 else None

        reasons = wait_for(ours_dead, 60, "both waveform dead letters", svc)
        assert reasons == ["schema_violation", "unknown_device"]
    finally:
        svc.close()
