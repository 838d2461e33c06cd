"""MQTT -> Kafka bridge: the IO driver around ingest.route.

Delivery rule: an MQTT message is acknowledged (PUBACK) only after every
Kafka record made from it, valid readings and dead letters alike, was
confirmed by Kafka. Until then the broker keeps it in the persistent
session and redelivers it after a reconnect or a bridge restart.

Threads: paho's network thread receives each message into an inbox; every
INBOX_MAX messages it routes the whole inbox at once (ingest.route.route_many,
pure) and sends the records, and the main thread does the same with whatever
waits there when it turns (every IDLE_POLL_S), so a quiet bridge adds at most
that to a message's way. One message at a time the routing cost 1.6-5x as
much: paho's own code ran between two messages and the routing code came
back to cold CPU caches each time. librdkafka confirms records through
callbacks served by whichever thread polls the producer (after each batch,
and on the main thread's turn); the main thread also produces failed
records again after a backoff, reloads the registry and keeps health.
"""

from __future__ import annotations

import collections
import functools
import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import confluent_kafka as ck
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.acks import AckTracker, Entry, Release
from ingest.kafka_out import KafkaOut
from ingest.metrics import BridgeMetrics
from ingest.ratelimit import TokenBuckets
from ingest.registry_cache import RegistryCache
from ingest.route import Inbound, route, route_many
from ingest.settings import BridgeSettings
from ingest.validate import Dest, Limits, Outcome, dead_letter
from runtime.health import Health
from runtime.mqtt import new_client
from wire import topics
from wire.messages import DeadLetterReason
from wire.packed import pack, partition_of
from wire.topics import parse_device_topic

log = logging.getLogger(__name__)

# How often the main thread serves Kafka callbacks and produces lingering packs
# when paho's thread is idle. Readings wait up to RPM_PACK_LINGER_S (100 ms) in
# a pack anyway; 10 ms instead of 2 ms costs nothing in latency there and saves
# 400 wake-ups a second that each took the GIL from paho's thread (about a fifth
# of the bridge's samples at 2,000 devices).
IDLE_POLL_S = 0.01
# Messages routed together (see the module's docstring): 64 was within noise
# of 256 on the bench (16: a third of the gain lost) and keeps a batch's stop
# of paho's thread short.
INBOX_MAX = 64


@dataclass(slots=True)
class Pending:
    """One Kafka record on its way, tied to the MQTT message(s) it came from."""

    entry: Entry | None  # None for a packed record (``entries``)
    topic: str
    key: bytes | None
    value: bytes
    readings: int
    reason: DeadLetterReason | None  # set for a dead letter
    attempts: int = 0
    entries: list[Entry] | None = None  # a packed record: one confirmation per batch it carries
    partition: int = -1  # explicit partition (packed records), else by key


@dataclass(slots=True)
class _Pack:
    """Accepted batches of one pack group waiting to go out as one packed record."""

    values: list[bytes]
    keys: list[str]  # patient of each batch
    entries: list[Entry]
    since: float  # monotonic time of the first batch
    nbytes: int = 0  # sum of the values' sizes
    counts: list[int] = field(default_factory=list)  # readings in each batch

    def add(self, value: bytes, key: str, entry: Entry, readings: int) -> None:
        self.values.append(value)
        self.keys.append(key)
        self.entries.append(entry)
        self.counts.append(readings)
        self.nbytes += len(value)


# A pack goes out once it holds this much, whatever its count: waveform batches
# are up to the 256 KiB payload limit each, and a packed record must stay under
# Kafka's default 1 MB message limit (message.max.bytes / max.message.bytes).
PACK_MAX_BYTES = 512 * 1024


def _split(p: _Pack) -> list[_Pack]:
    """The pack as records of at most PACK_MAX_BYTES each (or one batch, if a batch alone is larger).

    Batches that waited before the partition count was known are regrouped in
    one go and may exceed the limit together."""
    if p.nbytes <= PACK_MAX_BYTES:
        return [p]
    out = [_Pack([], [], [], p.since)]
    for value, key, entry, n in zip(p.values, p.keys, p.entries, p.counts, strict=True):
        cur = out[-1]
        if cur.values and cur.nbytes + len(value) > PACK_MAX_BYTES:
            cur = _Pack([], [], [], p.since)
            out.append(cur)
        cur.add(value, key, entry, n)
    return out


