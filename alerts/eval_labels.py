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

The candidates of the same run are ``NAME.candidates.jsonl``: one
``AlertCandidate`` JSON per line, exactly as on ``rpm.alert-candidates.v1``.
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
    patients: tuple[str, ...] = Field(min_length=1)
    events: tuple[LabelledEvent, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> ScenarioLabels:
        if self.end <= self.start:
            raise ValueError("scenario end must be after its start")
        return self

    @property
    def patient_days(self) -> float:
        return len(self.patients) * (self.end - self.start).total_seconds() / 86400.0


def load_labels(path: Path) -> ScenarioLabels:
    return ScenarioLabels.model_validate_json(path.read_text(encoding="utf-8"))


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
