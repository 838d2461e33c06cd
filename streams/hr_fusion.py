"""Fusion of PPG and ECG heart rate per window, so one bad source cannot raise a false alarm (pure).

Most false arrhythmia alarms in intensive care come from one corrupted
channel: a loose ECG electrode reads as asystole while the pulse oximeter
still shows every beat, or motion on the finger probe reads as tachycardia
while the ECG is clean (Clifford GD, et al. Physiol Meas 2016;37:E5-E23, the
PhysioNet/CinC 2015 false-alarm challenge; the best entries confirm an
alarm on a second pulsatile channel). The rules, per 8-s window on the
shared 2-s grid:

- both usable and agreeing (within ``agree_bpm`` or ``agree_fraction``):
  the ECG rate (R-peaks time better than pulse peaks), source ``both``;
- both usable and disagreeing: if exactly one of them claims an alarm
  condition (rate below ``BRADY_BPM`` or above ``TACHY_BPM``) the claim is
  suppressed and the other rate reported; otherwise the ECG's rate, with
  ``disagree`` set so a consumer can lower its trust;
- ECG pause >= 4 s (asystole claim) while the PPG window shows a pulse:
  asystole suppressed, PPG rate reported; a pleth too disturbed for a rate
  but with pulses of the recording's usual strength (``pulse_present``)
  also refutes it, with no rate; without pulses the pause stands (a true
  asystole also loses the pulse);
- only one usable: that one; neither: no rate.

The alarm limits are the project's heart-rate alarm values (NEWS2 red
values: <= 40 and >= 131 /min, ``streams/vitals.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from streams.ecg import ASYSTOLE_PAUSE_S, EcgWindow
from streams.ppg import PpgWindow

BRADY_BPM = 40.0
TACHY_BPM = 131.0

Source = Literal["both", "ecg", "ppg"]


class FusedWindow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start_s: float
    end_s: float
    hr_bpm: float | None
    source: Source | None
    irregular: bool
    disagree: bool
    suppressed: tuple[str, ...]  # alarm claims of one source refuted by the other
    ecg_hr_bpm: float | None
    ppg_hr_bpm: float | None


def _usable(w: PpgWindow | EcgWindow | None) -> float | None:
    return w.hr_bpm if w is not None and w.quality in ("good", "irregular") else None


def _pause(ecg: EcgWindow | None) -> bool:
    return ecg is not None and ecg.longest_pause_s is not None and ecg.longest_pause_s >= ASYSTOLE_PAUSE_S


def _claim(hr: float) -> str | None:
    if hr <= BRADY_BPM:
        return "bradycardia"
    if hr >= TACHY_BPM:
        return "tachycardia"
    return None


def fuse_window(
    ecg: EcgWindow | None, ppg: PpgWindow | None, *, agree_bpm: float = 5.0, agree_fraction: float = 0.1
) -> FusedWindow:
    ref = ecg or ppg
    if ref is None:
        raise ValueError("need at least one window")
    e, p = _usable(ecg), _usable(ppg)
    irregular = any(w is not None and w.quality == "irregular" for w in (ecg, ppg))
    suppressed: list[str] = []
    hr: float | None
    source: Source | None
    disagree = False
    if e is not None and p is not None:
        if abs(e - p) <= max(agree_bpm, agree_fraction * e):
            hr, source = e, "both"
        else:
            disagree = True
            ce, cp = _claim(e), _claim(p)
            if ce and not cp:
                suppressed.append(f"{ce} (ECG {e:.0f}/min, pulse {p:.0f}/min)")
                hr, source = p, "ppg"
            elif cp and not ce:
                suppressed.append(f"{cp} (pulse {p:.0f}/min, ECG {e:.0f}/min)")
                hr, source = e, "ecg"
            else:
                hr, source = e, "ecg"
    elif e is not None:
        hr, source = e, "ecg"
    elif p is not None:
        hr, source = p, "ppg"
        if _pause(ecg):
            suppressed.append(f"asystole (no QRS for {ecg.longest_pause_s:.1f} s, pulse {p:.0f}/min)")  # type: ignore[union-attr]
    else:
        hr, source = None, None
        if _pause(ecg) and ppg is not None and ppg.pulse_present:
            # The pleth is too disturbed for a rate but shows pulses of the usual
            # strength: the heart is beating, the ECG lost its signal.
            suppressed.append(f"asystole (no QRS for {ecg.longest_pause_s:.1f} s, pulses present)")  # type: ignore[union-attr]
    return FusedWindow(start_s=ref.start_s, end_s=ref.end_s, hr_bpm=hr, source=source, irregular=irregular,
                       disagree=disagree, suppressed=tuple(suppressed), ecg_hr_bpm=e, ppg_hr_bpm=p)


def fuse(ecg: Sequence[EcgWindow], ppg: Sequence[PpgWindow], tolerance_s: float = 0.5) -> list[FusedWindow]:
    """Pair windows by start time (same grid when both use the 8 s / 2 s defaults)."""
    by_start = {round(w.start_s / tolerance_s): w for w in ppg}
    used: set[int] = set()
    out: list[FusedWindow] = []
    for w in ecg:
        k = round(w.start_s / tolerance_s)
        used.add(k)
        out.append(fuse_window(w, by_start.get(k)))
    out += [fuse_window(None, w) for k, w in by_start.items() if k not in used]
    return sorted(out, key=lambda f: f.start_s)