class Bridge:
    def __init__(
        self,
        settings: BridgeSettings,
        registry: RegistryCache,
        kafka: KafkaOut,
        metrics: BridgeMetrics,
        health: Health,
    ) -> None:
        self.s = settings
        self.registry = registry
        self.kafka = kafka
        self.metrics = metrics
        self.health = health
        self.limits = Limits(
            settings.max_payload_bytes,
            timedelta(seconds=settings.max_future_skew_s),
            timedelta(seconds=settings.late_horizon_s),
        )
        names = {k: t.name for k, t in topics.kafka_topics(settings.topic_prefix).items()}
        self.status_topic = names[topics.DEVICE_STATUS]
        self.dead_topic = names[topics.DEAD_LETTER]
        self.packed_topic = names[topics.READINGS_PACKED]
        self._packs: dict[int, _Pack] = {}  # packed-readings partition -> batches waiting
        self._pack_partitions: int | None = None  # known from the cluster's metadata
        self._pack_lock = threading.Lock()
        self.buckets = (
            TokenBuckets(settings.rate_limit_per_s, settings.rate_limit_burst) if settings.rate_limit_per_s > 0 else None
        )
        self.tracker = AckTracker()
        self._retries: list[tuple[float, int, Pending]] = []
        self._retry_lock = threading.Lock()
        self._retry_seq = itertools.count()
        self._backoff = settings.kafka_retry_backoff_s
        self._generation = 0
        self._last_probe = 0.0
        self._failure_logged_at = 0.0
        self._housekept = 0.0
        self._failures_unlogged = 0
        self.fatal = threading.Event()
        self._inbox: collections.deque[Inbound] = collections.deque()
        self._inbox_lock = threading.Lock()
        self.client = self._make_client()

    # ------------------------------------------------------------ MQTT side
    def _make_client(self) -> mqtt.Client:
        s = self.s
        client, self.target = new_client(
            s.mqtt_url,
            f"{s.topic_prefix}rpm-{s.bridge_instance}",
            username=s.mqtt_username,
            password=s.mqtt_password.get_secret_value() if s.mqtt_password else None,
            ca_file=s.mqtt_ca_file,
            cert_file=s.mqtt_cert_file,
            key_file=s.mqtt_key_file,
            v5=s.mqtt_v5,
            clean_start=False,
            manual_ack=True,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        # paho types on_subscribe as the union of its v1 and v2 signatures; ours accepts both.
        client.on_subscribe = self._on_subscribe  # type: ignore[assignment]
        client.on_message = self._on_message
        return client

    def filters(self) -> list[str]:
        fs = [topics.TELEMETRY_FILTER, topics.STATUS_FILTER, topics.WAVEFORM_FILTER]
        g = self.s.mqtt_shared_group
        return [f"$share/{g}/{f}" for f in fs] if g else fs

    def _on_connect(self, client: mqtt.Client, _u: object, flags: object, rc: object, _p: object = None) -> None:
        if getattr(rc, "is_failure", False):
            self.health.set("mqtt", False, f"connect refused: {rc}")
            log.error("mqtt connect refused", extra={"reason": str(rc)})
            return
        self._generation = self.tracker.new_connection()
        self.metrics.mqtt_connected.set(1)
        self.health.set("mqtt", True)
        # Never unsubscribe: the persistent session's subscriptions are what
        # make the broker queue messages while the bridge is away.
        if self.s.mqtt_v5:
            # Retained statuses only for a new subscription, not again on every reconnect.
            opts = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
            client.subscribe([(f, opts) for f in self.filters()])
        else:
            client.subscribe([(f, 1) for f in self.filters()])
        log.info("mqtt connected", extra={"filters": self.filters(), "session_present": getattr(flags, "session_present", None)})

    def _on_subscribe(self, _c: mqtt.Client, _u: object, _mid: int, codes: list[object], _p: object = None) -> None:
        refused = [str(c) for c in codes if getattr(c, "is_failure", False) or c == 128]
        if refused:
            self.health.set("mqtt", False, f"subscription refused: {refused}")
            log.error("mqtt subscription refused (check the broker ACL for the bridge user)", extra={"codes": refused})

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, rc: object, _p: object = None) -> None:
        self.metrics.mqtt_connected.set(0)
        self.health.set("mqtt", False, str(rc))
        log.warning("mqtt disconnected", extra={"reason": str(rc)})

    def _on_message(self, _c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        # paho's payload is bytes already (bytearray only for a message built by hand)
        payload = m.payload if type(m.payload) is bytes else bytes(m.payload)
        self._inbox.append(Inbound(m.mid, m.qos, m.topic, payload, datetime.now(UTC), time.monotonic(), self._generation))
        if len(self._inbox) >= INBOX_MAX:
            self._drain_inbox()

    def _drain_inbox(self) -> None:
        """Route and send every message waiting in the inbox, in arrival order (either thread)."""
        with self._inbox_lock:
            inbox = self._inbox
            n = len(inbox)
            if not n:
                return
            pop = inbox.popleft
            msgs = [pop() for _ in range(n)]
            self.metrics.received.inc(n)
            try:
                outcomes = route_many(msgs, self.registry.get, self.limits, self.buckets)
            except Exception:  # a bug must not kill paho's thread nor lose messages: one by one, to find it
                log.exception("batch could not be routed; routing its messages one by one")
                outcomes = [self._route_one(m) for m in msgs]
            self._send_many(msgs, outcomes)
        # Kafka's callbacks (acknowledging what was delivered) once per batch, not amid it.
        self.kafka.poll(0)

    def _route_one(self, msg: Inbound) -> Outcome:
        parsed = parse_device_topic(msg.topic)
        try:
            return route(msg, self.registry.get(parsed[0] if parsed else None), self.limits, self.buckets)
        except Exception as e:
            log.exception("message could not be processed; dead-lettered")
            return Outcome(dead=[dead_letter(DeadLetterReason.SCHEMA_VIOLATION, f"unprocessable: {e!r}", msg.payload,
                                             msg.received_at, msg.topic, parsed[0] if parsed else None)])

    def _send_many(self, msgs: list[Inbound], outcomes: list[Outcome]) -> None:
        # Readings travel packed (wire.packed), everything else one record each; a
        # message is acknowledged once every one of its records is confirmed.
        entries = self.tracker.add_many([
            Entry(m.mid, m.qos, m.generation, m.received_mono, len(o.accepted) + len(o.dead))
            for m, o in zip(msgs, outcomes, strict=True)
        ])
        singles: list[Pending] = []
        now = time.monotonic()
        n_part = self._pack_partitions
        pack_max = self.s.pack_max
        full = False
        with self._pack_lock:
            packs = self._packs
            for entry, outcome in zip(entries, outcomes, strict=True):
                for f in outcome.accepted:
                    if f.dest is Dest.READINGS:
                        # Until the partition count is known, batches wait under -1 (regrouped then).
                        part = partition_of(f.key, n_part) if n_part else -1
                        p = packs.get(part)
                        if p is None:
                            p = packs[part] = _Pack([], [], [], now)
                        p.add(f.value, f.key, entry, f.readings)
                        full = full or len(p.values) >= pack_max or p.nbytes >= PACK_MAX_BYTES
                    else:
                        singles.append(Pending(entry, self.status_topic, f.key.encode(), f.value, 0, None))
                for d in outcome.dead:
                    key = d.device_id.encode() if d.device_id else None
                    singles.append(Pending(entry, self.dead_topic, key, d.model_dump_json().encode(), 0, d.reason))
        for pending in singles:
            self._produce(pending)
        # Full packs go now; lingering ones on the main thread's next turn (step()).
        if n_part and full:
            self._flush_packs(now)

    def _flush_packs(self, now: float, force: bool = False) -> None:
        """Produce the packs that are full or old enough (``RPM_PACK_LINGER_S``, ``RPM_PACK_MAX``)."""
        n_part = self._pack_partitions
        if n_part is None:
            n_part = self._pack_partitions = self.kafka.partitions(self.packed_topic, 0.5)
            if n_part is None:
                return  # the batches wait (their messages stay unacknowledged) until the cluster answers
        due: list[tuple[int, _Pack]] = []
        with self._pack_lock:
            early = self._packs.pop(-1, None)
            if early is not None:
                for value, key, e, n in zip(early.values, early.keys, early.entries, early.counts, strict=True):
                    self._packs.setdefault(partition_of(key, n_part), _Pack([], [], [], early.since)).add(value, key, e, n)
            for part, p in list(self._packs.items()):
                if (force or len(p.values) >= self.s.pack_max or p.nbytes >= PACK_MAX_BYTES
                        or now - p.since >= self.s.pack_linger_s):
                    due.append((part, self._packs.pop(part)))
        for part, whole in due:
            for p in _split(whole):
                self._produce(Pending(None, self.packed_topic, b"p%d" % part, pack(p.values), sum(p.counts), None,
                                      entries=p.entries, partition=part))

    # ------------------------------------------------------------ Kafka side
    def _produce(self, p: Pending) -> None:
        p.attempts += 1
        self.kafka.produce(p.topic, p.key, p.value, functools.partial(self._delivered, p), p.partition)

    def _delivered(self, p: Pending, err: ck.KafkaError | None, _m: object = None) -> None:
        if err is not None:
            self.metrics.kafka_errors.inc()
            with self._retry_lock:
                due = time.monotonic() + self._backoff
                heapq.heappush(self._retries, (due, next(self._retry_seq), p))
                self._backoff = min(self._backoff * 2, self.s.kafka_retry_backoff_max_s)
            self._failures_unlogged += 1
            now = time.monotonic()
            if now - self._failure_logged_at > 5.0:  # one line per 5 s in an outage, not one per record
                log.warning("kafka deliveries failed; producing them again with backoff",
                            extra={"error": str(err), "failed": self._failures_unlogged, "backoff_s": self._backoff})
                self._failure_logged_at, self._failures_unlogged = now, 0
            return
        self.kafka.delivered()
        self._backoff = self.s.kafka_retry_backoff_s
        if p.reason is None:
            self.metrics.forwarded.inc(p.readings)
        else:
            self.metrics.dead[p.reason].inc()
        if p.entries is not None:
            released = self.tracker.confirm_many(p.entries)
        else:
            assert p.entry is not None
            released = self.tracker.confirm(p.entry)
        for rel in released:
            self._release(rel)

    def _release(self, rel: Release) -> None:
        if rel.ack:
            self.client.ack(rel.mid, rel.qos)
        self.metrics.observe_latency(time.monotonic() - rel.received_mono)

    def _retry_due(self) -> None:
        now = time.monotonic()
        due: list[Pending] = []
        with self._retry_lock:
            while self._retries and self._retries[0][0] <= now:
                due.append(heapq.heappop(self._retries)[2])
        for p in due:
            self._produce(p)

    def _update_health(self) -> None:
        now = time.monotonic()
        oldest = self.tracker.oldest()
        with self._retry_lock:
            retrying = len(self._retries)
        stalled = oldest is not None and now - oldest > self.s.kafka_stall_s
        if not self.kafka.reachable and oldest is None and now - self._last_probe > 2.0:
            # Idle while Kafka was down: nothing in flight will tell us it is back.
            self._last_probe = now
            self.kafka.probe(self.packed_topic)
        ok = self.kafka.reachable and not retrying and not stalled
        detail = "" if ok else (
            f"unreachable: {self.kafka.last_error}" if not self.kafka.reachable
            else f"{retrying} records waiting to be produced again" if retrying
            else f"oldest message waiting {now - (oldest or now):.1f}s for Kafka"
        )
        self.health.set("kafka", ok, detail)
        self.metrics.kafka_ready.set(1 if ok else 0)
        self.metrics.inflight.set(len(self.tracker))

    # ------------------------------------------------------------ main loop
    def connect(self) -> None:
        self.health.set("mqtt", False, "connecting")
        host, port = self.target.host, self.target.port
        if self.s.mqtt_v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.s.mqtt_session_expiry_s
            props.ReceiveMaximum = self.s.mqtt_receive_maximum
            self.client.connect_async(host, port, keepalive=30, clean_start=False, properties=props)
        else:
            self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()

    def step(self) -> None:
        """One turn of the main loop: serve Kafka callbacks, and ten times a second, housekeeping."""
        # poll(0), never a blocking poll: while messages flow, paho's thread
        # serves the callbacks after each produce, and a second thread
        # contending for the GIL would only slow it down. This turn catches
        # the callbacks of the last messages of a burst within a few ms.
        self.kafka.poll(0)
        if self._inbox:
            self._drain_inbox()
        now = time.monotonic()
        if self._packs:
            self._flush_packs(now)
        if now - self._housekept < 0.1:
            return
        self._housekept = now
        self.health.beat()
        self._retry_due()
        self._update_health()
        self.registry.maybe_refresh()

    def run(self, stop: threading.Event) -> int:
        self.connect()
        try:
            while not stop.is_set() and not self.fatal.is_set():
                self.step()
                stop.wait(IDLE_POLL_S)
        finally:
            self.shutdown()
        return 1 if self.fatal.is_set() else 0

    def shutdown(self, flush_s: float = 5.0) -> None:
        # Let in-flight records complete so their messages get acknowledged;
        # whatever is still unconfirmed stays unacknowledged and is redelivered.
        self._drain_inbox()
        self._flush_packs(time.monotonic(), force=True)
        left = self.kafka.flush(flush_s)
        for rel in self.tracker.release_ready():
            self._release(rel)
        self.client.disconnect()
        self.client.loop_stop()
        log.info("bridge stopped", extra={"unconfirmed_records": left, "unacknowledged_messages": len(self.tracker)})
