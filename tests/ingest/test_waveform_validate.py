"""The waveform transport at the bridge (pure): one topic, size and schema limits, the telemetry checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.route import Inbound, route
from ingest.validate import Dest, Limits
from storage.registry import AssignmentSnapshot, Interval
from wire.messages import DeadLetterReason as R
from wire.messages import ReadingBatch, WaveformKind
from wire.topics import telemetry_topic, waveform_topic

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SNAP = AssignmentSnapshot(frozenset({"d1", "d2"}), {"d1": (Interval("P1", NOW - timedelta(days=1), None),)})


def _wave(device: str = "d1", **over: object) -> dict[str, object]:
    t0 = NOW - timedelta(seconds=20)
    msg: dict[str, object] = {"v": 1, "device_id": device, "seq": 4, "sent_at": NOW.isoformat(), "kind": "ppg",
                              "t0": t0.isoformat(), "fs_hz": 100.0, "samples": [float(i % 50) for i in range(1000)],
                              "adc_bits": 12}
    msg.update(over)
    return msg


def _route(topic: str, body: dict[str, object] | bytes, limits: Limits | None = None):  # type: ignore[no-untyped-def]
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return route(Inbound(1, 1, topic, payload, NOW, 0.0), SNAP, limits or Limits(), None)


def test_a_waveform_becomes_one_readings_record_with_the_snippet() -> None:
    out = _route(waveform_topic("d1"), _wave())
    assert not out.dead and len(out.accepted) == 1 and out.accepted[0].dest is Dest.READINGS
    (b,) = out.batches
    assert isinstance(b, ReadingBatch) and b.patient_id == "P1" and b.readings == ()
    (w,) = b.waveforms
    assert w.kind is WaveformKind.PPG and len(w.samples) == 1000 and w.adc_bits == 12 and w.fs_hz == 100.0
    assert b.seq == -5  # apart from the telemetry counter: -(waveform seq + 1)


@pytest.mark.parametrize(
    ("topic", "body", "reason"),
    [
        (waveform_topic("d1"), _wave(fs_hz=10.0), R.SCHEMA_VIOLATION),  # 1000 samples at 10 Hz = 100 s > 60 s
        (waveform_topic("d1"), _wave(samples=[1.0] * 30_001, fs_hz=1000.0), R.SCHEMA_VIOLATION),
        (waveform_topic("d1"), _wave(samples=[]), R.SCHEMA_VIOLATION),
        (waveform_topic("d1"), _wave(kind="eeg"), R.SCHEMA_VIOLATION),
        (waveform_topic("d1"), b'{"v": 1, "samples": [NaN]}', R.SCHEMA_VIOLATION),
        (waveform_topic("d1"), _wave(v=2), R.UNSUPPORTED_VERSION),
        (waveform_topic("d1"), b"\x00not json", R.NOT_JSON),
        (waveform_topic("d2"), _wave(), R.TOPIC_MISMATCH),
        (waveform_topic("ghost"), _wave("ghost"), R.UNKNOWN_DEVICE),
        (waveform_topic("d2"), _wave("d2"), R.UNASSIGNED_DEVICE),
        (waveform_topic("d1"), _wave(t0=(NOW + timedelta(minutes=10)).isoformat()), R.FUTURE_TIMESTAMP),
        (waveform_topic("d1"), _wave(t0=(NOW - timedelta(days=8)).isoformat()), R.TOO_LATE),
    ],
)
def test_bad_waveforms_are_dead_lettered_whole_with_a_reason(topic: str, body: dict[str, object] | bytes,
                                                             reason: R) -> None:
    out = _route(topic, body)
    assert out.accepted == [] and [d.reason for d in out.dead] == [reason]


def test_payload_limit_and_no_waveforms_inside_telemetry() -> None:
    out = _route(waveform_topic("d1"), _wave(), Limits(max_payload_bytes=1000))
    assert [d.reason for d in out.dead] == [R.PAYLOAD_TOO_LARGE]
    telemetry = {"v": 1, "device_id": "d1", "seq": 1, "sent_at": NOW.isoformat(),
                 "readings": [{"type": "heart_rate", "t": NOW.isoformat(), "value": 70, "unit": "/min"}]}
    assert not _route(telemetry_topic("d1"), {**telemetry, "waveforms": []}).dead  # v1 devices send an empty list
    snippet = {"kind": "ppg", "t": NOW.isoformat(), "fs_hz": 50, "samples": [1.0, 2.0]}
    dead = _route(telemetry_topic("d1"), {**telemetry, "waveforms": [snippet]}).dead
    assert [d.reason for d in dead] == [R.SCHEMA_VIOLATION] and "waveforms" in dead[0].detail


def test_packed_records_are_split_below_the_kafka_limit() -> None:
    from ingest.bridge import PACK_MAX_BYTES, _Pack, _split

    big = [b"x" * 150_000] * 8  # eight maximal waveform batches that waited together for the partition count
    p = _Pack([], [], [], 0.0)
    for value in big:
        p.add(value, "P1", object(), 0)  # type: ignore[arg-type]
    parts = _split(p)
    assert [len(x.values) for x in parts] == [3, 3, 2]
    assert all(x.nbytes <= PACK_MAX_BYTES for x in parts) and sum(x.nbytes for x in parts) == p.nbytes
    assert [e for x in parts for e in x.entries] == p.entries  # every batch confirmed once, in order
    small = _Pack([], [], [], 0.0)
    small.add(b"a", "P1", object(), 1)  # type: ignore[arg-type]
    assert _split(small) == [small]
