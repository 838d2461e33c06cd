"""Issue 17: the README tells the demo's story as the demo plays it (which bed has which condition)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from cli.sim_cmd import demo_plan

REPO = Path(__file__).resolve().parent.parent


def _flat(path: Path) -> str:
    return " ".join(path.read_text(encoding="utf-8").split())


def test_readme_and_console_docs_name_the_beds_the_demo_uses() -> None:
    plan = demo_plan(20)  # what `rpm up` runs (default --patients 20, seed 1)
    bed = {p.cohort: p.bed for p in plan.patients}
    readme, console_doc = _flat(REPO / "README.md"), _flat(REPO / "docs" / "console.md")
    assert f"bed {bed['af-episode']} goes into fast atrial fibrillation" in readme
    assert f"bed {bed['sepsis']} has been developing sepsis" in readme
    assert f"bed {bed['copd']} is a COPD patient scored on NEWS2 SpO₂ scale 2" in readme
    assert next(p for p in plan.patients if p.cohort == "copd").spo2_scale == 2
    assert f"the other {Counter(p.cohort for p in plan.patients)['stable']} beds are stable" in readme
    # The demo's patient account belongs to the first planned patient (cli/up.py seeds it so).
    home_bed = plan.patients[0].bed
    assert plan.patients[0].cohort == "stable"
    assert f"The `patient` account is bed {home_bed}'s patient" in readme
    assert f"a patient account for bed {home_bed}" in console_doc


def test_the_af_bed_wears_a_ppg_patch_whose_waveform_the_readme_promises() -> None:
    from firmware_sim.devices import DeviceModel

    plan = demo_plan(20)
    af = next(p for p in plan.patients if p.cohort == "af-episode")
    models = {d.model for d in plan.devices if d.patient_index == af.index}
    assert models == {DeviceModel.BEDSIDE_MONITOR, DeviceModel.WEARABLE_PATCH}
    assert plan.scenario.devices.wearable_patch.ppg_every  # snippets on: the console's strip has data
    assert f"bed {af.bed} also wears a PPG patch" in _flat(REPO / "README.md")
