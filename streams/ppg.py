"""Heart rate from a photoplethysmogram (PPG), with a per-window quality verdict.

Method (each step is a deliberate choice; a poor window yields ``hr_bpm=None``
with a reason, never a number we do not trust):

1. Windows of 8 s advanced by 2 s (overlapping). The band-pass runs once over
   each finite stretch of the recording (filtering each bare window creates edge
   transients that look like beats); the quality gates run per window, so an
   artefact makes its own windows poor rather than corrupting the median.
2. Raw-signal checks: non-finite samples, flat line (no variation), clipping
   (>= 5% of samples exactly at the window's max or min value: ADC saturation
   or ambient-light overload).
3. Zero-phase Butterworth band-pass 0.5-4 Hz (order 2, ``sosfiltfilt``): 30-240
   bpm fundamental, baseline wander and respiration below, noise above.
4. ``scipy.signal.find_peaks`` with a minimum distance of 60/220 s (the fastest
   plausible beat) and a prominence of >= 50% of the window's 5-95 percentile
   range, which suppresses the dicrotic wave. Peak times are refined by
   parabolic interpolation so low sample rates (25 Hz) still give +-1 bpm.
5. A window whose prominent peaks were thinned by the 220-bpm distance rule is
   rejected: otherwise a 250 bpm rhythm would read as a regular 125 bpm.
6. HR = 60 / median inter-beat interval (IBI). Quality gates, after
   Orphanidou C, et al. *Signal-quality indices for the electrocardiogram and
   photoplethysmogram.* IEEE J Biomed Health Inform 2015;19:832-838:
   >= 4 beats; HR within 30-220 bpm; IBI coefficient of variation <= 0.15 and
   max/min IBI <= 2.2 (missed/extra beats); mean correlation of each beat with
   the window's average beat >= 0.86 (morphology consistent).

An irregular rhythm such as atrial fibrillation also fails the IBI gates; that
is intended: the window says "irregular" rather than reporting a doubtful rate.

Whole-recording HR is the median of the good windows. It is None if there are
none, and also if fewer than 25% of the windows are good: on synthetic brown
noise an occasional 8-s window passes every gate by chance, and a recording
that is mostly poor does not support a number.

Accuracy on synthetic pulses (30-210 bpm, 16-250 Hz): within 1 bpm when clean;
with heavy additive noise the windows that still pass stay within about 5%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, model_validator
from scipy.signal import butter, find_peaks, sosfiltfilt

FloatArray = npt.NDArray[np.float64]
MIN_FS_HZ = 16.0  # below this peak timing is too coarse for +-2 bpm


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PpgConfig(_Frozen):
    window_s: float = 8.0
    step_s: float = 2.0
    low_hz: float = 0.5
    high_hz: float = 4.0
    filter_order: int = 2
    min_hr_bpm: float = 30.0
    max_hr_bpm: float = 220.0
    min_beats: int = 4  # >= 3 intervals for the variability gates
    max_ibi_cv: float = 0.15
    max_ibi_ratio: float = 2.2
    min_template_corr: float = 0.86
    max_clipped_fraction: float = 0.05
    min_prominence_fraction: float = 0.5
    min_good_fraction: float = 0.25

    @model_validator(mode="after")
    def _consistent(self) -> PpgConfig:
        if not (self.step_s > 0 and self.window_s > 0 and 0 < self.low_hz < self.high_hz):
            raise ValueError("window/step must be positive and low_hz < high_hz")
        if not 0 < self.min_hr_bpm < self.max_hr_bpm or self.min_beats < 3:
            raise ValueError("need 0 < min_hr < max_hr and min_beats >= 3")
        if not 0 <= self.min_good_fraction <= 1:
            raise ValueError("min_good_fraction must be within [0, 1]")
        return self


Quality = Literal["good", "poor"]


class PpgWindow(_Frozen):
    start_s: float
    end_s: float
    hr_bpm: float | None
    quality: Quality
    reason: str
    n_beats: int
    ibi_cv: float | None
    template_corr: float | None


class PpgResult(_Frozen):
    fs: float
    n_samples: int
    hr_bpm: float | None
    reason: str
    n_good_windows: int
    windows: tuple[PpgWindow, ...]


def _poor(start: float, end: float, reason: str, n: int = 0, **extra: float | None) -> PpgWindow:
    return PpgWindow(
        start_s=start,
        end_s=end,
        hr_bpm=None,
        quality="poor",
        reason=reason,
        n_beats=n,
        ibi_cv=extra.get("ibi_cv"),
        template_corr=extra.get("template_corr"),
    )


def _refine(y: FloatArray, peaks: npt.NDArray[np.intp]) -> FloatArray:
    """Sub-sample peak positions by fitting a parabola through each peak and its neighbours."""
    pos = peaks.astype(np.float64)
    inner = (peaks > 0) & (peaks < y.size - 1)
    p = peaks[inner]
    a, b, c = y[p - 1], y[p], y[p + 1]
    denom = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(denom != 0, 0.5 * (a - c) / denom, 0.0)
    pos[inner] += np.clip(delta, -0.5, 0.5)
    return pos


def _template_correlation(y: FloatArray, peaks: npt.NDArray[np.intp], half: int) -> float | None:
    beats = [y[p - half : p + half + 1] for p in peaks if p - half >= 0 and p + half < y.size]
    if len(beats) < 2:
        return None
    stack = np.vstack(beats)
    template = stack.mean(axis=0)
    corrs = [float(np.corrcoef(b, template)[0, 1]) for b in stack]
    return float(np.mean(corrs)) if all(math.isfinite(c) for c in corrs) else None


def band_pass(x: FloatArray, fs: float, config: PpgConfig) -> FloatArray:
    """Zero-phase Butterworth band-pass of a finite signal."""
    sos = butter(
        config.filter_order, [config.low_hz, config.high_hz], "bandpass", fs=fs, output="sos"
    )
    return np.asarray(sosfiltfilt(sos, x - x.mean()), dtype=np.float64)


def analyse_window(
    x: FloatArray, y: FloatArray, fs: float, start_s: float, config: PpgConfig
) -> PpgWindow:
    """Quality verdict and HR for one window: raw samples ``x``, band-passed ``y``.

    ``y`` must come from filtering a longer stretch that contains the window
    (filtering the bare window creates edge transients that look like beats).
    A streaming caller should therefore filter a buffer with a few seconds of
    context on both sides and pass the central slice.
    """
    end_s = start_s + x.size / fs
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return _poor(start_s, end_s, "non-finite samples (NaN/inf) in window")
    span = float(np.ptp(x))
    if span == 0.0:
        return _poor(start_s, end_s, "flat signal: no pulsatile component (sensor off?)")
    at_rail = np.count_nonzero(x == x.max()) + np.count_nonzero(x == x.min())
    if at_rail / x.size >= config.max_clipped_fraction:
        return _poor(start_s, end_s, "clipped/saturated signal")

    p5, p95 = np.percentile(y, [5, 95])
    prominence = config.min_prominence_fraction * float(p95 - p5)
    min_distance = max(1, math.floor(fs * 60.0 / config.max_hr_bpm))
    peaks, _ = find_peaks(y, distance=min_distance, prominence=prominence)
    n = int(peaks.size)
    # The distance rule alone would silently halve a >220 bpm rhythm (every
    # other beat suppressed, a regular "125 bpm"); refuse instead.
    if find_peaks(y, prominence=prominence)[0].size > n:
        return _poor(start_s, end_s, "pulses closer than 60/220 s (rate > 220 bpm or artefact)", n)
    if n < config.min_beats:
        return _poor(start_s, end_s, f"too few beats detected ({n} < {config.min_beats})", n)

    ibi = np.diff(_refine(y, peaks)) / fs
    median_ibi = float(np.median(ibi))
    hr = 60.0 / median_ibi
    cv = float(np.std(ibi) / np.mean(ibi))
    corr = _template_correlation(y, peaks, round(median_ibi * fs / 2))
    stats = {"ibi_cv": cv, "template_corr": corr}
    if not config.min_hr_bpm <= hr <= config.max_hr_bpm:
        # Not necessarily impossible physiology (e.g. complete heart block), but
        # outside what this method can measure: the caller must not read None as normal.
        limits = f"{config.min_hr_bpm:g}-{config.max_hr_bpm:g}"
        return _poor(start_s, end_s, f"rate {hr:.1f} bpm outside {limits} bpm", n, **stats)
    if cv > config.max_ibi_cv or float(ibi.max() / ibi.min()) > config.max_ibi_ratio:
        return _poor(
            start_s, end_s, "irregular beat intervals (artefact, or arrhythmia)", n, **stats
        )
    if corr is None or corr < config.min_template_corr:
        return _poor(start_s, end_s, "inconsistent beat morphology (noise/motion)", n, **stats)
    return PpgWindow(
        start_s=start_s,
        end_s=end_s,
        hr_bpm=hr,
        quality="good",
        reason="ok",
        n_beats=n,
        ibi_cv=cv,
        template_corr=corr,
    )


def _filter_finite_stretches(
    x: FloatArray, fs: float, config: PpgConfig, min_len: int
) -> FloatArray:
    """Band-pass each run of finite samples at least one window long; NaN elsewhere.

    Filtering whole stretches rather than single windows avoids edge transients
    that look like beats, and NaN/inf (dropped samples) never reach the filter.
    """
    out = np.full(x.shape, np.nan)
    finite = np.isfinite(x)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.astype(np.int8), [0]))))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a >= min_len:
            out[a:b] = band_pass(x[a:b], fs, config)
    return out


def estimate_heart_rate(
    samples: Sequence[float] | FloatArray, fs: float, config: PpgConfig | None = None
) -> PpgResult:
    """Windowed HR over a PPG recording sampled at ``fs`` Hz.

    Recordings shorter than one window produce no windows and ``hr_bpm=None``.
    The whole-recording HR is the median over good windows.
    """
    config = config or PpgConfig()
    if not math.isfinite(fs) or fs < MIN_FS_HZ:
        raise ValueError(f"fs must be >= {MIN_FS_HZ} Hz, got {fs}")
    if config.high_hz >= fs / 2:
        raise ValueError("band-pass upper edge must be below the Nyquist frequency")
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("samples must be one-dimensional")
    width = round(config.window_s * fs)
    step = max(1, round(config.step_s * fs))
    filtered = _filter_finite_stretches(x, fs, config, width)
    windows = tuple(
        analyse_window(x[i : i + width], filtered[i : i + width], fs, i / fs, config)
        for i in range(0, x.size - width + 1, step)
    )
    good = [w.hr_bpm for w in windows if w.hr_bpm is not None]
    if not windows:
        hr, reason = None, f"recording shorter than one {config.window_s:g} s window"
    elif not good:
        hr, reason = None, "no window of acceptable quality"
    elif len(good) < config.min_good_fraction * len(windows):
        # A few isolated "good" windows in a mostly poor recording are more
        # likely chance periodicity in noise than a pulse.
        hr = None
        reason = f"only {len(good)} of {len(windows)} windows of acceptable quality"
    else:
        hr, reason = float(np.median(good)), "ok"
    return PpgResult(
        fs=fs,
        n_samples=int(x.size),
        hr_bpm=hr,
        reason=reason,
        n_good_windows=len(good),
        windows=windows,
    )
