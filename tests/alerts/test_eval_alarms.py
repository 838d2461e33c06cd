"""Alarm quality evaluation: metrics on hand-made truth, the replay, the CLI on files and on the synthetic ward."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts import eval_cli, eval_labels, eval_metrics, eval_synthetic
from alerts.eval_labels import LabelledEvent, ScenarioLabels
from alerts.eval_replay import RaisedAlarm, Replay, naive_alarms
from alerts.suppression import Evaluation
from alerts.suppression_policy import policy_for
from cli.main import main
from wire.messages import AlertCandidate, Priority

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


LABELS = ScenarioLabels(
    scenario="hand", start=T0, end=m(24 * 60), patients=("A", "B"),
    events=(
        LabelledEvent(patient_id="A", kind="clinical", condition="sepsis", start=m(100), end=m(200)),
        LabelledEvent(patient_id="B", kind="clinical", condition="af", start=m(300), end=m(320),
                      rules=("heart_rate_high",)),
        LabelledEvent(patient_id="B", kind="artifact", condition="motion", start=m(10), end=m(11)),
    ),
)


def test_quality_metrics_on_hand_made_truth() -> None:
    alarms = [
        RaisedAlarm("A", "spo2_low", m(110), Priority.HIGH),  # matches sepsis, lead 10 min
        RaisedAlarm("A", "news2_high", m(225), Priority.HIGH),  # within 30 min grace: matches
        RaisedAlarm("B", "spo2_low", m(305), Priority.HIGH),  # wrong rule for the AF event: false
        RaisedAlarm("B", "heart_rate_high", m(10), Priority.HIGH),  # during an artifact: false
        RaisedAlarm("B", "signal_loss", m(12), Priority.MEDIUM),  # technical: not counted as clinical
    ]
    q = eval_metrics.quality(alarms, LABELS)
    assert (q.alarms, q.technical_alarms, q.events, q.detected) == (4, 1, 2, 1)
    assert q.ppv == 0.5 and q.sensitivity == 0.5 and q.median_lead_time_min == 10.0
    assert q.alarms_per_patient_day == 2.0


def _ev(patient: str, rule: str, second: float, firing: bool = True, severity: float = 1.0,
        artifact: bool = False) -> Evaluation:
    t = T0 + timedelta(seconds=second)
    return Evaluation(candidate_id=f"{patient}{rule}{second}", patient_id=patient, rule=rule, firing=firing,
                      severity=severity if firing else 0.0, priority=Priority.HIGH, window_start=t, window_end=t,
                      artifact=artifact)


def test_naive_alarms_count_every_excursion_and_smart_ones_do_not() -> None:
    # Three 10 s dips and one artifact run: the naive monitor alarms four times, the engine never.
    evals = []
    for start in (0, 100, 200):
        evals += [_ev("A", "spo2_low", start + s) for s in range(0, 10, 5)] + [_ev("A", "spo2_low", start + 10, False)]
    evals += [_ev("A", "spo2_low", 300 + s, severity=20, artifact=True) for s in range(0, 60, 5)]
    assert len(naive_alarms(evals)) == 4
    r = Replay()
    for e in evals:
        r.feed(e)
    assert r.finish(T0 + timedelta(hours=1)) == []


def test_replay_models_acknowledgement_so_a_latched_alarm_does_not_absorb_later_episodes() -> None:
    evals = []
    for start in (0, 1000):  # two separate 60 s desaturations 1000 s apart
        evals += [_ev("A", "spo2_low", start + s, severity=3) for s in range(0, 60, 5)]
        evals += [_ev("A", "spo2_low", start + 60 + s, False) for s in range(0, 15, 5)]
    r = Replay(ack_after_s=120)
    for e in evals:
        r.feed(e)
    # Raised at the first 5-s evaluation past the rule's onset delay (wire.rules.CATALOG).
    first = 5 * -(-policy_for("spo2_low").delay_s // 5)
    assert [a.at for a in r.finish(T0 + timedelta(hours=1))] == [T0 + timedelta(seconds=first),
                                                                 T0 + timedelta(seconds=1000 + first)]


def test_synthetic_ward_meets_the_target_without_losing_sensitivity() -> None:
    cands, labels = eval_synthetic.generate(eval_synthetic.SyntheticSpec(patients=8, days=1.0, seed=3))
    r = eval_cli.evaluate(cands, labels)
    assert r["events"] == 2 and r["sensitivity"] == r["naive_sensitivity"] == 1.0
    assert isinstance(r["alarm_reduction"], float) and r["alarm_reduction"] >= 0.6
    for key in ("alarms_per_patient_day", "ppv", "sensitivity", "median_lead_time_min"):
        assert key in r and f"naive_{key}" in r


def test_cli_reads_a_scenario_from_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cands, labels = eval_synthetic.generate(eval_synthetic.SyntheticSpec(patients=4, days=0.5, seed=5))
    eval_labels.write_scenario(tmp_path, labels.model_copy(update={"scenario": "from-files"}), cands)
    assert main(["eval", "alarms", "--scenario", "from-files", "--scenario-dir", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scenario"] == "from-files" and out["candidates"] == len(cands) and out["patients"] == 4
    assert out["naive_alarms"] >= out["alarms"]


def test_the_simulators_labels_file_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The contract with firmware_sim: its JSON-lines ground truth, written by its own LabelSink."""
    from firmware_sim.labels import Label, LabelCategory, LabelSink

    path = tmp_path / "mini.labels.jsonl"
    sink = LabelSink(path)
    sink.add(Label(category=LabelCategory.RUN, type="run", start=T0, end=m(24 * 60),
                   detail={"scenario": "mini", "patients": 2}))
    sink.add(Label(category=LabelCategory.CLINICAL, type="tachyarrhythmia", patient_id="A", start=m(60), end=m(80)))
    sink.add(Label(category=LabelCategory.ARTIFACT, type="motion_artifact", patient_id="B", device_id="d-B",
                   start=m(30), end=m(31)))
    sink.close()
    labels = eval_labels.load_labels(path)
    assert (labels.scenario, labels.patient_count, labels.patient_days) == ("mini", 2, 2.0)
    (af, motion) = labels.events
    assert af.clinical and af.rules is not None and "heart_rate_high" in af.rules and not motion.clinical
    cands = [_cand("A", "heart_rate_high", s) for s in range(3600, 3700, 5)]  # 100 s of AF from minute 60
    cands += [_cand("B", "spo2_low", s, severity=30.0) for s in range(1800, 1830, 5)]  # the motion artifact
    (tmp_path / "mini.candidates.jsonl").write_text("".join(c.model_dump_json() + "\n" for c in cands))
    assert main(["eval", "alarms", "--scenario", "mini", "--scenario-dir", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["patients"] == 2 and out["sensitivity"] == 1.0 and out["alarms"] == 2 and out["ppv"] == 0.5


def _cand(patient: str, rule: str, second: int, severity: float = 15.0) -> AlertCandidate:
    t = T0 + timedelta(seconds=second)
    return AlertCandidate(id=AlertCandidate.make_id(patient, rule, t), patient_id=patient, rule=rule,
                          priority=Priority.HIGH, severity=severity, value=1.0, window_start=t, window_end=t,
                          detected_at=t, message=rule)


def test_naive_alarms_from_raw_readings_fire_at_every_excursion() -> None:
    from alerts.eval_naive import naive_from_readings
    from wire.messages import Reading, ReadingBatch
    from wire.units import ReadingType

    def batch(second: int, hr: float, spo2: float, scale: int = 1) -> ReadingBatch:
        t = T0 + timedelta(seconds=second)
        return ReadingBatch(patient_id="A", device_id="d", seq=second, sent_at=t, received_at=t, spo2_scale=scale,
                            readings=(Reading(type=ReadingType.HEART_RATE, t=t, value=hr),
                                      Reading(type=ReadingType.SPO2, t=t, value=spo2)))

    hr = [72, 135, 140, 72, 150, 72, 72]  # two excursions above 130/min
    got = naive_from_readings([batch(i, v, 97) for i, v in enumerate(hr)])
    assert [(a.rule, a.at) for a in got] == [("heart_rate_high", T0 + timedelta(seconds=1)),
                                             ("heart_rate_high", T0 + timedelta(seconds=4))]
    # 88 % alarms on NEWS2 scale 1, not on scale 2 (target 88-92 %).
    assert [a.rule for a in naive_from_readings([batch(0, 72, 88)])] == ["spo2_low"]
    assert naive_from_readings([batch(0, 72, 88, scale=2)]) == []


def test_monitor_baseline_averages_and_delays_continuous_vitals_only() -> None:
    from alerts.eval_monitor import MonitorSettings, monitor_from_readings
    from wire.messages import QualityFlag, Reading, ReadingBatch
    from wire.units import ReadingType

    def batch(second: int, rt: ReadingType, value: float, flags: tuple[QualityFlag, ...] = ()) -> ReadingBatch:
        t = T0 + timedelta(seconds=second)
        return ReadingBatch(patient_id="A", device_id="d", seq=second, sent_at=t, received_at=t,
                            readings=(Reading(type=rt, t=t, value=value, flags=flags),))

    hr = ReadingType.HEART_RATE
    spikes = [batch(s, hr, 150 if s % 20 < 8 else 72) for s in range(120)]  # 8-s bursts: naive alarms each
    assert monitor_from_readings(spikes) == []
    sustained = [batch(s, hr, 72) for s in range(30)] + [batch(s, hr, 150) for s in range(30, 90)]
    (a,) = monitor_from_readings(sustained)
    # The 10-s mean crosses 131 after 8 s above (72*2+150*8)/10 = 134.4; then 15 s of delay.
    assert a.rule == "heart_rate_high" and a.at == T0 + timedelta(seconds=30 + 7 + 15)
    assert monitor_from_readings(sustained, MonitorSettings(averaging_s=1, delay_s=0))[0].at == T0 + timedelta(
        seconds=30)
    flagged = [batch(s, hr, 150, (QualityFlag.MOTION,)) for s in range(60)]
    assert monitor_from_readings(flagged) == []  # the device's own artefact flags: an INOP, not an alarm
    bp = [batch(0, ReadingType.BP_SYSTOLIC, 85)]  # a single cuff reading alarms at once
    assert [x.rule for x in monitor_from_readings(bp)] == ["bp_systolic_low"]


def test_eval_reports_the_monitor_baseline_and_detection_delay() -> None:
    cands, labels = eval_synthetic.generate(eval_synthetic.SyntheticSpec(patients=8, days=1.0, seed=3))
    r = eval_cli.evaluate(cands, labels)
    assert r["naive_alarms"] > r["monitor_alarms"] > r["alarms"]  # a real monitor already alarms less than naive
    assert r["monitor_sensitivity"] == 1.0 and isinstance(r["alarm_reduction_vs_monitor"], float)
    cmp = r["detection_vs_monitor"]
    assert isinstance(cmp, dict) and cmp["within_declared"] is True and cmp["missed_by_project"] == []
    for row in cmp["by_condition"].values():
        assert row["excess_min"] is None or row["excess_min"] <= row["declared_min"]


def test_delay_comparison_flags_a_project_later_than_declared() -> None:
    ev = LabelledEvent(patient_id="A", kind="clinical", condition="af", start=m(100), end=m(200),
                       rules=("heart_rate_high",))
    labels = ScenarioLabels(scenario="d", start=T0, end=m(600), patients=("A",), events=(ev,))
    declared = eval_metrics.declared_delay_s("heart_rate_high")  # sliding path: onset delay + median lag
    assert 5 < declared <= 20
    monitor = [RaisedAlarm("A", "heart_rate_high", m(101), Priority.HIGH)]
    on_time = [RaisedAlarm("A", "heart_rate_high", m(101) + timedelta(seconds=declared), Priority.HIGH)]
    late = [RaisedAlarm("A", "heart_rate_high", m(110), Priority.HIGH)]
    ok = eval_metrics.delay_comparison(on_time, monitor, labels)
    assert ok["within_declared"] is True
    assert ok["by_condition"]["af"]["declared_min"] == pytest.approx(declared / 60, abs=0.01)
    bad = eval_metrics.delay_comparison(late, monitor, labels)
    assert bad["within_declared"] is False and bad["by_condition"]["af"]["excess_min"] == 9.0
    assert eval_metrics.delay_comparison([], monitor, labels)["missed_by_project"] == ["A:af"]
