"""1-minute tumbling heart-rate windows per patient, in event time (pure core).

State and time are arguments: the Faust agent and the wall-clock timer both
call these functions, and tests call them directly. A window closes when
event time passes its end plus the allowed lateness, or when wall time does
(so a sensor that goes quiet still gets its window closed). Samples a device
flagged (motion, probe off, ...) are counted but never averaged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from wire.messages import AlertCandidate, Priority, Reading
from wire.units import ReadingType

WINDOW = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class HrLimits:
    """Default adult limits; NEWS2 scores pulse <=40 and >=131 as 3 (RCP 2017, Chart 1)."""

    high: float = 130.0
    low: float = 40.0
    allowed_lateness: timedelta = timedelta(seconds=10)
    min_samples: int = 3


class Acc(BaseModel):
    model_config = ConfigDict(frozen=True)
    count: int = 0
    total: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    flagged: int = 0


class HrState(BaseModel):
    """Open windows of one patient, keyed by window start (epoch ms)."""

    model_config = ConfigDict(frozen=True)
    open: dict[int, Acc] = {}
    closed_before_ms: int = 0  # windows starting before this are closed for good
    late_dropped: int = 0


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    start: datetime
    end: datetime
    acc: Acc

    @property
    def mean(self) -> float | None:
        return self.acc.total / self.acc.count if self.acc.count else None


def window_start_ms(t: datetime) -> int:
    ms = int((t - _EPOCH) / timedelta(milliseconds=1))
    size = int(WINDOW / timedelta(milliseconds=1))
    return ms - ms % size


def add(state: HrState, readings: Iterable[Reading]) -> HrState:
    open_ = dict(state.open)
    late = state.late_dropped
    for r in readings:
        if r.type is not ReadingType.HEART_RATE:
            continue
        ws = window_start_ms(r.t)
        if ws < state.closed_before_ms:
            late += 1  # stored by the sink, but a closed window is never reopened
            continue
        a = open_.get(ws, Acc())
        if r.flags:
            open_[ws] = a.model_copy(update={"flagged": a.flagged + 1})
            continue
        open_[ws] = Acc(
            count=a.count + 1,
            total=a.total + r.value,
            minimum=r.value if a.minimum is None else min(a.minimum, r.value),
            maximum=r.value if a.maximum is None else max(a.maximum, r.value),
            flagged=a.flagged,
        )
    return state.model_copy(update={"open": open_, "late_dropped": late})


def close_due(state: HrState, watermark: datetime, limits: HrLimits) -> tuple[HrState, list[ClosedWindow]]:
    """Close every window whose end + lateness is at or before ``watermark``."""
    size = WINDOW
    due = sorted(ws for ws in state.open if _EPOCH + timedelta(milliseconds=ws) + size + limits.allowed_lateness <= watermark)
    if not due:
        return state, []
    closed = [
        ClosedWindow(_EPOCH + timedelta(milliseconds=ws), _EPOCH + timedelta(milliseconds=ws) + size, state.open[ws])
        for ws in due
    ]
    remaining = {ws: a for ws, a in state.open.items() if ws not in due}
    closed_before = max(state.closed_before_ms, due[-1] + int(size / timedelta(milliseconds=1)))
    return state.model_copy(update={"open": remaining, "closed_before_ms": closed_before}), closed


def candidates(patient_id: str, closed: Iterable[ClosedWindow], limits: HrLimits, now: datetime) -> list[AlertCandidate]:
    out = []
    for w in closed:
        mean = w.mean
        if mean is None or w.acc.count < limits.min_samples:
            continue
        if mean > limits.high:
            rule, threshold, word = "heart_rate_high", limits.high, "above"
        elif mean < limits.low:
            rule, threshold, word = "heart_rate_low", limits.low, "below"
        else:
            continue
        out.append(
            AlertCandidate(
                id=AlertCandidate.make_id(patient_id, rule, w.start),
                patient_id=patient_id,
                rule=rule,
                parameter=ReadingType.HEART_RATE,
                priority=Priority.HIGH,
                value=round(mean, 1),
                threshold=threshold,
                window_start=w.start,
                window_end=w.end,
                detected_at=now,
                message=f"heart rate {mean:.0f}/min {word} limit {threshold:g}/min (1-min mean)",
                evidence={
                    "samples": w.acc.count,
                    "flagged_samples": w.acc.flagged,
                    "min": w.acc.minimum or 0.0,
                    "max": w.acc.maximum or 0.0,
                },
            )
        )
    return out
