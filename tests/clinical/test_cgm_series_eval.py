"""CGM: research multi-subject files, vendor Low/High markers, per-reading series, and `rpm eval cgm`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.main import main as rpm
from streams.clinical_csv import HIGH_MARKER_MG_DL, LOW_MARKER_MG_DL, read_cgm_subjects
from streams.score_cli import main

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def stamp(minute: int) -> str:
    return (T0 + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M:%S")


def write(path: Path, rows: list[str]) -> str:
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_multi_subject_file_with_markers_and_na(tmp_path: Path) -> None:
    rows = ['"id","time","gl"']
    rows += [f'"A",{stamp(5 * k)},{120 - k}' for k in range(12)]
    rows += ['"A",NA,NA', f'"B",{stamp(0)},Low', f'"B",{stamp(5)},45', f'"B",{stamp(10)},HIGH', f'"B",{stamp(15)},NA']
    subjects = read_cgm_subjects(Path(write(tmp_path / "r.csv", rows)))
    assert [s.subject for s in subjects] == ["A", "B"]
    a, b = subjects
    assert len(a.file.samples) == 12 and a.file.skipped_blank_rows == 1
    assert [s.mg_dl for s in b.file.samples] == [LOW_MARKER_MG_DL, 45, HIGH_MARKER_MG_DL]
    assert (b.low_markers, b.high_markers, b.file.skipped_blank_rows) == (1, 1, 1)


def test_score_cgm_series_per_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Falling 2 mg/dL/min from 130: the predicted low must come on before the first reading < 70.
    rows = ["id,time,gl"] + [f"p1,{stamp(5 * k)},{max(40, 130 - 10 * k)}" for k in range(12)]
    rows += [f"p2,{stamp(5 * k)},100" for k in range(12)]
    f = write(tmp_path / "two.csv", rows)
    assert main(["score", "cgm", f, "--id", "p1", "--series", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    series = out["series"]
    assert out["subject"] == "p1" and len(series) == 12
    assert [r["predicted_low"] for r in series[:3]] == [None, None, None]  # < 15 min of history
    first_warn = next(i for i, r in enumerate(series) if r["predicted_low"])
    first_low = next(i for i, r in enumerate(series) if r["mg_dl"] < 70)
    assert first_warn < first_low
    assert series[5]["rate_mg_dl_per_min"] == -2.0 and series[5]["arrow"] == "falling"
    assert main(["score", "cgm", f, "--json"]) == 0
    both = json.loads(capsys.readouterr().out)["subjects"]
    assert [s["subject"] for s in both] == ["p1", "p2"] and "series" not in both[0]
    assert main(["score", "cgm", f, "--id", "p2", "--series"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Subject p2") and text.count("  no\n") == 9
    assert main(["score", "cgm", f, "--id", "zz"]) == 2
    assert "no subject 'zz'" in capsys.readouterr().err


def test_eval_cgm_curve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Subject 1: two steady falls into real lows (warned). Subject 2: a fast fall from 200 that levels off
    # at 120 (the current-value limit keeps it from alarming), then a dip to 100 that recovers (a false alarm
    # at high thresholds only).
    rows = ["id,time,gl"]
    day = 0
    for start in (0, 600):
        for k in range(0, 120, 5):
            rows.append(f"s1,{stamp(start + k)},{max(50, 130 - k)}")
        for k in range(120, 300, 5):
            rows.append(f"s1,{stamp(start + k)},120")
    for k in range(0, 600, 5):
        g = max(120, 200 - 4 * k) if k < 300 else 120 - min(20, k - 300) + max(0, k - 320)
        rows.append(f"s2,{stamp(day + k)},{min(g, 120)}")
    f = write(tmp_path / "eval.csv", rows)
    assert rpm(["eval", "cgm", f, "--thresholds", "70,90", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["subjects"] == 2
    rule = out["product_rule"]
    assert rule["lows"] == 2 and rule["warned_15_min_ahead"] == 1.0
    assert rule["alarms"] == 2 and rule["ppv_30_min"] == 1.0
    t70, t90 = out["curve"]
    assert t70["threshold_mg_dl"] == 70 and t90["alarms"] == t70["alarms"] + 1 and t90["ppv_30_min"] < 1
    assert out["targets_met"] is True
    assert rpm(["eval", "cgm", str(tmp_path / "missing.csv")]) == 2
