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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

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
    called a spike. (np.nanmedian with NaN padding was 10x slower.)
    """
    if x.size <= 2 * k:
        return np.zeros(x.size, dtype=np.bool_)
    win = sliding_window_view(np.pad(x, k, mode="reflect"), 2 * k + 1)
    med = np.median(win, axis=1)
    mad = np.median(np.abs(win - med[:, None]), axis=1)
    limit = np.maximum(sigma * 1.4826 * mad, floor)
    return np.abs(x - med) > limit


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
    implausible = (v < unit.plausible_min) | (v > unit.plausible_max)
    probe_off = ((flags & PROBE_OFF_BITS) != 0) | (v == 0)
    device = (flags & DEVICE_BITS) != 0
    probe_off &= ~implausible | (v == 0)
    implausible &= v != 0
    device &= ~(implausible | probe_off)
    ok = ~(implausible | probe_off | device)
    reasons = {"implausible": implausible, "probe_off": probe_off, "device_flag": device}

    spike = np.zeros(v.size, dtype=np.bool_)
    flat = np.zeros(v.size, dtype=np.bool_)
    dip = np.zeros(v.size, dtype=np.bool_)
    new_ctx = ctx
    idx = np.flatnonzero(ok)
    if idx.size:
        x, tx = v[idx], t[idx]
        if spec.hampel_k:
            tail = np.asarray(ctx.tail, dtype=np.float64)
            s = _hampel(np.concatenate((tail, x)), spec.hampel_k, spec.hampel_sigma, spec.hampel_floor)
            spike[idx] = s[tail.size:]
        if spec.flatline_s:
            f, new_ctx = _flatline(tx, x, ctx, spec.flatline_s)
            flat[idx] = f & ~spike[idx]
        if vital is ReadingType.SPO2 and motion_ms.size:
            base = float(np.median(x))
            pos = np.searchsorted(motion_ms, tx)
            before = np.abs(tx - motion_ms[np.maximum(pos - 1, 0)])
            after = np.abs(motion_ms[np.minimum(pos, motion_ms.size - 1)] - tx)
            near = np.minimum(before, after) <= DIP_FLAG_NEAR_MS
            dip[idx] = near & (x <= base - DIP_PERCENT) & ~spike[idx]
    reasons.update(spike=spike, flatline=flat, motion_dip=dip)
    accepted = ok & ~spike & ~flat & ~dip
    if spec.hampel_k:
        keep = np.concatenate((np.asarray(ctx.tail, dtype=np.float64), v[accepted]))[-spec.hampel_k:]
        new_ctx = Context(tuple(float(a) for a in keep), new_ctx.run_value, new_ctx.run_start_ms)
    counts = {r: int(np.count_nonzero(m)) for r, m in reasons.items()}
    return Assessment(accepted, {r: n for r, n in counts.items() if n}, new_ctx)
