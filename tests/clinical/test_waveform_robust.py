"""Waveform HR on the ways real recordings break: wraparound, clipping, missing samples, motion at a
window edge, AF, missed beats; ECG R-peaks; PPG/ECG fusion; the score CLI on WFDB and CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from streams import ecg
from streams.hr_fusion import fuse, fuse_window
from streams.ppg import estimate_heart_rate
from streams.score_cli import main
from streams.waveform_clean import condition
from tests.clinical.test_ppg import synth_ppg


def synth_ecg(hr: float, fs: float, seconds: float = 60.0, *, seed: int = 0, rr: np.ndarray | None = None,
              noise: float = 0.02) -> np.ndarray:
    """P-QRS-T as Gaussians (McSharry et al. 2003 style); ``rr`` overrides a regular rhythm."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    x = noise * rng.standard_normal(t.size) + 0.1 * np.sin(2 * np.pi * 0.3 * t)
    beats = np.cumsum(rr) if rr is not None else np.arange(0.3, seconds + 1, 60.0 / hr)
    for b in beats:
        for offset, width, amp in ((-0.2, 0.025, 0.12), (-0.025, 0.008, -0.1), (0.0, 0.01, 1.0),
                                   (0.03, 0.01, -0.25), (0.25, 0.05, 0.3)):
            x += amp * np.exp(-0.5 * ((t - b - offset) / width) ** 2)
    return x


def test_adc_wraparound_is_unwrapped_not_called_irregular() -> None:
    fs = 100.0
    codes = np.round(synth_ppg(75, fs, seed=1) * 1500 + 1700)  # swings beyond +2047
    wrapped = ((codes + 2048) % 4096) - 2048  # what a signed 12-bit ADC delivers
    assert np.any(np.abs(np.diff(wrapped)) > 2048)
    for bits in (None, 12):  # inferred, and declared as a WFDB header would
        r = estimate_heart_rate(wrapped, fs, adc_bits=bits, adc_offset=-2048)
        assert r.wraps_unwrapped > 0
        assert r.hr_bpm is not None and abs(r.hr_bpm - 75) <= 2
        assert r.n_good_windows == len(r.windows)


def test_isolated_missing_samples_are_interpolated_long_gaps_rejected() -> None:
    fs = 100.0
    x = synth_ppg(72, fs, seconds=120, seed=3)
    rng = np.random.default_rng(0)
    x[rng.choice(x.size - 2, 17, replace=False) + 1] = np.nan  # 17 isolated dropped samples
    r = estimate_heart_rate(x, fs)
    assert r.interpolated_samples == 17 and r.gap_samples == 0
    assert r.n_good_windows == len(r.windows)
    x[int(60 * fs) : int(61 * fs)] = np.nan  # 1 s gap: too long to bridge
    r = estimate_heart_rate(x, fs)
    assert r.gap_samples == 100
    assert [w.start_s for w in r.windows if w.reason.startswith("gap")] == [54.0, 56.0, 58.0, 60.0]


def test_clipping_at_the_adc_rail_is_marked() -> None:
    x = np.round(synth_ppg(72, 100.0) * 3000 + 1000)
    c = condition(np.clip(x, None, 4095), 100.0, adc_bits=12, adc_offset=0)
    assert c.clipped.any() and c.wraps_unwrapped == 0
    r = estimate_heart_rate(np.clip(x, None, 2500), 100.0)
    assert r.hr_bpm is None and all(w.reason == "clipped/saturated signal" for w in r.windows)


def test_motion_starting_at_a_window_edge_spoils_that_window() -> None:
    fs = 100.0
    x = synth_ppg(126, fs, seconds=60, seed=4)
    t = np.arange(x.size) / fs
    onset = 31.0
    moving = t >= onset
    x[moving] += 6 * np.sin(2 * np.pi * 1.6 * t[moving]) + 4 * np.sin(2 * np.pi * 0.9 * t[moving])
    r = estimate_heart_rate(x, fs)
    for w in r.windows:
        if w.end_s > onset:  # includes windows that only touch the start of the movement
            assert w.quality == "poor", w
        elif w.end_s <= onset - 1.5:
            assert w.quality == "good" and w.hr_bpm is not None and abs(w.hr_bpm - 126) <= 2
    assert any(w.reason.startswith("motion") for w in r.windows if w.start_s < onset < w.end_s)


def _af_intervals(seed: int, seconds: float, lo: float = 0.45, hi: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, int(seconds / lo) + 2)


def test_af_is_reported_irregular_with_its_mean_rate() -> None:
    fs = 100.0
    rr = _af_intervals(7, 60)
    t = np.arange(int(60 * fs)) / fs
    x = np.zeros_like(t)
    for b in np.cumsum(rr):
        x += np.exp(-0.5 * ((t - b - 0.1) / 0.06) ** 2) + 0.3 * np.exp(-0.5 * ((t - b - 0.3) / 0.08) ** 2)
    true_rate = 60 / float(np.mean(rr))
    r = estimate_heart_rate(x, fs)
    assert r.rhythm == "irregular" and r.hr_bpm is not None
    assert abs(r.hr_bpm - true_rate) <= 0.1 * true_rate
    e = ecg.estimate_heart_rate(synth_ecg(0, 250.0, rr=rr, seconds=60), 250.0)
    assert e.rhythm == "irregular" and e.hr_bpm is not None and abs(e.hr_bpm - true_rate) <= 0.1 * true_rate


