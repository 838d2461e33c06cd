"""`rpm eval waveforms`: PPG and ECG heart rate on real WFDB records against an independent beat reference.

For every record in ``--data-dir`` (``*.hea``) with a PPG and/or an ECG
channel: the reference beats are the record's reviewed beat annotations
(``.atr``, e.g. MIT-BIH) when present, else the R-peaks of wfdb's own XQRS
detector on the ECG (an implementation independent of ``streams.ecg``). Per
8-s window the reference rate is 60 / median reference R-R; a window whose
reference beats leave a gap > 2 s has no reference (the ECG itself is bad
there, e.g. the false asystole of CinC 2015 a103l) and is not scored.

Reported per record and in total: windows judged good by our PPG (and ECG)
analysis, the share of those within 3 bpm of the reference, the largest
error, and how many windows were flagged (poor).

PhysioNet/CinC 2015 false-alarm records (header comments such as
``Asystole`` / ``False alarm``; the monitor's alarm sounded at 300 s) are also
judged as an alarm: would the fused PPG+ECG analysis raise it? Asystole:
an ECG pause >= 4 s not refuted by a usable pulse in a window ending in the
16 s before the alarm (the Challenge's window); bradycardia / tachycardia:
a fused rate <= 40 / >= 140 there (the Challenge's definitions use 5 and 17
beats). Ventricular tachycardia and flutter/fibrillation are not assessed. Nothing is downloaded:
PhysioNet cannot be reached from the build machines; point ``--data-dir``
at records you have (docs/waveforms.md says where ours came from).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from streams import ecg as ecg_hr
from streams import ppg as ppg_hr
from streams.waveform_io import (
    Channel,
    WaveformReadError,
    read_wfdb,
    wfdb_channel_names,
)

TOLERANCE_BPM = 3.0
MIN_RECORD_S = 60.0  # XQRS learns its thresholds over the first seconds; 8-s snippets give no reference
MAX_REF_GAP_S = 2.0
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


@dataclass
class Score:
    windows: int = 0
    scored: int = 0  # windows with a reference
    good: int = 0  # judged good/irregular by us, among scored
    within: int = 0
    flagged: int = 0  # judged poor, among scored
    max_error_bpm: float = 0.0

    def add(self, hr: float | None, ref: float | None) -> None:
        self.windows += 1
        if ref is None:
            return
        self.scored += 1
        if hr is None:
            self.flagged += 1
            return
        self.good += 1
        err = abs(hr - ref)
        self.within += err <= TOLERANCE_BPM
        self.max_error_bpm = max(self.max_error_bpm, round(err, 2))

    def merge(self, o: Score) -> None:
        for k in ("windows", "scored", "good", "within", "flagged"):
            setattr(self, k, getattr(self, k) + getattr(o, k))
        self.max_error_bpm = max(self.max_error_bpm, o.max_error_bpm)

    def summary(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = asdict(self)
        out["within_3_bpm_share"] = round(self.within / self.good, 4) if self.good else None
        return out


def reference_rate(beats_s: npt.NDArray[np.float64], start: float, end: float) -> float | None:
    inside = beats_s[(beats_s >= start) & (beats_s < end)]
    if inside.size < 3:
        return None
    edges = np.concatenate(([start], inside, [end]))
    if float(np.max(np.diff(edges))) > MAX_REF_GAP_S:
        return None
    return 60.0 / float(np.median(np.diff(inside)))


def reference_beats(record: Path, ecg: Channel | None) -> tuple[npt.NDArray[np.float64] | None, str]:
    import wfdb

    base = str(record.with_suffix(""))
    if record.with_suffix(".atr").exists():
        ann = wfdb.rdann(base, "atr")
        beats = [s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in BEAT_SYMBOLS]
        return np.asarray(beats, dtype=np.float64) / float(ann.fs or (ecg.fs if ecg else 1.0)), "atr annotations"
    if ecg is None:
        return None, "none"
    from wfdb import processing

    x = np.nan_to_num(ecg.samples - np.nanmedian(ecg.samples))
    xqrs = processing.XQRS(sig=x, fs=ecg.fs)
    xqrs.detect(verbose=False)
    return np.asarray(xqrs.qrs_inds, dtype=np.float64) / ecg.fs, "wfdb XQRS on " + ecg.name


CINC_ALARM_S = 300.0
CINC_WINDOW_S = 16.0


def cinc_alarm(path: Path, ppg_windows: list[ppg_hr.PpgWindow], ecg_windows: list[ecg_hr.EcgWindow]
               ) -> dict[str, object] | None:
    """The project's verdict on a CinC 2015 record's alarm, or None when the record is not one."""
    import wfdb

    from streams.hr_fusion import fuse

    comments = [c.strip() for c in (wfdb.rdheader(str(path.with_suffix(""))).comments or [])]
    kinds = {"Asystole": "asystole", "Bradycardia": "bradycardia", "Tachycardia": "tachycardia",
             "Ventricular_Tachycardia": "ventricular_tachycardia", "Ventricular_Flutter_Fib": "ventricular_flutter"}
    alarm = next((kinds[c] for c in comments if c in kinds), None)
    truth = next((c for c in comments if c in ("True alarm", "False alarm")), None)
    if alarm is None or truth is None:
        return None
    fused = [f for f in fuse(ecg_windows, ppg_windows)
             if CINC_ALARM_S - CINC_WINDOW_S <= f.end_s <= CINC_ALARM_S + 0.5]
    by_start = {round(w.start_s): w for w in ecg_windows}
    raised: bool | None
    if alarm == "asystole":
        raised = any(
            (e := by_start.get(round(f.start_s))) is not None and e.longest_pause_s is not None
            and e.longest_pause_s >= ecg_hr.ASYSTOLE_PAUSE_S and not f.suppressed for f in fused)
    elif alarm == "bradycardia":
        raised = any(f.hr_bpm is not None and f.hr_bpm <= 40 for f in fused)
    elif alarm == "tachycardia":
        raised = any(f.hr_bpm is not None and f.hr_bpm >= 140 for f in fused)
    else:
        raised = None
    suppressed = sorted({s for f in fused for s in f.suppressed})
    return {"alarm": alarm, "label": truth, "project_raises": raised, "suppressed": suppressed,
            "correct": None if raised is None else raised == (truth == "True alarm")}


def evaluate_record(path: Path) -> dict[str, object] | None:
    names = wfdb_channel_names(path)
    channels: dict[str, Channel] = {}
    for kind in ("ppg", "ecg"):
        try:
            channels[kind] = read_wfdb(path, None, kind)
        except WaveformReadError:
            continue
    if not channels:
        return None
    first = next(iter(channels.values()))
    if first.samples.size / first.fs < MIN_RECORD_S:
        return None
    beats, source = reference_beats(path, channels.get("ecg"))
    if beats is None:
        return None
    out: dict[str, object] = {"record": path.stem, "channels": names, "reference": source}
    ppg_windows: list[ppg_hr.PpgWindow] = []
    ecg_windows: list[ecg_hr.EcgWindow] = []
    if (p := channels.get("ppg")) is not None and p.fs >= ppg_hr.MIN_FS_HZ:
        r = ppg_hr.estimate_heart_rate(p.samples, p.fs, adc_bits=p.adc_bits, adc_offset=p.adc_offset)
        ppg_windows = list(r.windows)
        s = Score()
        for w in r.windows:
            s.add(w.hr_bpm, reference_rate(beats, w.start_s, w.end_s))
        out["ppg"] = {"channel": p.name, **s.summary(), "wraps_unwrapped": r.wraps_unwrapped,
                      "interpolated_samples": r.interpolated_samples}
    if (e := channels.get("ecg")) is not None and e.fs >= ecg_hr.MIN_FS_HZ:
        er = ecg_hr.estimate_heart_rate(e.samples, e.fs, adc_bits=e.adc_bits, adc_offset=e.adc_offset)
        ecg_windows = list(er.windows)
        s = Score()
        for ew in er.windows:
            s.add(ew.hr_bpm, reference_rate(beats, ew.start_s, ew.end_s))
        out["ecg"] = {"channel": e.name, **s.summary()}
    if ecg_windows and (alarm := cinc_alarm(path, ppg_windows, ecg_windows)) is not None:
        out["cinc2015_alarm"] = alarm
    return out


def add_parser(names: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = names.add_parser("waveforms", help="PPG/ECG heart rate on WFDB records vs a beat reference (3 bpm target)",
                         description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, required=True, help="directory of WFDB records (*.hea + signal files)")
    p.add_argument("--json", action="store_true", help="print one JSON object only")
    p.set_defaults(func=run_cli)


def run_cli(a: argparse.Namespace) -> int:
    headers = sorted(a.data_dir.glob("*.hea"))
    if not headers:
        print(f"rpm eval waveforms: error: no *.hea records in {a.data_dir}", file=sys.stderr)
        return 2
    records: list[dict[str, object]] = []
    totals = {"ppg": Score(), "ecg": Score()}
    for n, h in enumerate(headers, start=1):
        print(f"[{n}/{len(headers)}] {h.stem}", file=sys.stderr)
        try:
            res = evaluate_record(h)
        except (OSError, ValueError, WaveformReadError) as exc:  # a multi-segment header, a missing .dat
            print(f"  skipped: {exc}", file=sys.stderr)
            continue
        if res is None:
            print(f"  skipped: no PPG/ECG channel, shorter than {MIN_RECORD_S:g} s, or no reference", file=sys.stderr)
            continue
        records.append(res)
        for kind, total in totals.items():
            part = res.get(kind)
            if isinstance(part, dict):
                total.merge(Score(**{k: part[k] for k in ("windows", "scored", "good", "within", "flagged",
                                                           "max_error_bpm")}))
    alarms = [r["cinc2015_alarm"] for r in records if isinstance(r.get("cinc2015_alarm"), dict)]
    judged = [a for a in alarms if isinstance(a, dict) and a["correct"] is not None]
    result = {"records": records, "ppg_total": totals["ppg"].summary(), "ecg_total": totals["ecg"].summary(),
              "tolerance_bpm": TOLERANCE_BPM,
              "cinc2015": {"alarms": len(alarms), "judged": len(judged),
                           "correct": sum(1 for a in judged if isinstance(a, dict) and a["correct"])}}
    if a.json:
        print(json.dumps(result))
        return 0
    for r in records:
        print(f"{r['record']} (reference: {r['reference']})")
        for kind in ("ppg", "ecg"):
            if isinstance(part := r.get(kind), dict):
                print(f"  {kind} {part['channel']}: {part['good']}/{part['scored']} windows good, "
                      f"{part['within_3_bpm_share']} of them within 3 bpm (max error {part['max_error_bpm']}), "
                      f"{part['flagged']} flagged")
        if isinstance(al := r.get("cinc2015_alarm"), dict):
            print(f"  CinC 2015 alarm: {al['alarm']} ({al['label']}); project raises: {al['project_raises']}"
                  f"{'; suppressed: ' + ', '.join(al['suppressed']) if al['suppressed'] else ''}")
    for kind in ("ppg", "ecg"):
        print(f"total {kind}: {json.dumps(result[f'{kind}_total'])}")
    return 0
