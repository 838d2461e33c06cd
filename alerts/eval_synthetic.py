"""A synthetic labelled scenario: the candidate stream a ward's stream workers would emit, with ground truth.

Stands in for the simulator's labelled scenarios until they run through the
pipeline (then ``rpm eval alarms`` reads their files instead). Evaluations
every 5 s (point evaluations: the value of that instant), ``firing`` while a
condition holds and three ``clear`` evaluations after it stops, as the
stream contract says. Per patient-day, by default:

- 12 short non-actionable excursions (SpO2, HR, RR): log-normal duration,
  median 12 s (Görges et al. 2009 measured a median alarm duration of 17 s,
  most of them self-correcting and ignored);
- 6 motion artifacts of 5-45 s (SpO2 dips 4-15 points, erratic pulse), each
  sample flagged by the device with probability 0.5 (the simulator's
  defaults, ``firmware_sim/faults.py``);
- 1 probe-off of 20-300 s: a ``sensor_off`` technical condition, in half of
  them with garbage SpO2 values that the device flags;
- labelled clinical events: respiratory deterioration (2 h ramp, values
  hovering around the limits with measurement noise before settling
  beyond them, NEWS2 rising) and tachyarrhythmia (HR ~150/min for 20 min).

Thresholds as the streams apply them: SpO2 < 90 %, HR > 130/min, RR > 24/min.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alerts.eval_labels import LabelledEvent, ScenarioLabels
from wire.messages import AlertCandidate, CandidateQuality, CandidateStatus, Priority
from wire.rules import CATALOG, Rule

STEP_S = 5
CLEAR_EVALS = 3
LIMITS = {Rule.SPO2_LOW: 90.0, Rule.HEART_RATE_HIGH: 130.0, Rule.RESP_RATE_HIGH: 24.0}
BASE = {Rule.SPO2_LOW: 97.0, Rule.HEART_RATE_HIGH: 78.0, Rule.RESP_RATE_HIGH: 16.0}
BELOW = {Rule.SPO2_LOW}


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    patients: int = 24
    days: float = 2.0
    seed: int = 7
    transients_per_day: float = 12.0
    artifacts_per_day: float = 6.0
    probe_offs_per_day: float = 1.0
    deteriorations_per_100_days: float = 6.0
    arrhythmias_per_100_days: float = 4.0
    start: datetime = datetime(2025, 3, 1, tzinfo=UTC)


@dataclass
class Sample:
    firing: bool
    severity: float
    value: float
    flagged: int = 0  # of 5 samples


@dataclass
class Timeline:
    """Per (patient, rule): what each 5 s tick shows; several sources merge (worst wins)."""

    ticks: dict[int, Sample] = field(default_factory=dict)

    def put(self, tick: int, s: Sample) -> None:
        old = self.ticks.get(tick)
        if old is None or (s.firing and (not old.firing or s.severity > old.severity)):
            if old is not None and old.firing and s.firing:
                s.flagged = min(s.flagged, old.flagged)  # a real sample in the same tick is not an artifact
            self.ticks[tick] = s


def _beyond(rule: Rule, value: float) -> float:
    return LIMITS[rule] - value if rule in BELOW else value - LIMITS[rule]


def _sample(rule: Rule, value: float, flagged: int = 0) -> Sample:
    d = _beyond(rule, value)
    return Sample(d > 0, max(d, 0.0), round(value, 1), flagged)


def generate(spec: SyntheticSpec = SyntheticSpec()) -> tuple[list[AlertCandidate], ScenarioLabels]:
    rng = random.Random(spec.seed)
    horizon = int(spec.days * 86400 / STEP_S)
    patients = [f"S{i:03d}" for i in range(1, spec.patients + 1)]
    lines: dict[tuple[str, Rule], Timeline] = {}
    events: list[LabelledEvent] = []

    def line(p: str, r: Rule) -> Timeline:
        return lines.setdefault((p, r), Timeline())

    def poisson_starts(rate_per_day: float) -> list[int]:
        n = _poisson(rng, rate_per_day * spec.days)
        return sorted(rng.randrange(horizon) for _ in range(n))

    for p in patients:
        for t0 in poisson_starts(spec.transients_per_day):  # non-actionable excursions
            rule = rng.choices([Rule.SPO2_LOW, Rule.HEART_RATE_HIGH, Rule.RESP_RATE_HIGH], [0.5, 0.25, 0.25])[0]
            dur = min(300.0, max(3.0, rng.lognormvariate(math.log(12.0), 0.8)))
            depth = rng.expovariate(1 / {Rule.SPO2_LOW: 2.5, Rule.HEART_RATE_HIGH: 8.0, Rule.RESP_RATE_HIGH: 3.0}[rule])
            depth *= 3 if rng.random() < 0.1 else 1
            for k in range(max(1, int(dur // STEP_S))):
                v = LIMITS[rule] + (-1 if rule in BELOW else 1) * max(0.5, depth * rng.uniform(0.6, 1.2))
                line(p, rule).put(t0 + k, _sample(rule, v))
        for t0 in poisson_starts(spec.artifacts_per_day):  # motion artifacts
            dur, dip = rng.uniform(5, 45), rng.uniform(4, 15)
            for k in range(max(1, int(dur // STEP_S))):
                flagged = sum(rng.random() < 0.5 for _ in range(5))
                value = BASE[Rule.SPO2_LOW] - dip * rng.uniform(0.5, 1.1)
                line(p, Rule.SPO2_LOW).put(t0 + k, _sample(Rule.SPO2_LOW, value, flagged))
                if rng.random() < 0.3:
                    erratic = _sample(Rule.HEART_RATE_HIGH, rng.uniform(120, 170), flagged)
                    line(p, Rule.HEART_RATE_HIGH).put(t0 + k, erratic)
        for t0 in poisson_starts(spec.probe_offs_per_day):  # probe off: technical, garbage values flagged
            garbage = rng.random() < 0.5
            for k in range(max(1, int(rng.uniform(20, 300) // STEP_S))):
                line(p, Rule.SENSOR_OFF).put(t0 + k, Sample(True, 1.0, 1.0))
                if garbage:
                    line(p, Rule.SPO2_LOW).put(t0 + k, _sample(Rule.SPO2_LOW, rng.uniform(50, 85), 5))

    patient_days = spec.patients * spec.days
    for _ in range(max(1, round(patient_days * spec.deteriorations_per_100_days / 100))):
        p, t0 = rng.choice(patients), rng.randrange(int(horizon * 0.7))
        events.append(_deterioration(rng, p, t0, horizon, spec.start, line))
    for _ in range(max(1, round(patient_days * spec.arrhythmias_per_100_days / 100))):
        p, t0 = rng.choice(patients), rng.randrange(int(horizon * 0.9))
        end = min(horizon, t0 + 20 * 60 // STEP_S)
        for k in range(t0, end):
            line(p, Rule.HEART_RATE_HIGH).put(k, _sample(Rule.HEART_RATE_HIGH, rng.gauss(150, 12)))
        events.append(LabelledEvent(patient_id=p, kind="clinical", condition="tachyarrhythmia",
                                    start=_at(spec.start, t0), end=_at(spec.start, end), rules=("heart_rate_high",)))

    cands = [c for (p, r), tl in sorted(lines.items()) for c in _emit(p, r, tl, spec.start)]
    cands.sort(key=lambda c: (c.window_end, c.patient_id, c.rule))
    labels = ScenarioLabels(scenario="synthetic-ward", start=spec.start, end=_at(spec.start, horizon),
                            patients=tuple(patients), events=tuple(sorted(events, key=lambda e: e.start)))
    return cands, labels


def _deterioration(
    rng: random.Random, p: str, t0: int, horizon: int, start: datetime, line: Callable[[str, Rule], Timeline]
) -> LabelledEvent:
    ramp, hold, recover = 2 * 3600 // STEP_S, 2 * 3600 // STEP_S, 2 * 3600 // STEP_S
    end = min(horizon, t0 + ramp + hold + recover)
    for k in range(t0, end):
        x = k - t0
        lvl = _smooth(x / ramp) if x < ramp else 1.0 if x < ramp + hold else 1.0 - _smooth((x - ramp - hold) / recover)
        line(p, Rule.SPO2_LOW).put(k, _sample(Rule.SPO2_LOW, 97 - 10.5 * lvl + rng.gauss(0, 1.2)))
        line(p, Rule.RESP_RATE_HIGH).put(k, _sample(Rule.RESP_RATE_HIGH, 16 + 13 * lvl + rng.gauss(0, 1.5)))
        if x % (60 // STEP_S) == 0:  # NEWS2 from the minute's vitals
            line(p, Rule.NEWS2_MEDIUM).put(k, Sample(0.55 <= lvl < 0.85, 1.0, 5.0))
            line(p, Rule.NEWS2_HIGH).put(k, Sample(lvl >= 0.85, 1.0, 7.0))
    return LabelledEvent(patient_id=p, kind="clinical", condition="respiratory_deterioration", start=_at(start, t0),
                         end=_at(start, end),
                         rules=("spo2_low", "resp_rate_high", "heart_rate_high", "news2_medium", "news2_high"))


def _emit(p: str, rule: Rule, tl: Timeline, start: datetime) -> list[AlertCandidate]:
    out: list[AlertCandidate] = []
    last_firing: int | None = None
    ticks = sorted(tl.ticks)
    cadence = 60 // STEP_S if rule in (Rule.NEWS2_MEDIUM, Rule.NEWS2_HIGH) else 1
    emit_at: list[tuple[int, Sample | None]] = []
    for k in ticks:
        s = tl.ticks[k]
        if s.firing:
            if last_firing is not None:
                # Clear evaluations between firing runs (the stream says "clear" after it stopped).
                gap = [last_firing + cadence * i for i in range(1, CLEAR_EVALS + 1) if last_firing + cadence * i < k]
                emit_at += [(g, None) for g in gap]
            emit_at.append((k, s))
            last_firing = k
    if last_firing is not None:
        emit_at += [(last_firing + cadence * i, None) for i in range(1, CLEAR_EVALS + 1)]
    for k, smp in emit_at:
        t = _at(start, k)
        firing = smp is not None
        quality = CandidateQuality(samples=5 - smp.flagged, rejected=smp.flagged) if smp else CandidateQuality()
        out.append(AlertCandidate(
            id=AlertCandidate.make_id(p, rule.value, t), patient_id=p, rule=rule.value,
            status=CandidateStatus.FIRING if firing else CandidateStatus.CLEAR,
            severity=round(smp.severity, 2) if smp else 0.0, device_id=f"dev-{p}",
            priority=CATALOG[rule].priority if rule is not Rule.SPO2_LOW else Priority.HIGH,
            value=smp.value if smp else None, threshold=LIMITS.get(rule), window_start=t, window_end=t, detected_at=t,
            message=f"{rule.value} {'firing' if firing else 'clear'}", quality=quality,
        ))
    return out


def _at(start: datetime, tick: int) -> datetime:
    return start + timedelta(seconds=tick * STEP_S)


def _smooth(x: float) -> float:
    return x * x * (3.0 - 2.0 * x)


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method is fine for the small means used here.
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k
