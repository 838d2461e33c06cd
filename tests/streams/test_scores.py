"""NEWS2 from windows (sepsis drift through the bands), glucose, waveforms, signal loss."""

from __future__ import annotations

import math

import numpy as np

from tests.streams.helpers import T0, Patient, at, r, wobble
from wire.messages import DeviceKind, WaveformKind, WaveformSnippet
from wire.units import ReadingType as RT

HR, SPO2, RR, TEMP, SBP, O2, ACVPU, GLU = (RT.HEART_RATE, RT.SPO2, RT.RESP_RATE, RT.TEMPERATURE, RT.BP_SYSTOLIC,
                                            RT.SUPPLEMENTAL_O2, RT.CONSCIOUSNESS, RT.GLUCOSE)


def sepsis_minute(m: int, hours: float) -> list:  # type: ignore[type-arg]
    """Vitals drifting over ``hours`` from normal to septic (RR, HR, temp up; SpO2, SBP down)."""
    f = min(1.0, m / (hours * 60))
    rs = []
    for i in range(0, 60, 2):
        s = m * 60 + i
        rs += [r(HR, s, 78 + 52 * f + wobble(i, 2)), r(RR, s, 15 + 14 * f + wobble(i)),
               r(SPO2, s, 97 - 7 * f + wobble(i, 0.5))]
    if m % 15 == 0:
        rs += [r(SBP, m * 60 + 30, 124 - 36 * f), r(TEMP, m * 60 + 30, 37.0 + 2.3 * f)]
    if m % 30 == 0:
        rs += [r(O2, m * 60 + 30, 0), r(ACVPU, m * 60 + 30, 0 if f < 0.8 else 1)]
    return rs


def test_sepsis_drift_rises_through_the_news2_bands() -> None:
    p = Patient()
    for m in range(181):
        p.feed(sepsis_minute(m, 2.5), received=m * 60 + 61)
    scores = p.scores("news2")
    assert len(scores) == 180
    bands = [s.band for s in scores if s.complete]
    firsts = [bands.index(b) for b in ("low", "medium", "high")]
    assert firsts == sorted(firsts) and scores[0].total == 0 and scores[-1].total >= 12
    assert all(a.total <= b.total + 1 for a, b in zip(scores, scores[1:]))  # rises, small noise at edges
    rules = [c.rule for c in p.candidates if c.status.value == "firing"]
    assert rules.index("news2_medium") < rules.index("news2_high")
    medium = next(c for c in p.candidates if c.rule == "news2_medium")
    assert medium.evidence["complete"] == "true" and medium.priority.value == "medium"
    last = scores[-1]
    assert last.inputs["pulse"] > 125 and last.consciousness == 3 and last.missing == ()


def test_news2_incomplete_says_so_and_uses_5_min_median() -> None:
    p = Patient()
    for m in range(3):
        p.feed([r(HR, m * 60 + i, 95 + wobble(i)) for i in range(60)] + [r(RR, m * 60 + i, 21) for i in range(0, 60, 4)])
    p.feed([r(HR, 191, 95)])
    s = p.scores("news2")[-1]
    assert not s.complete and set(s.missing) == {"spo2", "air_or_oxygen", "systolic_bp", "consciousness", "temperature"}
    assert (s.pulse, s.resp_rate, s.total) == (1, 2, 3) and s.inputs["pulse"] == 95
    assert [c for c in p.candidates if c.rule.startswith("news2")] == []


def test_scale_2_from_the_batch_scores_spo2_on_scale_2() -> None:
    p = Patient()
    rs = [x for i in range(0, 60, 2) for x in (r(HR, i, 80 + wobble(i)), r(SPO2, i, 89 + wobble(i, 0.5)),
                                              r(RR, i, 16 + wobble(i)))]
    p.feed(rs + [r(O2, 1, 1)], scale=2)
    p.feed([r(HR, 71, 80), r(SPO2, 71, 89), r(RR, 71, 16)])
    s = p.scores("news2")[-1]
    assert (s.spo2_scale, s.spo2, s.air_or_oxygen) == (2, 0, 2)


def falling_glucose(p: Patient, start: float, slope: float, minutes: int) -> None:
    for k in range(0, minutes, 5):
        p.feed([r(GLU, k * 60, max(40.0, start + slope * k))], kind=DeviceKind.CGM)


def test_hypoglycaemia_predicted_low_comes_before_urgent_low() -> None:
    p = Patient()
    falling_glucose(p, 160, -1.5, 130)
    firing = [(c.rule, c.window_start) for c in p.candidates if c.status.value == "firing"]
    first = {rule: t for rule, t in reversed(firing)}
    assert first["glucose_predicted_low"] < first["glucose_low"] < first["glucose_urgent_low"]
    trend = next(s for s in p.scores("glucose_trend") if s.mg_dl < 120)
    assert trend.trend == "falling_slowly" and trend.rate_mg_dl_min == -1.5
    assert trend.predicted_30_mg_dl is not None and trend.predicted_30_mg_dl < trend.mg_dl
    urgent = next(c for c in p.candidates if c.rule == "glucose_urgent_low")
    assert urgent.priority.value == "high" and urgent.evidence["level"] == 2


