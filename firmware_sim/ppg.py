"""Synthetic photoplethysmogram snippets whose beats follow the latent heart rate.

Each beat is a sum of two Gaussian waves (systolic peak and the diastolic
wave after the dicrotic notch), the beat-template approach of McSharry et
al.'s ECG model (IEEE TBME 2003) applied to PPG; respiration modulates the
baseline and amplitude (respiratory-induced intensity variation). An
irregular rhythm scatters the beat intervals; motion adds large
low-frequency noise, so a downstream quality check has something to reject.
"""

from __future__ import annotations

import random

import numpy as np


def ppg_snippet(
    hr_bpm: float, rr_per_min: float, seconds: float, fs_hz: float, rng: random.Random,
    rr_interval_scatter: float = 0.0, motion: float = 0.0,
) -> tuple[float, ...]:
    n = int(round(seconds * fs_hz))
    t = np.arange(n) / fs_hz
    period = 60.0 / hr_bpm
    beats: list[float] = []
    tb = -rng.uniform(0, period)
    while tb < seconds + period:
        beats.append(tb)
        jitter = rng.gauss(0, 0.01 * period + rr_interval_scatter / max(hr_bpm, 1.0) * period)
        tb += max(0.25, period + jitter)
    x = np.zeros(n)
    for b in beats:
        x += np.exp(-0.5 * ((t - b - 0.18 * period) / (0.07 * period)) ** 2)
        x += 0.45 * np.exp(-0.5 * ((t - b - 0.48 * period) / (0.11 * period)) ** 2)
    resp = np.sin(2 * np.pi * rr_per_min / 60.0 * t + rng.uniform(0, 2 * np.pi))
    x = x * (1 + 0.08 * resp) + 0.1 * resp
    nrng = np.random.default_rng(rng.getrandbits(63))
    x += nrng.normal(0, 0.02, n)
    if motion > 0:
        walk = np.cumsum(nrng.normal(0, 1.0, n)) / np.sqrt(fs_hz)
        x += motion * walk + motion * 0.8 * nrng.normal(0, 1.0, n)
    return tuple(round(float(v), 4) for v in x)
