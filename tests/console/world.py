"""The console tests' hospital: two wards, patients with history, users of every role.

Everything is written through the product's own writers (registry, readings,
derived, users); live data arrives through Kafka and the real services.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from confluent_kafka import Producer

from alerts.console import users
from alerts.console.users import Grant
from storage import derived, readings, registry
from tests.services import produce_readings
from wire import topics
from wire.messages import AlertCandidate, DeviceKind, Priority, Reading, ReadingBatch
from wire.units import ReadingType

PASSWORD = "Test-password-1"
UNIT = {"heart_rate": "/min", "spo2": "%", "resp_rate": "/min", "temperature": "degC", "bp_systolic": "mmHg",
        "bp_diastolic": "mmHg"}
# user -> (display name, locale, grants, patient)
USERS: dict[str, tuple[str, str, list[Grant], str | None]] = {
    "nurse.a": ("Lan (A)", "vi", [Grant("nurse", "ward-a")], None),
    "charge.a": ("Hoa (A, trưởng)", "vi", [Grant("charge_nurse", "ward-a")], None),
    "nurse.b": ("Mai (B)", "vi", [Grant("nurse", "ward-b")], None),
    "doctor": ("Dr Minh", "en", [Grant("clinician", None)], None),
    "admin": ("Admin", "en", [Grant("admin", None)], None),
    "auditor": ("Auditor", "en", [Grant("auditor", None)], None),
    "patient.home": ("Bà Tư", "vi", [Grant("patient", None)], "PH1"),
    "locked.user": ("Locked", "vi", [Grant("nurse", "ward-a")], None),
}
# Patients: id -> (name, ward, bed, device, kind)
PATIENTS: dict[str, tuple[str, str | None, str | None, str, DeviceKind]] = {
    "PA1": ("Nguyễn Văn An", "ward-a", "01", "bm-a1", DeviceKind.BEDSIDE_MONITOR),
    "PA2": ("Trần Thị Bình", "ward-a", "02", "bm-a2", DeviceKind.BEDSIDE_MONITOR),
    "PA3": ("Lê Văn Cường", "ward-a", "03", "bm-a3", DeviceKind.BEDSIDE_MONITOR),
    "PB1": ("Phạm Thị Dung", "ward-b", "01", "bm-b1", DeviceKind.BEDSIDE_MONITOR),
    "PH1": ("Võ Thị Tư", None, None, "cgm-h1", DeviceKind.CGM),
}
# PA2 has COPD: NEWS2 scores its SpO2 on scale 2 (target 88-92 %).
SPO2_SCALE = {"PA2": 2}


@dataclass(frozen=True, slots=True)
class History:
    start: datetime
    end: datetime


def seed(conn: psycopg.Connection, now: datetime) -> History:
    # Ward names as hospitals write them (the word "Khoa", ward, is part of the name).
    registry.add_ward(conn, "ward-a", "Khoa Nội A")
    registry.add_ward(conn, "ward-b", "Khoa Ngoại B")
    for pid, (name, ward, bed, dev, kind) in PATIENTS.items():
        registry.add_patient(conn, pid, name, ward, bed, SPO2_SCALE.get(pid, 1))
        registry.add_device(conn, dev, kind)
        registry.assign(conn, dev, pid, now - timedelta(days=15))
    for uid, (name, locale, grants, own) in USERS.items():
        users.create_user(conn, "test", uid, name, PASSWORD, grants, locale, own)
        # As if each had picked their language: it then holds whatever the test browser's language is.
        users.set_locale(conn, uid, locale, chosen=True)
    # PH1 also measures blood pressure and pulse at home (a spot-check cuff).
    registry.add_device(conn, "bp-h1", DeviceKind.SPOT_CHECK)
    registry.assign(conn, "bp-h1", "PH1", now - timedelta(days=15))
    start = now - timedelta(hours=6)
    rows: list[readings.ReadingRow] = []
    # PA1: six hours of bedside vitals every 30 s, heart rate drifting up (deteriorating).
    for i in range(int((now - start).total_seconds() // 30)):
        t = start + timedelta(seconds=30 * i)
        frac = i / 720
        for type_, v, unit in (("heart_rate", 78 + 40 * frac + 3 * math.sin(i / 7), "/min"), ("spo2", 97 - 3 * frac, "%"),
                               ("resp_rate", 16 + 6 * frac, "/min"), ("temperature", 37.0 + 0.8 * frac, "degC"),
                               ("bp_systolic", 124 - 18 * frac, "mmHg"), ("bp_diastolic", 78 - 8 * frac, "mmHg")):
            rows.append((t, "PA1", "bm-a1", type_, round(v, 1), unit, [], i, t))
    # PH1 (home CGM): 14 days every 5 minutes, a daily rhythm with a post-meal peak.
    cgm_start = now - timedelta(days=14)
    for i in range(14 * 288):
        t = cgm_start + timedelta(minutes=5 * i)
        hour = (t.hour + 7) % 24
        v = 120 + 60 * math.exp(-((hour - 13) ** 2) / 4) - 35 * math.exp(-((hour - 4) ** 2) / 3) + 8 * math.sin(i / 5)
        rows.append((t, "PH1", "cgm-h1", "glucose", round(v, 1), "mg/dL", [], i, t))
    # PA2 (COPD, scale 2) and PA3: the last 20 minutes every 30 s; PA2 sits at SpO2 88 %, normal for scale 2.
    for i in range(40):
        t = now - timedelta(seconds=30 * (40 - i))
        for pid, dev, vals in (("PA2", "bm-a2", {"heart_rate": 84, "spo2": 88, "resp_rate": 19, "temperature": 36.9,
                                                  "bp_systolic": 128, "bp_diastolic": 80}),
                               ("PA3", "bm-a3", {"heart_rate": 96, "spo2": 95, "resp_rate": 26, "bp_systolic": 112,
                                                  "bp_diastolic": 70})):
            for type_, v in vals.items():
                rows.append((t, pid, dev, type_, float(v) + (i % 3), UNIT[type_], [], i, t))
    # PH1's cuff: yesterday and two hours ago, pressure and pulse up since.
    for k, (ago, sbp, dbp, hr) in enumerate(((timedelta(days=1), 128, 82, 72), (timedelta(hours=2), 142, 88, 80))):
        t = now - ago
        for type_, v in (("bp_systolic", sbp), ("bp_diastolic", dbp), ("heart_rate", hr)):
            rows.append((t, "PH1", "bp-h1", type_, float(v), UNIT[type_], [], k, t))
    with conn.transaction():
        readings.write(conn, rows)
        derived.write(conn, [
            derived.News2Row(
                patient_id="PA1", scored_at=start + timedelta(minutes=15 * k), total=min(9, k // 3),
                band=band_of(min(9, k // 3)), red_flag=False, red_flag_parameters=(), complete=True, spo2_scale=1,
                resp_rate=0, spo2=0, air_or_oxygen=0, systolic_bp=0, pulse=min(3, k // 6), consciousness=0,
                temperature=0,
            )
            for k in range(24)
        ] + [
            # PA1's monitor sends a PPG snippet every 30 s for the last 20 minutes; every fifth is too disturbed.
            derived.WaveformHrRow(patient_id="PA1", device_id="bm-a1", waveform="ppg", at=now - timedelta(seconds=30 * k),
                                  hr_bpm=None if k % 5 == 2 else 112.0 + k % 4, reason="motion" if k % 5 == 2 else "ok",
                                  good_windows=1 if k % 5 == 2 else 8, windows=8)
            for k in range(1, 41)
        ] + [
            # PA2 on scale 2: SpO2 88 % scores 0; complete.
            derived.News2Row(patient_id="PA2", scored_at=now - timedelta(minutes=2), total=1, band="low", red_flag=False,
                             red_flag_parameters=(), complete=True, spo2_scale=2, resp_rate=0, spo2=0, air_or_oxygen=0,
                             systolic_bp=0, pulse=0, consciousness=0, temperature=1),
            # PA3: respiration 26/min scores 3 on its own (red flag); temperature and consciousness not measured.
            derived.News2Row(patient_id="PA3", scored_at=now - timedelta(minutes=2), total=4, band="low-medium",
                             red_flag=True, red_flag_parameters=("resp_rate",), complete=False, spo2_scale=1, resp_rate=3,
                             spo2=0, air_or_oxygen=0, systolic_bp=0, pulse=1, consciousness=None, temperature=None),
        ])
    return History(start, now)


def band_of(total: int) -> str:
    return "high" if total >= 7 else ("medium" if total >= 5 else "low")


def candidate(patient: str, rule: str, value: float, threshold: float, at: datetime,
              priority: Priority = Priority.HIGH, parameter: ReadingType | None = ReadingType.HEART_RATE) -> AlertCandidate:
    start = at.replace(second=0, microsecond=0)
    return AlertCandidate(
        id=AlertCandidate.make_id(patient, rule, start), patient_id=patient, rule=rule, priority=priority,
        parameter=parameter, value=value, threshold=threshold, window_start=start,
        window_end=start + timedelta(minutes=1), detected_at=at, message=f"{rule} {value:g} (limit {threshold:g})",
    )


def produce(bootstrap: str, prefix: str, candidates: list[AlertCandidate] = (),  # type: ignore[assignment]
            batches: list[ReadingBatch] = ()) -> None:  # type: ignore[assignment]
    p = Producer({"bootstrap.servers": bootstrap})
    names = topics.kafka_topics(prefix)
    for c in candidates:
        p.produce(names[topics.ALERT_CANDIDATES].name, key=c.patient_id.encode(), value=c.model_dump_json().encode())
    assert p.flush(30) == 0
    if batches:
        produce_readings(bootstrap, prefix, batches)


def vitals_batch(patient: str, device: str, at: datetime, hr: float, seq: int) -> ReadingBatch:
    vals = {ReadingType.HEART_RATE: hr, ReadingType.SPO2: 91, ReadingType.RESP_RATE: 25, ReadingType.TEMPERATURE: 38.4,
            ReadingType.BP_SYSTOLIC: 98, ReadingType.BP_DIASTOLIC: 62}
    return ReadingBatch(patient_id=patient, device_id=device, seq=seq, sent_at=at, received_at=datetime.now(UTC),
                        readings=tuple(Reading(type=k, t=at, value=v) for k, v in vals.items()))
