"""Device firmware: message framing, sequence numbers and store-and-forward, with no IO.

Measurements go into a bounded on-device buffer as frames (the values
measured together). While connected the firmware publishes frames in
order: live, one message per frame (or per upload period for batching
devices); after an outage the backlog goes out oldest first, many frames
per message, with the original measurement times. A full buffer drops its
oldest readings and counts them. At most ``max_inflight`` messages wait
for a PUBACK; the MQTT client retransmits those itself after a reconnect,
so a reading leaves the buffer exactly once.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from firmware_sim.devices import DeviceSettings, Sample
from wire.messages import DeviceState, DeviceStatus, Waveform, WaveformKind
from wire.topics import status_topic, telemetry_topic, waveform_topic


def iso(t: datetime) -> str:
    """UTC time exactly as pydantic serialises the wire contract's datetimes (``...Z``)."""
    u = t.astimezone(UTC)
    frac = f".{u.microsecond:06d}" if u.microsecond else ""
    return u.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def encode_reading(s: Sample, when: str) -> str:
    """One DeviceReading as JSON text; equal to the pydantic model's (tested)."""
    flags = ",".join(f'"{f.value}"' for f in s.flags)
    return f'{{"type":"{s.type.value}","t":"{when}","value":{float(s.value)!r},"unit":"{s.unit}","flags":[{flags}]}}'


class OutKind(StrEnum):
    TELEMETRY = "telemetry"
    WAVEFORM = "waveform"


@dataclass(frozen=True, slots=True)
class Outgoing:
    device_index: int
    kind: OutKind
    topic: str
    payload: bytes
    seq: int
    readings: int
    first_t: float  # true time of the first reading (for labels and checks)
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Snippet:
    t0: float
    fs_hz: float
    samples: tuple[float, ...]


@dataclass(slots=True)
class DropRecord:
    count: int = 0
    first_t: float | None = None
    last_t: float | None = None


class Firmware:
    def __init__(
        self, index: int, device_id: str, settings: DeviceSettings, epoch: datetime, clock_skew_s: float,
        duplicate_probability: float, rng: random.Random, batch_period_s: float | None,
    ) -> None:
        self.index = index
        self.device_id = device_id
        self._epoch = epoch
        self._skew = clock_skew_s
        self._dup_p = duplicate_probability
        self._rng = rng
        self._capacity = settings.buffer_readings
        self._upload_batch = settings.upload_batch
        self.max_inflight = settings.max_inflight
        self._batch_period = batch_period_s
        # Readings are kept as their JSON text (see encode_reading): at 2,000 devices a
        # pydantic model per reading and per message cost ~4 % of a core for nothing,
        # the tests validate every payload against the wire contract instead.
        self._frames: deque[list[str]] = deque()
        self._frame_t: deque[float] = deque()
        self._snippets: deque[Snippet] = deque(maxlen=20)
        self.buffered = 0
        self.drops = DropRecord()
        self.seq = 0
        self.wave_seq = 0
        self.inflight = 0
        self._next_upload: float | None = None
        self.topic = telemetry_topic(device_id)

    # ---------------------------------------------------------------- clock
    def device_time(self, t: float) -> datetime:
        """The device's own clock: true time plus its skew, at millisecond resolution."""
        return self._epoch + timedelta(milliseconds=round((t + self._skew) * 1000))

    # ---------------------------------------------------------------- measuring
    def store(self, samples: list[Sample]) -> None:
        if not samples:
            return
        t = samples[0].t
        when = iso(self.device_time(t))  # a frame's values are measured together
        frame = [encode_reading(s, when) for s in samples]
        self._frames.append(frame)
        self._frame_t.append(t)
        self.buffered += len(frame)
        if self._batch_period is not None and self._next_upload is None:
            self._next_upload = t + self._batch_period
        while self.buffered > self._capacity:
            oldest = self._frames[0]
            oldest.pop(0)
            self.buffered -= 1
            ft = self._frame_t[0]
            d = self.drops
            d.count += 1
            d.first_t = ft if d.first_t is None else d.first_t
            d.last_t = ft
            if not oldest:
                self._frames.popleft()
                self._frame_t.popleft()

    def store_snippet(self, snippet: Snippet) -> None:
        self._snippets.append(snippet)

    # ---------------------------------------------------------------- publishing
    def collect(self, now: float, flush: bool = False) -> list[Outgoing]:
        """Messages to publish now; call only while connected. ``now`` is true sim time.

        ``flush`` sends a batching device's partial batch (at the end of a run).
        """
        out: list[Outgoing] = []
        while self._snippets and self.inflight < self.max_inflight:
            out.append(self._waveform(self._snippets.popleft(), now))
        batching = self._batch_period is not None
        if not self._frames or (batching and not flush and self._next_upload is not None and now < self._next_upload):
            return out
        while self._frames and self.inflight < self.max_inflight:
            # Live: one message per frame. A batch upload or a backlog after an
            # outage packs whole frames, oldest first, up to upload_batch readings.
            first_t = self._frame_t.popleft()
            readings = self._frames.popleft()
            if batching or self._frames:
                while self._frames and len(readings) + len(self._frames[0]) <= self._upload_batch:
                    readings += self._frames.popleft()
                    self._frame_t.popleft()
            self.buffered -= len(readings)
            out += self._telemetry(readings, now, first_t)
        if batching and self._next_upload is not None and now >= self._next_upload:
            self._next_upload += self._batch_period * (1 + (now - self._next_upload) // self._batch_period)  # type: ignore[operator]
        return out

    def _telemetry(self, readings: list[str], now: float, first_t: float) -> list[Outgoing]:
        payload = (
            f'{{"v":1,"device_id":"{self.device_id}","seq":{self.seq},"sent_at":"{iso(self.device_time(now))}",'
            f'"readings":[{",".join(readings)}]}}'
        ).encode()
        o = Outgoing(self.index, OutKind.TELEMETRY, self.topic, payload, self.seq, len(readings), first_t)
        self.seq += 1
        self.inflight += 1
        if self._dup_p and self._rng.random() < self._dup_p:
            # A resend of the identical message (same seq), as firmware does when it misses an ack.
            self.inflight += 1
            return [o, Outgoing(o.device_index, o.kind, o.topic, o.payload, o.seq, o.readings, o.first_t, True)]
        return [o]

    def _waveform(self, s: Snippet, now: float) -> Outgoing:
        msg = Waveform(
            device_id=self.device_id, seq=self.wave_seq, sent_at=self.device_time(now), kind=WaveformKind.PPG,
            t0=self.device_time(s.t0), fs_hz=s.fs_hz, samples=s.samples,
        )
        self.wave_seq += 1
        self.inflight += 1
        return Outgoing(self.index, OutKind.WAVEFORM, waveform_topic(self.device_id), msg.model_dump_json().encode(),
                        msg.seq, len(s.samples), s.t0)

    def acked(self) -> None:
        self.inflight = max(0, self.inflight - 1)

    def status(self, state: DeviceState, now: float | None, battery_pct: float | None = None) -> tuple[str, bytes]:
        at = self.device_time(now) if now is not None else None
        msg = DeviceStatus(device_id=self.device_id, state=state, at=at, battery_pct=battery_pct)
        return status_topic(self.device_id), msg.model_dump_json().encode()
