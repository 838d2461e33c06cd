"""`rpm hl7`: MLLP listener for HL7 v2 ORU^R01 from bedside-monitor gateways, into the readings topic.

For each message: route (pure, ``ingest.hl7_map``), produce its records,
wait for Kafka's confirmation, then answer ACK/NACK on the same connection.
A connection handles one message at a time, as MLLP senders expect; many
connections run concurrently. If the service stops before Kafka confirmed,
no ACK was sent, and the gateway resends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime, timedelta, timezone

import hl7.mllp
import psycopg
from prometheus_client import CollectorRegistry, Counter

from ingest import hl7_map, submit_service
from ingest.hl7_settings import Hl7Settings
from ingest.kafka_submit import KafkaSubmitter
from ingest.registry_cache import RegistryCache
from ingest.validate import Limits
from runtime import health, heartbeat, logs
from storage.registry import AssignmentSnapshot, load_snapshot

log = logging.getLogger(__name__)
PROBLEM_KINDS = ("malformed", "unsupported_message", "oversized", "unknown_code", "bad_value", "unknown_device",
                 "schema_violation", "unknown_unit", "implausible_value", "future_timestamp", "too_late",
                 "unassigned_device", "payload_too_large")


class Hl7Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        acks = Counter("rpm_hl7_messages", "HL7 messages answered, by acknowledgement code", ["ack"], registry=registry)
        self.acks = {c: acks.labels(c) for c in ("AA", "AE", "AR")}
        problems = Counter("rpm_hl7_problems", "refused HL7 messages or observations, by reason", ["reason"],
                           registry=registry)
        self.problems = {k: problems.labels(k) for k in PROBLEM_KINDS}
        self.connections = Counter("rpm_hl7_connections", "MLLP connections accepted", registry=registry)


class Hl7Listener:
    def __init__(self, s: Hl7Settings, cache: RegistryCache, submitter: KafkaSubmitter, metrics: Hl7Metrics,
                 hc: health.Health) -> None:
        self.s, self.cache, self.submitter, self.metrics, self.hc = s, cache, submitter, metrics, hc
        self.limits = Limits(s.max_payload_bytes, timedelta(seconds=s.max_future_skew_s),
                             timedelta(seconds=s.late_horizon_s))
        self.tz = timezone(timedelta(hours=s.hl7_default_utc_offset_h))

    async def handle(self, raw: bytes) -> bytes:
        now = datetime.now(UTC)
        # The registry may reload from PostgreSQL on a miss: off the event loop.
        result = await asyncio.to_thread(hl7_map.route, raw, now, self.cache.get, self.limits, self.tz)
        await self.submitter.submit(result.outcome)
        for p in result.problems:
            if p.kind in self.metrics.problems:
                self.metrics.problems[p.kind].inc()
        self.metrics.acks[result.ack_code].inc()
        if result.problems:
            log.info("hl7 message refused in part or whole", extra={
                "ack": result.ack_code, "control_id": result.control_id, "problems": [p.kind for p in result.problems]})
        return hl7_map.ack(result, self.s.hl7_application, self.s.hl7_facility)

    async def connection(self, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
        self.metrics.connections.inc()
        try:
            while True:
                try:
                    raw = await reader.readblock()
                except ValueError:
                    # Beyond the stream limit (4x the message limit) the block is dropped unread: refuse it, no payload.
                    self.metrics.problems["oversized"].inc()
                    self.metrics.acks["AR"].inc()
                    writer.writeblock(hl7_map.ack(hl7_map.Hl7Outcome(problems=[hl7_map.Problem(
                        "oversized", f"message larger than {4 * self.s.max_payload_bytes} bytes")]),
                        self.s.hl7_application, self.s.hl7_facility))
                    await writer.drain()
                    continue
                writer.writeblock(await self.handle(raw))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, hl7.mllp.InvalidBlockError):
            pass
        finally:
            writer.close()

    async def serve(self, stop: threading.Event) -> None:
        server = await hl7.mllp.start_hl7_server(self.connection, host=self.s.hl7_host, port=self.s.hl7_port,
                                                 limit=4 * self.s.max_payload_bytes)
        self.hc.set("mllp", True)
        log.info("hl7 mllp listening", extra={"host": self.s.hl7_host, "port": self.s.hl7_port})
        async with server:
            while not stop.is_set():
                self.hc.beat()
                self.hc.set("kafka", self.submitter.kafka.reachable, self.submitter.kafka.last_error)
                await asyncio.to_thread(self.cache.maybe_refresh)
                await asyncio.sleep(0.5)
        self.hc.set("mllp", False, "stopping")


def run(s: Hl7Settings) -> int:
    logs.setup("hl7", s.log_level)
    dsn = s.database_url.get_secret_value()

    def load() -> AssignmentSnapshot:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            return load_snapshot(conn)

    svc = submit_service.start(s, s.hl7_instance, load)
    hc, stop, cache, submitter, fatal = svc.hc, svc.stop, svc.cache, svc.submitter, svc.fatal
    heartbeat.start(dsn, "hl7", s.hl7_instance, hc.snapshot, stop)
    listener = Hl7Listener(s, cache, submitter, Hl7Metrics(svc.registry), hc)
    try:
        asyncio.run(listener.serve(stop))
    finally:
        submitter.close()
    if fatal:
        log.error("hl7 stopped on a fatal Kafka error; restart it", extra={"error": fatal[:1]})
        return 1
    return 0
