"""``route_many`` (the bridge's batch routing) gives each message exactly the outcome ``route`` gives it alone."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.ratelimit import TokenBuckets
from ingest.route import Inbound, route, route_many
from ingest.validate import Outcome
from storage.registry import AssignmentSnapshot
from tests.ingest.test_fuzz_core import LIMITS, NOW, payloads, telemetry_like
from tests.ingest.test_telemetry_decode import SNAP3, _plausible
from wire.topics import status_topic, telemetry_topic, waveform_topic

topics = st.sampled_from([telemetry_topic(d) for d in ("d1", "d2", "d3", "zz")]
                         + [status_topic("d3"), waveform_topic("d3"), "rpm/v1/devices/d3", "other/topic"])
messages = st.lists(
    st.tuples(
        topics,
        payloads | telemetry_like.map(lambda v: json.dumps(v).encode()) | _plausible.map(lambda v: json.dumps(v).encode()),
        st.floats(min_value=0, max_value=2),  # seconds after the previous message (rate limit)
    ),
    min_size=1, max_size=12,
)


def _key(o: Outcome) -> tuple[object, ...]:
    return (o.accepted, [(d.reason, d.reading_index, d.detail, d.device_id, d.mqtt_topic) for d in o.dead])


@settings(max_examples=300, deadline=None)
@given(messages, st.booleans())
def test_a_batch_is_routed_as_each_message_alone(batch: list[tuple[str, bytes, float]], limited: bool) -> None:
    msgs, mono = [], 0.0
    for i, (topic, payload, gap) in enumerate(batch):
        mono += gap
        msgs.append(Inbound(i, 1, topic, payload, NOW + timedelta(seconds=mono), mono))
    asked: list[str | None] = []

    def registry(device: str | None) -> AssignmentSnapshot:
        asked.append(device)
        return SNAP3

    # Two buckets with the same state: a tight limit so some messages are refused (rate_limited).
    one, many = (TokenBuckets(1.0, 2.0) if limited else None for _ in range(2))
    alone = [route(m, SNAP3, LIMITS, one) for m in msgs]
    together = route_many(msgs, registry, LIMITS, many)
    assert [_key(o) for o in together] == [_key(o) for o in alone]
    # One snapshot for the batch, asked again (to reload) at most once, for a device it lacks.
    assert asked[0] is None and len(asked) <= 2 and all(d not in SNAP3.devices for d in asked[1:])
