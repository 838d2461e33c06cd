"""Synthetic reading batches with explicit times for the stream core tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from streams import engine
from streams.candidates import Outputs
from streams.config import CoreConfig
from streams.state import History, Live
from wire.messages import AlertCandidate, DeviceKind, QualityFlag, Reading, ReadingBatch
from wire.units import ReadingType as RT

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def at(sec: float) -> datetime:
    return T0 + timedelta(seconds=sec)


def ms(sec: float) -> int:
    return int(at(sec).timestamp() * 1000)


def r(rt: RT, sec: float, value: float, *flags: QualityFlag) -> Reading:
    return Reading(type=rt, t=at(sec), value=value, flags=flags)


def batch(seq: int, readings: Iterable[Reading], *, received: float | None = None, device: str = "dev-1",
          pid: str = "P1", kind: DeviceKind | None = None, scale: int | None = None) -> ReadingBatch:
    rs = tuple(readings)
    newest = max((x.t for x in rs), default=T0)
    rec = at(received) if received is not None else newest
    return ReadingBatch(patient_id=pid, device_id=device, seq=seq, sent_at=newest, received_at=rec, readings=rs,
                        device_kind=kind, spo2_scale=scale)  # type: ignore[arg-type]


def wobble(i: int, amplitude: float = 1.0) -> float:
    """A deterministic, non-constant pattern (flatline checks reject constant values)."""
    return amplitude * ((i * 7) % 5 - 2) / 2.0


class Patient:
    """Drives one patient's state through the core, collecting everything it emits."""

    def __init__(self, cfg: CoreConfig | None = None, pid: str = "P1") -> None:
        self.cfg = cfg or CoreConfig()
        self.pid = pid
        self.live, self.hist = Live(), History()
        self.outs: list[Outputs] = []
        self.seq = 0

    def send(self, b: ReadingBatch) -> Outputs:
        out = engine.process(self.live, self.hist, b, 0, self.cfg)
        self.outs.append(out)
        return out

    def feed(self, readings: Iterable[Reading], **kw: object) -> Outputs:
        self.seq += 1
        return self.send(batch(self.seq, readings, pid=self.pid, **kw))  # type: ignore[arg-type]

    def tick(self, sec: float) -> Outputs:
        out = engine.tick(self.pid, self.live, self.hist, ms(sec), self.cfg)
        self.outs.append(out)
        return out

    @property
    def candidates(self) -> list[AlertCandidate]:
        return [c for o in self.outs for c in o.candidates]

    def windows(self, rt: RT, length_s: int = 60) -> list:  # type: ignore[type-arg]
        return [w for o in self.outs for w in o.windows if w.type is rt and w.length_s == length_s]

    def scores(self, kind: str) -> list:  # type: ignore[type-arg]
        return [s for o in self.outs for s in o.scores if s.kind == kind]
