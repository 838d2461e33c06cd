"""The last hour of a ward's heart rate and SpO2 per minute, for the small trend lines on bed tiles.

One query for the whole ward on the 1-minute aggregate (``readings_1m``,
exact at any moment on both storage backends), so a snapshot every few
seconds stays cheap; a minute without valid readings is a gap (None), never
an interpolated value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import psycopg

from storage.policy import ORIGIN

MINUTES = 60
TYPES: tuple[str, ...] = ("heart_rate", "spo2")


def ward_sparklines(conn: psycopg.Connection, patient_ids: Sequence[str], now: datetime,
                    minutes: int = MINUTES) -> dict[str, dict[str, list[float | None]]]:
    step = timedelta(minutes=1)
    first = ORIGIN + ((now - ORIGIN) // step) * step - step * (minutes - 1)
    out: dict[str, dict[str, list[float | None]]] = {p: {t: [None] * minutes for t in TYPES} for p in patient_ids}
    if not patient_ids:
        return out
    rows = conn.execute(
        "SELECT patient_id, type, bucket, sum / nullif(n, 0) FROM readings_1m"
        " WHERE patient_id = ANY(%s) AND type = ANY(%s) AND bucket >= %s AND bucket <= %s",
        (list(patient_ids), list(TYPES), first, now),
    ).fetchall()
    for pid, type_, bucket, mean in rows:
        i = int((bucket - first) // step)
        if 0 <= i < minutes and mean is not None:
            out[pid][type_][i] = round(float(mean), 1)
    return out
