"""Alarm quality against ground truth (pure): alarm rate, PPV, sensitivity, lead time.

- Only clinical alarms count (physiological and score rules); technical
  alarms (signal loss, offline, battery, sensor off) are reported apart.
- An alarm *matches* a clinical event of the same patient when it was
  raised between the event's start and its end plus ``grace`` (a patient
  recovering is still the same event), and, when the event lists rules,
  its rule is one of them.
- ``ppv``: share of alarms that match some clinical event.
- ``sensitivity``: share of clinical events matched by at least one alarm.
- ``median_lead_time_min``: from event start to its first matching alarm,
  median over detected events (minutes; smaller is earlier).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from alerts.eval_labels import LabelledEvent, ScenarioLabels
from alerts.eval_replay import RaisedAlarm
from wire.rules import CATALOG, Rule, RuleKind


@dataclass(frozen=True, slots=True)
class Quality:
    alarms: int
    technical_alarms: int
    alarms_per_patient_day: float
    technical_alarms_per_patient_day: float
    ppv: float | None
    sensitivity: float | None
    median_lead_time_min: float | None
    events: int
    detected: int
    lead_by_condition: dict[str, float]  # median lead time (min) per labelled condition


def is_clinical(rule: str) -> bool:
    try:
        return CATALOG[Rule(rule)].kind is not RuleKind.TECHNICAL
    except ValueError:
        return False


def matches(a: RaisedAlarm, e: LabelledEvent, labels: ScenarioLabels, grace: timedelta) -> bool:
    return (
        e.clinical and a.patient_id == e.patient_id and e.start <= a.at <= e.end_or(labels.end) + grace
        and (e.rules is None or a.rule in e.rules)
    )


def quality(alarms: list[RaisedAlarm], labels: ScenarioLabels, grace: timedelta = timedelta(minutes=30)) -> Quality:
    patients = set(labels.patients)
    mine = [a for a in alarms if (not patients or a.patient_id in patients) and labels.start <= a.at <= labels.end]
    clinical = [a for a in mine if is_clinical(a.rule)]
    technical = len(mine) - len(clinical)
    targets = [e for e in labels.events if e.clinical]
    true_alarms = sum(1 for a in clinical if any(matches(a, e, labels, grace) for e in targets))
    leads: list[float] = []
    by_condition: dict[str, list[float]] = {}
    for e in targets:
        hits = [a.at for a in clinical if matches(a, e, labels, grace)]
        if hits:
            lead = (min(hits) - e.start).total_seconds() / 60.0
            leads.append(lead)
            by_condition.setdefault(e.condition, []).append(lead)
    days = labels.patient_days
    return Quality(
        alarms=len(clinical),
        technical_alarms=technical,
        alarms_per_patient_day=round(len(clinical) / days, 3),
        technical_alarms_per_patient_day=round(technical / days, 3),
        ppv=round(true_alarms / len(clinical), 4) if clinical else None,
        sensitivity=round(len(leads) / len(targets), 4) if targets else None,
        median_lead_time_min=round(median(leads), 2) if leads else None,
        events=len(targets),
        detected=len(leads),
        lead_by_condition={k: round(median(v), 2) for k, v in sorted(by_condition.items())},
    )


def report(scenario: str, smart: Quality, naive: Quality, labels: ScenarioLabels) -> dict[str, object]:
    """The ``rpm eval alarms --json`` object: smart figures, the same prefixed ``naive_``, and the reduction."""
    out: dict[str, object] = {"scenario": scenario, "patients": len(labels.patients) or labels.patient_count,
                              "patient_days": round(labels.patient_days, 3)}
    for prefix, q in (("", smart), ("naive_", naive)):
        out.update({
            f"{prefix}alarms": q.alarms,
            f"{prefix}alarms_per_patient_day": q.alarms_per_patient_day,
            f"{prefix}ppv": q.ppv,
            f"{prefix}sensitivity": q.sensitivity,
            f"{prefix}median_lead_time_min": q.median_lead_time_min,
            f"{prefix}technical_alarms_per_patient_day": q.technical_alarms_per_patient_day,
            f"{prefix}median_lead_time_min_by_condition": q.lead_by_condition,
        })
    out["events"] = smart.events
    out["detected"] = smart.detected
    out["naive_detected"] = naive.detected
    out["alarm_reduction"] = round(1 - smart.alarms / naive.alarms, 4) if naive.alarms else None
    return out
