"""Live waveform analysis in the stream worker: PPG/ECG snippets -> heart rate + quality, fused (pure).

A ``ReadingBatch`` from the bridge carries at most a few ``WaveformSnippet``s
(one per device waveform message). Each is analysed on the offline code
path (``streams.ppg`` / ``streams.ecg``: same conditioning, windows and
gates), so ``rpm score ppg`` on a recording and the live worker agree.

Fusion across messages: the patient's recent window verdicts per waveform
kind are kept in ``Live.waves`` (event time, the last ``KEEP_MS``). When a
snippet's window overlaps a window of the other kind by at least half its
length, the two are fused (``streams.hr_fusion``): an ECG "asystole" or a
brady/tachy claim refuted by a good pulse (or the reverse) is suppressed
and the other source's rate is used. The snippet that arrives second of a
pair carries the fused result; the first was judged on its own when it
came (its gates already reject most bad windows).

Output per snippet: one ``waveform_hr`` score (rate, reason, good/total
windows, SQI, rhythm, source, suppressed claims) and one heart-rate sample
per usable window (at its end, fused where possible), which the engine adds
to the batch's heart-rate readings: they reach the 1-min windows and the
real-time limit alarms like a monitor's numeric HR. A poor window gives no
sample, so motion never becomes a tachycardia.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from streams import ecg, ppg, stats
from streams.batch import Batch, Samples
from streams.candidates import Outputs
from streams.ecg import ASYSTOLE_PAUSE_S
from streams.hr_fusion import FusedWindow, fuse_window
from streams.state import NEVER, Live
from wire.derived import WaveformHeartRate
from wire.messages import DeviceId, WaveformKind, WaveformSnippet
from wire.units import UNITS, ReadingType

KEEP_MS = 120_000
MIN_OVERLAP = 0.5
_QUALITY = {"poor": 0, "good": 1, "irregular": 2}
_QUALITY_NAME = {v: k for k, v in _QUALITY.items()}

Window = ppg.PpgWindow | ecg.EcgWindow


@dataclass(frozen=True, slots=True)
class SnippetResult:
    score: WaveformHeartRate
    # (event time ms, bpm) at the end of each usable 8-s window, fused where the
    # other waveform overlaps: heart-rate samples for the windows and the
    # real-time (sliding-median) limit alarms, one every 2 s like a monitor's.
    hr_samples: tuple[tuple[int, float], ...]
    # For streams.no_pulse (event time ms, NEVER when none): the newest window end showing a pulse
    # (a usable rate, or PPG pulses without one), and of an ECG window with no QRS for >= 4 s in a
    # live trace that no overlapping pulse refuted (asystole-like).
    pulse_ms: int = NEVER
    asystole_ms: int = NEVER


Rhythm = Literal["regular", "irregular"] | None
Source = Literal["both", "ecg", "ppg"] | None


def _analyse(w: WaveformSnippet) -> tuple[list[Window], float | None, str, int, float | None, Rhythm]:
    """Windows, HR, reason, good count, SQI, rhythm."""
    bits = w.adc_bits
    offset = -(2 ** (bits - 1)) if bits and min(w.samples) < 0 else 0.0
    if w.kind is WaveformKind.ECG:
        e = ecg.estimate_heart_rate(w.samples, w.fs_hz, adc_bits=bits, adc_offset=offset)
        good = sum(1 for x in e.windows if x.quality == "good")
        return list(e.windows), e.hr_bpm, e.reason, good, e.sqi, e.rhythm
    p = ppg.estimate_heart_rate(w.samples, w.fs_hz, adc_bits=bits, adc_offset=offset)
    return list(p.windows), p.hr_bpm, p.reason, p.n_good_windows, p.sqi, p.rhythm


def _cached(live: Live, kind: WaveformKind) -> list[list[float]]:
    return live.waves.setdefault(kind.value, [])


def _last(w: Window) -> float:
    """The kind's own evidence: ECG longest pause (s, -1 unknown); PPG pulse present (1/0)."""
    if isinstance(w, ecg.EcgWindow):
        return -1.0 if w.longest_pause_s is None else w.longest_pause_s
    return 1.0 if w.pulse_present else 0.0


def _remember(live: Live, kind: WaveformKind, t0_ms: int, windows: list[Window]) -> None:
    rows = _cached(live, kind)
    for w in windows:
        rows.append([t0_ms + w.start_s * 1000, t0_ms + w.end_s * 1000, -1.0 if w.hr_bpm is None else w.hr_bpm,
                     float(_QUALITY[w.quality]), _last(w)])
    newest = max(r[1] for r in rows) if rows else 0
    rows[:] = sorted((r for r in rows if r[1] >= newest - KEEP_MS), key=lambda r: r[0])


def _as_window(row: list[float], kind: WaveformKind) -> Window:
    start_s, end_s = row[0] / 1000, row[1] / 1000
    hr = None if row[2] < 0 else row[2]
    quality = _QUALITY_NAME[int(row[3])]
    if kind is WaveformKind.ECG:
        return ecg.EcgWindow(start_s=start_s, end_s=end_s, hr_bpm=hr, quality=quality, reason="", n_beats=0,  # type: ignore[arg-type]
                             longest_pause_s=None if row[4] < 0 else row[4], template_corr=None)
    return ppg.PpgWindow(start_s=start_s, end_s=end_s, hr_bpm=hr, quality=quality, reason="", n_beats=0,  # type: ignore[arg-type]
                         ibi_cv=None, template_corr=None, pulse_present=row[4] > 0)