def test_regular_rhythm_with_lost_pulses_is_not_a_slow_irregular_one() -> None:
    # 128/min where every second and third pulse is too weak to detect (a103l of CinC 2015 at 216 s):
    # intervals 0.47, 1.41 s must not read as a 67/min irregular rhythm.
    fs, period = 100.0, 60 / 128
    t = np.arange(int(60 * fs)) / fs
    x = 0.01 * np.random.default_rng(2).standard_normal(t.size)
    for k, b in enumerate(np.arange(0.2, 61, period)):
        amp = 1.0 if k % 4 in (0, 1) else 0.05
        x += amp * np.exp(-0.5 * ((t - b - 0.1) / 0.05) ** 2)
    r = estimate_heart_rate(x, fs)
    assert not any(w.quality == "irregular" for w in r.windows)
    assert all(w.hr_bpm is None or abs(w.hr_bpm - 128) <= 3 for w in r.windows)


@pytest.mark.parametrize(("hr", "fs"), [(45.0, 250.0), (75.0, 360.0), (150.0, 125.0)])
def test_ecg_rate_from_r_peaks(hr: float, fs: float) -> None:
    r = ecg.estimate_heart_rate(synth_ecg(hr, fs), fs)
    assert r.rhythm == "regular" and r.hr_bpm is not None and abs(r.hr_bpm - hr) <= 1
    assert abs(len(r.r_peaks_s) - 60 * hr / 60) <= 2
    inverted = ecg.estimate_heart_rate(-synth_ecg(hr, fs), fs)  # lead polarity must not matter
    assert inverted.hr_bpm is not None and abs(inverted.hr_bpm - hr) <= 1


def test_ecg_flat_lead_and_pause() -> None:
    fs = 250.0
    x = synth_ecg(70, fs)
    x[int(20 * fs) : int(40 * fs)] = 0.0  # lead off: flat
    r = ecg.estimate_heart_rate(x, fs)
    assert any(w.reason.startswith("flat") for w in r.windows)
    rr = np.concatenate([np.full(20, 0.85), [5.5], np.full(40, 0.85)])  # a 5.5 s pause in sinus rhythm
    p = ecg.estimate_heart_rate(synth_ecg(0, fs, rr=rr), fs)
    pauses = [w for w in p.windows if w.longest_pause_s is not None and w.longest_pause_s >= 4]
    assert pauses and all(w.quality == "poor" and "no QRS" in w.reason for w in pauses)


def test_fusion_suppresses_one_bad_source() -> None:
    fs_e, fs_p = 250.0, 100.0
    ecg_x = synth_ecg(80, fs_e)
    ecg_x[int(20 * fs_e) : int(30 * fs_e)] = 0.01 * np.random.default_rng(1).standard_normal(int(10 * fs_e))
    e = ecg.estimate_heart_rate(ecg_x, fs_e)  # electrode lost: "no QRS" for 10 s
    p = estimate_heart_rate(synth_ppg(80, fs_p, seed=5), fs_p)  # the pulse carries on
    fused = fuse(e.windows, p.windows)
    asystole = [f for f in fused if any(s.startswith("asystole") for s in f.suppressed)]
    assert asystole and all(f.source == "ppg" and f.hr_bpm is not None and abs(f.hr_bpm - 80) <= 2
                            for f in asystole)
    assert all(f.hr_bpm is not None and abs(f.hr_bpm - 80) <= 2 for f in fused)
    both = [f for f in fused if f.source == "both"]
    assert len(both) >= len(fused) // 2
    # A false tachycardia on the pulse (motion read as a fast rhythm), ECG normal: suppressed.
    pw = p.windows[0].model_copy(update={"hr_bpm": 150.0})
    f = fuse_window(e.windows[0], pw)
    assert f.source == "ecg" and f.hr_bpm is not None and abs(f.hr_bpm - 80) <= 2
    assert f.suppressed and f.suppressed[0].startswith("tachycardia")
    # Both agree on tachycardia: nothing suppressed.
    ew = e.windows[0].model_copy(update={"hr_bpm": 152.0})
    assert fuse_window(ew, pw).suppressed == () and fuse_window(ew, pw).source == "both"


