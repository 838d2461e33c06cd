"""No pulse / asystole-like on a bedside monitor: high priority within 10 s, never from a probe off (pure core)."""

from __future__ import annotations

import numpy as np

from streams.candidates import CLEAR, FIRING
from streams.state import decode_live, encode
from tests.clinical.test_waveform_robust import synth_ecg
from tests.streams.helpers import Patient, at, batch, ms, r, wobble
from wire.messages import AlertCandidate, DeviceKind, QualityFlag, Reading, WaveformKind, WaveformSnippet
from wire.rules import CATALOG, EvaluatedBy, Rule
from wire.units import ReadingType as RT

HR, SPO2, RR, TEMP = RT.HEART_RATE, RT.SPO2, RT.RESP_RATE, RT.TEMPERATURE
BEDSIDE = DeviceKind.BEDSIDE_MONITOR


def second(p: Patient, s: float, *, hr: float | None = 75.0, spo2: float | None = 97.0, rr: float | None = 16.0,
           flag: QualityFlag | None = None, kind: DeviceKind = BEDSIDE, device: str = "bm-1") -> None:
    """One bedside-monitor message; None leaves a channel out (as a monitor does when it has no value)."""
    flags = (flag,) if flag else ()
    rs: list[Reading] = []
    if hr is not None:
        rs.append(r(HR, s, hr + wobble(int(s)), *flags))
    if spo2 is not None:
        rs.append(r(SPO2, s, spo2, *flags))
    if rr is not None:
        rs.append(r(RR, s, rr + wobble(int(s))))
    p.feed(rs, kind=kind, device=device)


def no_pulse(p: Patient, status: object = FIRING) -> list[AlertCandidate]:
    return [c for c in p.candidates if c.rule == "no_pulse" and c.status is status]


def test_rule_is_high_priority_physiological_with_a_10_s_delay_and_a_source() -> None:
    spec = CATALOG[Rule.NO_PULSE]
    assert spec.priority.value == "high" and spec.kind.value == "physiological"
    assert spec.evaluation is EvaluatedBy.SLIDING and spec.onset_delay_s == 10 and "60601-2-27" in spec.delay_source
    silent = CATALOG[Rule.MONITOR_NO_SIGNAL]
    assert silent.kind.value == "technical" and silent.priority.value == "medium"


def test_fires_at_10_s_not_9_9_s_after_the_last_pulse_while_respiration_shows_the_monitor_attached() -> None:
    p = Patient()
    for s in range(0, 21):
        second(p, s)
    second(p, 29.9, hr=None, spo2=None)  # heart rate (and with it SpO2) gone, RR still measured
    assert no_pulse(p) == []
    second(p, 30.0, hr=None, spo2=None)
    (c,) = no_pulse(p)
    assert c.priority.value == "high" and c.window_start == at(20) and c.detected_at == at(30)
    assert c.evidence["onset_delay_s"] == 10 and c.device_id == "bm-1" and c.parameter is HR
    assert c.value is None and c.evidence["absent_s"] == 10  # never a number that reads as a heart rate


def test_heart_rate_zero_counts_as_absent_and_fires() -> None:
    p = Patient()
    for s in range(0, 11):
        second(p, s)
    for s in range(11, 25):
        second(p, s, hr=0.0, spo2=None)  # a monitor reporting 0 without a flag (the bridge dead-letters it anyway)
    (c,) = no_pulse(p)
    assert c.detected_at == at(20)


def test_single_missing_samples_do_not_fire() -> None:
    p = Patient()
    for s in range(0, 120):
        missing = s % 9 == 0 or s in (50, 51, 52, 53, 54, 55, 56, 57, 58)  # one at a time, and a 9-s dropout
        second(p, s, hr=None if missing else 75.0, spo2=None if missing else 97.0)
    assert no_pulse(p) == []


def test_probe_off_and_motion_flags_never_raise_the_clinical_alarm() -> None:
    for flag in (QualityFlag.PROBE_OFF, QualityFlag.MOTION, QualityFlag.ARTIFACT):
        p = Patient()
        for s in range(0, 10):
            second(p, s)
        for s in range(10, 99):  # HR and SpO2 flagged (held values) for 89 s: the sensor, not the patient
            second(p, s, flag=flag)
        assert no_pulse(p) == [], flag
        for s in range(99, 120):  # then the monitor stops flagging yet reports no pulse: counted from the last flag
            second(p, s, hr=None, spo2=None)
        assert [c.detected_at for c in no_pulse(p)] == [at(108)], flag


