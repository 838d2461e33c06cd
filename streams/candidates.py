"""Alert candidates with deterministic ids, and the firing/clear bookkeeping.

The id is derived from (patient, rule, qualifier, status, evaluated window
start): the same evaluation re-run after a worker restart yields the same id,
and each evaluation while a condition holds yields a new one. Streams emit
``firing`` at every evaluation while a condition holds and one ``clear`` when
it stops; delays, hysteresis and latching belong to the alert service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.stats import to_dt
from wire.derived import Score, WindowStats
from wire.messages import AlertCandidate, CandidateQuality, CandidateStatus
from wire.rules import CATALOG, Rule
from wire.units import ReadingType

FIRING, CLEAR = CandidateStatus.FIRING, CandidateStatus.CLEAR


@dataclass(slots=True)
class Outputs:
    """What one processing step produced for one patient."""

    windows: list[WindowStats] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    candidates: list[AlertCandidate] = field(default_factory=list)
    live_dirty: bool = False
    hist_dirty: bool = False
    duplicate_batch: bool = False
    accepted: int = 0  # readings that entered a window (not late, not duplicate)


def candidate(
    patient_id: str,
    rule: Rule,
    status: CandidateStatus,
    window: tuple[int, int],
    detected_ms: int,
    message: str,
    *,
    qualifier: str = "",
    parameter: ReadingType | None = None,
    value: float | None = None,
    threshold: float | None = None,
    severity: float = 0.0,
    device_id: str | None = None,
    evidence: dict[str, float | int | str] | None = None,
    quality: CandidateQuality | None = None,
) -> AlertCandidate:
    key = "|".join(p for p in (rule.value, qualifier, "clear" if status is CLEAR else "") if p)
    start, end = window
    return AlertCandidate(
        id=AlertCandidate.make_id(patient_id, key, to_dt(start)),
        patient_id=patient_id,
        rule=rule.value,
        status=status,
        severity=max(0.0, round(severity, 3)),
        device_id=device_id,
        parameter=parameter,
        priority=CATALOG[rule].priority,
        value=value,
        threshold=threshold,
        window_start=to_dt(start),
        window_end=to_dt(end),
        detected_at=to_dt(detected_ms),
        message=message,
        evidence=evidence or {},
        quality=quality or CandidateQuality(),
    )


def transition(firing: list[str], rule: Rule, holds: bool) -> CandidateStatus | None:
    """Update the firing set; FIRING while it holds, CLEAR once when it stops, else None."""
    if holds:
        if rule.value not in firing:
            firing.append(rule.value)
        return FIRING
    if rule.value in firing:
        firing.remove(rule.value)
        return CLEAR
    return None
