"""`rpm eval cgm`: the predicted-low warning on real CGM traces, as a curve over the prediction threshold.

Per reading, the product's own model (``streams.glucose.predict_glucose``:
least-squares line over the last 20 min, extrapolated 30 min) gives the
line's value now and in 30 min. The predicted-low *state* at a reading is
``now < 70`` or ``in_30 < T and now <= max_current`` (T: the prediction
threshold swept here; the product uses T = 70 and max_current = 100,
``streams.glucose.predicted_low``).

- An *alarm* is a rising edge of that state at a reading >= 70 mg/dL (not
  already low), at most one per 30 min (a CGM app's re-alert interval).
- *PPV at 30 min*: share of alarms followed by a reading < 70 within 30 min.
- *Real low*: a consensus level-1 hypoglycaemia episode (< 70 mg/dL for >=
  15 min, Battelino 2019; ``streams.glucose_episodes``); its onset is its
  first reading < 70.
- *Warned >= 15 min ahead*: the state was on at some reading between 60 and
  15 min before onset (what the console showed; an alarm raised earlier that
  stayed on counts, a warning given less than 15 min ahead does not).

Targets (issue 15): PPV >= 30% with >= 80% of real lows warned >= 15 min
ahead. Input: CSV files readable by ``rpm score cgm`` (research multi-subject
``id,time,gl`` files included).
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from streams.clinical_csv import CsvFormatError, GlucoseUnit, read_cgm_subjects
from streams.glucose import (
    LOW,
    PREDICTED_LOW_MAX_CURRENT,
    GlucoseSample,
    predict_glucose,
)
from streams.glucose_episodes import EpisodeKind, consensus_episodes

HORIZON = timedelta(minutes=30)
FIT_WINDOW = timedelta(minutes=20)
REFRACTORY_S = 30 * 60
WARN_EARLIEST_S = 60 * 60
WARN_LATEST_S = 15 * 60
TARGET_PPV = 0.30
TARGET_WARNED = 0.80


@dataclass(frozen=True, slots=True)
class Trace:
    """One subject: reading times (epoch s), values, the line's value now / in 30 min, real-low onsets."""

    t: tuple[float, ...]
    v: tuple[float, ...]
    now: tuple[float | None, ...]
    later: tuple[float | None, ...]
    onsets: tuple[float, ...]
    days: float


def prepare(samples: tuple[GlucoseSample, ...]) -> Trace:
    ordered = sorted({s.at: s for s in samples}.values(), key=lambda s: s.at)
    t = [s.at.timestamp() for s in ordered]
    now: list[float | None] = []
    later: list[float | None] = []
    for i, s in enumerate(ordered):
        lo = bisect.bisect_left(t, t[i] - FIT_WINDOW.total_seconds())
        recent = ordered[lo : i + 1]  # the model only looks back 20 min: slice for speed
        now.append(predict_glucose(recent, s.at, timedelta(0)))
        later.append(predict_glucose(recent, s.at, HORIZON))
    onsets = tuple(e.start.timestamp() for e in consensus_episodes(ordered)
                   if e.kind is EpisodeKind.HYPO and e.level == 1)
    # Observed time: each reading stands for the interval to the next one, at most 30 min (longer is a gap).
    observed_s = sum(min(b - a, 1800.0) for a, b in pairwise(t)) + 300.0
    return Trace(t=tuple(t), v=tuple(s.mg_dl for s in ordered), now=tuple(now), later=tuple(later), onsets=onsets,
                 days=observed_s / 86400)


@dataclass(frozen=True, slots=True)
class Point:
    threshold: float
    max_current: float | None
    alarms: int
    true_alarms: int
    lows: int
    warned: int
    days: float

    def row(self) -> dict[str, float | int | None]:
        return {
            "threshold_mg_dl": self.threshold, "max_current_mg_dl": self.max_current, "alarms": self.alarms,
            "alarms_per_subject_day": round(self.alarms / self.days, 3) if self.days else None,
            "ppv_30_min": round(self.true_alarms / self.alarms, 4) if self.alarms else None,
            "lows": self.lows, "warned_15_min_ahead": round(self.warned / self.lows, 4) if self.lows else None,
        }


