"""Alarm conditions: when a stream of evaluations becomes an alarm, and when it ends (pure core).

Streams emit ``firing`` for every evaluation while a condition holds and
``clear`` evaluations after it stopped. Here, per patient and rule:

- severity-weighted delay: an excursion becomes an alarm once it lasted
  ``delay_s``, or sooner when severity x seconds reaches ``area`` (the
  SatSeconds idea), or at once when it is ``immediate_severity`` deep, or
  when ``repeat_count`` excursions started within ``repeat_window_s`` (the
  SatSeconds "safety net" for a value hovering at its limit);
- hysteresis: it ends after ``clear_evaluations`` consecutive clear
  evaluations (or ``clear_hold_s`` after the first clear, or after
  ``stale_after_s`` without a firing evaluation);
- repeated firing while present updates the one alarm (signal PERSISTS);
- evaluations flagged as artifact, or arriving during signal loss, are
  held: they neither start nor end an excursion and add no severity x time.

Time is event time: the end of each evaluation's window. An evaluation not
newer than the last one seen is a replay or arrived out of order and is
ignored, which makes redelivery from Kafka a no-op.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from alerts.suppression_policy import DEVICE_RULES, SuppressionPolicy
from alerts.validated import updated
from wire.messages import AlertCandidate, CandidateQuality, CandidateStatus, DeviceKind, Priority


class Phase(StrEnum):
    IDLE = "idle"
    PENDING = "pending"  # firing, delay not yet met
    PRESENT = "present"  # an alarm exists for it
    CLEARING = "clearing"  # clear evaluations seen, hysteresis not yet met


class Signal(StrEnum):
    """What an evaluation or a tick means for the alarm."""

    NONE = "none"
    PENDING = "pending"
    ONSET = "onset"  # raise an alarm
    PERSISTS = "persists"  # update the alarm
    CLEARING = "clearing"
    CLEARED = "cleared"  # the alarm's condition ended
    DISMISSED = "dismissed"  # an excursion ended before its delay: suppressed
    HELD_ARTIFACT = "held_artifact"
    HELD_SIGNAL_LOSS = "held_signal_loss"
    STALE = "stale"  # replayed or out-of-order evaluation


class Evaluation(BaseModel):
    """One evaluation of one condition, normalised from an AlertCandidate (or a device status)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    candidate_id: str
    patient_id: str
    rule: str
    firing: bool
    severity: float = 0.0
    priority: Priority
    value: float | None = None
    threshold: float | None = None
    window_start: AwareDatetime
    window_end: AwareDatetime
    device_id: str | None = None
    parameter: str | None = None
    artifact: bool = False
    message: str = ""
    source: str = ""  # device-level technical conditions: the device (or device kind) they concern

    @classmethod
    def from_candidate(cls, c: AlertCandidate, artifact_share: float = 0.5) -> Evaluation:
        return cls(
            candidate_id=c.id, patient_id=c.patient_id, rule=c.rule, firing=c.status is CandidateStatus.FIRING,
            severity=c.severity, priority=c.priority, value=c.value, threshold=c.threshold,
            window_start=c.window_start, window_end=c.window_end, device_id=c.device_id,
            parameter=c.parameter.value if c.parameter else None, artifact=is_artifact(c.quality, artifact_share),
            message=c.message, source=source_of(c.rule, c.device_id, c.quality),
        )


def source_of(rule: str, device_id: str | None, quality: CandidateQuality) -> str:
    """Device-level technical conditions are tracked per device (the streams' signal loss: per device kind)."""
    if rule not in DEVICE_RULES:
        return ""
    return device_id or (quality.device_kind.value if quality.device_kind else "")


