"""CGM analytics per patient as readings arrive (pure; uses streams.glucose*).

At each new reading: rate of change (15-min least squares) and trend arrow,
linear predictions 20 and 30 minutes ahead and the predicted-low check
(streams.glucose), then the consensus episodes (streams.glucose_episodes,
>= 15 min beyond 54/70/180/250 mg/dL) over the last hours. A candidate fires
at every reading while an episode is ongoing (level 2 low = urgent low), or
while a low is predicted and no level-1 hypo is established yet; it clears
once when that stops. Daily consensus metrics are emitted once per local day
after the day ended plus a grace period for late CGM uploads.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import timedelta

from streams import stats
from streams.candidates import FIRING, Outputs, candidate, transition
from streams.config import CoreConfig
from streams.glucose import (
    GlucoseSample,
    glucose_metrics,
    predict_glucose,
    predicted_low,
    rate_of_change,
    trend_arrow,
)
from streams.glucose_episodes import EpisodeKind, GlucoseEpisode, consensus_episodes
from streams.state import NEVER, History
from wire.derived import GlucoseDaily, GlucoseTrend
from wire.messages import CandidateQuality
from wire.rules import Rule
from wire.units import ReadingType

DAY_MS = 24 * 3600 * 1000
EPISODE_RULE: dict[tuple[EpisodeKind, int], Rule] = {
    (EpisodeKind.HYPO, 2): Rule.GLUCOSE_URGENT_LOW,
    (EpisodeKind.HYPO, 1): Rule.GLUCOSE_LOW,
    (EpisodeKind.HYPER, 1): Rule.GLUCOSE_HIGH,
    (EpisodeKind.HYPER, 2): Rule.GLUCOSE_URGENT_HIGH,
}
RULE_ORDER = (Rule.GLUCOSE_URGENT_LOW, Rule.GLUCOSE_LOW, Rule.GLUCOSE_PREDICTED_LOW,
              Rule.GLUCOSE_HIGH, Rule.GLUCOSE_URGENT_HIGH)


def add_readings(pid: str, hist: History, new: list[tuple[int, float]], cfg: CoreConfig, out: Outputs) -> None:
    g = hist.glucose
    added: list[int] = []
    for t, v in new:
        i = bisect_left(g.t, t)
        if i < len(g.t) and g.t[i] == t:
            continue  # the same instant from another message: already have it
        g.t.insert(i, t)
        g.v.insert(i, v)
        added.append(t)
    if not added:
        return
    horizon = g.t[-1] - cfg.glucose_history_ms
    cut = bisect_left(g.t, horizon)
    del g.t[:cut], g.v[:cut]
    out.hist_dirty = True
    at = max(added)
    if at >= horizon:
        _evaluate(pid, hist, at, cfg, out)


def _evaluate(pid: str, hist: History, at_ms: int, cfg: CoreConfig, out: Outputs) -> None:
    g = hist.glucose
    lo = bisect_left(g.t, at_ms - cfg.glucose_episode_lookback_ms)
    hi = bisect_left(g.t, at_ms) + 1
    samples = [GlucoseSample(at=stats.to_dt(t), mg_dl=v) for t, v in zip(g.t[lo:hi], g.v[lo:hi], strict=True)]
    at = stats.to_dt(at_ms)
    now_value = g.v[hi - 1]
    rate = rate_of_change(samples, at)
    p20 = predict_glucose(samples, at, timedelta(minutes=20))
    p30 = predict_glucose(samples, at, timedelta(minutes=30))
    low_soon = predicted_low(samples, at)
    out.scores.append(GlucoseTrend(
        at=at, mg_dl=now_value, rate_mg_dl_min=rate, trend=None if rate is None else trend_arrow(rate).value,
        predicted_20_mg_dl=p20, predicted_30_mg_dl=p30, predicted_low=low_soon,
    ))
    interval = timedelta(seconds=cfg.glucose_interval_s)
    ongoing: dict[Rule, GlucoseEpisode] = {
        EPISODE_RULE[(e.kind, e.level)]: e
        for e in consensus_episodes(samples, interval=interval) if e.status == "ongoing"
    }
    window = (int(samples[0].at.timestamp() * 1000), at_ms)
    for rule in RULE_ORDER:
        if rule is Rule.GLUCOSE_PREDICTED_LOW:
            holds = low_soon is True and Rule.GLUCOSE_LOW not in ongoing
        else:
            holds = rule in ongoing
        status = transition(g.firing, rule, holds)
        if status is None:
            continue
        evidence: dict[str, float | int | str] = {"mg_dl": now_value}
        if rate is not None:
            evidence["rate_mg_dl_min"] = rate
        if rule is Rule.GLUCOSE_PREDICTED_LOW:
            predicted = min(x for x in (p20, p30, now_value) if x is not None)
            threshold, value = 70.0, predicted
            evidence.update({"predicted_20_mg_dl": p20 or 0.0, "predicted_30_mg_dl": p30 or 0.0})
            msg = f"glucose {now_value:g} mg/dL predicted below 70 within 30 min ({p30} at 30 min)"
        elif rule in ongoing:
            e = ongoing[rule]
            threshold, value = e.threshold, now_value
            evidence.update({"episode_start": e.start.isoformat(), "extreme_mg_dl": e.extreme_mg_dl, "level": e.level})
            msg = f"glucose {now_value:g} mg/dL: level {e.level} {e.kind.value} since {e.start:%H:%M} UTC"
        else:
            threshold, value = 0.0, now_value
            msg = f"glucose {now_value:g} mg/dL: {rule.value} ended"
        severity = abs(threshold - value) if status is FIRING else 0.0
        if status is FIRING and rule in (Rule.GLUCOSE_HIGH, Rule.GLUCOSE_URGENT_HIGH):
            severity = max(0.0, value - threshold)
        elif status is FIRING:
            severity = max(0.0, threshold - value)
        out.candidates.append(candidate(
            pid, rule, status, (at_ms, at_ms + int(cfg.glucose_interval_s * 1000)), at_ms, msg,
            parameter=ReadingType.GLUCOSE, value=value, threshold=threshold or None, severity=severity,
            evidence={**evidence, "window_start": stats.to_dt(window[0]).isoformat()},
            quality=CandidateQuality(samples=len(samples)),
        ))


def close_days(hist: History, clock_ms: int, cfg: CoreConfig, out: Outputs) -> None:
    """Emit consensus metrics for each local day that ended before ``clock_ms - grace``."""
    g = hist.glucose
    if not g.t:
        return
    off = cfg.glucose_day_utc_offset_ms
    first = max(g.days_done_ms, g.t[0]) if g.days_done_ms != NEVER else g.t[0]
    day = (first + off) // DAY_MS * DAY_MS - off
    while day + DAY_MS + cfg.glucose_day_grace_ms <= clock_ms:
        lo, hi = bisect_left(g.t, day), bisect_left(g.t, day + DAY_MS)
        if lo < hi:
            m = glucose_metrics(
                [GlucoseSample(at=stats.to_dt(t), mg_dl=v) for t, v in zip(g.t[lo:hi], g.v[lo:hi], strict=True)],
                interval=timedelta(seconds=cfg.glucose_interval_s),
                start=stats.to_dt(day), end=stats.to_dt(day + DAY_MS),
            )
            out.scores.append(GlucoseDaily(period_start=m.start, period_end=m.end,
                                           **m.model_dump(exclude={"start", "end"})))
        g.days_done_ms = day + DAY_MS
        out.hist_dirty = True
        if hi >= len(g.t):
            break
        day = (g.t[hi] + off) // DAY_MS * DAY_MS - off  # skip days without data
