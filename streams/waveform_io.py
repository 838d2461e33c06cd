"""Read one waveform channel from a WFDB record or a CSV file, for ``rpm score ppg|ecg`` and evaluations.

WFDB (PhysioNet's format, read with the ``wfdb`` package): ``path`` is the
record name with or without ``.hea``; samples are kept as the ADC's integer
codes (``physical=False``) so wraparound and clipping can be judged against
the converter's real range (``adc_res`` bits; format 212 and 16 are two's
complement, so codes run from -2**(bits-1) + ``adc_zero``). CSV: one column,
or the ``channel`` column by name; ``fs`` must be given (CSV has no header
convention for it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from streams.clinical_csv import CsvFormatError, read_ppg_csv

PPG_NAMES = ("PLETH", "PPG", "PLETH1", "SPO2", "PULSE")
ECG_NAMES = ("II", "MLII", "ECG", "I", "III", "V", "V1", "V2", "V5", "AVR", "AVL", "AVF", "MCL1")


class WaveformReadError(ValueError):
    """The file cannot be read as a waveform; the message says why."""


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    samples: npt.NDArray[np.float64]
    fs: float
    adc_bits: int | None
    adc_offset: float
    source: str  # "wfdb" or "csv"
    record: str


def is_wfdb(path: Path) -> bool:
    return path.suffix == ".hea" or (path.suffix == "" and path.with_suffix(".hea").exists())


def wfdb_channel_names(path: Path) -> list[str]:
    import wfdb

    base = str(path.with_suffix("")) if path.suffix == ".hea" else str(path)
    try:
        return list(wfdb.rdheader(base).sig_name or [])
    except (OSError, ValueError) as exc:
        raise WaveformReadError(f"cannot read WFDB header {base}.hea: {exc}") from exc


def _pick(names: list[str], wanted: str | None, preferred: tuple[str, ...], what: str) -> int:
    upper = [n.upper() for n in names]
    if wanted is not None:
        if wanted.upper() not in upper:
            raise WaveformReadError(f"no channel {wanted!r}; the record has {names}")
        return upper.index(wanted.upper())
    for p in preferred:
        if p in upper:
            return upper.index(p)
    raise WaveformReadError(f"no {what} channel found in {names}; choose one with --channel")


def read_wfdb(path: Path, channel: str | None, kind: str) -> Channel:
    import wfdb

    base = str(path.with_suffix("")) if path.suffix == ".hea" else str(path)
    try:
        header = wfdb.rdheader(base)
    except (OSError, ValueError) as exc:
        raise WaveformReadError(f"cannot read WFDB header {base}.hea: {exc}") from exc
    names = list(header.sig_name or [])
    idx = _pick(names, channel, PPG_NAMES if kind == "ppg" else ECG_NAMES, kind.upper())
    try:
        rec = wfdb.rdrecord(base, channels=[idx], physical=False)
    except (OSError, ValueError) as exc:
        raise WaveformReadError(f"cannot read WFDB record {base}: {exc}") from exc
    if rec.d_signal is None:
        raise WaveformReadError(f"{base}: no samples")
    x = rec.d_signal[:, 0].astype(np.float64)
    # WFDB marks missing samples with the format's most negative code.
    fmt = str(rec.fmt[0]) if rec.fmt else ""
    invalid = {"16": -(2**15), "212": -(2**11), "80": -128, "24": -(2**23), "32": -(2**31)}.get(fmt)
    if invalid is not None:
        x[x == invalid] = math.nan
    bits = int(rec.adc_res[0]) if rec.adc_res and rec.adc_res[0] else None
    zero = float(rec.adc_zero[0]) if rec.adc_zero else 0.0
    offset = zero - 2 ** (bits - 1) if bits else 0.0
    return Channel(name=names[idx], samples=x, fs=float(rec.fs), adc_bits=bits, adc_offset=offset, source="wfdb",
                   record=Path(base).name)


def read_channel(path: Path, *, kind: str, channel: str | None = None, fs: float | None = None,
                 adc_bits: int | None = None) -> Channel:
    """One channel of a WFDB record (``.hea``/record name) or a CSV file."""
    if is_wfdb(path):
        ch = read_wfdb(path, channel, kind)
        if fs is not None and not math.isclose(fs, ch.fs):
            raise WaveformReadError(f"--fs {fs:g} contradicts the record's {ch.fs:g} Hz")
        if adc_bits is not None:
            ch = Channel(ch.name, ch.samples, ch.fs, adc_bits, -(2 ** (adc_bits - 1)), ch.source, ch.record)
        return ch
    if fs is None:
        raise WaveformReadError("--fs is required for a CSV file (WFDB records carry their own rate)")
    try:
        samples = read_ppg_csv(path, channel)
    except CsvFormatError as exc:
        raise WaveformReadError(str(exc)) from exc
    x = np.asarray(samples, dtype=np.float64)
    # A CSV does not say whether the converter was signed: codes below zero mean it was.
    signed = bool(np.any(x[np.isfinite(x)] < 0))
    offset = -(2 ** (adc_bits - 1)) if adc_bits and signed else 0.0
    return Channel(name=channel or "samples", samples=x, fs=fs, adc_bits=adc_bits, adc_offset=offset, source="csv",
                   record=path.name)
