"""The waveform strip: stored snippets of a span -> one trace per device and kind, at most N points.

Decimation is a min/max envelope (each bucket of k samples keeps its lowest
and highest sample, in the order they occurred), not a low-pass filter and
resample (``scipy.signal.decimate``). A strip is for looking at: an ECG R
wave is 10-40 ms wide, and low-passing it to a display rate shrinks it and
adds ringing that is not in the signal (measured in docs/waveforms.md: a
10-ms R wave at 500 Hz decimated 12x keeps 74 % of its height, with an
undershoot of 10 %); the envelope keeps every peak and trough exactly,
which is what a monitor's screen column shows anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from storage.waveforms import Snippet

Floats = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(slots=True)
class Strip:
    device_id: str
    kind: str
    fs_hz: float
    unit: str
    adc_bits: int | None
    samples: int = 0  # raw samples in the span
    decimated: bool = False
    # Seconds since the span's start and values; None breaks the trace where no snippet covers the time.
    t: list[float] = field(default_factory=list)
    values: list[float | None] = field(default_factory=list)


def envelope(t: Floats, x: Floats, k: int) -> tuple[Floats, Floats]:
    """Each bucket of ``k`` samples as its minimum and maximum, in time order (one point if they coincide)."""
    if k <= 1 or x.size <= 2:
        return t, x
    m = -(-x.size // k)
    pad = m * k - x.size
    # Padding repeats the last sample: it can never become a bucket's new extreme.
    xp = np.concatenate([x, np.full(pad, x[-1])]).reshape(m, k)
    base = np.arange(m) * k
    lo, hi = base + xp.argmin(axis=1), base + xp.argmax(axis=1)
    idx = np.unique(np.minimum(np.concatenate([lo, hi]), x.size - 1))  # sorted: time order
    return t[idx], x[idx]


def build(snippets: Sequence[Snippet], start: datetime, end: datetime, max_points: int) -> list[Strip]:
    """One strip per (device, kind) with samples in [start, end), each at most ``max_points`` points."""
    span = (end - start).total_seconds()
    pieces: dict[tuple[str, str], list[tuple[Snippet, Floats, Floats]]] = {}
    for s in snippets:
        offset = (s.start_at - start).total_seconds()
        t = offset + np.arange(s.samples.size) / s.fs_hz
        keep = (t >= 0) & (t < span)
        if keep.any():
            pieces.setdefault((s.device_id, s.kind), []).append((s, t[keep], s.samples[keep]))
    out: list[Strip] = []
    for (device, kind), parts in sorted(pieces.items()):
        first = parts[0][0]
        strip = Strip(device, kind, first.fs_hz, first.unit, first.adc_bits)
        strip.samples = sum(x.size for _, _, x in parts)
        # Every sample when they fit (with a gap marker between pieces); else two points per bucket, the
        # same bucket size across the strip so its look is even. Each piece may add one point over its
        # share and a gap marker: kept inside the budget too.
        if strip.samples + len(parts) <= max_points:
            k = 1
        else:
            k = max(2, -(-strip.samples // max(1, (max_points - 3 * len(parts)) // 2)))
        strip.decimated = k > 1
        prev_end: float | None = None
        for s, t, x in parts:
            if prev_end is not None and t[0] - prev_end > 2.0 / s.fs_hz:
                strip.t.append(round((prev_end + t[0]) / 2, 4))
                strip.values.append(None)
            dt, dx = envelope(t, x, k)
            strip.t += [round(v, 4) for v in dt.tolist()]
            strip.values += dx.tolist()
            prev_end = float(t[-1])
        out.append(strip)
    return out
