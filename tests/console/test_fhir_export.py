"""FHIR R4 export: vital-signs profile, LOINC codes, UCUM units, BP as one panel, validated by fhir.resources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.console import fhir_export
from storage.queries import Resolution, Trend, TrendPoint

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def _trend(type_: str, unit: str, values: list[float | None], res: Resolution = Resolution.RAW) -> Trend:
    step = timedelta(minutes=1) if res is Resolution.MINUTE else timedelta(seconds=30)
    pts = tuple(TrendPoint(T0 + i * step, v, None if v is None else v - 1, None if v is None else v + 1,
                           0 if v is None else 4, 0) for i, v in enumerate(values))
    return Trend("P1", type_, unit, res, T0, T0 + timedelta(hours=1), pts)


def test_vitals_become_profiled_observations_with_loinc_and_ucum() -> None:
    trends = [_trend("heart_rate", "/min", [80, None, 82]), _trend("spo2", "%", [97]), _trend("resp_rate", "/min", [16]),
              _trend("temperature", "degC", [37.2]), _trend("glucose", "mg/dL", [110])]
    obs = fhir_export.observations("P1", trends)
    assert len(obs) == 6  # the point without a value is left out
    by_code = {o.code.coding[0].code: o for o in reversed(obs)}  # the first of each code
    hr = by_code["8867-4"]
    assert hr.status == "final" and hr.subject.reference == "Patient/P1"
    assert hr.category[0].coding[0].code == "vital-signs"
    assert hr.meta.profile == ["http://hl7.org/fhir/StructureDefinition/vitalsigns",
                               "http://hl7.org/fhir/StructureDefinition/heartrate"]
    assert (hr.valueQuantity.system, hr.valueQuantity.code, hr.valueQuantity.value) == (
        "http://unitsofmeasure.org", "/min", 80)
    assert hr.effectiveDateTime is not None
    spo2 = by_code["2708-6"]
    assert [c.code for c in spo2.code.coding] == ["2708-6", "59408-5"] and spo2.valueQuantity.code == "%"
    assert by_code["9279-1"].valueQuantity.code == "/min"
    assert by_code["8310-5"].valueQuantity.code == "Cel"
    glucose = by_code["99504-3"]
    assert glucose.category[0].coding[0].code == "laboratory" and glucose.valueQuantity.code == "mg/dL"


def test_blood_pressure_is_one_panel_with_two_components() -> None:
    obs = fhir_export.observations("P1", [_trend("bp_systolic", "mmHg", [120, 118]),
                                          _trend("bp_diastolic", "mmHg", [80, None])])
    assert len(obs) == 1  # the second systolic has no diastolic partner
    bp = obs[0]
    assert bp.code.coding[0].code == "85354-9"
    assert bp.meta.profile[-1] == "http://hl7.org/fhir/StructureDefinition/bp"
    comps = {c.code.coding[0].code: c.valueQuantity for c in bp.component}
    assert comps["8480-6"].value == 120 and comps["8462-4"].value == 80 and comps["8480-6"].code == "mm[Hg]"


def test_buckets_cover_their_period_and_say_what_they_are() -> None:
    obs = fhir_export.observations("P1", [_trend("heart_rate", "/min", [90], Resolution.MINUTE)])
    o = obs[0]
    assert o.effectivePeriod.start == T0 and o.effectivePeriod.end == T0 + timedelta(minutes=1)
    assert "mean of 4 readings" in o.note[0].text


def test_bundle_is_valid_r4_json() -> None:
    b = fhir_export.bundle("P1", [_trend("heart_rate", "/min", [80, 81])], T0)
    data = b.model_dump(mode="json", exclude_none=True)
    assert data["resourceType"] == "Bundle" and data["type"] == "collection" and len(data["entry"]) == 2
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in data["entry"])
    assert len({e["resource"]["id"] for e in data["entry"]}) == 2
