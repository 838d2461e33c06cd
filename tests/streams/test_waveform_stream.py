"""Live waveform analysis in the pure stream core: PPG then ECG of the same period fused across messages,
the fusion state surviving the changelog encoding, and ECG alone keeping its own verdict."""

from __future__ import annotations

import numpy as np

from streams import state
from tests.clinical.test_ppg import synth_ppg
from tests.clinical.test_waveform_robust import synth_ecg
from tests.streams.helpers import T0, Patient, at, batch
from wire.messages import WaveformKind, WaveformSnippet


def _snip(kind: WaveformKind, sec: float, samples: np.ndarray, fs: float) -> WaveformSnippet:
    return WaveformSnippet(kind=kind, t=at(sec), fs_hz=fs, samples=tuple(np.round(samples * 1000).tolist()))


def test_ecg_lead_failure_is_suppressed_by_the_earlier_pleth_even_after_a_restart() -> None:
    p = Patient()
    p.send(batch(-1, [], device="patch").model_copy(update={"waveforms": (
        _snip(WaveformKind.PPG, 0, synth_ppg(90, 100.0, seconds=20, seed=2), 100.0),)}))
    # The worker restarts between the two messages: the state comes back from its changelog encoding.
    p.live = state.decode_live(state.encode(p.live))
    assert [len(v) for v in p.live.waves.values()] == [7]
    ecg_x = synth_ecg(90, 250.0, seconds=20)
    ecg_x[(6 * 250) : (13 * 250)] = 0.01 * np.random.default_rng(1).standard_normal(7 * 250)
    p.send(batch(-2, [], device="patch").model_copy(update={"waveforms": (
        _snip(WaveformKind.ECG, 0, ecg_x, 250.0),)}))
    first, second = p.scores("waveform_hr")
    assert first.waveform is WaveformKind.PPG and first.source == "ppg" and first.sqi == 1.0
    assert first.hr_bpm is not None and abs(first.hr_bpm - 90) <= 2
    assert second.waveform is WaveformKind.ECG and second.suppressed
    assert all(s.startswith("asystole") for s in second.suppressed)
    assert second.hr_bpm is not None and abs(second.hr_bpm - 90) <= 2
    assert second.at == T0.replace(second=20)


def test_an_ecg_alone_reports_its_own_rate_rhythm_and_quality() -> None:
    p = Patient()
    rr = np.random.default_rng(3).uniform(0.45, 1.0, 40)  # AF
    p.send(batch(-1, [], device="monitor").model_copy(update={"waveforms": (
        _snip(WaveformKind.ECG, 0, synth_ecg(0, 250.0, seconds=20, rr=rr), 250.0),)}))
    (s,) = p.scores("waveform_hr")
    assert s.source == "ecg" and s.rhythm == "irregular" and s.suppressed == ()
    assert s.hr_bpm is not None and abs(s.hr_bpm - 60 / float(np.mean(rr))) <= 10
    low_rate = WaveformSnippet(kind=WaveformKind.ECG, t=at(60), fs_hz=25.0, samples=(0.0,) * 500)
    p.send(batch(-2, [], device="monitor").model_copy(update={"waveforms": (low_rate,)}))
    bad = p.scores("waveform_hr")[-1]
    assert bad.hr_bpm is None and "fs >= 50" in bad.reason and bad.windows == 0


def test_a_fast_pulse_raises_the_real_time_alarm_and_motion_does_not() -> None:
    fast, moving = Patient(), Patient(pid="P2")
    for k in range(3):  # a patch sending 20-s pleth snippets back to back
        x = synth_ppg(150, 100.0, seconds=20, seed=k)
        fast.send(batch(-(k + 1), [], device="patch").model_copy(update={"waveforms": (
            _snip(WaveformKind.PPG, 20 * k, x, 100.0),)}))
        shaken = synth_ppg(75, 100.0, seconds=20, seed=k)
        jolts = np.random.default_rng(k).standard_normal(1000).cumsum()  # 10 s of arm movement mid-snippet
        shaken[500:1500] += 2.5 * (jolts - jolts.mean())
        moving.send(batch(-(k + 1), [], device="patch", pid="P2").model_copy(update={"waveforms": (
            _snip(WaveformKind.PPG, 20 * k, shaken, 100.0),)}))
    assert any(c.rule == "heart_rate_high" and c.status.value == "firing" for c in fast.candidates)
    assert not any(c.rule == "heart_rate_high" for c in moving.candidates)
