"""Property tests of the pure core: any bytes on any device topic are routed without an exception,
and every message, and every reading of a parseable one, is accounted for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.route import Inbound, route
from ingest.validate import Dest, Limits, validate_telemetry
from storage.registry import AssignmentSnapshot, Interval
from wire.messages import ReadingBatch, Telemetry
from wire.topics import status_topic, telemetry_topic
from wire.units import UNITS, ReadingType

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SNAP = AssignmentSnapshot(
    frozenset({"d1", "d2"}),
    {"d1": (Interval("P1", NOW - timedelta(days=3), NOW - timedelta(hours=2)), Interval("P2", NOW - timedelta(hours=2), None))},
)
LIMITS = Limits(max_payload_bytes=8192)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12,
)
times = st.datetimes(
    min_value=datetime(2026, 11, 10), max_value=datetime(2026, 11, 23), timezones=st.just(UTC)
).map(lambda t: t.isoformat())
readings = st.fixed_dictionaries(
    {
        "type": st.sampled_from([t.value for t in ReadingType] + ["blood_sugar"]),
        "t": times | st.just("2026-11-22T08:00:00"),
        "value": st.floats(min_value=-10, max_value=1200, allow_nan=False) | st.sampled_from([70, "70", None]),
        "unit": st.sampled_from(sorted({u for s in UNITS.values() for u in s.accepted}) + ["mg/L", ""]),
    },
    optional={"flags": st.lists(st.sampled_from(["motion", "probe_off", "bogus"]), max_size=2)},
)
telemetry_like = st.fixed_dictionaries(
    {
        "v": st.sampled_from([1, 1, 1, 2, "1"]),
        "device_id": st.sampled_from(["d1", "d2", "zz", "d1/x", ""]),
        "seq": st.integers(min_value=-1, max_value=10**6),
        "sent_at": times,
        "readings": st.lists(readings, min_size=0, max_size=6),
    },
    optional={"extra": json_values},
)
payloads = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | telemetry_like.map(lambda v: json.dumps(v).encode())
    | st.binary(min_size=8193, max_size=8300)
)
device_topics = st.sampled_from([telemetry_topic("d1"), telemetry_topic("d2"), status_topic("d1"), "rpm/v1/devices/d1"])


@settings(max_examples=400, deadline=None)
@given(topic=device_topics, payload=payloads)
def test_any_message_is_routed_and_fully_accounted(topic: str, payload: bytes) -> None:
    out = route(Inbound(1, 1, topic, payload, NOW, 0.0), SNAP, LIMITS, None)
    assert out.accepted or out.dead, "every message yields at least one record"
    for f in out.accepted:
        if f.dest is Dest.READINGS:
            batch = ReadingBatch.model_validate_json(f.value)  # the wire contract holds for every record
            assert batch.patient_id == f.key and len(batch.readings) == f.readings
    try:
        msg = Telemetry.model_validate_json(payload)
    except ValueError:
        return
    if topic == telemetry_topic(msg.device_id) and msg.device_id in SNAP.devices and len(payload) <= 8192:
        # Partial acceptance: each reading is either forwarded or dead-lettered with its index.
        rejected = sorted(d.reading_index for d in out.dead)
        assert out.forwarded_readings + len(rejected) == len(msg.readings)
        assert len(set(rejected)) == len(rejected)


@settings(max_examples=200, deadline=None)
@given(payload=telemetry_like.map(lambda v: json.dumps(v).encode()))
def test_fast_and_careful_parsing_agree(payload: bytes) -> None:
    """The fast JSON path and the python-object path accept exactly the same messages."""
    try:
        Telemetry.model_validate_json(payload)
        fast = True
    except ValueError:
        fast = False
    try:
        Telemetry.model_validate(json.loads(payload))
        slow = True
    except ValueError:
        slow = False
    assert fast == slow
    out = validate_telemetry(telemetry_topic("d1"), payload, NOW, SNAP, LIMITS)
    assert out.accepted or out.dead
