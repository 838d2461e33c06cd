"""The e2e bench's device fleet: bedside monitors publishing HR, SpO2 and RR once a second over MQTT QoS 1.

One Python MQTT client cannot publish 2,000 QoS 1 messages a second beside the pipeline on two cores
(measured: its queue grew until paho's 16-bit message ids wrapped, ``ERR_QUEUE_SIZE``), so the fleet
is split over several processes, each with its own connection and a slice of the devices, all on one
wall-clock schedule. Payloads are rendered from a template checked once against the wire contract,
since building a pydantic model per message cost the publisher more than the bridge spends per message.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from runtime.mqtt import new_client
from wire.messages import Telemetry
from wire.topics import telemetry_topic

Key = tuple[str, str]  # (patient, onset minute ISO)


@dataclass(frozen=True)
class Schedule:
    """What every publisher process shares: the devices, who is tachycardic when, and the clock."""

    patients: tuple[str, ...]
    per_minute: int
    rate_hz: float
    start_minute: datetime
    first_round: int
    t_start: float
    t_end: float
    onset_delay_s: float


@dataclass
class Marks:
    """Publish() call times per expected alarm, and how long the client held those messages."""

    triggers: dict[Key, float] = field(default_factory=dict)
    onsets: dict[Key, float] = field(default_factory=dict)
    queued: list[float] = field(default_factory=list)
    published: int = 0
    errors: int = 0
    cpu_s: float = 0.0  # CPU the publisher process(es) used, start-up included


def render(device: str, seq: int, t: datetime, hr: float) -> bytes:
    """A contract v1 Telemetry message (the same bytes pydantic would give, without building the model)."""
    ts = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return orjson.dumps({
        "v": 1, "device_id": device, "seq": seq, "sent_at": ts,
        "readings": [
            {"type": "heart_rate", "t": ts, "value": float(hr), "unit": "/min", "flags": []},
            {"type": "spo2", "t": ts, "value": 97.0, "unit": "%", "flags": []},
            {"type": "resp_rate", "t": ts, "value": 15.0, "unit": "/min", "flags": []},
        ],
        "waveforms": [],
    })


def check_template() -> None:
    """Fail before the run, not in the bridge's dead letters, if the template drifted from the contract."""
    Telemetry.model_validate_json(render("d0", 0, datetime.now(UTC), 72.0))


def _ms(t: datetime) -> int:
    return round(t.timestamp() * 1000.0)  # as streams.stats.to_ms


def _tachycardic(s: Schedule, now: datetime) -> set[str]:
    minute = now.replace(second=0, microsecond=0)
    rnd = int((minute - s.start_minute).total_seconds() // 60)
    if rnd < s.first_round:
        return set()
    lo = (rnd * s.per_minute) % len(s.patients)
    return {s.patients[(lo + i) % len(s.patients)] for i in range(s.per_minute)}


def publish_slice(mqtt_url: str, v5: bool, s: Schedule, mine: list[str]) -> Marks:
    """Publish for ``mine`` in real time; a tachycardia lasts the minute, less the onset delay and a margin."""
    client, target = new_client(mqtt_url, f"bench-pub-{mine[0]}", v5=v5)
    client.max_inflight_messages_set(max(1000, 4 * len(mine)))
    client.max_queued_messages_set(0)
    acked: dict[int, float] = {}
    client.on_publish = lambda *a: acked.__setitem__(a[2], time.time())  # (client, userdata, mid, ...)
    client.connect(target.host, target.port)
    client.loop_start()
    marks = Marks()
    mids: dict[tuple[Key, bool], int] = {}
    onset_at: dict[Key, datetime] = {}
    period = 1.0 / s.rate_hz
    time.sleep(max(0.0, s.t_start - time.time()))
    next_tick, seq, sent = s.t_start, 0, 0
    while time.time() < s.t_end:
        now = datetime.now(UTC)
        minute = now.replace(second=0, microsecond=0)
        into = (now - minute).total_seconds()
        tachy = _tachycardic(s, now)
        for p in mine:
            hr = 72.0
            mark: dict[Key, float] | None = None
            key = (p, minute.isoformat())
            if p in tachy and into <= 60 - s.onset_delay_s - 5:
                hr = 145.0
                if key not in marks.onsets:
                    onset_at[key], mark = now, marks.onsets
                elif key not in marks.triggers and _ms(now) - _ms(onset_at[key]) >= s.onset_delay_s * 1000:
                    mark = marks.triggers  # the reading that completes the delay, in the streams' ms
            called = time.time()
            info = client.publish(telemetry_topic(f"d{p}"), render(f"d{p}", seq, now, hr), qos=1)
            if info.rc != 0:
                marks.errors += 1
                continue
            sent += 1
            if mark is not None:
                mark[key] = called
                mids[key, mark is marks.onsets] = info.mid
        seq += 1
        next_tick += period
        time.sleep(max(0.0, next_tick - time.time()))
    # Everything published must reach the broker before the client goes: an unacknowledged QoS 1
    # message dropped here would be counted as lost by the pipeline.
    deadline = time.time() + 300
    while len(acked) < sent and time.time() < deadline:
        time.sleep(0.1)
    client.disconnect()
    client.loop_stop()
    for (key, is_onset), mid in mids.items():
        start = (marks.onsets if is_onset else marks.triggers)[key]
        marks.queued.append(acked.get(mid, start) - start)
    marks.published = sent
    marks.cpu_s = time.process_time()
    return marks


def _child(out: multiprocessing.Queue, mqtt_url: str, v5: bool, s: Schedule, mine: list[str]) -> None:  # type: ignore[type-arg]
    out.put(publish_slice(mqtt_url, v5, s, mine))


def publish_fleet(mqtt_url: str, v5: bool, patients: list[str], per_minute: int, rate_hz: float,
                  duration_s: float, onset_delay_s: float, processes: int) -> Marks:
    """Run the fleet in ``processes`` processes and merge what they measured."""
    check_template()
    ctx = multiprocessing.get_context("spawn")  # the bench has threads (probe, SSE): no fork
    start_wall = datetime.now(UTC) + timedelta(seconds=3)  # time for the children to start
    start_minute = start_wall.replace(second=0, microsecond=0)
    # The first tachycardic minute must leave the onset delay (and a margin) before its end.
    first_round = 0 if (start_wall - start_minute).total_seconds() < 60 - onset_delay_s - 15 else 1
    must_fire = start_minute + timedelta(minutes=first_round, seconds=onset_delay_s + 5)
    duration = max(duration_s, (must_fire - start_wall).total_seconds())
    t0 = start_wall.timestamp()
    s = Schedule(tuple(patients), per_minute, rate_hz, start_minute, first_round, t0, t0 + duration, onset_delay_s)
    n = max(1, min(processes, len(patients)))
    out = ctx.Queue()
    children = [ctx.Process(target=_child, args=(out, mqtt_url, v5, s, patients[i::n]), daemon=True) for i in range(n)]
    for c in children:
        c.start()
    merged = Marks()
    for _ in children:
        m: Marks = out.get(timeout=duration + 330)
        merged.triggers.update(m.triggers)
        merged.onsets.update(m.onsets)
        merged.queued.extend(m.queued)
        merged.published += m.published
        merged.errors += m.errors
        merged.cpu_s += m.cpu_s
    for c in children:
        c.join(10)
    return merged
