"""Signal quality of one window of one vital (pure, vectorised with numpy).

Runs when a window closes, on all its samples at once, in this order:

1. ``implausible``: outside the physiological range of wire.units (defence in
   depth: the bridge checks too, other producers might not).
2. ``probe_off``: a zero value or the device's probe-off flag (HR 0 from a
   pulse oximeter is a probe off, not asystole).
3. ``device_flag``: motion, low perfusion, artifact, calibrating.
4. ``spike``: Hampel filter over the sample and its +-k neighbours (with the
   previous window's last accepted samples as left context).
5. ``flatline``: the same value for at least ``flatline_s`` (run state is
   carried across windows); samples before the threshold stay accepted.
6. ``motion_dip`` (SpO2): a sample >= 3 % below the window's median within
   10 s of a motion or low-perfusion flag on any of the patient's readings:
   the classic motion artifact of pulse oximetry (Petterson MT et al., Anesth
   Analg 2007;105:S78-84).

Rejected samples are counted by reason and never reach statistics, scores or
alarms.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.vitals import VitalSpec
from wire.messages import QualityFlag
from wire.units import UNITS, ReadingType

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

FLAG_BIT: dict[QualityFlag, int] = {f: 1 << i for i, f in enumerate(QualityFlag)}
PROBE_OFF_BITS = FLAG_BIT[QualityFlag.PROBE_OFF]
MOTION_BITS = FLAG_BIT[QualityFlag.MOTION] | FLAG_BIT[QualityFlag.LOW_PERFUSION]
DEVICE_BITS = sum(FLAG_BIT.values()) & ~PROBE_OFF_BITS
DIP_PERCENT = 3.0
DIP_FLAG_NEAR_MS = 10_000
REASONS = ("implausible", "probe_off", "device_flag", "spike", "flatline", "motion_dip")


def flag_bits(flags: tuple[QualityFlag, ...]) -> int:
    bits = 0
    for f in flags:
        bits |= FLAG_BIT[f]
    return bits


@dataclass(frozen=True, slots=True)
class Context:
    """What the previous window leaves to the next: Hampel context and the flatline run."""

    tail: tuple[float, ...] = ()
    run_value: float | None = None
    run_start_ms: int = 0


@dataclass(frozen=True, slots=True)
class Assessment:
    accepted: Bool
    rejected_by: dict[str, int]
    context: Context


def _hampel(x: F64, k: int, sigma: float, floor: float) -> Bool:
    """True where x[i] is a spike relative to the median of x[i-k .. i+k].

    Edges are padded by reflection (the sample itself is not repeated), which
    keeps a full window, with the sample counted once, at both ends; with
    fewer than 2k + 1 samples there is too little context and nothing is
    called a spike. (np.nanmedian with NaN padding was 10x slower.) The
    window is odd-sized, so a row sort's middle column is exactly np.median:
    half the cost of np.median's generic path on these small windows.
    """
    n = x.size
    if n <= 2 * k:
        return np.zeros(n, dtype=np.bool_)
    win = x[_reflected_windows(n, k)]
    med = np.sort(win, axis=1)[:, k]
    dev = np.abs(win - med[:, None])
    dev.sort(axis=1)
    limit = np.maximum(sigma * 1.4826 * dev[:, k], floor)
    return np.abs(x - med) > limit


@functools.lru_cache(maxsize=256)
def _reflected_windows(n: int, k: int) -> I64:
    """Row i: indexes of x[i-k .. i+k], reflected at the edges as np.pad(mode="reflect").

    One fancy index per window close instead of pad + strided view (numpy's
    per-call overhead dominates on ~60 samples); window sizes repeat, so cached.
    """
    j = np.abs(np.arange(n)[:, None] + np.arange(-k, k + 1))  # -1 -> 1, -2 -> 2
    j = np.where(j > n - 1, 2 * (n - 1) - j, j)  # n -> n - 2, n + 1 -> n - 3
    j.setflags(write=False)
    return j


def _flatline(t: I64, v: F64, ctx: Context, flatline_s: float) -> tuple[Bool, Context]:
    changed = np.empty(v.size, dtype=np.bool_)
    changed[0] = ctx.run_value is None or v[0] != ctx.run_value
    changed[1:] = v[1:] != v[:-1]
    idx = np.where(changed, np.arange(v.size), -1)
    start_idx = np.maximum.accumulate(idx)
    run_start = np.where(start_idx >= 0, t[np.maximum(start_idx, 0)], ctx.run_start_ms)
    flat = (t - run_start) >= flatline_s * 1000.0
    return flat, Context(ctx.tail, float(v[-1]), int(run_start[-1]))


def assess(
    vital: ReadingType,
    spec: VitalSpec,
    t: I64,
    v: F64,
    flags: I64,
    ctx: Context,
    motion_ms: I64,
) -> Assessment:
    """Accept or reject every sample of one window; ``t`` must be sorted."""
    unit = UNITS[vital]
    n = v.size
    zero = v == 0
    implausible = (v < unit.plausible_min) | (v > unit.plausible_max)
    clean = not (flags.any() or implausible.any() or zero.any())  # the usual window: skip the masks
    if clean:
        implausible = probe_off = device = np.zeros(n, dtype=np.bool_)
        ok = np.ones(n, dtype=np.bool_)
    else:
        probe_off = ((flags & PROBE_OFF_BITS) != 0) | zero
        device = (flags & DEVICE_BITS) != 0
        probe_off &= ~implausible | zero
        implausible &= ~zero
        device &= ~(implausible | probe_off)
        ok = ~(implausible | probe_off | device)
    reasons = {"implausible": implausible, "probe_off": probe_off, "device_flag": device}

    idx = np.arange(n) if clean else np.flatnonzero(ok)

    def spread(sub: Bool) -> Bool:  # a mask over the ok samples -> over all samples
        if clean:
            return sub
        full = np.zeros(n, dtype=np.bool_)
        full[idx] = sub
        return full

    spike_x = flat_x = dip_x = np.zeros(idx.size, dtype=np.bool_)
    new_ctx = ctx
    if idx.size:
        x, tx = (v, t) if clean else (v[idx], t[idx])
        if spec.hampel_k:
            tail = np.asarray(ctx.tail, dtype=np.float64)
            spike_x = _hampel(np.concatenate((tail, x)), spec.hampel_k, spec.hampel_sigma,
                              spec.hampel_floor)[tail.size:]
        if spec.flatline_s:
            f, new_ctx = _flatline(tx, x, ctx, spec.flatline_s)
            flat_x = f & ~spike_x
        if vital is ReadingType.SPO2 and motion_ms.size:
            base = float(np.median(x))
            pos = np.searchsorted(motion_ms, tx)
            before = np.abs(tx - motion_ms[np.maximum(pos - 1, 0)])
            after = np.abs(motion_ms[np.minimum(pos, motion_ms.size - 1)] - tx)
            near = np.minimum(before, after) <= DIP_FLAG_NEAR_MS
            dip_x = near & (x <= base - DIP_PERCENT) & ~spike_x
    spike, flat, dip = spread(spike_x), spread(flat_x), spread(dip_x)
    reasons.update(spike=spike, flatline=flat, motion_dip=dip)
    accepted = ~(spike | flat | dip) if clean else ok & ~spike & ~flat & ~dip
    if spec.hampel_k:
        keep = np.concatenate((np.asarray(ctx.tail, dtype=np.float64), v[accepted]))[-spec.hampel_k:]
        new_ctx = Context(tuple(float(a) for a in keep), new_ctx.run_value, new_ctx.run_start_ms)
    if clean:  # the first three masks are empty
        reasons = {"spike": spike, "flatline": flat, "motion_dip": dip}
    counts = {r: int(np.count_nonzero(m)) for r, m in reasons.items()}
    return Assessment(accepted, {r: n for r, n in counts.items() if n}, new_ctx)