def loss_gates(loss_source: str, ev: Evaluation) -> bool:
    """Whether a present signal-loss condition with ``loss_source`` holds back evaluation ``ev``.

    Patient-level loss (no source) holds back everything; a device kind holds
    back what that kind measures (a CGM: glucose; other kinds: vital signs);
    a device id only evaluations that name the same device. When unsure, do
    not hold back: a missed suppression costs a false alarm, a wrong one a
    missed alarm.
    """
    if loss_source == "":
        return True
    glucose = ev.rule.startswith("glucose")
    if loss_source == DeviceKind.CGM.value:
        return glucose
    if loss_source in DeviceKind._value2member_map_:
        return not glucose
    return ev.device_id == loss_source


def is_artifact(quality: CandidateQuality, share: float) -> bool:
    """The evaluation rests on doubtful samples: marked as an artifact, or too many rejected samples.

    Contract with streams (wire.messages.CandidateQuality, docs/alarms.md):
    ``artifact``, or ``rejected / (samples + rejected) >= share``.
    """
    if quality.artifact:
        return True
    flagged, good = quality.rejected, quality.samples
    if flagged is not None and good is not None and flagged + good > 0:
        return flagged / (flagged + good) >= share
    return False


class ConditionState(BaseModel):
    """What is known about one condition (patient, rule); persisted between evaluations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: str
    rule: str
    source: str = ""
    phase: Phase = Phase.IDLE
    pending_since: AwareDatetime | None = None
    pending_candidate: str | None = None  # the evaluation that began the excursion: names the alarm
    area: float = 0.0
    peak_severity: float = 0.0
    last_value: float | None = None
    last_eval_end: AwareDatetime | None = None
    last_firing_at: AwareDatetime | None = None
    first_clear_at: AwareDatetime | None = None
    clear_streak: int = 0
    recent_starts: tuple[AwareDatetime, ...] = ()  # starts of recent excursions (safety net), kept across idle
    alarm_id: str | None = None  # the open alarm raised from this condition
    last: Evaluation | None = None  # the latest firing evaluation: what an alarm raised now reports

    def next_due(self, p: SuppressionPolicy) -> datetime | None:
        """When ``tick`` may change this state even without new evaluations."""
        if self.phase is Phase.PENDING and self.pending_since and self.last_eval_end:
            return self.pending_since + _s(p.delay_s) if p.edge else self.last_eval_end + _s(p.max_gap_s)
        dues = []
        if self.phase is Phase.CLEARING and self.first_clear_at:
            dues.append(self.first_clear_at + _s(p.clear_hold_s))
        if self.phase in (Phase.PRESENT, Phase.CLEARING) and p.stale_after_s is not None and self.last_firing_at:
            dues.append(self.last_firing_at + _s(p.stale_after_s))
        return min(dues) if dues else None


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def _secs(a: datetime, b: datetime) -> float:
    return max(0.0, (a - b).total_seconds())


def evaluate(
    state: ConditionState, ev: Evaluation, p: SuppressionPolicy, signal_lost: bool = False
) -> tuple[ConditionState, Signal]:
    """Apply one evaluation; ``signal_lost``: a signal-loss condition of the patient is present."""
    if state.last_eval_end is not None and ev.window_end <= state.last_eval_end:
        return state, Signal.STALE
    if ev.firing and p.artifact_gated and (ev.artifact or signal_lost):
        # Held: neither evidence for the condition nor against it.
        held = Signal.HELD_ARTIFACT if ev.artifact else Signal.HELD_SIGNAL_LOSS
        return updated(state, {"last_eval_end": ev.window_end}), held
    s = updated(state, {"last_eval_end": ev.window_end})
    if ev.firing:
        return _firing(s, state, ev, p)
    return _clear(s, ev)


def _firing(
    s: ConditionState, before: ConditionState, ev: Evaluation, p: SuppressionPolicy
) -> tuple[ConditionState, Signal]:
    if s.phase in (Phase.PRESENT, Phase.CLEARING):
        return updated(s, {
            "phase": Phase.PRESENT, "clear_streak": 0, "first_clear_at": None, "last_firing_at": ev.window_end,
            "last_value": ev.value, "peak_severity": max(s.peak_severity, ev.severity),
        }), Signal.PERSISTS
    restart = s.phase is Phase.IDLE or (
        not p.edge and before.last_eval_end is not None and _secs(ev.window_start, before.last_eval_end) > p.max_gap_s
    )
    if restart:
        horizon = ev.window_start - _s(p.repeat_window_s)
        starts = tuple(t for t in s.recent_starts if t > horizon) + (ev.window_start,)
        s = updated(s, {
            "phase": Phase.PENDING, "pending_since": ev.window_start, "pending_candidate": ev.candidate_id,
            "area": ev.severity * _secs(ev.window_end, ev.window_start), "peak_severity": ev.severity,
            "recent_starts": starts[-(p.repeat_count or 1):],
        })
    else:
        # Everything since the previous evaluation: point evaluations (one
        # sample) count their sampling interval, sliding windows only their
        # new part; held (artifact) intervals were consumed without adding.
        since = before.last_eval_end or ev.window_start
        s = updated(s, {
            "area": s.area + ev.severity * _secs(ev.window_end, since),
            "peak_severity": max(s.peak_severity, ev.severity),
        })
    s = updated(s, {"last_firing_at": ev.window_end, "last_value": ev.value})
    assert s.pending_since is not None
    lasted = _secs(ev.window_end, s.pending_since)
    if (
        lasted >= p.delay_s
        or (p.area is not None and s.area >= p.area)
        or (p.immediate_severity is not None and ev.severity >= p.immediate_severity)
        or (p.repeat_count is not None and len(s.recent_starts) >= p.repeat_count
            and s.recent_starts[-p.repeat_count] > ev.window_start - _s(p.repeat_window_s))
    ):
        return updated(s, {"phase": Phase.PRESENT, "clear_streak": 0, "first_clear_at": None}), Signal.ONSET
    return s, Signal.PENDING


def _clear(s: ConditionState, ev: Evaluation) -> tuple[ConditionState, Signal]:
    if s.phase is Phase.IDLE:
        return s, Signal.NONE
    if s.phase is Phase.PENDING:
        return _idle(s), Signal.DISMISSED
    streak = s.clear_streak + 1
    first = s.first_clear_at or ev.window_end
    s = updated(s, {"phase": Phase.CLEARING, "clear_streak": streak, "first_clear_at": first})
    return s, Signal.CLEARING


def settle(s: ConditionState, p: SuppressionPolicy) -> tuple[ConditionState, Signal]:
    """Complete hysteresis once enough consecutive clear evaluations were seen."""
    if s.phase is Phase.CLEARING and s.clear_streak >= p.clear_evaluations:
        return _idle(s), Signal.CLEARED
    return s, Signal.NONE


def tick(s: ConditionState, now: datetime, p: SuppressionPolicy) -> tuple[ConditionState, Signal]:
    """Timers: an edge source's delay, an abandoned excursion, clear hold, staleness."""
    due = s.next_due(p)
    if due is None or due > now:
        return s, Signal.NONE
    if s.phase is Phase.PENDING:
        if p.edge:
            return updated(s, {"phase": Phase.PRESENT, "last_firing_at": now}), Signal.ONSET
        return _idle(s), Signal.DISMISSED
    return _idle(s), Signal.CLEARED


def _idle(s: ConditionState) -> ConditionState:
    return updated(s, {
        "phase": Phase.IDLE, "pending_since": None, "pending_candidate": None, "area": 0.0, "peak_severity": 0.0,
        "first_clear_at": None, "clear_streak": 0, "last_firing_at": None,
    })


def step(
    state: ConditionState, ev: Evaluation, p: SuppressionPolicy, signal_lost: bool = False
) -> tuple[ConditionState, Signal]:
    """``evaluate`` then ``settle``: the one call drivers use per evaluation."""
    s, sig = evaluate(state, ev, p, signal_lost)
    if sig is Signal.CLEARING:
        s2, sig2 = settle(s, p)
        if sig2 is Signal.CLEARED:
            return s2, sig2
    return s, sig
