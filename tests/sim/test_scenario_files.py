"""Scenario files: every built-in loads and plans; bad files fail in one line naming line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_sim import scenario as scenarios
from firmware_sim.durations import format_duration, parse_duration
from firmware_sim.plan import allocate, build
from firmware_sim.scenario import ScenarioError
from tests.sim.helpers import START


@pytest.mark.parametrize("name", scenarios.builtin_names())
def test_builtin_scenarios_load_and_plan(name: str) -> None:
    s = scenarios.load(name)
    plan = build(s, 1, START, patients=min(sum(c.count for c in s.cohorts), 60))
    assert plan.patients and plan.devices
    assert len({d.device_id for d in plan.devices}) == len(plan.devices)
    assert all(0 <= d.patient_index < len(plan.patients) for d in plan.devices)


def test_expected_builtins_exist() -> None:
    assert {"stable", "sepsis", "respiratory", "copd", "hypoglycaemia", "hyperglycaemia", "tachyarrhythmia",
            "home", "mixed-ward", "demo-ward", "bench"} <= set(scenarios.builtin_names())


def test_unknown_name_lists_builtins() -> None:
    with pytest.raises(ScenarioError) as e:
        scenarios.load("no-such-ward")
    msg = str(e.value)
    assert "\n" not in msg and "unknown scenario 'no-such-ward'" in msg and "sepsis" in msg


GOOD = """\
name: t
cohorts:
  - name: a
    count: 2
    events:
      - {type: sepsis, at: 30m}
"""


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (GOOD.replace("at: 30m", "at: soon"), 6, "cohorts.0.events.0.at: invalid duration 'soon'"),
        (GOOD.replace("type: sepsis", "type: zombie"), 6, "unknown event type 'zombie'"),
        (GOOD.replace("count: 2", "count: many"), 4, "cohorts.0.count"),
        (GOOD + "colour: blue\n", 7, "colour: Extra inputs are not permitted"),
        (GOOD.replace("    count: 2\n", "    count: 2\n    devices: [cgm]\n"), 3, "a CGM needs profile t1d"),
        (GOOD.replace("name: a", "name: a\n  bad-indent: ["), 4, "not valid YAML"),
    ],
)
def test_invalid_file_names_line_and_field(tmp_path: Path, text: str, line: int, needle: str) -> None:
    f = tmp_path / "ward.yaml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as e:
        scenarios.load(str(f))
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"ward.yaml line {line}:"), msg
    assert needle in msg


def test_missing_file_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not found"):
        scenarios.load(str(tmp_path / "absent.yaml"))


def test_durations() -> None:
    assert parse_duration("90s") == 90 and parse_duration("1h30m") == 5400 and parse_duration("-2h") == -7200
    assert parse_duration(15) == 15 and parse_duration("250ms") == 0.25 and parse_duration("2d") == 172800
    for bad in ("", "h", "5 parsecs", "1h 30", True):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert format_duration(5400) == "1h30m"


def test_patient_count_scales_cohorts() -> None:
    s = scenarios.load("mixed-ward")
    counts = allocate(s.cohorts, 200)
    assert sum(counts) == 200 and all(c >= 1 for c in counts)
    assert counts[0] == max(counts)  # the stable majority stays the majority
    assert allocate(s.cohorts, None) == [c.count for c in s.cohorts]
    assert sum(allocate(s.cohorts, 3)) == 3


def test_copd_patients_use_spo2_scale_2_and_home_patients_have_no_bed() -> None:
    plan = build(scenarios.load("home"), 1, START)
    assert {p.spo2_scale for p in plan.patients if p.cohort == "home-copd"} == {2}
    assert all(p.bed is None for p in plan.patients)
    ward = build(scenarios.load("demo-ward"), 1, START)
    assert sorted(p.bed for p in ward.patients) == [f"{i:02d}" for i in range(1, 21)]


def test_speedup_starts_in_the_past_and_local_start_times() -> None:
    s = scenarios.load("sepsis")
    start = scenarios.start_time(s, START, speed=60, duration_s=8 * 3600)
    # 8 h at 60x take 8 min of wall time and end now: no measurement in the future.
    assert (START - start).total_seconds() == pytest.approx(8 * 3600 - 8 * 60)
    night = scenarios.start_time(scenarios.load("hypoglycaemia"), START, speed=1, duration_s=None)
    local = night.astimezone(scenarios.load("hypoglycaemia").tz)
    assert (local.hour, local.minute) == (21, 0) and night <= START
