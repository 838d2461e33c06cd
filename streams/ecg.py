"""Heart rate from one ECG lead: R-peaks per window, with a quality verdict (pure).

Method (a compact Pan-Tompkins: Pan J, Tompkins WJ. *A real-time QRS
detection algorithm.* IEEE Trans Biomed Eng 1985;32:230-236):

1. Conditioning as for PPG (``streams.waveform_clean``): wraparound,
   clipping, short gaps interpolated, long gaps rejected.
2. Zero-phase Butterworth band-pass 5-20 Hz over each finite stretch: the QRS
   energy band; P/T waves and baseline wander below, mains and EMG above.
3. Squared derivative integrated over 120 ms; candidate QRS complexes are its
   peaks >= 0.25 x the 99th percentile of the window (adaptive to gain and
   lead), at least 60/250 s apart. The R-peak is the largest |band-passed|
   sample within 100 ms before/after (either polarity: leads differ).
4. Per 8-s window (2-s step, the PPG grid so the two can be fused), gates
   after Orphanidou C, et al. IEEE J Biomed Health Inform 2015;19:832-838:
   rate 30-220 bpm, >= 4 beats, QRS template correlation >= 0.66 (their ECG
   threshold), max/min RR <= 2.2 and RR CV <= 0.15 for "good"; consistent
   QRS shapes with irregular RR are "irregular" (AF), with the mean rate.
5. A pause without QRS >= 4 s in an otherwise live signal (not flat, not
   clipped) is reported as ``longest_pause_s``: the asystole criterion of the
   PhysioNet/CinC Challenge 2015 (Clifford GD, et al. *False alarm reduction
   in critical care.* Physiol Meas 2016;37:E5-E23). A flat lead is "lead
   off", not asystole: only the fusion with a pulse can tell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict
from scipy.signal import butter, find_peaks, sosfiltfilt

from streams.beat_intervals import missed_beats
from streams.waveform_clean import condition

FloatArray = npt.NDArray[np.float64]
MIN_FS_HZ = 50.0  # the 20 Hz upper band edge needs Nyquist above it, with margin
ASYSTOLE_PAUSE_S = 4.0  # PhysioNet/CinC 2015 definition


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EcgConfig(_Frozen):
    window_s: float = 8.0
    step_s: float = 2.0
    low_hz: float = 5.0
    high_hz: float = 20.0
    integration_s: float = 0.12
    threshold_fraction: float = 0.25
    max_hr_bpm: float = 220.0
    min_hr_bpm: float = 30.0
    min_beats: int = 4
    max_rr_cv: float = 0.15
    max_rr_ratio: float = 2.2
    min_template_corr: float = 0.66
    irregular_min_corr: float = 0.8
    max_clipped_fraction: float = 0.05
    max_gap_s: float = 0.05  # a QRS lasts ~100 ms: interpolate only shorter gaps
    min_good_fraction: float = 0.25


EcgQuality = Literal["good", "irregular", "poor"]


class EcgWindow(_Frozen):
    start_s: float
    end_s: float
    hr_bpm: float | None
    quality: EcgQuality
    reason: str
    n_beats: int
    longest_pause_s: float | None  # None when the signal itself is unusable (flat, gap, clipped)
    template_corr: float | None


class EcgResult(_Frozen):
    fs: float
    n_samples: int
    hr_bpm: float | None
    reason: str
    rhythm: Literal["regular", "irregular"] | None
    sqi: float | None
    r_peaks_s: tuple[float, ...]
    windows: tuple[EcgWindow, ...]


def _band_pass(x: FloatArray, fs: float, c: EcgConfig) -> FloatArray:
    sos = butter(2, [c.low_hz, c.high_hz], "bandpass", fs=fs, output="sos")
    return np.asarray(sosfiltfilt(sos, x - x.mean()), dtype=np.float64)


def detect_r_peaks(y: FloatArray, fs: float, c: EcgConfig) -> npt.NDArray[np.intp]:
    """R-peak sample indices in a band-passed, finite stretch ``y``."""
    d = np.diff(y, prepend=y[0]) * fs
    width = max(1, round(c.integration_s * fs))
    energy = np.convolve(d * d, np.ones(width) / width, mode="same")
    if not np.any(energy > 0):
        return np.zeros(0, dtype=np.intp)
    # The threshold adapts over a sliding 8 s: a gain change or a noisy stretch
    # elsewhere in the record must not hide the beats here.
    span = max(1, round(c.window_s * fs))
    ref = np.array([np.percentile(energy[max(0, i - span // 2) : i + span // 2], 99)
                    for i in range(0, energy.size, max(1, round(fs)))])
    ref_at = np.repeat(ref, max(1, round(fs)))[: energy.size]
    cand, _ = find_peaks(energy, distance=max(1, math.floor(fs * 60.0 / 250.0)))
    cand = cand[energy[cand] >= c.threshold_fraction * ref_at[cand]]
    half = max(1, round(0.1 * fs))
    r = [a + int(np.argmax(np.abs(y[a:b]))) for p in cand if (b := min(y.size, p + half + 1)) > (a := max(0, p - half))]
    peaks = np.unique(np.asarray(r, dtype=np.intp))
    # Two candidates can snap to the same R or to neighbours: keep the larger.
    keep: list[int] = []
    min_rr = math.floor(fs * 60.0 / 250.0)
    for p in peaks.tolist():
        if keep and p - keep[-1] < min_rr:
            if abs(y[p]) > abs(y[keep[-1]]):
                keep[-1] = p
            continue
        keep.append(p)
    return np.asarray(keep, dtype=np.intp)


def _template_corr(y: FloatArray, peaks: npt.NDArray[np.intp], half: int) -> float | None:
    beats = [y[p - half : p + half + 1] for p in peaks if p - half >= 0 and p + half < y.size]
    if len(beats) < 2:
        return None
    stack = np.vstack(beats)
    template = stack.mean(axis=0)
    corrs = [float(np.corrcoef(b, template)[0, 1]) for b in stack]
    return float(np.mean(corrs)) if all(math.isfinite(v) for v in corrs) else None


def _poor(a: float, b: float, reason: str, n: int = 0, pause: float | None = None,
          corr: float | None = None) -> EcgWindow:
    return EcgWindow(start_s=a, end_s=b, hr_bpm=None, quality="poor", reason=reason, n_beats=n,
                     longest_pause_s=pause, template_corr=corr)


def analyse_window(x: FloatArray, y: FloatArray, peaks: npt.NDArray[np.intp], clipped: npt.NDArray[np.bool_],
                   fs: float, start_s: float, c: EcgConfig) -> EcgWindow:
    """``peaks``: R-peak indices relative to the window start."""
    end_s = start_s + x.size / fs
    if not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)):
        return _poor(start_s, end_s, "gap: missing samples longer than can be interpolated")
    if np.ptp(x) == 0:
        return _poor(start_s, end_s, "flat signal (lead off?)")
    if np.count_nonzero(clipped) / x.size >= c.max_clipped_fraction:
        return _poor(start_s, end_s, "clipped/saturated signal")
    n = int(peaks.size)
    edges = np.concatenate(([0], peaks, [x.size - 1])) / fs
    pause = float(np.max(np.diff(edges)))
    if pause >= ASYSTOLE_PAUSE_S:
        return _poor(start_s, end_s, f"no QRS for {pause:.1f} s (asystole, or lead problem)", n, pause)
    if n < c.min_beats:
        return _poor(start_s, end_s, f"too few beats detected ({n} < {c.min_beats})", n, pause)
    rr = np.diff(peaks) / fs
    hr = 60.0 / float(np.median(rr))
    corr = _template_corr(y, peaks, max(1, round(0.06 * fs)))
    if not c.min_hr_bpm <= hr <= c.max_hr_bpm:
        return _poor(start_s, end_s, f"rate {hr:.1f} bpm outside {c.min_hr_bpm:g}-{c.max_hr_bpm:g} bpm", n, pause,
                     corr)
    if corr is None or corr < c.min_template_corr:
        return _poor(start_s, end_s, "inconsistent QRS morphology (noise/artefact)", n, pause, corr)
    cv = float(np.std(rr) / np.mean(rr))
    # Edge gaps count as beat gaps: a detector that lost the last seconds of a
    # window must not report a rate from the first ones.
    if pause > c.max_rr_ratio * float(np.median(rr)) and pause > float(rr.max()):
        return _poor(start_s, end_s, "missing beats at the window edge", n, pause, corr)
    if missed_beats(rr):
        return _poor(start_s, end_s, "missed beats or pause in the R-R sequence", n, pause, corr)
    if cv > c.max_rr_cv or float(rr.max() / rr.min()) > c.max_rr_ratio:
        if corr >= c.irregular_min_corr:
            return EcgWindow(start_s=start_s, end_s=end_s, hr_bpm=60.0 / float(np.mean(rr)), quality="irregular",
                             reason="irregular rhythm (e.g. atrial fibrillation): mean rate", n_beats=n,
                             longest_pause_s=pause, template_corr=corr)
        return _poor(start_s, end_s, "irregular RR with inconsistent QRS (artefact)", n, pause, corr)
    return EcgWindow(start_s=start_s, end_s=end_s, hr_bpm=hr, quality="good", reason="ok", n_beats=n,
                     longest_pause_s=pause, template_corr=corr)


def estimate_heart_rate(
    samples: Sequence[float] | FloatArray, fs: float, config: EcgConfig | None = None, *,
    adc_bits: int | None = None, adc_offset: float = 0.0,
) -> EcgResult:
    c = config or EcgConfig()
    if not math.isfinite(fs) or fs < MIN_FS_HZ:
        raise ValueError(f"ECG needs fs >= {MIN_FS_HZ:g} Hz, got {fs}")
    raw = np.asarray(samples, dtype=np.float64)
    if raw.ndim != 1:
        raise ValueError("samples must be one-dimensional")
    cond = condition(raw, fs, adc_bits=adc_bits, adc_offset=adc_offset, max_gap_s=c.max_gap_s)
    x = cond.x
    width = round(c.window_s * fs)
    step = max(1, round(c.step_s * fs))
    y = np.full(x.shape, np.nan)
    peaks_all: list[int] = []
    finite = np.isfinite(x)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.astype(np.int8), [0]))))
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if b - a >= width:
            y[a:b] = _band_pass(x[a:b], fs, c)
            if np.ptp(x[a:b]) > 0:
                peaks_all += (detect_r_peaks(y[a:b], fs, c) + a).tolist()
    peaks = np.asarray(peaks_all, dtype=np.intp)
    windows: list[EcgWindow] = []
    for i in range(0, x.size - width + 1, step):
        inside = peaks[(peaks >= i) & (peaks < i + width)] - i
        windows.append(analyse_window(x[i : i + width], y[i : i + width], inside, cond.clipped[i : i + width], fs,
                                      i / fs, c))
    good = [w.hr_bpm for w in windows if w.quality == "good" and w.hr_bpm is not None]
    irregular = [w.hr_bpm for w in windows if w.quality == "irregular" and w.hr_bpm is not None]
    usable = len(good) + len(irregular)
    rhythm: Literal["regular", "irregular"] | None = None
    if not windows:
        hr, reason = None, f"recording shorter than one {c.window_s:g} s window"
    elif usable == 0 or usable < c.min_good_fraction * len(windows):
        hr, reason = None, f"only {usable} of {len(windows)} windows of acceptable quality"
    elif len(irregular) > len(good):
        hr, reason, rhythm = float(np.median(irregular)), "irregular rhythm: median of mean rates", "irregular"
    else:
        hr, reason, rhythm = float(np.median(good)), "ok", "regular"
    return EcgResult(fs=fs, n_samples=int(x.size), hr_bpm=hr, reason=reason, rhythm=rhythm,
                     sqi=round(usable / len(windows), 3) if windows else None,
                     r_peaks_s=tuple(round(p / fs, 4) for p in peaks.tolist()), windows=tuple(windows))
