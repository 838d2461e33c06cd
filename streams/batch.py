"""A reading batch as the stream core uses it: plain lists grouped by reading type.

The wire model (wire.messages.ReadingBatch) holds one pydantic Reading with
an aware datetime per sample; the core needs epoch ms, flag bits and values,
and handles a batch one vital at a time (a window belongs to one vital). So
a batch reaches the core already converted and grouped: per reading type,
the samples in record order (order matters only within a type: the first
of two identical readings is the one kept). streams.decode builds it from
the record's bytes; ``from_model`` from a validated ReadingBatch (tests,
and records the fast decoder leaves to pydantic), so both paths feed the
core the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.quality import flag_bits
from streams.stats import to_ms
from wire.messages import ReadingBatch, WaveformSnippet
from wire.units import ReadingType


@dataclass(slots=True)
class Samples:
    """The readings of one type in one batch, in record order."""

    t: list[int] = field(default_factory=list)  # event time, epoch ms
    v: list[float] = field(default_factory=list)
    bits: list[int] = field(default_factory=list)  # quality-flag bits (streams.quality.FLAG_BIT)
    flagged: bool = False  # any bits set (most batches have none: lets the core skip a scan)


@dataclass(slots=True)
class Batch:
    patient_id: str
    device_id: str
    seq: int
    sent_ms: int
    received_ms: int
    groups: dict[ReadingType, Samples]  # in order of first appearance
    n_readings: int
    waveforms: tuple[WaveformSnippet, ...] = ()
    device_kind: str | None = None  # a wire.messages.DeviceKind value
    spo2_scale: int | None = None


def from_model(b: ReadingBatch) -> Batch:
    groups: dict[ReadingType, Samples] = {}
    for r in b.readings:
        g = groups.get(r.type)
        if g is None:
            g = groups[r.type] = Samples()
        bits = flag_bits(r.flags) if r.flags else 0
        g.t.append(to_ms(r.t))
        g.v.append(r.value)
        g.bits.append(bits)
        g.flagged |= bits != 0
    return Batch(
        patient_id=b.patient_id, device_id=b.device_id, seq=b.seq, sent_ms=to_ms(b.sent_at),
        received_ms=to_ms(b.received_at), groups=groups, n_readings=len(b.readings), waveforms=b.waveforms,
        device_kind=b.device_kind.value if b.device_kind is not None else None, spo2_scale=b.spo2_scale,
    )
