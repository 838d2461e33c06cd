"""Real-time limit alarms of continuously monitored vitals: a sliding median with persistence (pure).

High-priority conditions (SpO2, heart rate, respiration rate beyond their
limits) must reach the nurse within seconds of onset (IEC 60601-2-27 ~10 s
for heart rate, pulse oximetry 10-15 s), not when a 1-minute window closes.
Here every sample is looked at as it arrives, with artifact rejection kept:

1. A sample counts only if it is good quality: plausible, not zero/probe-off,
   no device flag (motion, low perfusion, artifact, calibrating), and for
   SpO2 not within 10 s of a motion / low-perfusion flag (the motion dip
   of pulse oximetry, as streams.quality rejects it in windows). A rejected
   sample neither starts nor ends a condition; it is counted as evidence.
2. The signal is the median of the last ``median_n`` good samples (5 at
   1 Hz): one or two spikes cannot move it beyond a limit (Hampel-style
   robustness without waiting for the window).
3. A condition holds while that median, rounded as NEWS2 rounds, is beyond
   the limit (streams.vitals). Its onset is the first sample of the trailing
   run of raw samples beyond the limit; it fires once it has persisted the
   rule's onset delay (wire.rules.CATALOG, with the clinical source).
4. While it holds, a new ``firing`` candidate every ``reannounce_ms`` keeps
   the alarm current; one ``clear`` when the median comes back.
5. A gap of more than ``max_gap_ms`` between good samples restarts the
   persistence count: no continuity, no evidence.

Times are event times (measurement), so a replay gives the same candidates
with the same ids. Samples older than the newest one already seen for the
vital are left to the windows (late or re-sent data never re-fires).
"""

from __future__ import annotations

import math

from streams import stats
from streams.batch import Samples
from streams.candidates import CLEAR, FIRING, Outputs, candidate
from streams.config import CoreConfig
from streams.quality import DEVICE_BITS, DIP_FLAG_NEAR_MS, PROBE_OFF_BITS
from streams.state import NEVER, Run, SlidingVital
from streams.vitals import VITALS, Direction, Limit, limits_for
from wire.messages import CandidateQuality
from wire.rules import sliding_delay_ms
from wire.units import UNITS, ReadingType

SPO2 = ReadingType.SPO2
_BAD_BITS = PROBE_OFF_BITS | DEVICE_BITS


def sliding_vitals() -> frozenset[ReadingType]:
    """Vitals with at least one rule on the sliding path."""
    return frozenset(rt for rt, spec in VITALS.items()
                     if any(sliding_delay_ms(lim.rule) is not None for lim in spec.limits)
                     or rt is SPO2 and sliding_delay_ms(limits_for(SPO2, 1)[0].rule) is not None)


SLIDING_VITALS = sliding_vitals()


# (vital, SpO2 scale) -> its sliding-path limits with their onset delays (ms) and the
# word for messages: looked up per batch, built once (the catalog is static).
_Lims = tuple[tuple[Limit, int, bool, str, str], ...]
_LIMS: dict[tuple[ReadingType, int], _Lims] = {}


def _lims(vital: ReadingType, spo2_scale: int) -> _Lims:
    key = (vital, spo2_scale)
    got = _LIMS.get(key)
    if got is None:
        got = _LIMS[key] = tuple(
            (lim, d, lim.direction is Direction.HIGH, "above" if lim.direction is Direction.HIGH else "below",
             lim.rule.value)
            for lim in limits_for(vital, spo2_scale) if (d := sliding_delay_ms(lim.rule)) is not None)
    return got


def _rounded(x: float, decimals: int) -> float:
    # NEWS2 rounds halves up; vitals are positive, so floor(x + 0.5) is that rounding
    # (streams.news2_table.round_half_up is exact but costs microseconds per sample).
    scale = 10.0 ** decimals
    return math.floor(x * scale + 0.5) / scale


