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
from alerts.suppression_policy import policy_for
from wire.rules import CATALOG, EvaluatedBy, Rule, RuleKind

# The detection delay the project declares beyond a bedside monitor's, per rule,
# from where the streams decide it (wire.rules.EvaluatedBy; docs/architecture.md):
# - sliding (HR, SpO2, RR limits): the rule's onset delay (wire.rules, applied once)
#   plus the 5-sample median's lag (3 of 5 samples beyond: a few seconds);
# - window (spot vitals): the alarm delay plus the closed 1-min window and its 10-s lateness;
# - score (NEWS2): the 1-min window plus half the 5-min median (150 s);
# - episode (CGM): the consensus 15 min beyond the threshold before a glucose rule fires;
# - technical: the alarm delay.
# A monitor's own averaging and delay are already in the baseline.
SLIDING_MEDIAN_LAG_S = 5.0
WINDOW_S = 70.0
NEWS2_MEDIAN_LAG_S = 150.0
EPISODE_S = 15 * 60.0


def declared_delay_s(rule: str) -> float:
    try:
        spec = CATALOG[Rule(rule)]
    except ValueError:
        return 0.0
    delay = policy_for(rule).delay_s
    match spec.evaluation:
        case EvaluatedBy.SLIDING:
            return (spec.onset_delay_s or 0.0) + SLIDING_MEDIAN_LAG_S
        case EvaluatedBy.WINDOW:
            return delay + WINDOW_S
        case EvaluatedBy.SCORE:
            return delay + 60.0 + NEWS2_MEDIAN_LAG_S
        case EvaluatedBy.EPISODE:
            return delay + EPISODE_S
        case _:
            return delay


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


def delay_comparison(
    smart: list[RaisedAlarm], monitor: list[RaisedAlarm], labels: ScenarioLabels, grace: timedelta = timedelta(minutes=30)
) -> dict[str, object]:
    """Per labelled condition: detection delay from onset of the project vs the monitor baseline.

    ``excess_min``: project minus monitor, per event detected by both
    (median per condition); ``declared_min``: the declared delay of the rule
    that raised the project's first alarm for the event (median);
    ``within_declared``: every such event's excess is within its rule's
    declared delay. Events the monitor missed and the project caught count as
    passing; the reverse is listed in ``missed_by_project``.
    """
    clinical = [a for a in smart if is_clinical(a.rule)]
    mon = [a for a in monitor if is_clinical(a.rule)]
    by_condition: dict[str, dict[str, list[float]]] = {}
    ok = True
    missed: list[str] = []
    for e in (x for x in labels.events if x.clinical):
        s_hits = sorted((a for a in clinical if matches(a, e, labels, grace)), key=lambda a: a.at)
        m_hits = sorted((a for a in mon if matches(a, e, labels, grace)), key=lambda a: a.at)
        if not s_hits:
            if m_hits:
                missed.append(f"{e.patient_id}:{e.condition}")
                ok = False
            continue
        row = by_condition.setdefault(e.condition, {"project": [], "monitor": [], "excess": [], "declared": []})
        first = s_hits[0]
        row["project"].append((first.at - e.start).total_seconds() / 60)
        if m_hits:
            m_delay = (m_hits[0].at - e.start).total_seconds() / 60
            excess = row["project"][-1] - m_delay
            declared = declared_delay_s(first.rule) / 60
            row["monitor"].append(m_delay)
            row["excess"].append(excess)
            row["declared"].append(declared)
            ok = ok and excess <= declared + 1e-9
    conditions = {
        c: {
            "project_delay_min": round(median(v["project"]), 2),
            "monitor_delay_min": round(median(v["monitor"]), 2) if v["monitor"] else None,
            "excess_min": round(median(v["excess"]), 2) if v["excess"] else None,
            "declared_min": round(median(v["declared"]), 2) if v["declared"] else None,
            "within_declared": all(x <= d + 1e-9 for x, d in zip(v["excess"], v["declared"], strict=True)),
        }
        for c, v in sorted(by_condition.items())
    }
    return {"by_condition": conditions, "within_declared": ok, "missed_by_project": missed}


def report(scenario: str, smart: Quality, naive: Quality, labels: ScenarioLabels,
           monitor: Quality | None = None) -> dict[str, object]:
    """The ``rpm eval alarms --json`` object: smart figures, the same prefixed ``naive_``/``monitor_``, reductions."""
    out: dict[str, object] = {"scenario": scenario, "patients": len(labels.patients) or labels.patient_count,
                              "patient_days": round(labels.patient_days, 3)}
    rows = [("", smart), ("naive_", naive)] + ([("monitor_", monitor)] if monitor is not None else [])
    for prefix, q in rows:
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
    if monitor is not None:
        out["monitor_detected"] = monitor.detected
        out["alarm_reduction_vs_monitor"] = round(1 - smart.alarms / monitor.alarms, 4) if monitor.alarms else None
    return out
