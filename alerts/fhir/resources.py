"""Patient, Device, Flag, Observation-from-row and CapabilityStatement builders, validated with fhir.resources (R4B).

Active alarms are Flags: status active, the rule as a code, the IEC 60601-1-8
priority in the standard flag-priority extension (PH/PM/PL).
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from alerts.console.access import PatientRef
from alerts.console.models import AlarmOut
from alerts.fhir import ids, observations
from alerts.fhir.store import DeviceRow, ObservationRow

PATIENT_SYSTEM = "urn:rpm:patient-id"
DEVICE_SYSTEM = "urn:rpm:device-id"
RULE_SYSTEM = "urn:rpm:alarm-rule"
FLAG_PRIORITY = "http://hl7.org/fhir/StructureDefinition/flag-priority"
FLAG_PRIORITY_CODES = "http://hl7.org/fhir/flag-priority-code"
_PRIORITY = {"high": ("PH", "High priority"), "medium": ("PM", "Medium priority"), "low": ("PL", "Low priority")}


def patient_ref(patient_id: str) -> str:
    return f"Patient/{ids.simple(patient_id)}"


def patient(p: PatientRef) -> Patient:
    body: dict[str, Any] = {
        "resourceType": "Patient", "id": ids.simple(p.id), "active": True,
        "identifier": [{"system": PATIENT_SYSTEM, "value": p.id}],
        "name": [{"text": p.display_name}],
    }
    return Patient.model_validate(body)


def device(d: DeviceRow) -> Device:
    body: dict[str, Any] = {
        "resourceType": "Device", "id": ids.simple(d.id), "status": "inactive" if d.retired else "active",
        "identifier": [{"system": DEVICE_SYSTEM, "value": d.id}],
        "type": {"text": d.kind},
    }
    if d.patient_id:
        body["patient"] = {"reference": patient_ref(d.patient_id)}
    return Device.model_validate(body)


def flag(a: AlarmOut) -> Flag:
    code, display = _PRIORITY[a.priority]
    body: dict[str, Any] = {
        "resourceType": "Flag", "id": a.id, "status": "active" if a.state != "resolved" else "inactive",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/flag-category",
                                  "code": "clinical", "display": "Clinical"}]}],
        "code": {"coding": [{"system": RULE_SYSTEM, "code": a.rule}], "text": a.message},
        "subject": {"reference": patient_ref(a.patient_id)},
        "period": {"start": a.raised_at.isoformat()},
        "extension": [{"url": FLAG_PRIORITY, "valueCodeableConcept": {
            "coding": [{"system": FLAG_PRIORITY_CODES, "code": code, "display": display}]}}],
    }
    return Flag.model_validate(body)


def observation(row: ObservationRow) -> Observation:
    key = row.key
    ident, subject = ids.observation(key), patient_ref(key.patient_id)
    device_ref = f"Device/{ids.simple(key.device_id)}" if key.device_id else None
    when = {"effectiveDateTime": key.t.isoformat()}
    note = f"device quality flags: {', '.join(sorted(set(row.flags)))}" if row.flags else None
    if key.kind == "news2":
        assert row.news2 is not None, "a NEWS2 row comes with its score"
        return observations.news2(ident, subject, row.news2)
    if key.kind == "bp":
        assert row.diastolic is not None
        return observations.blood_pressure(ident, subject, row.value, row.diastolic, when, note, device_ref)
    return observations.vital(ident, subject, key.kind, row.value, when, note, device_ref)


def capability(base: str, token_url: str, software_version: str, date: str) -> CapabilityStatement:
    def res(type_: str, params: list[tuple[str, str, str]]) -> dict[str, Any]:
        return {"type": type_, "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [{"name": n, "type": t, "documentation": d} for n, t, d in params]}

    count = ("_count", "number", "page size (default 50, at most 500); next links page on")
    body: dict[str, Any] = {
        "resourceType": "CapabilityStatement", "status": "active", "date": date, "kind": "instance",
        "fhirVersion": "4.0.1", "format": ["json"],
        "software": {"name": "rpm", "version": software_version},
        "implementation": {"description": "IoMT remote patient monitoring: vital signs, NEWS2, alarms", "url": base},
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "SMART-on-FHIR"}]}],
                "description": "OAuth2 client credentials (client_secret_basic or _post); SMART v2 scopes such as"
                               " system/Observation.rs",
                "extension": [{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                               "extension": [{"url": "token", "valueUri": token_url}]}],
            },
            "resource": [
                res("Patient", [("_id", "token", "logical id"), ("identifier", "token", "the product's patient id"),
                                count]),
                res("Observation", [("patient", "reference", "required"), ("subject", "reference", "as patient"),
                                    ("code", "token", "LOINC (vital signs, glucose) or SNOMED CT (NEWS2)"),
                                    ("category", "token", "vital-signs, laboratory or survey"),
                                    ("date", "date", "effective time; prefixes eq ge gt le lt sa eb"),
                                    ("_sort", "string", "date or -date"), count]),
                res("Device", [("patient", "reference", "devices assigned now"), count]),
                res("Flag", [("patient", "reference", "active alarms of the patient"), count]),
            ],
        }],
    }
    return CapabilityStatement.model_validate(body)