def _median(v: list[float], n: int) -> float:
    k = min(len(v), n)
    if k % 2 == 0:
        k -= 1  # an odd count: the median is one of the samples
    s = sorted(v[-k:])
    return s[k // 2]


def add_samples(
    pid: str, sv: SlidingVital, vital: ReadingType, g: Samples, motion_ms: list[int], spo2_scale: int,
    device_id: str, cfg: CoreConfig, out: Outputs,
) -> bool:
    """Feed one batch's samples of one vital; returns True if the state changed."""
    lims = _lims(vital, spo2_scale)
    if not lims:
        return False
    unit, decimals = UNITS[vital], VITALS[vital].decimals
    lo, hi, is_spo2 = unit.plausible_min, unit.plausible_max, vital is SPO2
    changed = False
    ts = g.t
    n = len(ts)
    in_order = n < 2 or all(ts[k] <= ts[k + 1] for k in range(n - 1))
    order = range(n) if in_order else sorted(range(n), key=ts.__getitem__)
    for i in order:
        t, x, bits = ts[i], g.v[i], g.bits[i]
        if t <= sv.newest_ms:
            continue  # late, re-sent or out of order: the windows account for it
        sv.newest_ms = t
        changed = True
        bad = (x == 0 or bits & _BAD_BITS or not lo <= x <= hi
               or (is_spo2 and motion_ms and any(abs(t - m) <= DIP_FLAG_NEAR_MS for m in motion_ms)))
        if bad:
            for run in sv.runs.values():
                if run.start_ms != NEVER:
                    run.rejected += 1
            continue
        if sv.t and t - sv.t[-1] > cfg.sliding_max_gap_ms:
            sv.t.clear()
            sv.v.clear()
            sv.beyond.clear()
            for run in sv.runs.values():
                run.start_ms, run.rejected = NEVER, 0
        mask = 0
        xr = _rounded(x, decimals)
        for j, (lim, _d, high, _w, _k) in enumerate(lims):
            if (xr >= lim.fires_at) if high else (xr <= lim.fires_at):
                mask |= 1 << j
        sv.t.append(t)
        sv.v.append(x)
        sv.beyond.append(mask)
        if len(sv.t) > cfg.sliding_median_n:
            del sv.t[0], sv.v[0], sv.beyond[0]
        if len(sv.v) < cfg.sliding_min_samples:
            continue
        med = _median(sv.v, cfg.sliding_median_n)
        shown = _rounded(med, decimals)
        runs = sv.runs
        for j, (lim, delay, high, word, key) in enumerate(lims):
            beyond = (shown >= lim.fires_at) if high else (shown <= lim.fires_at)
            cur = runs.get(key)
            if not beyond and (cur is None or (cur.start_ms == NEVER and not cur.firing)):
                continue  # within the limit and no excursion under way: nearly every sample
            if cur is None:
                cur = runs[key] = Run()
            _step(pid, sv, vital, cur, lim, delay, word, j, beyond, med, t, device_id, cfg, out)
    return changed


def _onset(sv: SlidingVital, j: int) -> int:
    """First sample of the trailing run of raw samples beyond limit ``j`` (a spike before it does not count)."""
    start = sv.t[-1]
    for t, mask in zip(reversed(sv.t), reversed(sv.beyond), strict=True):
        if not mask >> j & 1:
            break
        start = t
    return start


def _step(
    pid: str, sv: SlidingVital, vital: ReadingType, run: Run, lim: Limit, delay: int, word: str,
    j: int, beyond: bool, med: float, t: int, device_id: str, cfg: CoreConfig, out: Outputs,
) -> None:
    """Advance limit ``j``'s run by one sample whose median is (``beyond``) or is not beyond the limit."""
    if beyond:
        if run.start_ms == NEVER:
            run.start_ms = _onset(sv, j)
        due = run.start_ms + delay <= t if not run.firing else run.emitted_ms + cfg.sliding_reannounce_ms <= t
        if not due:
            return
        window = (run.start_ms if not run.firing else run.emitted_ms, t)
        run.firing, run.emitted_ms = True, t
        out.candidates.append(candidate(
            pid, lim.rule, FIRING, window, t,
            f"{vital.value} {med:g} {word} limit {lim.threshold:g} for {(t - run.start_ms) / 1000:.0f} s "
            f"(median of {len(sv.v)} samples)",
            parameter=vital, value=med, threshold=lim.threshold, severity=abs(med - lim.threshold),
            device_id=device_id,
            quality=CandidateQuality(samples=len(sv.v), rejected=run.rejected),
            evidence={"onset_delay_s": delay / 1000, "basis": "sliding_median",
                      "onset_at": stats.to_dt(run.start_ms).isoformat()},
        ))
        return
    if run.firing:
        out.candidates.append(candidate(
            pid, lim.rule, CLEAR, (t, t), t, f"{vital.value} back within limit {lim.threshold:g} (median {med:g})",
            parameter=vital, value=med, threshold=lim.threshold, device_id=device_id,
            quality=CandidateQuality(samples=len(sv.v)), evidence={"basis": "sliding_median"},
        ))
    run.start_ms, run.firing, run.rejected = NEVER, False, 0