def test_a_low_perfusion_flag_still_reports_a_pulse() -> None:
    p = Patient()
    for s in range(0, 60):
        second(p, s, spo2=None, flag=QualityFlag.LOW_PERFUSION if s > 5 else None)
    assert no_pulse(p) == []


def test_a_pulse_on_spo2_or_another_device_refutes_no_pulse() -> None:
    p = Patient()
    for s in range(0, 60):
        second(p, s, hr=None if s > 5 else 75.0)  # the HR channel drops out but the oximeter still sees a pulse
    q = Patient()
    for s in range(0, 60):
        second(q, s, hr=None if s > 5 else 75.0, spo2=None)
        q.feed([r(HR, s, 80)], kind=DeviceKind.WEARABLE, device="wp-1")  # the patch still counts beats
    assert no_pulse(p) == [] and no_pulse(q) == []


def test_resumption_clears_and_the_alarm_is_reannounced_while_it_holds() -> None:
    p = Patient()
    for s in range(0, 11):
        second(p, s)
    for s in range(11, 75):
        second(p, s, hr=None, spo2=None)
    fired = no_pulse(p)
    assert [c.detected_at for c in fired] == [at(20), at(50)]  # every 30 s (sliding_reannounce_ms)
    assert len({c.id for c in fired}) == 2
    second(p, 75)
    (clear,) = no_pulse(p, CLEAR)
    assert clear.detected_at == at(75)
    for s in range(76, 100):
        second(p, s)
    assert len(no_pulse(p)) == 2 and len(no_pulse(p, CLEAR)) == 1


def test_home_wearable_without_a_bedside_monitor_has_no_no_pulse_watch() -> None:
    p = Patient()
    p.feed([r(HR, 0, 75), r(RR, 0, 16)], kind=DeviceKind.WEARABLE)
    for s in range(1, 60):
        p.feed([r(RR, s, 16), r(RT.SKIN_TEMPERATURE, s, 33)], kind=DeviceKind.WEARABLE)
    assert p.live.pulse is None and no_pulse(p) == []


def test_state_survives_the_changelog_and_the_alarm_stays_single() -> None:
    p = Patient()
    for s in range(0, 11):
        second(p, s)
    for s in range(11, 21):
        second(p, s, hr=None, spo2=None)
    p.live = decode_live(encode(p.live))
    assert p.live.pulse is not None and p.live.pulse.firing
    for s in range(21, 40):
        second(p, s, hr=None, spo2=None)
    assert [c.detected_at for c in no_pulse(p)] == [at(20)]


def test_flat_temperature_stream_only_counts_if_unflagged() -> None:
    p = Patient()
    for s in range(0, 5):
        second(p, s)
    for s in range(5, 40):
        p.feed([r(TEMP, s, 36.8, QualityFlag.CALIBRATING)], kind=BEDSIDE, device="bm-1")
    assert no_pulse(p) == []


def test_ecg_snippet_beats_set_the_onset_and_its_no_qrs_windows_show_the_monitor_attached() -> None:
    fs = 250.0
    x = synth_ecg(75, fs, seconds=30.0, seed=3)
    x[int(10 * fs):] = 0.02 * np.random.default_rng(2).standard_normal(x.size - int(10 * fs))  # live trace, no QRS
    snippet = WaveformSnippet(kind=WaveformKind.ECG, t=at(0), fs_hz=fs, samples=tuple(float(v) for v in x))
    p = Patient()
    p.send(batch(1, [], device="bm-1", kind=BEDSIDE).model_copy(update={"waveforms": (snippet,)}))
    pw = p.live.pulse
    # Windows with beats end at 10 s (the pulse); "no QRS for >= 4 s" windows up to 18 s (attached); the
    # detector calls later noise windows "inconsistent morphology": neither.
    assert pw is not None and pw.pulse_ms == ms(10) and pw.attached_ms == ms(18) and no_pulse(p) == []
    p.feed([r(RR, 20, 14)], kind=BEDSIDE, device="bm-1")  # impedance respiration over the same electrodes
    (c,) = no_pulse(p)
    assert c.window_start == at(10) and c.detected_at == at(20)


def test_flat_ppg_snippet_gives_no_pulse_and_respiration_keeps_the_monitor_attached() -> None:
    p = Patient()
    for s in range(0, 11):
        second(p, s)
    flat = WaveformSnippet(kind=WaveformKind.PPG, t=at(11), fs_hz=50, samples=(512.0,) * 500)
    p.send(batch(100, [r(RR, 21, 15)], device="bm-1", kind=BEDSIDE).model_copy(update={"waveforms": (flat,)}))
    (c,) = no_pulse(p)
    assert c.window_start == at(10) and c.detected_at == at(21)