def evaluate(traces: list[Trace], threshold: float, max_current: float | None) -> Point:
    alarms = true_alarms = lows = warned = 0
    days = 0.0
    for tr in traces:
        days += tr.days
        state: list[bool] = []
        last_alarm = -1e18
        alarm_times: list[float] = []
        for i, (now, later) in enumerate(zip(tr.now, tr.later, strict=True)):
            on = now is not None and later is not None and (
                now < LOW or (later < threshold and (max_current is None or now <= max_current)))
            if on and not (state and state[-1]) and tr.v[i] >= LOW and tr.t[i] - last_alarm >= REFRACTORY_S:
                alarm_times.append(tr.t[i])
                last_alarm = tr.t[i]
            state.append(on)
        for a in alarm_times:
            lo = bisect.bisect_right(tr.t, a)
            hi = bisect.bisect_right(tr.t, a + HORIZON.total_seconds())
            true_alarms += any(v < LOW for v in tr.v[lo:hi])
        alarms += len(alarm_times)
        for onset in tr.onsets:
            lows += 1
            lo = bisect.bisect_left(tr.t, onset - WARN_EARLIEST_S)
            hi = bisect.bisect_right(tr.t, onset - WARN_LATEST_S)
            warned += any(state[lo:hi])
    return Point(threshold, max_current, alarms, true_alarms, lows, warned, days)


def add_parser(names: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = names.add_parser("cgm", help="predicted-low warning on real CGM traces: PPV vs lows warned, over thresholds",
                         description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", type=Path, help="CGM CSV files (id,time,gl research files or exports)")
    p.add_argument("--unit", choices=["mg/dL", "mmol/L"], help="glucose unit (default: detected per file)")
    p.add_argument("--thresholds", default="60,65,70,75,80,85,90",
                   help="comma-separated prediction thresholds, mg/dL (default 60..90)")
    p.add_argument("--json", action="store_true", help="print one JSON object only")
    p.set_defaults(func=run_cli)


def run_cli(a: argparse.Namespace) -> int:
    try:
        thresholds = [float(x) for x in a.thresholds.split(",") if x.strip()]
        traces: list[Trace] = []
        for f in a.files:
            unit: GlucoseUnit | None = a.unit
            subjects = read_cgm_subjects(f, unit)
            for n, s in enumerate(subjects, start=1):
                print(f"{f.name}: subject {n}/{len(subjects)} ({len(s.file.samples)} readings)", file=sys.stderr)
                traces.append(prepare(s.file.samples))
    except (CsvFormatError, ValueError) as exc:
        print(f"rpm eval cgm: error: {exc}", file=sys.stderr)
        return 2
    curve = [evaluate(traces, t, PREDICTED_LOW_MAX_CURRENT).row() for t in thresholds]
    product = evaluate(traces, LOW, PREDICTED_LOW_MAX_CURRENT).row()
    plain = evaluate(traces, LOW, None).row()
    ppv, warned = product["ppv_30_min"], product["warned_15_min_ahead"]
    result = {
        "subjects": len(traces), "subject_days": round(sum(t.days for t in traces), 1), "curve": curve,
        "product_rule": product, "without_current_limit": plain,
        "targets": {"ppv_30_min": TARGET_PPV, "warned_15_min_ahead": TARGET_WARNED},
        "targets_met": ppv is not None and warned is not None and ppv >= TARGET_PPV and warned >= TARGET_WARNED,
    }
    if a.json:
        print(json.dumps(result))
        return 0
    print(f"{result['subjects']} subjects, {result['subject_days']} subject-days of readings")
    print(f"{'threshold':>9} {'alarms':>7} {'/day':>6} {'PPV@30':>7} {'lows':>5} {'warned>=15min':>13}")
    for r in curve:
        print(f"{r['threshold_mg_dl']:>9g} {r['alarms']:>7} {r['alarms_per_subject_day']:>6} {r['ppv_30_min']!s:>7} "
              f"{r['lows']:>5} {r['warned_15_min_ahead']!s:>13}")
    print(f"product rule (T=70, current <= {PREDICTED_LOW_MAX_CURRENT:g}): PPV {ppv}, warned {warned}; "
          f"targets (PPV >= {TARGET_PPV}, warned >= {TARGET_WARNED}) met: {result['targets_met']}")
    print(f"without the current-value limit: PPV {plain['ppv_30_min']}, warned {plain['warned_15_min_ahead']}")
    return 0
