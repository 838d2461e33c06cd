"""Naive threshold alarms from raw readings: what a plain monitor without any alarm management would do.

Every reading beyond its limit starts an alarm unless the previous reading
of that vital was beyond it too: no delay, no hysteresis, no artifact or
signal-loss rejection, no 1-minute median. The limits are the stream
workers' defaults (``streams/vitals.py``: the NEWS2 single-parameter red
values; the alert package may not import ``streams``, so they are declared
again here) and the consensus glucose thresholds (Battelino 2019).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alerts.eval_replay import RaisedAlarm
from wire.messages import ReadingBatch
from wire.rules import CATALOG, Rule
from wire.units import ReadingType as RT


@dataclass(frozen=True, slots=True)
class NaiveLimit:
    rule: Rule
    high: bool
    fires_at: float  # value >= (high) or <= (low) this fires


LIMITS: dict[RT, tuple[NaiveLimit, ...]] = {
    RT.HEART_RATE: (NaiveLimit(Rule.HEART_RATE_HIGH, True, 131), NaiveLimit(Rule.HEART_RATE_LOW, False, 40)),
    RT.RESP_RATE: (NaiveLimit(Rule.RESP_RATE_HIGH, True, 25), NaiveLimit(Rule.RESP_RATE_LOW, False, 8)),
    RT.TEMPERATURE: (NaiveLimit(Rule.TEMPERATURE_HIGH, True, 39.1), NaiveLimit(Rule.TEMPERATURE_LOW, False, 35.0)),
    RT.BP_SYSTOLIC: (NaiveLimit(Rule.BP_SYSTOLIC_HIGH, True, 220), NaiveLimit(Rule.BP_SYSTOLIC_LOW, False, 90)),
    RT.GLUCOSE: (NaiveLimit(Rule.GLUCOSE_URGENT_LOW, False, 53.999), NaiveLimit(Rule.GLUCOSE_LOW, False, 69.999),
                 NaiveLimit(Rule.GLUCOSE_HIGH, True, 180.001), NaiveLimit(Rule.GLUCOSE_URGENT_HIGH, True, 250.001)),
}
SPO2_FIRES_AT = {1: 91.0, 2: 83.0}  # NEWS2 scale 1 / scale 2 (hypercapnic respiratory failure)


def naive_from_readings(batches: Iterable[ReadingBatch]) -> list[RaisedAlarm]:
    beyond: dict[tuple[str, str], bool] = {}  # (patient, rule) -> the previous reading was beyond the limit
    out: list[RaisedAlarm] = []
    for b in sorted(batches, key=lambda x: min(r.t for r in x.readings)):
        scale = b.spo2_scale or 1
        for r in sorted(b.readings, key=lambda x: x.t):
            limits = LIMITS.get(r.type, ())
            if r.type is RT.SPO2:
                limits = (NaiveLimit(Rule.SPO2_LOW, False, SPO2_FIRES_AT.get(scale, 91.0)),)
            for lim in limits:
                now = r.value >= lim.fires_at if lim.high else r.value <= lim.fires_at
                key = (b.patient_id, lim.rule.value)
                if now and not beyond.get(key, False):
                    out.append(RaisedAlarm(b.patient_id, lim.rule.value, r.t, CATALOG[lim.rule].priority))
                beyond[key] = now
    return out
