"""Event-time 1-minute windows per patient and vital: add, dedup, close (pure).

A reading joins the window of its measurement minute. It is a duplicate when
the same device already gave that vital at that instant (the storage natural
key: device, type, time; a re-sent message is caught earlier by its device
sequence number). A window [s, s + 1 min) closes when the vital's event-time
watermark (its newest measurement) reaches s + 1 min + the patient's allowed
lateness (``lateness_of``: the configured lateness plus a stable per-patient
share of ``close_spread_ms``, so a ward's windows do not all close at once), or,
for a sensor gone quiet, when the wall clock does and nothing arrived for
``idle_close_ms``. Readings for a closed window are counted as late (the
sink still stores them) and never reopen it.

Closing runs the artifact checks on the whole window at once, appends its
summary to the history, emits the 1-minute and 15-minute sliding features
and evaluates the vital's limits; NEWS2 is scored once per closed minute.
"""

from __future__ import annotations

import zlib

import numpy as np

from streams import evaluate, stats
from streams.batch import Samples
from streams.candidates import Outputs
from streams.config import CoreConfig
from streams.quality import assess
from streams.state import DEV_SLOTS, NEVER, History, Live, OpenWindow, VitalHistory, VitalLive
from streams.vitals import NEWS2_PARAMETER, VITALS
from wire.units import ReadingType

MINUTE = stats.MINUTE_MS


def add(live: Live, vital: str, t_ms: int, value: float, bits: int, dev: int, arrival_ms: int, lateness_ms: int) -> bool:
    """Put one reading in its window; False if it was late or a duplicate.

    Late = its window is closed, or the watermark before this batch already
    passed the window's end + lateness (the batch's own readings may come in
    any order: the watermark advances after the batch, in ``advance``).
    """
    vl = live.vitals.get(vital)
    if vl is None:
        vl = live.vitals[vital] = VitalLive()
    if arrival_ms > vl.arrival_ms:
        vl.arrival_ms = arrival_ms
    ws = t_ms - t_ms % MINUTE
    if ws < vl.closed_before_ms or ws + MINUTE + lateness_ms <= vl.watermark_ms:
        vl.late += 1
        return False
    w = vl.open.get(ws)
    if w is None:
        w = vl.open[ws] = OpenWindow()
    key = t_ms * DEV_SLOTS + dev
    if key in w.keys:
        vl.duplicates += 1
        return False
    w.keys.add(key)
    w.dt.append(t_ms - ws)
    w.v.append(value)
    w.f.append(bits)
    w.d.append(dev)
    if t_ms > vl.pending_ms:
        vl.pending_ms = t_ms
    return True


def add_many(live: Live, vital: str, g: Samples, dev: int, arrival_ms: int, lateness_ms: int) -> int:
    """``add`` for one batch's readings of one vital; returns how many were accepted.

    The common case (all in one minute, none a duplicate) is checked and
    appended with a few set/list operations instead of one ``add`` per
    reading; anything else falls back to ``add``, reading by reading in
    record order, so the result is the same either way.
    """
    ts = g.t
    if not ts:
        return 0
    lo, hi = min(ts), max(ts)
    ws = lo - lo % MINUTE
    if hi >= ws + MINUTE:  # spans minutes (rare: batches are seconds long)
        return _add_each(live, vital, g, dev, arrival_ms, lateness_ms)
    vl = live.vitals.get(vital)
    if vl is None:
        vl = live.vitals[vital] = VitalLive()
    if arrival_ms > vl.arrival_ms:
        vl.arrival_ms = arrival_ms
    if ws < vl.closed_before_ms or ws + MINUTE + lateness_ms <= vl.watermark_ms:
        vl.late += len(ts)
        return 0
    w = vl.open.get(ws)
    if w is None:
        w = vl.open[ws] = OpenWindow()
    keys = [t * DEV_SLOTS + dev for t in ts]
    if len(set(keys)) != len(keys) or not w.keys.isdisjoint(keys):
        return _add_each(live, vital, g, dev, arrival_ms, lateness_ms)  # some duplicates: count each
    w.keys.update(keys)
    w.dt.extend([t - ws for t in ts])
    w.v.extend(g.v)
    w.f.extend(g.bits)
    w.d.extend([dev] * len(ts))
    if hi > vl.pending_ms:
        vl.pending_ms = hi
    return len(ts)


