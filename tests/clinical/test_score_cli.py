"""CLI tests: call main([...]) and check JSON, text and exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from streams.score_cli import add_parser, main

NEWS2_EXAMPLE = [
    "score", "news2", "--rr", "21", "--spo2", "93", "--o2", "air", "--sbp", "120",
    "--hr", "95", "--acvpu", "A", "--temp", "37.5",
]  # fmt: skip


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)  # exactly one JSON document, nothing else on stdout


def run_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "error" in err
    return err


# --- news2 -----------------------------------------------------------------


def test_news2_json_example(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(NEWS2_EXAMPLE, capsys)
    assert d["total"] == 5
    assert d["subscores"] == {
        "resp_rate": 2, "spo2": 2, "air_or_oxygen": 0, "systolic_bp": 0, "pulse": 1,
        "consciousness": 0, "temperature": 0,
    }  # fmt: skip
    assert d["red_flag"] is False and d["band"] == "medium"
    assert d["complete"] is True and d["missing"] == []
    assert d["monitoring_frequency"] == "Minimum 1 hourly"
    assert "Urgent response threshold" in d["clinical_response"]


def test_news2_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(NEWS2_EXAMPLE) == 0
    out = capsys.readouterr().out
    assert "NEWS2 total: 5" in out and "Clinical risk: medium" in out
    assert "Minimum 1 hourly" in out and "INCOMPLETE" not in out


def test_news2_red_flag_low_medium_lowercase_acvpu(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "score", "news2", "--rr", "16", "--spo2", "97", "--o2", "AIR", "--sbp", "120",
        "--hr", "70", "--acvpu", "c", "--temp", "37",
    ]  # fmt: skip
    d = run_json(argv, capsys)
    assert d["total"] == 3 and d["red_flag"] is True and d["band"] == "low-medium"
    assert d["red_flag_parameters"] == ["consciousness"]
    assert d["monitoring_frequency"] == "Minimum 1 hourly"


def test_news2_scale2_on_oxygen(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "score", "news2", "--rr", "16", "--spo2", "97", "--o2", "oxygen", "--sbp", "120",
        "--hr", "70", "--acvpu", "A", "--temp", "37", "--scale", "2",
    ]  # fmt: skip
    d = run_json(argv, capsys)
    assert d["subscores"]["spo2"] == 3 and d["subscores"]["air_or_oxygen"] == 2
    assert d["total"] == 5 and d["spo2_scale"] == 2


def test_news2_missing_is_incomplete(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(["score", "news2", "--rr", "26", "--hr", "72"], capsys)
    assert d["complete"] is False and d["total"] == 3
    assert set(d["missing"]) == {
        "spo2",
        "air_or_oxygen",
        "systolic_bp",
        "consciousness",
        "temperature",
    }
    assert d["subscores"]["spo2"] is None
    assert d["clinical_response"][0].startswith("INCOMPLETE")
    assert main(["score", "news2", "--rr", "26"]) == 0
    assert "INCOMPLETE" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [["--spo2", "101"], ["--rr", "-1"], ["--temp", "98.6"], ["--hr", "nan"]],
)
def test_news2_impossible_values_exit_2(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    err = run_error(["score", "news2", *extra], capsys)
    assert "plausible" in err or "finite" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["score", "news2", "--acvpu", "X"],
        ["score", "news2", "--rr", "abc"],
        ["score", "news2", "--o2", "nasal"],
        ["score", "news2", "--scale", "3"],
        ["score"],
        ["score", "bogus"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", [[], ["news2"], ["cgm"], ["ppg"]])
def test_every_command_has_help(cmd: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", *cmd, "--help"]) == 0
    assert "usage: rpm score" in capsys.readouterr().out


def test_add_parser_wires_into_a_parent_cli(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="rpm")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("other")
    add_parser(sub)
    args = parser.parse_args([*NEWS2_EXAMPLE, "--json"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 5


# --- cgm -------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def cgm_csv(values: list[float], header: str = "time,glucose", sep: str = ",") -> str:
    rows = [
        f"2024-03-01T{i * 5 // 60:02d}:{i * 5 % 60:02d}:00Z{sep}{v}" for i, v in enumerate(values)
    ]
    return "\n".join([header, *rows]) + "\n"


def test_cgm_json_hand_computed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "cgm.csv", cgm_csv([50, 60, 70, 100, 180, 181, 250, 251, 300, 120]))
    d = run_json(["score", "cgm", f], capsys)
    assert d["mean_mg_dl"] == pytest.approx(156.2)
    assert d["gmi_pct"] == pytest.approx(7.046304)
    assert d["cv_pct"] == pytest.approx(89.4909 / 156.2 * 100, abs=1e-3)
    assert d["coverage_pct"] == pytest.approx(100.0)
    expected = {"below_54_pct": 10, "below_70_pct": 20, "in_70_180_pct": 40, "above_180_pct": 40}
    for key, value in expected.items():
        assert d[key] == pytest.approx(value), key
    assert d["above_250_pct"] == pytest.approx(20)
    assert d["unit_in_file"] == "mg/dL" and d["n_samples"] == 10


def test_cgm_mmol_detection_and_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write(
        tmp_path, "mmol.csv", cgm_csv([5.5, 3.8, 10.0, 13.9], header="timestamp;sgv", sep=";")
    )
    d = run_json(["score", "cgm", f], capsys)
    # 5.5 -> 99, 3.8 -> 68, 10.0 -> 180 (in range, not above), 13.9 -> 250 (not above 250)
    assert d["unit_in_file"] == "mmol/L" and d["unit_source"] == "values"
    assert d["mean_mg_dl"] == pytest.approx((99 + 68 + 180 + 250) / 4)
    assert d["below_70_pct"] == 25 and d["in_70_180_pct"] == 50
    assert d["above_180_pct"] == 25 and d["above_250_pct"] == 0
    d = run_json(["score", "cgm", f, "--unit", "mg/dL"], capsys)
    assert d["unit_source"] == "argument" and d["below_54_pct"] == 100


def test_cgm_vendor_style_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Glucose Value (mmol/L)\n"
        "1,2024-03-01T00:00:00,EGV,6.0\n"
        "2,2024-03-01T00:05:00,Calibration,\n"
        "3,2024-03-01T00:05:00,EGV,6.5\n"
    )
    d = run_json(["score", "cgm", write(tmp_path, "dex.csv", text)], capsys)
    assert d["unit_source"] == "header" and d["skipped_blank_rows"] == 1
    assert d["n_samples"] == 2 and d["mean_mg_dl"] == pytest.approx((108 + 117) / 2)


def test_cgm_headerless_epoch_and_episodes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t0 = 1_709_251_200  # 2024-03-01T00:00:00Z
    values = [100, 65, 60, 62, 90, 95, 100]
    text = "".join(f"{(t0 + 300 * i) * 1000},{v}\n" for i, v in enumerate(values))  # epoch ms
    d = run_json(["score", "cgm", write(tmp_path, "ns.csv", text)], capsys)
    assert d["start"] == "2024-03-01T00:00:00Z" and d["n_samples"] == 7
    (ep,) = d["episodes"]
    assert ep["kind"] == "hypo" and ep["level"] == 1 and ep["status"] == "ended"
    assert ep["start"] == "2024-03-01T00:05:00Z" and ep["end"] == "2024-03-01T00:20:00Z"
    assert d["trend"]["rate_mg_dl_per_min"] is not None


def test_cgm_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "cgm.csv", cgm_csv([100, 110, 120, 130]))
    assert main(["score", "cgm", f]) == 0
    out = capsys.readouterr().out
    assert "Time in range 70-180 mg/dL: 100.0%" in out and "Mean glucose: 115 mg/dL" in out


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty"),
        ("when,level\n2024-03-01T00:00:00Z,100\n", "time column"),
        ("time,glucose\n", "no data rows"),
        ("time,glucose\nyesterday,100\n", "line 2"),
        ("time,glucose\n2024-03-01T00:00:00Z,abc\n", "not a number"),
        ("time,glucose\n2024-03-01T00:00:00Z,Lowish\n", "not a number"),
        ("time,glucose\n2024-03-01T00:00:00Z,-4\n", "positive"),
        ("time,glucose\n2024-03-01T00:00:00Z,100\n2024-03-01T00:00:00Z,120\n", "conflicting"),
        ("time,glucose\n2024-03-01T00:00:00Z\n", "columns"),
    ],
)
def test_cgm_malformed_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    err = run_error(["score", "cgm", write(tmp_path, "bad.csv", text)], capsys)
    assert message in err


def test_cgm_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "cannot read" in run_error(["score", "cgm", str(tmp_path / "nope.csv")], capsys)


# --- ppg -------------------------------------------------------------------


def pulse(hr: float, fs: float, seconds: float = 30.0) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    phase = (t * hr / 60.0) % 1.0
    return 512 + 100 * np.exp(-0.5 * ((phase - 0.2) / 0.06) ** 2) + 30 * np.sin(2 * np.pi * 0.2 * t)


def test_ppg_json_one_sample_per_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "\n".join(f"{v:.3f}" for v in pulse(72, 50.0)) + "\n"
    d = run_json(["score", "ppg", write(tmp_path, "p.csv", text), "--fs", "50"], capsys)
    assert abs(d["hr_bpm"] - 72) <= 2
    assert len(d["windows"]) == 12  # 30 s: starts 0, 2, ..., 22
    w = d["windows"][0]
    assert w["start_s"] == 0 and w["quality"] == "good" and w["reason"] == "ok"
    assert abs(w["hr_bpm"] - 72) <= 2


def test_ppg_named_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = pulse(150, 100.0)
    text = "t,red,ir\n" + "".join(f"{i / 100},{v * 0.5:.3f},{v:.3f}\n" for i, v in enumerate(x))
    f = write(tmp_path, "multi.csv", text)
    d = run_json(["score", "ppg", f, "--fs", "100", "--column", "IR"], capsys)
    assert abs(d["hr_bpm"] - 150) <= 2
    assert "--column" in run_error(["score", "ppg", f, "--fs", "100"], capsys)
    assert "no column" in run_error(["score", "ppg", f, "--fs", "100", "--column", "green"], capsys)


def test_ppg_noise_gives_null(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    noise = np.random.default_rng(0).standard_normal(1500)
    text = "ppg\n" + "\n".join(f"{v:.5f}" for v in noise) + "\n"  # with a header line
    d = run_json(["score", "ppg", write(tmp_path, "n.csv", text), "--fs", "50"], capsys)
    assert d["hr_bpm"] is None and d["windows"]
    assert all(w["hr_bpm"] is None and w["quality"] == "poor" for w in d["windows"])


def test_ppg_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "g.csv", "\n".join(["1.0"] * 500))
    assert "fs" in run_error(["score", "ppg", good, "--fs", "5"], capsys)
    bad = write(tmp_path, "b.csv", "1.0\n2.0\nxyz\n")
    assert "line 3" in run_error(["score", "ppg", bad, "--fs", "50"], capsys)
    assert main(["score", "ppg", good]) == 2  # --fs is required
    assert "--fs" in capsys.readouterr().err


def test_ppg_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "\n".join(f"{v:.3f}" for v in pulse(72, 50.0)) + "\n"
    assert main(["score", "ppg", write(tmp_path, "p.csv", text), "--fs", "50"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("p.csv channel samples: 1500 samples at 50 Hz")
    assert "Heart rate: 72 bpm" in out and "12 good + 0 irregular of 12 windows" in out
