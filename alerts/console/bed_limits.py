"""Alarm limits as a bed tile and the record show them: the stream workers' defaults, or the patient's own.

Defaults come from the stream workers' table (``streams.vitals``: NEWS2
single-parameter red values, RCP 2017 Chart 1; SpO2 by the patient's
scale), read as data, so the console never shows a limit the streams do not
apply. A clinician's per-patient limit (``patient_alarm_limits``, set
through the limits API) replaces the default while it has not expired.
Both are "last normal value": the alarm is for values beyond it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import psycopg

from alerts.console.models import EffectiveLimitOut
from streams.vitals import VITALS, Direction, limits_for
from wire.units import ReadingType

# Vitals with a limit, in the order a tile lists them.
LIMITED: tuple[ReadingType, ...] = tuple(t for t in VITALS if VITALS[t].limits)


def defaults(spo2_scale: int) -> list[EffectiveLimitOut]:
    return [EffectiveLimitOut(rule=lim.rule.value, parameter=vital.value,
                     direction="above" if lim.direction is Direction.HIGH else "below",
                     value=lim.threshold, default=lim.threshold, source="default")
            for vital in LIMITED for lim in limits_for(vital, spo2_scale)]


def effective(conn: psycopg.Connection, patients: Iterable[tuple[str, int]], now: datetime) -> dict[str, list[EffectiveLimitOut]]:
    """Per patient (id, SpO2 scale): every limited rule with the value that applies now."""
    scales = dict(patients)
    rows = conn.execute(
        "SELECT patient_id, rule, limit_value, reason, set_by, expires_at FROM patient_alarm_limits"
        " WHERE patient_id = ANY(%s) AND (expires_at IS NULL OR expires_at > %s)",
        (sorted(scales), now),
    ).fetchall() if scales else []
    own: dict[tuple[str, str], tuple[float, str, str, datetime | None]] = {
        (pid, rule): (float(v), reason, by, exp) for pid, rule, v, reason, by, exp in rows}
    out: dict[str, list[EffectiveLimitOut]] = {}
    for pid, scale in scales.items():
        items = []
        for d in defaults(scale):
            o = own.get((pid, d.rule))
            items.append(d if o is None else d.model_copy(update={
                "value": o[0], "source": "patient", "reason": o[1], "set_by": o[2], "expires_at": o[3]}))
        out[pid] = items
    return out