def test_daily_glucose_metrics_once_per_local_day() -> None:
    p = Patient()
    # Local day (UTC+7) 2026-03-02 runs from 2026-03-01T17:00Z; T0 is 08:00Z on 03-02.
    for k in range(0, 24 * 60, 5):
        p.feed([r(GLU, k * 60 - 15 * 3600, 100 + 100 * (k % 60 >= 50))], kind=DeviceKind.CGM)
    p.tick(9 * 3600 + 3600)
    p.tick(9 * 3600 + 7200)
    (d,) = p.scores("glucose_daily")
    assert d.period_start == at(-15 * 3600) and d.n_samples == 288 and d.coverage_pct == 100.0
    assert math.isclose(d.above_180_pct, 100 * 2 / 12) and math.isclose(d.mean_mg_dl, 100 + 100 * 2 / 12)


def ppg(hr: float, fs: float, seconds: float, noise: float = 0.0, seed: int = 1) -> tuple[float, ...]:
    t = np.arange(int(fs * seconds)) / fs
    x = np.sin(2 * np.pi * hr / 60 * t) + 0.3 * np.sin(4 * np.pi * hr / 60 * t + 0.5)
    x += np.random.default_rng(seed).normal(0, noise, t.size)
    return tuple(float(v) for v in x)


def test_ppg_snippet_gives_heart_rate_and_noise_gives_none() -> None:
    p = Patient()
    good = WaveformSnippet(kind=WaveformKind.PPG, t=T0, fs_hz=50, samples=ppg(72, 50, 20))
    bad = WaveformSnippet(kind=WaveformKind.PPG, t=at(30), fs_hz=50, samples=ppg(72, 50, 20, noise=3.0))
    from tests.streams.helpers import batch

    p.send(batch(1, [], device="wear-1").model_copy(update={"waveforms": (good, bad)}))
    ok, poor = p.scores("waveform_hr")
    assert ok.hr_bpm is not None and abs(ok.hr_bpm - 72) < 2 and poor.hr_bpm is None
    p.tick(200)
    (w,) = p.windows(HR)  # one sample per usable 8-s window (2-s step) of the good snippet only
    assert w.count == 7 and abs(w.median - 72) < 2


def test_a_slow_bedside_feed_is_judged_by_its_own_cadence_a_1_hz_monitor_after_an_outage_by_10_s() -> None:
    p = Patient()  # an HL7 gateway delivering a bed's numerics once a minute
    for k in range(4):
        p.feed([r(HR, 60 * k, 80)], kind=DeviceKind.BEDSIDE_MONITOR, received=60 * k)
        if k:  # once the cadence is known, silence counts from three missed deliveries
            assert p.tick(60 * k + 59).candidates == []
    assert p.tick(180 + 179).candidates == [] and len(p.tick(180 + 180).candidates) == 1
    q = Patient()  # a 1-Hz monitor: one 5-min outage among 1-s gaps leaves its timeout at 10 s
    for s in [*range(0, 20), *range(320, 340)]:
        q.feed([r(HR, s, 80)], kind=DeviceKind.BEDSIDE_MONITOR, received=s)
    assert q.tick(348.9).candidates == [] and [c.threshold for c in q.tick(349).candidates] == [10]


def test_signal_loss_fires_per_device_kind_and_clears_on_data() -> None:
    p = Patient()
    p.feed([r(HR, 0, 80)], kind=DeviceKind.BEDSIDE_MONITOR, received=0)
    p.feed([r(HR, 0, 80)], kind=DeviceKind.WEARABLE, device="wear-1", received=0)
    p.feed([r(GLU, 0, 110)], kind=DeviceKind.CGM, received=0)
    assert p.tick(9.9).candidates == []
    (c,) = p.tick(10).candidates  # a bedside monitor: 10 s, "no signal, check patient"
    assert (c.rule, c.status.value, c.quality.device_kind, c.threshold, c.priority.value) == (
        "monitor_no_signal", "firing", "bedside_monitor", 10, "medium")
    assert c.message.endswith("check patient")
    assert p.tick(30).candidates == []  # at most once a minute
    assert [x.rule for x in p.tick(65).candidates] == ["monitor_no_signal"]
    assert [x for x in p.tick(299).candidates if x.quality.device_kind == "wearable"] == []
    (wear,) = [x for x in p.tick(300).candidates if x.quality.device_kind == "wearable"]  # home: 5 min
    assert wear.rule == "signal_loss" and wear.threshold == 300
    (cgm,) = [x for x in p.tick(20 * 60 + 1).candidates if x.quality.device_kind == "cgm"]
    assert cgm.rule == "signal_loss"
    (clear,) = p.feed([r(HR, 1300, 80)], kind=DeviceKind.BEDSIDE_MONITOR, received=1300).candidates
    assert clear.status.value == "clear" and clear.quality.device_kind == "bedside_monitor"
    assert clear.rule == "monitor_no_signal"
    assert len({x.id for x in p.candidates}) == len(p.candidates)
