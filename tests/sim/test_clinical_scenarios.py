"""Each scenario's signals stay physiological and follow its labelled events."""

from __future__ import annotations

import statistics
from datetime import datetime

from firmware_sim import scenario as scenarios
from firmware_sim.labels import LabelCategory
from tests.sim.helpers import Run, run, with_devices
from wire.units import UNITS, ReadingType

H = 3600.0


def _window(series: list[tuple[float, float]], a: float, b: float) -> list[float]:
    return [v for t, v in series if a <= t < b]


def _assert_plausible(r: Run) -> None:
    """Every value a device sends lies in the wire contract's plausible range (zeros come only from probe-off)."""
    zeros_allowed = any(lb.type == "probe_off" and lb.detail.get("mode") == "zeros" for lb in r.engine.labels.labels)
    for rd in r.readings():
        spec = UNITS[ReadingType(rd["type"])]
        if rd["value"] == 0 and zeros_allowed:
            continue
        assert spec.plausible_min <= rd["value"] <= spec.plausible_max, rd


def _clinical(r: Run, kind: str) -> list:
    return [lb for lb in r.engine.labels.labels if lb.category is LabelCategory.CLINICAL and lb.type == kind]


def _offset(r: Run, when: datetime) -> float:
    return (when - r.plan.start).total_seconds()


def test_sepsis_drifts_news2_vitals_and_stable_patients_do_not() -> None:
    s = with_devices(scenarios.load("sepsis"), interval=30.0, nibp_every=900.0)
    r = run(s, 8 * H, patients=6)
    _assert_plausible(r)
    labels = _clinical(r, "sepsis")
    assert len(labels) == 2
    for lb in labels:
        dev = next(d.device_id for d in r.plan.devices if r.plan.patients[d.patient_index].patient_id == lb.patient_id)
        onset = _offset(r, lb.start)
        full = onset + lb.detail["ramp_s"]
        assert 30 * 60 <= onset <= 90 * 60
        before = {k: statistics.median(_window(r.series(dev, k), 0, onset)) for k in
                  ("heart_rate", "resp_rate", "temperature", "bp_systolic", "spo2")}
        after = {k: statistics.median(_window(r.series(dev, k), full - 1800, 8 * H)) for k in before}
        assert after["heart_rate"] - before["heart_rate"] >= 25
        assert after["resp_rate"] - before["resp_rate"] >= 8
        # The night-time circadian fall (~0.7 degC from evening to 04:00) offsets part of the fever.
        assert after["temperature"] - before["temperature"] >= 1.0
        assert before["bp_systolic"] - after["bp_systolic"] >= 25
        assert before["spo2"] - after["spo2"] >= 3
        # SIRS and qSOFA criteria crossed at full severity (Bone 1992; Singer 2016).
        assert after["heart_rate"] > 90 and after["resp_rate"] >= 22 and after["temperature"] > 38.0
        assert after["bp_systolic"] <= 100
        # Before onset the same patient looks like everyone else.
        assert before["heart_rate"] < 100 and before["resp_rate"] <= 20
    septic = {lb.patient_id for lb in labels}
    for d in r.plan.devices:
        if r.plan.patients[d.patient_index].patient_id in septic:
            continue
        hr = r.series(d.device_id, "heart_rate")
        assert abs(statistics.median(_window(hr, 0, 2 * H)) - statistics.median(_window(hr, 6 * H, 8 * H))) < 12


def test_respiratory_deterioration_desaturates_with_tachypnoea() -> None:
    r = run(with_devices(scenarios.load("respiratory"), interval=30.0), 6 * H, patients=6)
    _assert_plausible(r)
    for lb in _clinical(r, "respiratory_deterioration"):
        dev = next(d.device_id for d in r.plan.devices if r.plan.patients[d.patient_index].patient_id == lb.patient_id)
        full = _offset(r, lb.start) + lb.detail["ramp_s"]
        assert statistics.median(_window(r.series(dev, "spo2"), full, 6 * H)) <= 89
        assert statistics.median(_window(r.series(dev, "resp_rate"), full, 6 * H)) >= 21  # NEWS2 RR score >= 2
        assert statistics.median(_window(r.series(dev, "spo2"), 0, _offset(r, lb.start))) >= 94


def test_copd_lives_at_88_to_92_percent_on_scale_2() -> None:
    r = run(with_devices(scenarios.load("copd"), interval=30.0), 2 * H)
    _assert_plausible(r)
    assert {p.spo2_scale for p in r.plan.patients} == {2}
    for d in r.plan.devices:
        med = statistics.median(v for _, v in r.series(d.device_id, "spo2"))
        assert 87 <= med <= 93, (d.device_id, med)


def test_tachyarrhythmia_is_abrupt_fast_and_irregular() -> None:
    r = run(with_devices(scenarios.load("tachyarrhythmia"), interval=5.0), 2 * H, step=300, patients=6)
    _assert_plausible(r)
    labels = _clinical(r, "tachyarrhythmia")
    assert len(labels) == 2
    for lb in labels:
        dev = next(d.device_id for d in r.plan.devices if r.plan.patients[d.patient_index].patient_id == lb.patient_id)
        a, b = _offset(r, lb.start), _offset(r, lb.end)
        hr = r.series(dev, "heart_rate")
        during = _window(hr, a + 60, b - 60)
        assert statistics.median(during) >= 130 and statistics.stdev(during) >= 8  # AF: fast and irregular
        assert statistics.median(_window(hr, a - 600, a)) < 100
        assert statistics.median(_window(hr, b + 120, b + 900)) < 100


def test_overnight_hypoglycaemia_follows_the_uva_padova_model() -> None:
    r = run("hypoglycaemia", 9 * H, seed=2, step=600)
    _assert_plausible(r)
    injected = _clinical(r, "nocturnal_hypoglycaemia")
    assert len(injected) == 3
    level2 = _clinical(r, "hypoglycaemia_level2")
    hypo_patients = {lb.patient_id for lb in injected}
    assert {lb.patient_id for lb in level2} == hypo_patients
    controlled = next(p.patient_id for p in r.plan.patients if p.cohort == "t1d-controlled")
    assert not [lb for lb in r.engine.labels.labels if lb.patient_id == controlled and lb.type.startswith("hypo")]
    for lb in level2:
        dev = next(d.device_id for d in r.plan.devices if r.plan.patients[d.patient_index].patient_id == lb.patient_id)
        a = _offset(r, lb.start)
        b = _offset(r, lb.end) if lb.end else 9 * H
        cgm = _window(r.series(dev, "glucose"), a + 900, b)
        assert cgm and statistics.median(cgm) < 70  # the sensor sees it (with its own error)
        assert lb.detail["extreme_mg_dl"] < 54
        # Before the insulin excess the patient was in range.
        assert statistics.median(_window(r.series(dev, "glucose"), 0, 3600)) > 80


def test_postprandial_hyperglycaemia_after_meals() -> None:
    r = run("hyperglycaemia", 16 * H, step=900, patients=3)
    _assert_plausible(r)
    under = {p.patient_id for p in r.plan.patients if p.cohort == "t1d-under-bolus"}
    high = _clinical(r, "hyperglycaemia_level2")
    assert {lb.patient_id for lb in high} == under
    for lb in high:  # episodes start after a meal: breakfast 07:00, lunch 12:00, dinner 18:30 (+-20 min)
        local = lb.start.astimezone(r.plan.scenario.tz)
        assert 7 <= local.hour <= 23