def _fused(live: Live, kind: WaveformKind, t0_ms: int, windows: list[Window]) -> list[FusedWindow | None]:
    other = WaveformKind.ECG if kind is WaveformKind.PPG else WaveformKind.PPG
    rows = live.waves.get(other.value, [])
    out: list[FusedWindow | None] = []
    for w in windows:
        start_ms, end_ms = t0_ms + w.start_s * 1000, t0_ms + w.end_s * 1000

        def overlap(r: list[float], a: float = start_ms, b: float = end_ms) -> float:
            return min(b, r[1]) - max(a, r[0])

        # Snippets of the two kinds need not start together: pair each window
        # with the other kind's window it overlaps most, if by at least half.
        match = max(rows, key=overlap, default=None)
        if match is None or overlap(match) < MIN_OVERLAP * (end_ms - start_ms):
            out.append(None)
            continue
        mine = _as_window([start_ms, end_ms, -1.0 if w.hr_bpm is None else w.hr_bpm, float(_QUALITY[w.quality]),
                           _last(w)], kind)
        theirs = _as_window(match, other)
        e, p = (mine, theirs) if kind is WaveformKind.ECG else (theirs, mine)
        out.append(fuse_window(e, p))  # type: ignore[arg-type]
    return out


def on_snippet(live: Live, device_id: DeviceId, w: WaveformSnippet) -> SnippetResult:
    t0_ms = stats.to_ms(w.t)
    end_ms = t0_ms + int(len(w.samples) / w.fs_hz * 1000)
    try:
        windows, hr, reason, good, sqi, rhythm = _analyse(w)
    except ValueError as e:  # e.g. a sampling rate too low for the method
        windows, hr, reason, good, sqi, rhythm = [], None, str(e), 0, None, None
    source: Source = ("ecg" if w.kind is WaveformKind.ECG else "ppg") if hr is not None else None
    suppressed: tuple[str, ...] = ()
    pairs = _fused(live, w.kind, t0_ms, windows)
    fused = [f for f in pairs if f is not None]
    if fused:
        rates = sorted(f.hr_bpm for f in fused if f.hr_bpm is not None)
        suppressed = tuple(s for f in fused for s in f.suppressed)
        if rates:
            hr = rates[len(rates) // 2]
            sources = {f.source for f in fused if f.hr_bpm is not None}
            source = next(iter(sources)) if len(sources) == 1 else "both"
            if suppressed:
                reason = f"{reason}; fused with the other waveform: {len(suppressed)} claims suppressed"
    _remember(live, w.kind, t0_ms, windows)
    score = WaveformHeartRate(at=stats.to_dt(end_ms), device_id=device_id, waveform=w.kind, hr_bpm=hr, reason=reason,
                              good_windows=good, windows=len(windows), sqi=sqi, rhythm=rhythm,
                              source=source, suppressed=suppressed)
    unit = UNITS[ReadingType.HEART_RATE]
    samples: list[tuple[int, float]] = []
    pulse_ms = asystole_ms = NEVER
    for win, f in zip(windows, pairs, strict=True):
        end_ms = t0_ms + round(win.end_s * 1000)
        rate = f.hr_bpm if f is not None else win.hr_bpm if win.quality != "poor" else None
        if rate is not None and unit.plausible_min <= rate <= unit.plausible_max:
            samples.append((end_ms, round(rate, 1)))
            pulse_ms = end_ms
        elif isinstance(win, ppg.PpgWindow) and win.pulse_present:
            pulse_ms = end_ms
        elif (isinstance(win, ecg.EcgWindow) and win.longest_pause_s is not None
              and win.longest_pause_s >= ASYSTOLE_PAUSE_S and (f is None or f.hr_bpm is None)
              and not (f is not None and f.suppressed)):
            asystole_ms = end_ms
    return SnippetResult(score, tuple(samples), pulse_ms, asystole_ms)


def add_heart_rate(live: Live, batch: Batch, out: Outputs) -> tuple[int, int]:
    """The engine's hook: analyse the batch's snippets, publish their scores, add their HR samples.

    Returns the newest pulse and asystole-like window ends (SnippetResult) for streams.no_pulse."""
    hr = ReadingType.HEART_RATE
    pulse_ms = asystole_ms = NEVER
    for w in batch.waveforms:
        res = on_snippet(live, batch.device_id, w)
        pulse_ms, asystole_ms = max(pulse_ms, res.pulse_ms), max(asystole_ms, res.asystole_ms)
        out.scores.append(res.score)
        if res.hr_samples:
            g = batch.groups.setdefault(hr, Samples())
            for t_ms, bpm in res.hr_samples:
                g.t.append(t_ms)
                g.v.append(bpm)
                g.bits.append(0)
    return pulse_ms, asystole_ms