def _add_each(live: Live, vital: str, g: Samples, dev: int, arrival_ms: int, lateness_ms: int) -> int:
    n = 0
    for t_ms, value, bits in zip(g.t, g.v, g.bits, strict=True):
        n += add(live, vital, t_ms, value, bits, dev, arrival_ms, lateness_ms)
    return n


def advance(live: Live) -> None:
    """Move each vital's watermark to the newest reading of the batch just added."""
    for vl in live.vitals.values():
        if vl.pending_ms > vl.watermark_ms:
            vl.watermark_ms = vl.pending_ms


def lateness_of(pid: str, cfg: CoreConfig) -> int:
    """The patient's allowed lateness: the configured one plus a stable share of ``close_spread_ms``."""
    if not cfg.close_spread_ms:
        return cfg.allowed_lateness_ms
    return cfg.allowed_lateness_ms + zlib.crc32(pid.encode()) % (cfg.close_spread_ms + 1)


def close_due(pid: str, live: Live, hist: History, wall_ms: int | None, cfg: CoreConfig, out: Outputs) -> None:
    """Close every due window, minute by minute across vitals, then score NEWS2 per minute."""
    # After every batch, so kept to plain loops: due once the watermark (or, for an idle
    # vital, the wall clock) has passed the window's end plus the allowed lateness.
    lateness = MINUTE + lateness_of(pid, cfg)
    due: list[tuple[int, str]] = []
    for vital, vl in live.vitals.items():
        if not vl.open:
            continue
        upto = vl.watermark_ms
        if wall_ms is not None and wall_ms >= vl.arrival_ms + cfg.idle_close_ms and wall_ms > upto:
            upto = wall_ms
        for ws in vl.open:
            if ws + lateness <= upto:
                due.append((ws, vital))
    if not due:
        return
    due.sort()
    motion = np.asarray(sorted(live.motion_ms), dtype=np.int64)
    to_score: int | None = None
    for ws, vital in due:
        if to_score is not None and to_score != ws:
            evaluate.score_minute(pid, hist, to_score, cfg, out)  # every vital of that minute is closed
            to_score = None
        rt = ReadingType(vital)
        vl = live.vitals[vital]
        w = vl.open.pop(ws)
        vl.closed_before_ms = max(vl.closed_before_ms, ws + MINUTE)
        detected = wall_ms if wall_ms is not None and wall_ms > vl.watermark_ms else vl.watermark_ms
        _close(pid, rt, ws, w, motion, hist, detected, cfg, out)
        if rt in NEWS2_PARAMETER:
            to_score = ws
    if to_score is not None:
        evaluate.score_minute(pid, hist, to_score, cfg, out)
    out.hist_dirty = True


def _close(
    pid: str, vital: ReadingType, ws: int, w: OpenWindow, motion: np.ndarray, hist: History,
    detected_ms: int, cfg: CoreConfig, out: Outputs,
) -> None:
    spec = VITALS[vital]
    t = np.asarray(w.dt, dtype=np.int64)
    order = np.argsort(t, kind="stable")
    t = t[order] + ws
    v = np.asarray(w.v, dtype=np.float64)[order]
    f = np.asarray(w.f, dtype=np.int64)[order]
    vh = hist.vitals.get(vital.value)
    if vh is None:
        vh = hist.vitals[vital.value] = VitalHistory()
    verdict = assess(vital, spec, t, v, f, vh.ctx, motion)
    vh.ctx = verdict.context
    acc_t, acc_v = t[verdict.accepted], v[verdict.accepted]
    minute = stats.Minute(ws, int(v.size), verdict.rejected_by, stats.summarise(acc_t, acc_v),
                          int(acc_t[-1]) if acc_t.size else NEVER)
    vh.minutes = [m for m in vh.minutes if m.start_ms >= ws + MINUTE - cfg.sliding_ms and m.start_ms != ws]
    vh.minutes.append(minute)
    vh.minutes.sort(key=lambda m: m.start_ms)
    one = stats.stats(vital, 60, ws, minute.s, minute.received, minute.rejected_by, spec.expected_interval_s)
    out.windows.append(one)
    out.windows.append(stats.sliding(vital, vh.minutes, ws + MINUTE, cfg.sliding_ms // 1000, spec.expected_interval_s))
    evaluate.evaluate_limits(pid, vital, one, vh, hist.spo2_scale, detected_ms, out)
    if vital in NEWS2_PARAMETER:
        evaluate.update_observation(hist, vital, ws + MINUTE, cfg.news2_median_ms)
