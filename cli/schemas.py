"""Generate JSON Schemas of the wire contract into docs/schemas/."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from wire.messages import (
    AlertCandidate,
    DeadLetter,
    DeviceStatus,
    ReadingBatch,
    Telemetry,
    Waveform,
)

PUBLISHED: dict[str, type[BaseModel]] = {
    "telemetry.v1": Telemetry,
    "device-status.v1": DeviceStatus,
    "waveform.v1": Waveform,
    "reading-batch.v1": ReadingBatch,
    "alert-candidate.v1": AlertCandidate,
    "dead-letter.v1": DeadLetter,
}


def schema_text(model: type[BaseModel]) -> str:
    return json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schemas(out: str) -> int:
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    for name, model in PUBLISHED.items():
        (d / f"{name}.schema.json").write_text(schema_text(model), encoding="utf-8")
        print(d / f"{name}.schema.json")
    return 0
