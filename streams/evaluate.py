"""Rules evaluated when a minute closes: limits of spot vitals and NEWS2 (pure).

Limits of continuously monitored vitals with a sliding-path onset delay in
wire.rules.CATALOG are decided sample by sample in streams.sliding_alarms.

Limits use the 1-minute median of accepted samples (robust to what the
artifact filters missed). NEWS2 uses, per parameter, the latest valid
observation: for monitored vitals the median of the accepted samples of the
last 5 minutes, stamped with the time of the newest of them; for spot and
nurse-entered observations the latest value; each within its validity
period (streams.config), scored by streams.news2.score_news2 at the end of
the closed minute.
"""

from __future__ import annotations

from streams import stats
from streams.candidates import CLEAR, FIRING, Outputs, candidate, transition
from streams.config import CoreConfig
from streams.news2 import (
    ACVPU,
    ConsciousnessObservation,
    Measurement,
    News2Observations,
    OxygenDelivery,
    OxygenObservation,
    Parameter,
    round_half_up,
    score_news2,
)
from streams.state import History, VitalHistory
from streams.vitals import NEWS2_PARAMETER, VITALS, Direction, limits_for
from wire.derived import News2Score, WindowStats
from wire.messages import CandidateQuality
from wire.rules import Rule, sliding_delay_ms
from wire.units import ReadingType


def evaluate_limits(
    pid: str, vital: ReadingType, w: WindowStats, vh: VitalHistory, spo2_scale: int, detected_ms: int, out: Outputs
) -> None:
    spec = VITALS[vital]
    if w.median is None or w.count < spec.min_samples:
        return  # too little valid data: neither firing nor clear
    rounded = float(round_half_up(w.median, spec.decimals))
    window = (stats.to_ms(w.start), stats.to_ms(w.end))
    for lim in limits_for(vital, spo2_scale):
        if sliding_delay_ms(lim.rule) is not None:
            continue  # decided sample by sample (streams.sliding_alarms), not a minute later
        high = lim.direction is Direction.HIGH
        holds = rounded >= lim.fires_at if high else rounded <= lim.fires_at
        status = transition(vh.firing, lim.rule, holds)
        if status is None:
            continue
        word = "above" if high else "below"
        msg = (f"{vital.value} {w.median:g} {word} limit {lim.threshold:g} (1-min median)" if status is FIRING
               else f"{vital.value} back within limit {lim.threshold:g} (1-min median {w.median:g})")
        out.candidates.append(candidate(
            pid, lim.rule, status, window, detected_ms, msg, parameter=vital, value=w.median,
            threshold=lim.threshold, severity=abs(w.median - lim.threshold) if status is FIRING else 0.0,
            quality=CandidateQuality(samples=w.count, rejected=w.rejected),
            evidence={"min": w.min or 0.0, "max": w.max or 0.0, "quality": w.quality or 0.0, "window_s": w.length_s,
                      **({"spo2_scale": spo2_scale} if vital is ReadingType.SPO2 else {})},
        ))


def update_observation(hist: History, vital: ReadingType, end_ms: int, median_ms: int) -> None:
    """NEWS2 input of a monitored vital: median of accepted samples in [end - 5 min, end)."""
    param = NEWS2_PARAMETER[vital]
    vh = hist.vitals[vital.value]
    recent = [m for m in vh.minutes if end_ms - median_ms <= m.start_ms < end_ms and m.s.n]
    if not recent:
        return
    total = stats.Summary()
    for m in recent:
        total = stats.merge(total, m.s)
    med = stats.median(total)
    if med is not None and total.n >= VITALS[vital].min_samples:
        hist.obs[param.value] = [med, float(max(m.last_ms for m in recent))]


