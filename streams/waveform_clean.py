"""Conditioning of a raw sampled waveform (PPG or ECG) before beat detection (pure).

Real recordings break the assumptions of a peak detector in a few recurring,
recognisable ways; each is repaired when that is safe and marked when not,
so a window that contains an unrepaired fault is rejected with its reason
instead of yielding a wrong rate:

- **ADC wraparound**: an n-bit converter whose value overflows jumps by the
  full code range (a 12-bit pleth from 2047 to -2048). A sample-to-sample
  step larger than half the code range cannot be physiological at >= 16 Hz,
  so it is unwrapped (``numpy.unwrap`` with the code range as period). The
  period is the ADC's (``adc_bits``, from a WFDB header) or, when unknown,
  inferred: steps of >= 75% of the observed span with the signal on both
  sides near the opposite extremes.
- **Clipping**: runs of >= 3 samples pinned at the converter rails (known
  ``adc_bits``) or at the recording's own extreme values (saturated
  amplifier, ambient light) are marked; the window gate rejects windows
  with too many.
- **Missing samples** (NaN, empty cells, dropped packets): runs up to
  ``max_gap_s`` are linearly interpolated (an isolated missing sample at
  100 Hz is 10 ms: far shorter than a pulse upstroke, interpolation cannot
  create or hide a beat); longer runs stay NaN and their windows are
  rejected as a gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MIN_CLIP_RUN = 3  # a single sample at the extreme is just the peak


@dataclass(frozen=True, slots=True)
class Conditioned:
    """The repaired signal (NaN where unusable) and what was done to it."""

    x: FloatArray
    clipped: BoolArray  # samples pinned at a rail
    wraps_unwrapped: int
    interpolated_samples: int
    gap_samples: int  # left NaN: gaps longer than max_gap_s


def _runs(mask: BoolArray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def infer_wrap_period(x: FloatArray) -> float | None:
    """Code range of an n-bit ADC whose samples wrapped, or None if no wrap is evident.

    A wrap is a step of >= 75% of the observed span whose two sides sit in the
    top and bottom quarters of that span. The period is the smallest power of
    two >= the span (the converter's code range), so the repair is exact.
    """
    finite = x[np.isfinite(x)]
    if finite.size < 3:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo
    if span <= 0:
        return None
    prev, nxt = x[:-1], x[1:]
    with np.errstate(invalid="ignore"):
        step = np.abs(nxt - prev)
        top_prev, top_next = prev >= hi - 0.25 * span, nxt >= hi - 0.25 * span
        bottom_prev, bottom_next = prev <= lo + 0.25 * span, nxt <= lo + 0.25 * span
        jumps = (step >= 0.75 * span) & ((top_prev & bottom_next) | (bottom_prev & top_next))
    if not np.any(jumps):
        return None
    return float(2 ** math.ceil(math.log2(span + 1)))


def _unwrap(x: FloatArray, period: float) -> tuple[FloatArray, int]:
    out = x.copy()
    finite = np.isfinite(x)
    idx = np.flatnonzero(finite)
    if idx.size < 2:
        return out, 0
    vals = x[idx]
    unwrapped = np.unwrap(vals, period=period)
    wraps = int(np.count_nonzero(np.abs(np.diff(unwrapped - vals)) > period / 2))
    out[idx] = unwrapped
    return out, wraps


def _clipped(x: FloatArray, rails: tuple[float, float] | None) -> BoolArray:
    finite = x[np.isfinite(x)]
    mask = np.zeros(x.shape, dtype=bool)
    if finite.size == 0:
        return mask
    lo, hi = rails if rails is not None else (float(finite.min()), float(finite.max()))
    if hi <= lo:
        return mask
    with np.errstate(invalid="ignore"):
        at_rail = (x >= hi) | (x <= lo)
    for a, b in _runs(at_rail):
        if b - a >= MIN_CLIP_RUN:
            mask[a:b] = True
    return mask


def condition(
    samples: FloatArray,
    fs: float,
    *,
    adc_bits: int | None = None,
    adc_offset: float = 0.0,
    max_gap_s: float = 0.25,
) -> Conditioned:
    """Unwrap, mark clipping, interpolate short gaps. ``samples`` in ADC codes or any unit.

    ``adc_bits`` with ``adc_offset`` (the code of the converter's lowest
    value, e.g. -2048 for a signed 12-bit ADC) give the exact rails; without
    them wraparound and clipping are inferred from the data.
    """
    x = np.array(samples, dtype=np.float64)
    x[~np.isfinite(x)] = np.nan
    rails: tuple[float, float] | None = None
    period: float | None
    if adc_bits is not None:
        period = float(2**adc_bits)
        rails = (adc_offset, adc_offset + period - 1)
        finite = x[np.isfinite(x)]
        if finite.size and (finite.min() < rails[0] or finite.max() > rails[1]):
            rails = None  # offset not as declared: fall back to the data's own extremes
        # Only unwrap if a step of more than half the code range actually occurs.
        steps = np.abs(np.diff(x))
        if not np.any(steps[np.isfinite(steps)] > period / 2):
            period = None
    else:
        period = infer_wrap_period(x)
    clipped = _clipped(x, rails)  # on the raw codes: rails are where the converter pins
    wraps = 0
    if period is not None:
        x, wraps = _unwrap(x, period)
    missing = np.isnan(x)
    interpolated = gaps = 0
    max_gap = max(1, math.floor(max_gap_s * fs))
    if np.any(missing) and not np.all(missing):
        good = np.flatnonzero(~missing)
        for a, b in _runs(missing):
            inside = a > 0 and b < x.size  # a gap at an end has only one neighbour
            if b - a <= max_gap and inside:
                x[a:b] = np.interp(np.arange(a, b), good, x[good])
                interpolated += b - a
            else:
                gaps += b - a
    else:
        gaps = int(np.count_nonzero(missing))
    return Conditioned(x=x, clipped=clipped, wraps_unwrapped=wraps, interpolated_samples=interpolated,
                       gap_samples=gaps)
