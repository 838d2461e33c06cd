"""Ground truth for alarm evaluation: the labelled events of a scenario (the file format the simulator writes).

One JSON object per scenario (``NAME.labels.json``)::

    {"scenario": "ward-48h", "start": "2025-03-01T00:00:00+07:00", "end": "2025-03-03T00:00:00+07:00",
     "patients": ["P001", "P002", ...],
     "events": [
       {"patient_id": "P007", "kind": "clinical", "condition": "sepsis",
        "start": "2025-03-01T10:00:00+07:00", "end": null,
        "rules": ["news2_medium", "news2_high", "heart_rate_high"]},
       {"patient_id": "P003", "kind": "artifact", "condition": "motion_artifact",
        "start": "...", "end": "..."}
     ]}

- ``kind`` ``clinical``: an event the care team must learn about (what
  sensitivity counts); anything else (``artifact``, ``fault``...) is kept
  for analysis and never counts as a detection target.
- ``end`` null: the event lasts until the end of the scenario.
- ``rules`` (optional): which alarm rules are a relevant answer to it;
  absent, any physiological or score alarm of that patient in the event's
  window matches.

The simulator's own ground truth (``rpm sim --labels FILE``, JSON lines of
``{"category": "run" | "clinical" | "artifact" | "fault", "type",
"patient_id", "device_id", "start", "end", "readings", "detail"}``) is read
as well (``NAME.labels.jsonl``): the ``run`` line gives the scenario, its
start, end and patient count; ``clinical`` lines become events whose
relevant rules come from ``SIM_RULES`` by their type.

The candidates of the same run are ``NAME.candidates.jsonl``: one
``AlertCandidate`` JSON per line, exactly as on ``rpm.alert-candidates.v1``
(``rpm eval capture`` saves them from Kafka).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from wire.messages import AlertCandidate


class LabelledEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    patient_id: str
    kind: str = Field(description="'clinical' events are detection targets; others are context")
    condition: str
    start: AwareDatetime
    end: AwareDatetime | None = None
    rules: tuple[str, ...] | None = None

    @property
    def clinical(self) -> bool:
        return self.kind == "clinical"

    def end_or(self, scenario_end: datetime) -> datetime:
        return self.end or scenario_end


class ScenarioLabels(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    scenario: str
    start: AwareDatetime
    end: AwareDatetime
    patients: tuple[str, ...] = ()  # empty: every patient of the candidate stream counts
    patient_count: int | None = Field(default=None, ge=1, description="when the ids are not listed")
    events: tuple[LabelledEvent, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> ScenarioLabels:
        if self.end <= self.start:
            raise ValueError("scenario end must be after its start")
        if not self.patients and self.patient_count is None:
            raise ValueError("labels need the patients or their count")
        return self

    @property
    def patient_days(self) -> float:
        n = len(self.patients) or self.patient_count or 0
        return n * (self.end - self.start).total_seconds() / 86400.0


# Which alarm rules answer each clinical event type of the simulator
# (firmware_sim/conditions.py and its glucose episodes); NEWS2 answers every
# vital-sign deterioration.
_NEWS2 = ("news2_medium", "news2_high", "news2_red_flag")
_GLUCOSE_LOW = ("glucose_urgent_low", "glucose_low", "glucose_predicted_low")
_GLUCOSE_HIGH = ("glucose_high", "glucose_urgent_high")
SIM_RULES: dict[str, tuple[str, ...]] = {
    "sepsis": ("heart_rate_high", "resp_rate_high", "spo2_low", "bp_systolic_low", "temperature_high", *_NEWS2),
    "respiratory_deterioration": ("spo2_low", "resp_rate_high", "heart_rate_high", *_NEWS2),
    "copd_exacerbation": ("spo2_low", "resp_rate_high", "heart_rate_high", *_NEWS2),
    "tachyarrhythmia": ("heart_rate_high", "bp_systolic_low", *_NEWS2),
    "fever": ("temperature_high", "heart_rate_high", *_NEWS2),
    "nocturnal_hypoglycaemia": _GLUCOSE_LOW,
    "postprandial_hyperglycaemia": _GLUCOSE_HIGH,
    "hypoglycaemia_level1": _GLUCOSE_LOW,
    "hypoglycaemia_level2": _GLUCOSE_LOW,
    "hyperglycaemia_level1": _GLUCOSE_HIGH,
    "hyperglycaemia_level2": _GLUCOSE_HIGH,
}


class SimLabel(BaseModel):
    """One line of the simulator's labels file (the JSON is the contract; firmware_sim is not imported)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    category: str
    type: str
    patient_id: str | None = None
    start: AwareDatetime
    end: AwareDatetime | None = None
    detail: dict[str, float | int | str | bool | None] = Field(default_factory=dict)


def from_sim(lines: list[SimLabel]) -> ScenarioLabels:
    run = next((x for x in lines if x.category == "run"), None)
    if run is None or run.end is None:
        raise ValueError("the simulator's labels need their 'run' line with an end")
    count = run.detail.get("patients")
    events = tuple(
        LabelledEvent(patient_id=x.patient_id, kind=x.category, condition=x.type, start=x.start, end=x.end,
                      rules=SIM_RULES.get(x.type) if x.category == "clinical" else None)
        for x in lines if x.category != "run" and x.patient_id is not None
    )
    return ScenarioLabels(scenario=str(run.detail.get("scenario", "sim")), start=run.start, end=run.end,
                          patient_count=int(count) if isinstance(count, (int, float)) else None, events=events)


def load_labels(path: Path) -> ScenarioLabels:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return from_sim([SimLabel.model_validate_json(line) for line in text.splitlines() if line.strip()])
    return ScenarioLabels.model_validate_json(text)


def load_candidates(path: Path) -> list[AlertCandidate]:
    with path.open(encoding="utf-8") as f:
        return [AlertCandidate.model_validate_json(line) for line in f if line.strip()]


def write_scenario(directory: Path, labels: ScenarioLabels, candidates: list[AlertCandidate]) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    lp = directory / f"{labels.scenario}.labels.json"
    cp = directory / f"{labels.scenario}.candidates.jsonl"
    lp.write_text(labels.model_dump_json(indent=1), encoding="utf-8")
    with cp.open("w", encoding="utf-8") as f:
        for c in candidates:
            f.write(c.model_dump_json() + "\n")
    return lp, cp