def _observations(hist: History) -> News2Observations:
    fields: dict[str, object] = {"spo2_scale": 2 if hist.spo2_scale == 2 else 1}
    for param, (value, at_ms) in hist.obs.items():
        at = stats.to_dt(int(at_ms))
        if param == Parameter.AIR_OR_OXYGEN.value:
            fields[param] = OxygenObservation(value=OxygenDelivery.OXYGEN if value >= 1 else OxygenDelivery.AIR, at=at)
        elif param == Parameter.CONSCIOUSNESS.value:
            fields[param] = ConsciousnessObservation(value=list(ACVPU)[int(value)], at=at)
        else:
            fields[param] = Measurement(value=value, at=at)
    return News2Observations.model_validate(fields)


# Band rules; threshold = the highest total (or single-parameter score) still below the rule.
_BANDS: tuple[tuple[Rule, int], ...] = ((Rule.NEWS2_HIGH, 6), (Rule.NEWS2_MEDIUM, 4), (Rule.NEWS2_RED_FLAG, 2))


def score_minute(pid: str, hist: History, minute_ms: int, cfg: CoreConfig, out: Outputs) -> None:
    """Score NEWS2 at the end of the closed minute starting at ``minute_ms`` (once per minute)."""
    if minute_ms <= hist.news2_minute_ms:
        return
    hist.news2_minute_ms = minute_ms
    end_ms = minute_ms + stats.MINUTE_MS
    result = score_news2(_observations(hist), stats.to_dt(end_ms), cfg.news2_validity)
    subs = result.subscores.model_dump()
    out.scores.append(News2Score(
        scored_at=stats.to_dt(end_ms), total=result.total, **subs, red_flag=result.red_flag,
        red_flag_parameters=tuple(p.value for p in result.red_flag_parameters), band=result.band.value,
        monitoring_frequency=result.monitoring_frequency, clinical_response=result.clinical_response,
        spo2_scale=result.spo2_scale, complete=result.complete,
        missing=tuple(p.value for p in result.missing), stale=tuple(p.value for p in result.stale),
        indeterminate=tuple(p.value for p in result.indeterminate),
        inputs={p: float(v[0]) for p, v in hist.obs.items()},
    ))
    scored = sum(v is not None for v in subs.values())
    if scored < cfg.news2_min_scored:
        wanted: Rule | None = None  # one or two vitals are not a NEWS2 assessment; their own limits alarm
    elif result.total >= 7:
        wanted = Rule.NEWS2_HIGH
    elif result.total >= 5:
        wanted = Rule.NEWS2_MEDIUM
    else:
        wanted = Rule.NEWS2_RED_FLAG if result.red_flag else None
    window = (minute_ms - cfg.news2_median_ms + stats.MINUTE_MS, end_ms)
    prefix = "" if result.complete else "at least "
    evidence: dict[str, float | int | str] = {
        "total": result.total, "band": result.band.value, "complete": str(result.complete).lower(),
        "not_scored": ",".join(p.value for p in (*result.missing, *result.stale, *result.indeterminate)),
        **{f"score_{k}": v for k, v in subs.items() if v is not None},
        **{f"input_{p}": float(v[0]) for p, v in hist.obs.items()},
    }
    previous = hist.news2_firing
    if previous is not None and previous != (wanted.value if wanted else None):
        rule = Rule(previous)
        out.candidates.append(candidate(
            pid, rule, CLEAR, (minute_ms, end_ms), end_ms, f"NEWS2 {prefix}{result.total}: {rule.value} ended",
            value=float(result.total), threshold=float(dict(_BANDS)[rule]), evidence=evidence))
        hist.news2_firing = None
    if wanted is not None:
        threshold = dict(_BANDS)[wanted]
        value = 3.0 if wanted is Rule.NEWS2_RED_FLAG else float(result.total)
        out.candidates.append(candidate(
            pid, wanted, FIRING, window, end_ms,
            f"NEWS2 {prefix}{result.total} ({result.band.value}): {result.monitoring_frequency}",
            value=value, threshold=float(threshold), severity=value - threshold, evidence=evidence))
        hist.news2_firing = wanted.value
