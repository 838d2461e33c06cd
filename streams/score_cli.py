"""``score`` CLI: NEWS2, CGM consensus metrics and PPG heart rate from the command line.

The lead wires :func:`add_parser` into ``rpm`` (``rpm score news2 ...``);
:func:`main` builds the same tree standalone (``main(["score", "news2", ...])``).
Exit codes: 0 success (an incomplete NEWS2 is still a result and says so),
2 bad arguments or unreadable/malformed input (message on stderr).
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from streams import ecg as ecg_hr
from streams.clinical_csv import CgmSubject, CsvFormatError, read_cgm_subjects
from streams.glucose import (
    DEXCOM_DIRECTION,
    GlucoseSample,
    glucose_metrics,
    mg_dl_to_mmol_l,
    predict_glucose,
    predicted_low,
    rate_of_change,
    trend_arrow,
)
from streams.glucose_episodes import consensus_episodes
from streams.hr_fusion import fuse
from streams.news2 import (
    ACVPU,
    ConsciousnessObservation,
    Measurement,
    News2Observations,
    OxygenDelivery,
    OxygenObservation,
    score_news2,
    summary_text,
)
from streams.ppg import PpgConfig, estimate_heart_rate
from streams.waveform_io import Channel, WaveformReadError, read_channel

Handler = Callable[[argparse.Namespace], int]
SubParsers = argparse._SubParsersAction  # argparse has no public name for this type
_MINUTE = timedelta(minutes=1)


def _fail(command: str, message: str) -> int:
    print(f"rpm score {command}: error: {message}", file=sys.stderr)
    return 2


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return str(exc)


def _emit(payload: dict[str, Any]) -> None:
    # allow_nan=False: a NaN must never reach a consumer as invalid JSON.
    print(json.dumps(payload, indent=2, allow_nan=False, default=str))


# --- news2 -----------------------------------------------------------------


def _cmd_news2(args: argparse.Namespace) -> int:
    # CLI readings are "taken now"; only this IO layer reads the clock, never the core.
    now = datetime.now(UTC)

    def num(value: float | None) -> Measurement | None:
        return None if value is None else Measurement(value=value, at=now)

    try:
        obs = News2Observations(
            resp_rate=num(args.rr),
            spo2=num(args.spo2),
            air_or_oxygen=None if args.o2 is None else OxygenObservation(value=args.o2, at=now),
            systolic_bp=num(args.sbp),
            pulse=num(args.hr),
            consciousness=(
                None if args.acvpu is None else ConsciousnessObservation(value=args.acvpu, at=now)
            ),
            temperature=num(args.temp),
            spo2_scale=args.scale,
        )
        result = score_news2(obs, now)
    except ValueError as exc:
        return _fail("news2", _error_text(exc))
    if args.json:
        _emit(result.model_dump(mode="json"))
    else:
        print(summary_text(result))
    return 0


# --- cgm -------------------------------------------------------------------


def _trend_at(samples: Sequence[GlucoseSample], at: datetime) -> dict[str, Any]:
    """Trend and prediction at one reading, from the readings up to it (what a live CGM app showed then)."""
    rate = rate_of_change(samples, at)
    return {
        "at": at.isoformat().replace("+00:00", "Z"),
        "rate_mg_dl_per_min": rate,
        "arrow": None if rate is None else trend_arrow(rate).value,
        "direction": None if rate is None else DEXCOM_DIRECTION[trend_arrow(rate)],
        "predicted_20_min_mg_dl": predict_glucose(samples, at, timedelta(minutes=20)),
        "predicted_30_min_mg_dl": predict_glucose(samples, at, timedelta(minutes=30)),
        "predicted_low": predicted_low(samples, at),
    }


def _series(samples: Sequence[GlucoseSample]) -> list[dict[str, Any]]:
    """Per reading: value, trend, prediction. The models look back at most 20 min: slice for speed."""
    ordered = sorted({s.at: s for s in samples}.values(), key=lambda s: s.at)
    times = [s.at for s in ordered]
    out = []
    for i, s in enumerate(ordered):
        lo = bisect.bisect_left(times, s.at - timedelta(minutes=20))
        out.append({"mg_dl": s.mg_dl, **_trend_at(ordered[lo : i + 1], s.at)})
    return out


def _cgm_payload(subject: CgmSubject, interval: timedelta, series: bool) -> dict[str, Any]:
    cgm = subject.file
    metrics = glucose_metrics(cgm.samples, interval=interval)
    episodes = consensus_episodes(cgm.samples, interval=interval)
    payload: dict[str, Any] = {
        **({"subject": subject.subject} if subject.subject else {}),
        **metrics.model_dump(mode="json"),
        "unit_in_file": cgm.unit,
        "unit_source": cgm.unit_source,
        "skipped_blank_rows": cgm.skipped_blank_rows,
        "low_markers": subject.low_markers,
        "high_markers": subject.high_markers,
        "trend": _trend_at(cgm.samples, max(s.at for s in cgm.samples)),
        "episodes": [
            {**e.model_dump(mode="json"), "observed_minutes": e.observed_duration / _MINUTE}
            for e in episodes
        ],
    }
    if series:
        payload["series"] = _series(cgm.samples)
    return payload


def _cmd_cgm(args: argparse.Namespace) -> int:
    try:
        if not 0 < args.interval <= 1440:
            raise ValueError("--interval must be between 0 and 1440 minutes")
        interval = timedelta(minutes=args.interval)
        subjects = read_cgm_subjects(Path(args.file), args.unit)
        if args.id is not None:
            subjects = [s for s in subjects if s.subject == args.id]
            if not subjects:
                raise CsvFormatError(f"{args.file}: no subject {args.id!r}")
        payloads = [_cgm_payload(s, interval, args.series) for s in subjects]
    except (CsvFormatError, ValueError) as exc:
        return _fail("cgm", _error_text(exc))
    if args.json:
        _emit(payloads[0] if len(payloads) == 1 else {"subjects": payloads})
        return 0
    for n, p in enumerate(payloads):
        if n:
            print()
        if "subject" in p:
            print(f"Subject {p['subject']}")
        print(_cgm_text(p))
        if args.series:
            print(_series_text(p["series"]))
    return 0


def _series_text(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'time':<20} {'mg/dL':>6} {'rate':>6} {'arrow':<16} {'in 30 min':>9}  predicted low"]
    for r in rows:
        rate = "" if r["rate_mg_dl_per_min"] is None else f"{r['rate_mg_dl_per_min']:+.2f}"
        p30 = "" if r["predicted_30_min_mg_dl"] is None else f"{r['predicted_30_min_mg_dl']:.0f}"
        low = {True: "YES", False: "no", None: "unknown"}[r["predicted_low"]]
        lines.append(f"{r['at']:<20} {r['mg_dl']:>6.0f} {rate:>6} {r['arrow'] or '':<16} {p30:>9}  {low}")
    return "\n".join(lines)


# Battelino 2019 targets for most adults with type 1/type 2 diabetes (older or
# high-risk patients and pregnancy have different targets).
_CGM_ROWS = (
    ("below_54_pct", "Time below 54 mg/dL (3.0 mmol/L)", "target <1%"),
    ("below_70_pct", "Time below 70 mg/dL (3.9 mmol/L)", "target <4%"),
    ("in_70_180_pct", "Time in range 70-180 mg/dL", "target >70%"),
    ("above_180_pct", "Time above 180 mg/dL (10.0 mmol/L)", "target <25%"),
    ("above_250_pct", "Time above 250 mg/dL (13.9 mmol/L)", "target <5%"),
)


def _cgm_text(p: dict[str, Any]) -> str:
    cv = "n/a (one reading)" if p["cv_pct"] is None else f"{p['cv_pct']:.1f}% (target <=36%)"
    lines = [
        f"CGM summary, {p['n_samples']} readings, {p['start']} to {p['end']}",
        f"Unit in file: {p['unit_in_file']} (from {p['unit_source']}); reported in mg/dL",
        f"CGM coverage: {p['coverage_pct']:.1f}% (consensus: >=70% of 14 days)",
        f"Mean glucose: {p['mean_mg_dl']:.0f} mg/dL ({mg_dl_to_mmol_l(p['mean_mg_dl']):.1f} mmol/L)",
        f"GMI: {p['gmi_pct']:.1f}%",
        f"CV: {cv}",
    ]
    lines += [f"{label}: {p[key]:.1f}% ({target})" for key, label, target in _CGM_ROWS]
    t = p["trend"]
    if t["rate_mg_dl_per_min"] is None:
        lines.append(f"Trend at {t['at']}: not enough recent readings")
    else:
        low = {True: "YES", False: "no", None: "unknown"}[t["predicted_low"]]
        lines.append(
            f"Trend at {t['at']}: {t['rate_mg_dl_per_min']:+.2f} mg/dL/min ({t['arrow']}); "
            f"predicted low (<70) within 30 min: {low}"
        )
    lines.append(f"Episodes: {len(p['episodes'])}")
    for e in p["episodes"]:
        end = e["end"] or f"not ended ({e['status']})"
        lines.append(
            f"  {e['kind']} level {e['level']}: {e['start']} to {end}, "
            f"extreme {e['extreme_mg_dl']:.0f} mg/dL"
        )
    return "\n".join(lines)


# --- ppg -------------------------------------------------------------------


def _read(args: argparse.Namespace, kind: str, channel: str | None) -> Channel:
    return read_channel(Path(args.file), kind=kind, channel=channel, fs=args.fs, adc_bits=args.adc_bits)


def _signal_line(ch: Channel) -> str:
    bits = f", {ch.adc_bits}-bit ADC" if ch.adc_bits else ""
    return f"{ch.record} channel {ch.name}: {ch.samples.size} samples at {ch.fs:g} Hz{bits}"


def _cmd_ppg(args: argparse.Namespace) -> int:
    try:
        ch = _read(args, "ppg", args.channel or args.column)
        result = estimate_heart_rate(ch.samples, ch.fs, PpgConfig(), adc_bits=ch.adc_bits, adc_offset=ch.adc_offset)
    except (CsvFormatError, WaveformReadError, ValueError) as exc:
        return _fail("ppg", _error_text(exc))
    if args.json:
        _emit({"channel": ch.name, "record": ch.record, **result.model_dump(mode="json")})
        return 0
    hr = "none" if result.hr_bpm is None else f"{result.hr_bpm:.0f} bpm"
    print(_signal_line(ch))
    rhythm = f", rhythm {result.rhythm}" if result.rhythm else ""
    print(f"Heart rate: {hr} ({result.reason}{rhythm}); {result.n_good_windows} good + "
          f"{result.n_irregular_windows} irregular of {len(result.windows)} windows (SQI {result.sqi})")
    print(f"Signal repairs: {result.wraps_unwrapped} ADC wraparounds unwrapped, {result.interpolated_samples} "
          f"missing samples interpolated, {result.gap_samples} samples in gaps too long to bridge")
    _print_windows(result.windows)
    return 0


def _print_windows(windows: Any) -> None:
    for w in windows:
        value = "   -" if w.hr_bpm is None else f"{w.hr_bpm:4.0f}"
        print(f"  {w.start_s:7.1f}-{w.end_s:7.1f} s  {value}  {w.quality:<9}  {w.reason}")


def _cmd_ecg(args: argparse.Namespace) -> int:
    try:
        ch = _read(args, "ecg", args.channel)
        result = ecg_hr.estimate_heart_rate(ch.samples, ch.fs, adc_bits=ch.adc_bits, adc_offset=ch.adc_offset)
    except (CsvFormatError, WaveformReadError, ValueError) as exc:
        return _fail("ecg", _error_text(exc))
    if args.json:
        _emit({"channel": ch.name, "record": ch.record, **result.model_dump(mode="json")})
        return 0
    hr = "none" if result.hr_bpm is None else f"{result.hr_bpm:.0f} bpm"
    print(_signal_line(ch))
    rhythm = f", rhythm {result.rhythm}" if result.rhythm else ""
    print(f"Heart rate: {hr} ({result.reason}{rhythm}); {len(result.r_peaks_s)} R-peaks; SQI {result.sqi}")
    _print_windows(result.windows)
    return 0


def _cmd_hr(args: argparse.Namespace) -> int:
    try:
        p = _read(args, "ppg", args.ppg_channel)
        e = _read(args, "ecg", args.ecg_channel)
        pr = estimate_heart_rate(p.samples, p.fs, PpgConfig(), adc_bits=p.adc_bits, adc_offset=p.adc_offset)
        er = ecg_hr.estimate_heart_rate(e.samples, e.fs, adc_bits=e.adc_bits, adc_offset=e.adc_offset)
    except (CsvFormatError, WaveformReadError, ValueError) as exc:
        return _fail("hr", _error_text(exc))
    fused = fuse(er.windows, pr.windows)
    suppressed = [(f.start_s, s) for f in fused for s in f.suppressed]
    if args.json:
        _emit({"record": p.record, "ppg_channel": p.name, "ecg_channel": e.name, "ppg_hr_bpm": pr.hr_bpm,
               "ecg_hr_bpm": er.hr_bpm, "windows": [f.model_dump(mode="json") for f in fused],
               "suppressed": [{"start_s": t, "claim": s} for t, s in suppressed]})
        return 0
    print(f"{_signal_line(p)}\n{_signal_line(e)}")
    print(f"PPG {pr.hr_bpm and round(pr.hr_bpm)} bpm (SQI {pr.sqi}), ECG {er.hr_bpm and round(er.hr_bpm)} bpm "
          f"(SQI {er.sqi}); {len(suppressed)} single-source alarm claims suppressed")
    for f in fused:
        value = "   -" if f.hr_bpm is None else f"{f.hr_bpm:4.0f}"
        note = "; ".join(f.suppressed) or ("sources disagree" if f.disagree else "")
        print(f"  {f.start_s:7.1f}-{f.end_s:7.1f} s  {value}  {f.source or 'none':<4}  {note}")
    return 0


# --- parser wiring ---------------------------------------------------------


def _add(
    sub: SubParsers[argparse.ArgumentParser], name: str, summary: str, func: Handler
) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=summary)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=func)
    return p


def add_parser(subparsers: SubParsers[argparse.ArgumentParser]) -> None:
    """Add ``score`` with sub-commands news2, cgm and ppg to an argparse tree."""
    score = subparsers.add_parser(
        "score",
        help="clinical scores: NEWS2, CGM metrics, PPG/ECG heart rate",
        description="Clinical scoring (pure computation, no network or database).",
    )
    sub = score.add_subparsers(dest="score_command", metavar="{news2,cgm,ppg,ecg,hr}", required=True)

    n = _add(sub, "news2", "NEWS2 (RCP 2017) from one set of observations", _cmd_news2)
    n.add_argument("--rr", type=float, help="respiration rate, breaths/min")
    n.add_argument("--spo2", type=float, help="SpO2, %%")
    n.add_argument(
        "--o2", type=str.lower, choices=[o.value for o in OxygenDelivery], help="air or oxygen"
    )
    n.add_argument("--sbp", type=float, help="systolic blood pressure, mmHg")
    n.add_argument("--hr", type=float, help="pulse, beats/min")
    n.add_argument(
        "--acvpu", type=str.upper, choices=[a.value for a in ACVPU], help="A, C (new), V, P or U"
    )
    n.add_argument("--temp", type=float, help="temperature, degC")
    n.add_argument(
        "--scale", type=int, choices=[1, 2], default=1,
        help="SpO2 scale; 2 only for confirmed hypercapnic respiratory failure (target 88-92%%)",
    )  # fmt: skip

    c = _add(sub, "cgm", "CGM consensus metrics (Battelino 2019) from a CSV", _cmd_cgm)
    c.add_argument(
        "file", help="CSV with a time column (ISO 8601, naive = UTC, or epoch), a glucose column (Low/High "
        "markers accepted) and optionally a subject id column (research id,time,gl files)"
    )
    c.add_argument(
        "--unit", choices=["mg/dL", "mmol/L"],
        help="glucose unit; default: header hint, else mmol/L if all values < 35",
    )  # fmt: skip
    c.add_argument("--interval", type=float, default=5.0, help="expected minutes between readings")
    c.add_argument("--id", help="only this subject of a multi-subject file (id column)")
    c.add_argument("--series", action="store_true",
                   help="per reading: trend, 30-min prediction and predicted low as a live app showed them")

    def waveform_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("file", help="WFDB record (NAME or NAME.hea) or CSV (one column, or pick one by name)")
        q.add_argument("--fs", type=float, help="sampling rate, Hz (required for CSV; WFDB headers carry it)")
        q.add_argument("--adc-bits", type=int, choices=range(8, 25), metavar="8-24",
                       help="ADC resolution, for exact wraparound/clipping (WFDB headers carry it)")

    p = _add(sub, "ppg", "heart rate and signal quality from a PPG (8 s windows, 2 s step)", _cmd_ppg)
    waveform_args(p)
    p.add_argument("--channel", help="WFDB signal name or CSV column (default: PLETH/PPG)")
    p.add_argument("--column", help=argparse.SUPPRESS)  # older spelling of --channel
    e = _add(sub, "ecg", "heart rate from ECG R-peaks (8 s windows, 2 s step)", _cmd_ecg)
    waveform_args(e)
    e.add_argument("--channel", help="WFDB signal name or CSV column (default: II, MLII, ECG, I, V...)")
    h = _add(sub, "hr", "PPG and ECG heart rate fused: one bad source's brady/tachy/asystole suppressed", _cmd_hr)
    waveform_args(h)
    h.add_argument("--ppg-channel", help="PPG signal/column (default: PLETH/PPG)")
    h.add_argument("--ecg-channel", help="ECG signal/column (default: II, MLII, ECG...)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rpm", description="Remote patient monitoring tools")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Standalone entry: ``main(["score", "news2", "--rr", "21", ...])``."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler: Handler = args.func
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
