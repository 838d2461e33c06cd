"""Boundary validation: every rejection reason, and partial acceptance of a batch."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.validate import Limits, validate_telemetry
from storage.registry import AssignmentSnapshot, Interval
from wire.messages import DeadLetterReason as R
from wire.topics import telemetry_topic

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SNAP = AssignmentSnapshot(
    devices=frozenset({"d1", "d2"}),
    by_device={
        "d1": (
            Interval("P1", NOW - timedelta(days=2), NOW - timedelta(hours=1)),
            Interval("P2", NOW - timedelta(hours=1), None),
        )
    },
)


def msg(device: str = "d1", **reading: object) -> dict[str, object]:
    r = {"type": "heart_rate", "t": NOW.isoformat(), "value": 80, "unit": "/min", **reading}
    return {"v": 1, "device_id": device, "seq": 7, "sent_at": NOW.isoformat(), "readings": [r]}


def run(payload: object, topic: str | None = None, limits: Limits = Limits()) -> tuple[list, list]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    out = validate_telemetry(topic or telemetry_topic("d1"), raw, NOW, SNAP, limits)
    return out.batches, out.dead


def test_valid_message_keyed_to_current_patient() -> None:
    batches, dead = run(msg())
    assert dead == []
    assert [(b.patient_id, b.device_id, b.seq, len(b.readings)) for b in batches] == [("P2", "d1", 7, 1)]
    assert batches[0].readings[0].value == 80


def test_late_upload_goes_to_patient_assigned_at_measurement_time() -> None:
    earlier = (NOW - timedelta(hours=3)).isoformat()
    batches, dead = run(msg(t=earlier))
    assert dead == [] and batches[0].patient_id == "P1"


def test_mmol_glucose_is_converted() -> None:
    batches, _ = run(msg(type="glucose", value=4.0, unit="mmol/L"))
    assert batches[0].readings[0].value == pytest.approx(72.0728)


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (b"{not json", R.NOT_JSON, "Expecting property name"),
        (b"\xff\xfe", R.NOT_JSON, ""),
        ([1, 2], R.SCHEMA_VIOLATION, "expected a JSON object"),
        ({**msg(), "v": 2}, R.UNSUPPORTED_VERSION, "v=2"),
        ({k: v for k, v in msg().items() if k != "seq"}, R.SCHEMA_VIOLATION, "field seq: Field required"),
        (msg(type="blood_sugar"), R.SCHEMA_VIOLATION, "field readings.0.type"),
        (msg(t="2026-11-22T08:00:00"), R.SCHEMA_VIOLATION, "field readings.0.t"),
        (msg(value="NaN"), R.SCHEMA_VIOLATION, "field readings.0.value"),
        (msg(device="d2"), R.TOPIC_MISMATCH, "published on"),
    ],
)
def test_whole_message_rejections(payload: object, reason: R, detail: str) -> None:
    batches, dead = run(payload)
    assert batches == []
    assert [d.reason for d in dead] == [reason]
    assert detail in dead[0].detail
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    assert base64.b64decode(dead[0].payload_b64) == raw  # the original payload is kept


def test_unknown_device() -> None:
    _, dead = run(msg(device="zz"), topic=telemetry_topic("zz"))
    assert [(d.reason, d.device_id) for d in dead] == [(R.UNKNOWN_DEVICE, "zz")]


def test_registered_but_unassigned_device() -> None:
    _, dead = run(msg(device="d2"), topic=telemetry_topic("d2"))
    assert [(d.reason, d.reading_index) for d in dead] == [(R.UNASSIGNED_DEVICE, 0)]


def test_payload_too_large() -> None:
    _, dead = run(msg(), limits=Limits(max_payload_bytes=50))
    assert [d.reason for d in dead] == [R.PAYLOAD_TOO_LARGE]


@pytest.mark.parametrize(
    ("reading", "reason"),
    [
        ({"unit": "mg/L", "type": "glucose"}, R.UNKNOWN_UNIT),
        ({"value": 0}, R.IMPLAUSIBLE_VALUE),
        ({"t": (NOW + timedelta(minutes=6)).isoformat()}, R.FUTURE_TIMESTAMP),
        ({"t": (NOW - timedelta(days=8)).isoformat()}, R.TOO_LATE),
    ],
)
def test_one_bad_reading_never_costs_the_good_ones(reading: dict[str, object], reason: R) -> None:
    m = msg()
    good = m["readings"][0]  # type: ignore[index]
    bad = {**good, **reading}
    m["readings"] = [good, bad, {**good, "type": "spo2", "value": 97, "unit": "%"}]
    batches, dead = run(m)
    assert [(d.reason, d.reading_index) for d in dead] == [(reason, 1)]
    assert [r.type.value for r in batches[0].readings] == ["heart_rate", "spo2"]


def test_skew_and_horizon_edges_are_inclusive() -> None:
    lim = Limits(max_future_skew=timedelta(minutes=5), late_horizon=timedelta(days=7))
    m = msg()
    g = m["readings"][0]  # type: ignore[index]
    m["readings"] = [{**g, "t": (NOW + timedelta(minutes=5)).isoformat()}, {**g, "t": (NOW - timedelta(days=7)).isoformat()}]
    snap_all = AssignmentSnapshot(frozenset({"d1"}), {"d1": (Interval("P9", NOW - timedelta(days=30), None),)})
    out = validate_telemetry(telemetry_topic("d1"), json.dumps(m).encode(), NOW, snap_all, lim)
    assert out.dead == [] and len(out.batches[0].readings) == 2
