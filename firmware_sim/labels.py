"""Ground truth: every clinical event, artifact and fault the simulator injected, as JSON lines.

Alarm quality is scored against this file: sensitivity and lead time
against ``clinical`` labels, false alarms against ``artifact`` labels,
delivery checks against ``fault`` labels. Times are true (simulated) times,
not device clock times; a device's clock skew is itself a label. A label is
written when its event starts to act, so a run stopped early never labels
events that did not happen; ``end`` is null for events still under way.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import IO

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from wire.units import ReadingType


class LabelCategory(StrEnum):
    RUN = "run"
    CLINICAL = "clinical"
    ARTIFACT = "artifact"
    FAULT = "fault"


class Label(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    category: LabelCategory
    type: str
    patient_id: str | None = None
    device_id: str | None = None
    start: AwareDatetime
    end: AwareDatetime | None = None
    readings: tuple[ReadingType, ...] = ()
    detail: dict[str, float | int | str | bool | None] = Field(default_factory=dict)


class LabelSink:
    """Collects labels in memory and, given a path, appends them to a JSON-lines file as they happen."""

    def __init__(self, path: Path | None = None) -> None:
        self.labels: list[Label] = []
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")

    def add(self, label: Label) -> None:
        self.labels.append(label)
        if self._file is not None:
            self._file.write(label.model_dump_json(exclude_defaults=False) + "\n")

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_labels(path: Path) -> list[Label]:
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(Label.model_validate(json.loads(line)))
                except ValueError as e:
                    raise ValueError(f"{path} line {n}: {e}") from None
    return out
