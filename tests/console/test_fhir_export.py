"""FHIR R4 export: vital-signs profile, LOINC codes, UCUM units, BP as one panel, validated by fhir.resources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fhir.resources.R4B.observation import Observation

from alerts.console import fhir_export
from storage.queries import Resolution, Trend, TrendPoint

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
SD = "http://hl7.org/fhir/StructureDefinition/"


def _trend(type_: str, unit: str, values: list[float | None], res: Resolution = Resolution.RAW) -> Trend:
    step = timedelta(minutes=1) if res is Resolution.MINUTE else timedelta(seconds=30)
    pts = tuple(TrendPoint(T0 + i * step, v, None if v is None else v - 1, None if v is None else v + 1,
                           0 if v is None else 4, 0) for i, v in enumerate(values))
    return Trend("P1", type_, unit, res, T0, T0 + timedelta(hours=1), pts)


def _json(obs: list[Observation]) -> list[dict[str, Any]]:
    # The validated models as the JSON a hospital system receives.
    return [o.model_dump(mode="json", exclude_none=True) for o in obs]


def test_vitals_become_profiled_observations_with_loinc_and_ucum() -> None:
    trends = [_trend("heart_rate", "/min", [80, None, 82]), _trend("spo2", "%", [97]), _trend("resp_rate", "/min", [16]),
              _trend("temperature", "degC", [37.2]), _trend("glucose", "mg/dL", [110])]
    obs = _json(fhir_export.observations("P1", trends))
    assert len(obs) == 6  # the point without a value is left out
    first: dict[str, dict[str, Any]] = {}
    for o in obs:
        first.setdefault(o["code"]["coding"][0]["code"], o)
    hr = first["8867-4"]
    assert hr["status"] == "final" and hr["subject"] == {"reference": "Patient/P1"}
    assert hr["category"][0]["coding"][0]["code"] == "vital-signs"
    assert hr["meta"]["profile"] == [SD + "vitalsigns", SD + "heartrate"]
    assert hr["valueQuantity"] == {"value": 80, "unit": "beats/minute", "system": "http://unitsofmeasure.org",
                                   "code": "/min"}
    assert hr["effectiveDateTime"].startswith("2026-03-10T08:00:00")
    spo2 = first["2708-6"]
    assert [c["code"] for c in spo2["code"]["coding"]] == ["2708-6", "59408-5"]
    assert spo2["valueQuantity"]["code"] == "%" and spo2["meta"]["profile"][-1] == SD + "oxygensat"
    assert first["9279-1"]["valueQuantity"]["code"] == "/min"
    assert first["8310-5"]["valueQuantity"]["code"] == "Cel"
    glucose = first["99504-3"]
    assert glucose["category"][0]["coding"][0]["code"] == "laboratory" and glucose["valueQuantity"]["code"] == "mg/dL"


def test_blood_pressure_is_one_panel_with_two_components() -> None:
    obs = _json(fhir_export.observations("P1", [_trend("bp_systolic", "mmHg", [120, 118]),
                                                _trend("bp_diastolic", "mmHg", [80, None])]))
    assert len(obs) == 1  # the second systolic has no diastolic partner
    bp = obs[0]
    assert bp["code"]["coding"][0]["code"] == "85354-9" and bp["meta"]["profile"][-1] == SD + "bp"
    comps = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in bp["component"]}
    assert comps["8480-6"]["value"] == 120 and comps["8462-4"]["value"] == 80
    assert comps["8480-6"]["code"] == comps["8462-4"]["code"] == "mm[Hg]"


def test_buckets_cover_their_period_and_say_what_they_are() -> None:
    o = _json(fhir_export.observations("P1", [_trend("heart_rate", "/min", [90], Resolution.MINUTE)]))[0]
    assert o["effectivePeriod"]["start"].startswith("2026-03-10T08:00:00")
    assert o["effectivePeriod"]["end"].startswith("2026-03-10T08:01:00")
    assert "mean of 4 readings" in o["note"][0]["text"]


def test_bundle_is_valid_r4_json() -> None:
    b = fhir_export.bundle("P1", [_trend("heart_rate", "/min", [80, 81])], T0)
    data = b.model_dump(mode="json", exclude_none=True)
    assert data["resourceType"] == "Bundle" and data["type"] == "collection" and len(data["entry"]) == 2
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in data["entry"])
    assert len({e["resource"]["id"] for e in data["entry"]}) == 2
    # What we send parses back into the R4 model.
    assert all(Observation.model_validate(e["resource"]) for e in data["entry"])


def test_the_open_hourly_bucket_does_not_end_in_the_future() -> None:
    # Issue 17: an export at 10:20 has a 10:00 bucket; its period ends at 10:20, not 11:00.
    now = T0 + timedelta(hours=2, minutes=20)
    pts = (TrendPoint(T0 + timedelta(hours=1), 80.0, 78.0, 83.0, 60, 0),
           TrendPoint(T0 + timedelta(hours=2), 90.0, 85.0, 95.0, 20, 0))
    trend = Trend("P1", "heart_rate", "/min", Resolution.HOUR, T0 - timedelta(days=6), now, pts)
    periods = [o["effectivePeriod"] for o in _json(fhir_export.observations("P1", [trend], now))]
    ends = [datetime.fromisoformat(p["end"].replace("Z", "+00:00")) for p in periods]
    assert ends == [T0 + timedelta(hours=2), now]
