"""FHIR R4 Observations of a patient's trend, for the hospital record.

Vital signs follow the FHIR vital-signs profile (LOINC code, category
vital-signs, UCUM units; blood pressure as the 85354-9 panel with systolic
8480-6 and diastolic 8462-4 components). CGM glucose follows the HL7 CGM IG
(LOINC 99504-3, category laboratory). A bucketed point (1-minute or 1-hour
resolution) becomes an Observation over ``effectivePeriod`` whose value is
the bucket mean, with min, max and count in a note.

Built and validated with ``fhir.resources``' R4B models: R4B (4.3) leaves
Observation and Bundle as in R4 (4.0.1), so the output is valid R4 JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from storage.queries import Resolution, Trend, TrendPoint

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SD = "http://hl7.org/fhir/StructureDefinition/"


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
STEP = {Resolution.MINUTE: timedelta(minutes=1), Resolution.HOUR: timedelta(hours=1)}


def _concept(codes: Iterable[tuple[str, str]], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [{"system": LOINC, "code": c, "display": d} for c, d in codes]}
    if text:
        out["text"] = text
    return out


def _quantity(value: float, code: Code) -> dict[str, Any]:
    return {"value": round(value, 2), "unit": code.unit, "system": UCUM, "code": code.ucum}


def _when(p: TrendPoint, res: Resolution, not_after: datetime) -> dict[str, Any]:
    if res is Resolution.RAW:
        return {"effectiveDateTime": p.t.isoformat()}
    # The current hour (or minute) is still open: its period ends with the export, never in the future.
    return {"effectivePeriod": {"start": p.t.isoformat(), "end": min(p.t + STEP[res], not_after).isoformat()}}


def _note(p: TrendPoint, res: Resolution) -> list[dict[str, str]]:
    if res is Resolution.RAW:
        return []
    return [{"text": f"mean of {p.n} readings ({res.value} bucket), min {p.min:g}, max {p.max:g}"}]


def _base(patient_id: str, kind: str, category: str, profiles: list[str], ident: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": ident, "status": "final",
        "meta": {"profile": profiles},
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def _ident(patient_id: str, kind: str, t: datetime) -> str:
    # FHIR ids: [A-Za-z0-9-.]{1,64}; stable, so a re-export updates rather than duplicates.
    raw = f"{patient_id}-{kind}-{int(t.timestamp())}".replace("_", "-")
    return raw[:64]


def observations(patient_id: str, trends: list[Trend], now: datetime | None = None) -> list[Observation]:
    """One Observation per point with a value; systolic and diastolic at the same time become one BP panel.

    A bucket's period ends at its bucket end, the period's end or ``now``, whichever comes first."""
    out: list[Observation] = []
    by_type = {t.type: t for t in trends}
    for tr in trends:
        if tr.type in ("bp_systolic", "bp_diastolic"):
            continue
        code = CODES[tr.type]
        profiles = [SD + "vitalsigns", SD + code.profile] if code.profile else []
        for p in tr.points:
            if p.value is None:
                continue
            body = _base(patient_id, tr.type, code.category, profiles, _ident(patient_id, tr.type, p.t))
            body.update(code=_concept(code.loinc), valueQuantity=_quantity(p.value, code),
                        **_when(p, tr.resolution, min(tr.end, now) if now else tr.end))
            if note := _note(p, tr.resolution):
                body["note"] = note
            out.append(Observation.model_validate(body))
    sys_, dia = by_type.get("bp_systolic"), by_type.get("bp_diastolic")
    if sys_ is not None:
        diastolic = {p.t: p for p in dia.points} if dia else {}
        for p in sys_.points:
            d = diastolic.get(p.t)
            if p.value is None or d is None or d.value is None:
                continue
            body = _base(patient_id, "bp", "vital-signs", [SD + "vitalsigns", SD + "bp"], _ident(patient_id, "bp", p.t))
            body.update(code=_concept([BP_PANEL]), component=[
                {"code": _concept(CODES["bp_systolic"].loinc), "valueQuantity": _quantity(p.value, CODES["bp_systolic"])},
                {"code": _concept(CODES["bp_diastolic"].loinc), "valueQuantity": _quantity(d.value, CODES["bp_diastolic"])},
            ], **_when(p, sys_.resolution, min(sys_.end, now) if now else sys_.end))
            if note := _note(p, sys_.resolution):
                body["note"] = note
            out.append(Observation.model_validate(body))
    return out


def bundle(patient_id: str, trends: list[Trend], now: datetime) -> Bundle:
    obs = observations(patient_id, trends, now)
    return Bundle.model_validate({
        "resourceType": "Bundle", "type": "collection", "timestamp": now.isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{uuid5(NAMESPACE_URL, str(o.id))}", "resource": o} for o in obs],
    })
