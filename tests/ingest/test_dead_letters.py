"""Through the real bridge: every rejection reason lands on the dead-letter topic with the original
payload, the device and the time, and is counted per reason on /metrics; fuzzed payloads never crash
the bridge and each one is accounted for as forwarded or dead-lettered."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedded.kafka_mock import MockKafka
from tests.ingest.helpers import Collector, Publisher, bridge_env, metric, ready
from tests.services import Services, wait_for
from wire.messages import DeadLetterReason as R
from wire.topics import status_topic, telemetry_topic


def _msg(device: str, seq: int, **reading: object) -> bytes:
    now = datetime.now(UTC)
    r = {"type": "heart_rate", "t": now.isoformat(), "value": 80, "unit": "/min", **reading}
    return json.dumps({"v": 1, "device_id": device, "seq": seq, "sent_at": now.isoformat(), "readings": [r]}).encode()


def _start(services: Services, db_dsn: str, mqtt_url: str, mqtt_v5: bool, kafka: MockKafka, prefix: str,
           **extra: str) -> int:
    env, port = bridge_env(db_dsn, mqtt_url, mqtt_v5, kafka.bootstrap, prefix, f"k{prefix.strip('.')}",
                           RPM_MAX_PAYLOAD_BYTES="2048", **extra)
    services.env.update(env)
    services.start("bridge")
    wait_for(lambda: ready(port), 30, "bridge ready", services)
    return port


def test_each_reason_is_dead_lettered_and_counted(
    services: Services, db_dsn: str, mqtt_url: str, mqtt_v5: bool, kafka_cluster: MockKafka,
    topic_prefix: str, fleet: list[str],
) -> None:
    port = _start(services, db_dsn, mqtt_url, mqtt_v5, kafka_cluster, topic_prefix,
                  RPM_RATE_LIMIT_PER_S="0.5", RPM_RATE_LIMIT_BURST="3")
    d0, d1, d2, d3, d4 = fleet
    ghost = f"ghost-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    cases: list[tuple[str, bytes, R]] = [
        (telemetry_topic(d0), b"not json at all", R.NOT_JSON),
        (telemetry_topic(d0), json.dumps({"v": 1, "device_id": d0}).encode(), R.SCHEMA_VIOLATION),
        (telemetry_topic(d1), json.dumps({"v": 9, "device_id": d1}).encode(), R.UNSUPPORTED_VERSION),
        (telemetry_topic(d1), _msg(d1, 1, type="glucose", unit="mg/L", value=90), R.UNKNOWN_UNIT),
        (telemetry_topic(d2), _msg(d2, 2, value=900), R.IMPLAUSIBLE_VALUE),
        (telemetry_topic(d2), _msg(d2, 3, t=(now + timedelta(hours=1)).isoformat()), R.FUTURE_TIMESTAMP),
        (telemetry_topic(d3), _msg(d3, 4, t=(now - timedelta(days=8)).isoformat()), R.TOO_LATE),
        (telemetry_topic(d3), b"[" + b"1," * 1500 + b"1]", R.PAYLOAD_TOO_LARGE),
        (telemetry_topic(ghost), _msg(ghost, 5), R.UNKNOWN_DEVICE),
        (telemetry_topic(d3), _msg(d0, 6), R.TOPIC_MISMATCH),
        (status_topic(d0), b'{"v": 1, "device_id": "someone-else", "state": "online"}', R.TOPIC_MISMATCH),
    ]
    # A flood from one device: 3 pass (the burst), the rest are refused but kept and counted.
    flood = [(telemetry_topic(d4), _msg(d4, 100 + i), R.RATE_LIMITED) for i in range(8)]
    col = Collector(kafka_cluster.bootstrap, [f"{topic_prefix}rpm.dead-letter.v1", f"{topic_prefix}rpm.readings-packed.v1"])
    pub = Publisher(mqtt_url, mqtt_v5)
    try:
        pub.publish_all((t, p) for t, p, _ in cases + flood)
        wait_for(lambda: len(col.of("dead-letter.v1")) >= len(cases) + 5, 30, "dead letters", services)
        time.sleep(0.5)
        dead = col.dead_payloads()
        for _topic, payload, reason in cases:
            assert dead.get(payload) == [reason.value], (reason, dead.get(payload))
        limited = [p for _, p, _ in flood if dead.get(p) == [R.RATE_LIMITED.value]]
        passed = {s for d, s in col.seqs({d4})}
        assert len(limited) + len(passed) == len(flood) and 3 <= len(passed) <= 4, "every flooded message accounted"
        by_device = {(v["reason"], v["device_id"]) for v in col.of("dead-letter.v1")}
        assert (R.UNKNOWN_DEVICE.value, ghost) in by_device and (R.RATE_LIMITED.value, d4) in by_device
        assert all(v["received_at"] and v["mqtt_topic"] for v in col.of("dead-letter.v1"))
        # Counters per reason equal what reached Kafka (the machine's broker may add other traffic: >=).
        wait_for(lambda: metric(port, "rpm_ingest_dead_letters_total", f'reason="{R.RATE_LIMITED.value}"')
                 == len(limited), 10, "rate_limited counted", services)
        for reason in {r for _, _, r in cases}:
            want = sum(1 for _, _, r in cases if r is reason)
            assert metric(port, "rpm_ingest_dead_letters_total", f'reason="{reason.value}"') >= want, reason
        assert metric(port, "rpm_ingest_readings_forwarded_total") >= len(passed)
        assert metric(port, "rpm_ingest_mqtt_connected") == 1 and metric(port, "rpm_ingest_kafka_ready") == 1
        assert metric(port, "rpm_ingest_kafka_latency_seconds_count") >= len(cases) + len(flood)
    finally:
        pub.close()
        col.close()


payloads = (
    st.binary(max_size=200)
    | st.recursive(st.none() | st.integers() | st.text(max_size=10), lambda k: st.lists(k, max_size=3)
                   | st.dictionaries(st.text(max_size=6), k, max_size=3), max_leaves=8).map(lambda v: json.dumps(v).encode())
    | st.builds(lambda v, value, unit: _msg("DEV", 0, value=value, unit=unit),
                st.just(1), st.floats(min_value=-50, max_value=400, allow_nan=False), st.sampled_from(["/min", "bpm", "x"]))
)


def test_fuzzed_payloads_never_crash_the_bridge_and_all_are_accounted(
    services: Services, db_dsn: str, mqtt_url: str, mqtt_v5: bool, kafka_cluster: MockKafka,
    topic_prefix: str, fleet: list[str],
) -> None:
    port = _start(services, db_dsn, mqtt_url, mqtt_v5, kafka_cluster, topic_prefix, RPM_RATE_LIMIT_PER_S="0")
    col = Collector(kafka_cluster.bootstrap, [f"{topic_prefix}rpm.dead-letter.v1", f"{topic_prefix}rpm.readings-packed.v1"])
    pub = Publisher(mqtt_url, mqtt_v5)
    device = fleet[0]
    rounds = iter(range(1000))

    @settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(batch=st.lists(payloads, min_size=20, max_size=60))
    def one_round(batch: list[bytes]) -> None:
        r = next(rounds)
        # A unique seq per message makes accepted ones identifiable in Kafka; the bytes identify dead letters.
        sent = [p.replace(b'"DEV"', json.dumps(device).encode()).replace(b'"seq": 0', f'"seq": {r * 1000 + i}'.encode())
                for i, p in enumerate(batch)]
        pub.publish_all((telemetry_topic(device), p) for p in sent)

        def accounted() -> list[bytes]:
            dead, seqs = col.dead_payloads(), {s for _, s in col.seqs({device})}
            missing = [p for i, p in enumerate(sent) if p not in dead and r * 1000 + i not in seqs]
            return [] if missing else sent

        wait_for(accounted, 30, "every fuzzed message forwarded or dead-lettered", services)
        services.assert_running()

    one_round()
    assert ready(port), "the bridge is still up and ready"
    received = metric(port, "rpm_ingest_messages_received_total")
    assert received >= 80
    pub.close()
    col.close()