def test_score_cli_reads_wfdb_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import wfdb

    fs = 125
    ppg_codes = np.round(synth_ppg(90, fs, seed=6) * 600).astype(np.int64)
    ecg_codes = np.round(synth_ecg(90, fs) * 500).astype(np.int64)
    wfdb.wrsamp("rec", fs=fs, units=["NU", "mV"], sig_name=["PLETH", "II"],
                d_signal=np.column_stack([ppg_codes, ecg_codes]), fmt=["16", "16"], adc_gain=[100.0, 500.0],
                baseline=[0, 0], write_dir=str(tmp_path))
    assert main(["score", "ppg", str(tmp_path / "rec.hea"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["channel"] == "PLETH" and abs(out["hr_bpm"] - 90) <= 2 and out["sqi"] == 1.0
    assert main(["score", "ecg", str(tmp_path / "rec"), "--json"]) == 0
    assert abs(json.loads(capsys.readouterr().out)["hr_bpm"] - 90) <= 1
    assert main(["score", "hr", str(tmp_path / "rec"), "--json"]) == 0
    fused = json.loads(capsys.readouterr().out)
    assert {w["source"] for w in fused["windows"]} == {"both"} and fused["suppressed"] == []
    csv = tmp_path / "two.csv"
    csv.write_text("pleth,ecg\n" + "\n".join(f"{a},{b}" for a, b in zip(ppg_codes, ecg_codes, strict=True)))
    assert main(["score", "ppg", str(csv), "--channel", "pleth", "--fs", "125"]) == 0
    assert "Heart rate: 90 bpm" in capsys.readouterr().out
    assert main(["score", "ppg", str(csv), "--channel", "pleth"]) == 2
    assert "--fs is required" in capsys.readouterr().err
    assert main(["score", "ecg", str(tmp_path / "rec"), "--channel", "V5"]) == 2
    assert "no channel 'V5'" in capsys.readouterr().err


def test_eval_waveforms_against_beat_annotations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import wfdb

    from cli.main import main as rpm

    fs = 125
    ppg = synth_ppg(80, fs, seconds=90, seed=8)
    ppg[int(40 * fs) : int(50 * fs)] += 8 * np.sin(2 * np.pi * 1.3 * np.arange(int(10 * fs)) / fs)  # motion
    ecg_x = synth_ecg(80, fs, seconds=90)
    wfdb.wrsamp("r1", fs=fs, units=["NU", "mV"], sig_name=["PLETH", "II"],
                d_signal=np.column_stack([np.round(ppg * 500), np.round(ecg_x * 500)]).astype(np.int64),
                fmt=["16", "16"], adc_gain=[100.0, 500.0], baseline=[0, 0], write_dir=str(tmp_path))
    beats = np.round((np.arange(0.3, 90, 60 / 80)) * fs).astype(np.int64)
    wfdb.wrann("r1", "atr", beats, symbol=["N"] * beats.size, fs=fs, write_dir=str(tmp_path))
    assert rpm(["eval", "waveforms", "--data-dir", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (rec,) = out["records"]
    assert rec["reference"] == "atr annotations"
    assert rec["ppg"]["within_3_bpm_share"] == 1.0 and rec["ppg"]["flagged"] >= 5  # the motion windows
    assert rec["ecg"]["within_3_bpm_share"] == 1.0 and rec["ecg"]["flagged"] == 0
    assert rpm(["eval", "waveforms", "--data-dir", str(tmp_path / "none")]) == 2


def test_disturbed_pleth_with_real_pulses_refutes_asystole_but_noise_does_not() -> None:
    # CinC 2015 a103l: the ECG lead fails ("no QRS" for 4-6 s) while the pleth still shows pulses of its usual
    # strength, too disturbed for a rate (every other pulse lost). That refutes the asystole; noise does not.
    fs_e, fs_p, period = 250.0, 100.0, 60 / 128
    ecg_x = synth_ecg(128, fs_e, seconds=40)
    ecg_x[int(20 * fs_e) : int(26 * fs_e)] = 0.01 * np.random.default_rng(3).standard_normal(int(6 * fs_e))
    e = ecg.estimate_heart_rate(ecg_x, fs_e)
    t = np.arange(int(40 * fs_p)) / fs_p
    pleth = 0.01 * np.random.default_rng(4).standard_normal(t.size)
    for k, b in enumerate(np.arange(0.2, 41, period)):
        lost = 14 <= b <= 30 and k % 4 in (2, 3)  # a disturbed stretch: half the pulses too weak to detect
        pleth += (0.05 if lost else 1.0) * np.exp(-0.5 * ((t - b - 0.1) / 0.05) ** 2)
    p = estimate_heart_rate(pleth, fs_p)
    paused = [w for w in e.windows if w.longest_pause_s is not None and w.longest_pause_s >= 4]
    assert paused
    for f in fuse(e.windows, p.windows):
        if any(abs(f.start_s - w.start_s) < 0.5 for w in paused):
            assert f.suppressed and f.suppressed[0].startswith("asystole"), f
    noise = np.random.default_rng(5).standard_normal(t.size)  # no pulse at all: the pause must stand
    n = estimate_heart_rate(noise, fs_p)
    assert not any(f.suppressed for f in fuse(e.windows, n.windows) if any(
        abs(f.start_s - w.start_s) < 0.5 for w in paused))
