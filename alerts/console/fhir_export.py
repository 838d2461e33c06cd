"""FHIR R4 Observations of a patient's trend, for the hospital record.

Vital signs follow the FHIR vital-signs profile (LOINC code, category
vital-signs, UCUM units; blood pressure as the 85354-9 panel with systolic
8480-6 and diastolic 8462-4 components). CGM glucose follows the HL7 CGM IG
(LOINC 99504-3, category laboratory). A bucketed point (1-minute or 1-hour
resolution) becomes an Observation over ``effectivePeriod`` whose value is
the bucket mean, with min, max and count in a note.

Each Observation comes from the builders the /fhir API uses (alerts.fhir.observations),
validated with ``fhir.resources``' R4B models: R4B (4.3) leaves
Observation and Bundle as in R4 (4.0.1), so the output is valid R4 JSON.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from alerts.fhir.observations import BP_PANEL, CATEGORY, CODES, LOINC, SD, UCUM, Code, blood_pressure, vital
from storage.queries import Resolution, Trend, TrendPoint

__all__ = ["BP_PANEL", "CATEGORY", "CODES", "LOINC", "SD", "UCUM", "Code", "bundle", "observations"]
STEP = {Resolution.MINUTE: timedelta(minutes=1), Resolution.HOUR: timedelta(hours=1)}


def _when(p: TrendPoint, res: Resolution, not_after: datetime) -> dict[str, Any]:
    if res is Resolution.RAW:
        return {"effectiveDateTime": p.t.isoformat()}
    # The current hour (or minute) is still open: its period ends with the export, never in the future.
    return {"effectivePeriod": {"start": p.t.isoformat(), "end": min(p.t + STEP[res], not_after).isoformat()}}


def _note(p: TrendPoint, res: Resolution) -> str | None:
    if res is Resolution.RAW:
        return None
    return f"mean of {p.n} readings ({res.value} bucket), min {p.min:g}, max {p.max:g}"


def _ident(patient_id: str, kind: str, t: datetime) -> str:
    # FHIR ids: [A-Za-z0-9-.]{1,64}; stable, so a re-export updates rather than duplicates.
    raw = f"{patient_id}-{kind}-{int(t.timestamp())}".replace("_", "-")
    return raw[:64]


def observations(patient_id: str, trends: list[Trend], now: datetime | None = None) -> list[Observation]:
    """One Observation per point with a value; systolic and diastolic at the same time become one BP panel.

    A bucket's period ends at its bucket end, the period's end or ``now``, whichever comes first."""
    out: list[Observation] = []
    by_type = {t.type: t for t in trends}
    subject = f"Patient/{patient_id}"
    for tr in trends:
        if tr.type in ("bp_systolic", "bp_diastolic"):
            continue
        for p in tr.points:
            if p.value is None:
                continue
            out.append(vital(_ident(patient_id, tr.type, p.t), subject, tr.type, p.value,
                             _when(p, tr.resolution, min(tr.end, now) if now else tr.end), _note(p, tr.resolution)))
    sys_, dia = by_type.get("bp_systolic"), by_type.get("bp_diastolic")
    if sys_ is not None:
        diastolic = {p.t: p for p in dia.points} if dia else {}
        for p in sys_.points:
            d = diastolic.get(p.t)
            if p.value is None or d is None or d.value is None:
                continue
            out.append(blood_pressure(_ident(patient_id, "bp", p.t), subject, p.value, d.value,
                                      _when(p, sys_.resolution, min(sys_.end, now) if now else sys_.end),
                                      _note(p, sys_.resolution)))
    return out


def bundle(patient_id: str, trends: list[Trend], now: datetime) -> Bundle:
    obs = observations(patient_id, trends, now)
    return Bundle.model_validate({
        "resourceType": "Bundle", "type": "collection", "timestamp": now.isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{uuid5(NAMESPACE_URL, str(o.id))}", "resource": o} for o in obs],
    })
