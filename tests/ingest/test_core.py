"""Pure cores of the bridge: token buckets, in-order acknowledgement, routing with rate limit and status."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.acks import AckTracker, Entry
from ingest.ratelimit import TokenBuckets
from ingest.route import Inbound, route
from ingest.validate import Dest, Limits
from storage.registry import AssignmentSnapshot, Interval
from wire.messages import DeadLetterReason as R
from wire.messages import DeviceStatus, ReadingBatch
from wire.topics import config_topic, status_topic, telemetry_topic

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SNAP = AssignmentSnapshot(frozenset({"d1", "d2"}), {"d1": (Interval("P1", NOW - timedelta(days=1), None),)})


def test_token_bucket_allows_burst_then_rate() -> None:
    tb = TokenBuckets(rate_per_s=2, burst=3)
    assert [tb.allow("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert tb.allow("a", 0.49) is False  # 0.98 tokens: not yet one
    assert tb.allow("a", 0.5) is True
    assert tb.allow("a", 10.0) and tb.tokens("a", 10.0) == pytest.approx(2.0)  # refilled to burst, minus one


def test_token_buckets_are_per_device() -> None:
    tb = TokenBuckets(rate_per_s=1, burst=1)
    assert tb.allow("flood", 0.0) and not tb.allow("flood", 0.0)
    assert tb.allow("quiet", 0.0), "one device's flood never costs another's budget"


def test_token_buckets_forget_refilled_devices_when_full() -> None:
    tb = TokenBuckets(rate_per_s=1, burst=2, max_tracked=3)
    for i, t in enumerate((0.0, 0.0, 0.0)):
        tb.allow(f"d{i}", t)
    tb.allow("d3", 5.0)  # the others have refilled: forgotten, not grown without bound
    assert len(tb) == 1


def test_acks_in_arrival_order_only_when_all_records_confirmed() -> None:
    t = AckTracker()
    gen = t.new_connection()
    a = t.add(1, 1, gen, 0.0, records=2)
    b = t.add(2, 1, gen, 0.0, records=1)
    assert t.confirm(b) == []  # b is done, but a (earlier) is not: PUBACKs keep PUBLISH order
    assert t.confirm(a) == []
    released = t.confirm(a)
    assert [(r.mid, r.ack) for r in released] == [(1, True), (2, True)]
    assert len(t) == 0 and t.oldest() is None


def test_a_batch_added_and_a_packed_record_confirmed_at_once_keep_arrival_order() -> None:
    t = AckTracker()
    gen = t.new_connection()
    a, b, c = t.add_many([Entry(m, 1, gen, 0.0, 1) for m in (1, 2, 3)])
    b.remaining = 2  # b also has a dead letter on its way
    assert [r.mid for r in t.confirm_many([a, b, c])] == [1]  # c waits behind b
    assert [r.mid for r in t.confirm(b)] == [2, 3]
    assert len(t) == 0


def test_messages_of_a_previous_connection_are_never_acked() -> None:
    t = AckTracker()
    old = t.add(7, 1, t.new_connection(), 0.0, records=1)
    new = t.add(7, 1, t.new_connection(), 1.0, records=1)  # broker resent it, maybe under a reused id
    assert [(r.mid, r.ack) for r in t.confirm(old)] == [(7, False)]
    assert [(r.mid, r.ack) for r in t.confirm(new)] == [(7, True)]


def test_qos0_messages_are_released_without_ack() -> None:
    t = AckTracker()
    e = t.add(0, 0, t.new_connection(), 0.0, records=1)
    assert [r.ack for r in t.confirm(e)] == [False]


def _inbound(topic: str, payload: object, mono: float = 0.0) -> Inbound:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Inbound(1, 1, topic, raw, NOW, mono)


def _telemetry(device: str = "d1") -> dict[str, object]:
    r = {"type": "spo2", "t": NOW.isoformat(), "value": 97, "unit": "%"}
    return {"v": 1, "device_id": device, "seq": 1, "sent_at": NOW.isoformat(), "readings": [r]}


def test_route_accepts_telemetry_as_a_contract_valid_reading_batch() -> None:
    out = route(_inbound(telemetry_topic("d1"), _telemetry()), SNAP, Limits(), None)
    assert out.dead == [] and [(f.dest, f.key, f.readings) for f in out.accepted] == [(Dest.READINGS, "P1", 1)]
    batch = ReadingBatch.model_validate_json(out.accepted[0].value)
    assert (batch.patient_id, batch.device_id, batch.received_at, batch.readings[0].value) == ("P1", "d1", NOW, 97.0)


def test_route_flood_is_dead_lettered_as_rate_limited_with_its_payload() -> None:
    tb = TokenBuckets(rate_per_s=1, burst=2)
    outs = [route(_inbound(telemetry_topic("d1"), _telemetry(), mono=0.0), SNAP, Limits(), tb) for _ in range(4)]
    assert [len(o.accepted) for o in outs] == [1, 1, 0, 0]
    dead = [d for o in outs for d in o.dead]
    assert [(d.reason, d.device_id) for d in dead] == [(R.RATE_LIMITED, "d1")] * 2
    assert json.loads(base64.b64decode(dead[0].payload_b64)) == _telemetry()
    assert route(_inbound(telemetry_topic("d2"), _telemetry("d2"), 0.0), SNAP, Limits(), tb).dead[0].reason \
        is R.UNASSIGNED_DEVICE, "another device is not rate limited by d1's flood"


def test_route_status_messages() -> None:
    ok = DeviceStatus(device_id="d2", state="offline").model_dump_json().encode()
    out = route(_inbound(status_topic("d2"), ok), SNAP, Limits(), None)
    assert [(f.dest, f.key) for f in out.accepted] == [(Dest.DEVICE_STATUS, "d2")] and out.dead == []
    cases = [
        (status_topic("d2"), b"offline", R.NOT_JSON),
        (status_topic("d2"), {"v": 2, "device_id": "d2", "state": "online"}, R.UNSUPPORTED_VERSION),
        (status_topic("d2"), {"v": 1, "device_id": "d2", "state": "sleeping"}, R.SCHEMA_VIOLATION),
        (status_topic("d2"), {"v": 1, "device_id": "d1", "state": "online"}, R.TOPIC_MISMATCH),
        (status_topic("d2"), b"{" + b" " * 2000 + b"}", R.PAYLOAD_TOO_LARGE),
        (config_topic("d2"), {"v": 1}, R.TOPIC_MISMATCH),
        ("rpm/v1/devices/d2/telemetry/extra", _telemetry(), R.TOPIC_MISMATCH),
    ]
    for topic, payload, reason in cases:
        out = route(_inbound(topic, payload), SNAP, Limits(max_payload_bytes=1024), None)
        assert (out.accepted, [d.reason for d in out.dead]) == ([], [reason]), (topic, payload)
