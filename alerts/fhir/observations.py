"""Builders of FHIR R4 Observations, shared by the console's export and the /fhir API.

Vital signs follow the FHIR vital-signs profile (LOINC code, category
vital-signs, UCUM units; blood pressure as the 85354-9 panel with systolic
8480-6 and diastolic 8462-4 components). CGM glucose follows the HL7 CGM IG
(LOINC 99504-3, category laboratory). NEWS2 (RCP 2017) is a survey
Observation coded with SNOMED CT 1104051000000101 (the UK Core code for the
NEWS2 total), its seven parameter scores as components.

Built and validated with fhir.resources' R4B models: R4B (4.3) leaves
Observation as in R4 (4.0.1), so the output is valid R4 JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.observation import Observation

from storage.queries import News2Point

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SD = "http://hl7.org/fhir/StructureDefinition/"
# Our own code system for NEWS2 parameter scores (no LOINC codes exist for them).
NEWS2_PARAMETERS = "urn:rpm:news2-parameter"


@dataclass(frozen=True, slots=True)
class Code:
    loinc: tuple[tuple[str, str], ...]  # (code, display); the first is the profile's required code
    ucum: str
    unit: str
    profile: str | None
    category: str = "vital-signs"


CODES: dict[str, Code] = {
    "heart_rate": Code((("8867-4", "Heart rate"),), "/min", "beats/minute", "heartrate"),
    "resp_rate": Code((("9279-1", "Respiratory rate"),), "/min", "breaths/minute", "resprate"),
    "spo2": Code((("2708-6", "Oxygen saturation in Arterial blood"),
                  ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry")), "%", "%", "oxygensat"),
    "temperature": Code((("8310-5", "Body temperature"),), "Cel", "C", "bodytemp"),
    "bp_systolic": Code((("8480-6", "Systolic blood pressure"),), "mm[Hg]", "mmHg", None),
    "bp_diastolic": Code((("8462-4", "Diastolic blood pressure"),), "mm[Hg]", "mmHg", None),
    "glucose": Code((("99504-3", "Glucose [Mass/volume] in Interstitial fluid"),), "mg/dL", "mg/dL", None,
                    "laboratory"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
NEWS2_CODE = ("1104051000000101", "Royal College of Physicians National Early Warning Score 2 (NEWS2) total score")
NEWS2_LABELS = {"resp_rate": "Respiration rate score", "spo2": "Oxygen saturation score",
                "air_or_oxygen": "Air or oxygen score", "systolic_bp": "Systolic blood pressure score",
                "pulse": "Pulse score", "consciousness": "Consciousness score", "temperature": "Temperature score"}


def concept(codes: Iterable[tuple[str, str]], text: str | None = None, system: str = LOINC) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [{"system": system, "code": c, "display": d} for c, d in codes]}
    if text:
        out["text"] = text
    return out


def quantity(value: float, code: Code) -> dict[str, Any]:
    return {"value": round(value, 2), "unit": code.unit, "system": UCUM, "code": code.ucum}


def _base(ident: str, patient_ref: str, category: str, profiles: list[str], when: dict[str, Any],
          device_ref: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation", "id": ident, "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "subject": {"reference": patient_ref}, **when,
    }
    if profiles:
        body["meta"] = {"profile": profiles}
    if device_ref:
        body["device"] = {"reference": device_ref}
    return body


def vital(ident: str, patient_ref: str, type_: str, value: float, when: dict[str, Any],
          note: str | None = None, device_ref: str | None = None) -> Observation:
    """One vital sign (not blood pressure: see ``blood_pressure``); ``when`` is effectiveDateTime or -Period."""
    code = CODES[type_]
    profiles = [SD + "vitalsigns", SD + code.profile] if code.profile else []
    body = _base(ident, patient_ref, code.category, profiles, when, device_ref)
    body.update(code=concept(code.loinc), valueQuantity=quantity(value, code))
    if note:
        body["note"] = [{"text": note}]
    return Observation.model_validate(body)


def blood_pressure(ident: str, patient_ref: str, systolic: float, diastolic: float, when: dict[str, Any],
                   note: str | None = None, device_ref: str | None = None) -> Observation:
    body = _base(ident, patient_ref, "vital-signs", [SD + "vitalsigns", SD + "bp"], when, device_ref)
    body.update(code=concept([BP_PANEL]), component=[
        {"code": concept(CODES["bp_systolic"].loinc), "valueQuantity": quantity(systolic, CODES["bp_systolic"])},
        {"code": concept(CODES["bp_diastolic"].loinc), "valueQuantity": quantity(diastolic, CODES["bp_diastolic"])},
    ])
    if note:
        body["note"] = [{"text": note}]
    return Observation.model_validate(body)


def news2(ident: str, patient_ref: str, p: News2Point) -> Observation:
    """A NEWS2 score: total as valueInteger, band and completeness in the interpretation text and note."""
    body = _base(ident, patient_ref, "survey", [], {"effectiveDateTime": p.scored_at.isoformat()}, None)
    components = [
        {"code": concept([(name, NEWS2_LABELS.get(name, name))], system=NEWS2_PARAMETERS), "valueInteger": score}
        for name, score in p.subscores if score is not None
    ]
    notes = [f"clinical risk {p.band}", f"SpO2 scale {p.spo2_scale}"]
    if p.red_flag:
        notes.append("red flag: " + ", ".join(p.red_flag_parameters or ("a single parameter scored 3",)))
    if not p.complete:
        notes.append("incomplete: missing " + ", ".join(p.missing + p.stale + p.indeterminate))
    body.update(code=concept([NEWS2_CODE], "NEWS2", system=SNOMED), valueInteger=p.total,
                interpretation=[{"text": f"{p.band} clinical risk"}], note=[{"text": "; ".join(notes)}])
    if components:
        body["component"] = components
    return Observation.model_validate(body)
