"""A fair baseline for alarm evaluation: threshold alarms as a real bedside monitor raises them (pure).

The "naive" rule (``alerts.eval_naive``, ``alerts.eval_replay.naive_alarms``)
alarms on every raw excursion with no delay. No monitor on the market works
that way: the standards require, and vendors ship, averaging and an alarm
condition delay.

- IEC 60601-2-61 (pulse oximeters) requires the manufacturer to disclose the
  SpO2/pulse-rate averaging and the alarm condition delay; IEC 60601-2-27
  (ECG monitors) bounds the time to alarm for heart-rate conditions (of the
  order of 10 s) and requires averaging to be disclosed; IEC 60601-1-8 allows
  alarm condition delays as a way to cut nuisance alarms.
- Vendor defaults: pulse-oximeter averaging 8-10 s (Masimo SET default 8 s,
  Nellcor 6-10 s) and desaturation alarm delays of 10-15 s (Philips
  IntelliVue SpO2 desat delay 10 s; Masimo adaptive delay up to 15 s; Welch
  2011 and Rheineck-Leyssius 1997 measured the effect of a 15 s delay).

So the baseline here: each continuously monitored vital (heart rate, SpO2,
respiration rate) is averaged over the last ``averaging_s`` (10 s) and an
alarm is raised once the average has stayed beyond the limit for
``delay_s`` (15 s); it re-arms when the average returns within the limit.
Samples the device itself flags (motion, probe off, artefact: what a
monitor shows as an INOP / "low signal quality" message instead of a
physiological alarm) are not averaged and restart the delay, as a monitor
does. Intermittent readings (NIBP, temperature) and CGM glucose are single
deliberate measurements: no averaging, no delay (as monitors do). The
limits are the naive rule's (``alerts.eval_naive.LIMITS``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts import engine
from alerts.eval_naive import LIMITS, SPO2_FIRES_AT, NaiveLimit
from alerts.eval_replay import RaisedAlarm
from alerts.suppression import Evaluation
from alerts.suppression_policy import Direction, policy_for
from wire.messages import ReadingBatch
from wire.rules import CATALOG, Rule
from wire.units import ReadingType as RT

MAX_GAP = timedelta(seconds=60)
CONTINUOUS = frozenset({RT.HEART_RATE, RT.SPO2, RT.RESP_RATE})
CONTINUOUS_RULES = frozenset({Rule.HEART_RATE_HIGH, Rule.HEART_RATE_LOW, Rule.SPO2_LOW, Rule.RESP_RATE_HIGH,
                              Rule.RESP_RATE_LOW})


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    averaging_s: float = 10.0
    delay_s: float = 15.0


@dataclass
class _Track:
    """One (patient, rule): the averaging buffer and when the average went beyond the limit."""

    values: deque[tuple[datetime, float]] = field(default_factory=deque)
    beyond_since: datetime | None = None
    alarmed: bool = False
    last_at: datetime | None = None

    def gap(self, at: datetime) -> None:
        """No sample for a minute: a monitor starts over (no average, no running delay) after a dropout."""
        if self.last_at is not None and at - self.last_at > MAX_GAP:
            self.values.clear()
            self.beyond_since, self.alarmed = None, False
        self.last_at = at

    def average(self, at: datetime, value: float, averaging: timedelta) -> float:
        self.values.append((at, value))
        while self.values and self.values[0][0] <= at - averaging:
            self.values.popleft()
        return sum(v for _, v in self.values) / len(self.values)

    def update(self, beyond: bool, at: datetime, delay: timedelta) -> bool:
        """True when this sample raises an alarm."""
        if not beyond:
            self.beyond_since, self.alarmed = None, False
            return False
        if self.beyond_since is None:
            self.beyond_since = at
        if not self.alarmed and at - self.beyond_since >= delay:
            self.alarmed = True
            return True
        return False


def monitor_from_readings(batches: Iterable[ReadingBatch], s: MonitorSettings | None = None) -> list[RaisedAlarm]:
    s = s or MonitorSettings()
    averaging, delay = timedelta(seconds=s.averaging_s), timedelta(seconds=s.delay_s)
    tracks: dict[tuple[str, str], _Track] = {}
    out: list[RaisedAlarm] = []
    for b in sorted(batches, key=lambda x: min(r.t for r in x.readings) if x.readings else x.sent_at):
        scale = b.spo2_scale or 1
        for r in sorted(b.readings, key=lambda x: x.t):
            limits: tuple[NaiveLimit, ...] = LIMITS.get(r.type, ())
            if r.type is RT.SPO2:
                limits = (NaiveLimit(Rule.SPO2_LOW, False, SPO2_FIRES_AT.get(scale, 91.0)),)
            continuous = r.type in CONTINUOUS
            doubted = bool(r.flags)  # the device flagged the sample: INOP, not a physiological alarm
            for lim in limits:
                tr = tracks.setdefault((b.patient_id, lim.rule.value), _Track())
                if continuous:
                    tr.gap(r.t)
                if doubted:
                    tr.update(False, r.t, delay)
                    continue
                v = tr.average(r.t, r.value, averaging) if continuous else r.value
                beyond = v >= lim.fires_at if lim.high else v <= lim.fires_at
                if tr.update(beyond, r.t, delay if continuous else timedelta(0)):
                    out.append(RaisedAlarm(b.patient_id, lim.rule.value, r.t, CATALOG[lim.rule].priority))
    return sorted(out, key=lambda a: a.at)


def monitor_from_evaluations(evals: Iterable[Evaluation], s: MonitorSettings | None = None) -> list[RaisedAlarm]:
    """The same monitor over a candidate stream: averages the evaluations' values against their threshold.

    Evaluations without a value/threshold (scores, technical conditions) use
    their firing flag. Continuous vitals get the averaging and the delay.
    """
    s = s or MonitorSettings()
    averaging, delay = timedelta(seconds=s.averaging_s), timedelta(seconds=s.delay_s)
    tracks: dict[tuple[str, str, str], _Track] = {}
    out: list[RaisedAlarm] = []
    for ev in sorted(evals, key=lambda e: e.window_end):
        key = (ev.patient_id, ev.rule, engine.source_of(ev))
        tr = tracks.setdefault(key, _Track())
        try:
            rule = Rule(ev.rule)
        except ValueError:
            continue
        continuous = rule in CONTINUOUS_RULES
        if continuous:
            tr.gap(ev.window_end)
        if ev.artifact:
            tr.update(False, ev.window_end, delay)
            continue
        direction = policy_for(ev.rule).direction
        if continuous and ev.value is not None and ev.threshold is not None and direction is not Direction.NONE:
            avg = tr.average(ev.window_end, ev.value, averaging)
            beyond = avg > ev.threshold if direction is Direction.ABOVE else avg < ev.threshold
        else:
            beyond = ev.firing
        if tr.update(beyond, ev.window_end, delay if continuous else timedelta(0)):
            out.append(RaisedAlarm(ev.patient_id, ev.rule, ev.window_end, ev.priority))
    return out
