"""A patient's devices: when each last sent data and whether it counts as connected.

"Last sent" is when the server received the device's newest reading
(received_at): a home device uploading a backlog after an outage is
connected again even though its readings are old. What counts as live
depends on how often a kind of device sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from alerts.console.models import DeviceOut
from storage.queries import OVERVIEW_TYPES

# (live while younger than, stale until) per device kind; older = offline.
# Bedside monitors send every second or so; wearables every minute; CGMs every 5 min; spot checks a few times a day.
FRESHNESS: dict[str, tuple[timedelta, timedelta]] = {
    "bedside_monitor": (timedelta(seconds=30), timedelta(minutes=5)),
    "wearable": (timedelta(minutes=3), timedelta(minutes=30)),
    "cgm": (timedelta(minutes=15), timedelta(hours=1)),
    "spot_check": (timedelta(hours=8), timedelta(hours=24)),
}
LOOKBACK = timedelta(days=14)


def state_of(kind: str, last: datetime | None, now: datetime) -> str:
    if last is None:
        return "offline"
    live, stale = FRESHNESS.get(kind, FRESHNESS["wearable"])
    age = now - last
    return "live" if age < live else ("stale" if age < stale else "offline")


def patient_devices(conn: psycopg.Connection, patient_id: str, now: datetime) -> list[DeviceOut]:
    """The devices assigned to the patient now, with their last upload (within 14 days)."""
    rows = conn.execute(
        "SELECT d.id, d.kind, (SELECT max(x.received_at) FROM unnest(%(types)s::text[]) AS t(type)"
        "   CROSS JOIN LATERAL (SELECT r.received_at FROM readings r WHERE r.patient_id = %(p)s"
        "     AND r.type = t.type AND r.device_id = d.id AND r.measured_at > %(since)s"
        "     ORDER BY r.measured_at DESC LIMIT 1) x)"
        " FROM assignments a JOIN devices d ON d.id = a.device_id"
        " WHERE a.patient_id = %(p)s AND a.ended_at IS NULL ORDER BY d.id",
        {"p": patient_id, "types": [t.value for t in OVERVIEW_TYPES], "since": now - LOOKBACK},
    ).fetchall()
    return [DeviceOut(device_id=i, kind=k, last_sent=last, state=state_of(k, last, now))  # type: ignore[arg-type]
            for i, k, last in rows]


def latest_readings(conn: psycopg.Connection, patient_id: str, now: datetime) -> list[tuple[str, float, str, datetime]]:
    """(type, value, unit, measured_at) of the newest reading without quality flags per vital, within 14 days."""
    rows = conn.execute(
        "SELECT t.type, v.value, v.unit, v.measured_at FROM unnest(%(types)s::text[]) WITH ORDINALITY AS t(type, i)"
        " JOIN LATERAL (SELECT r.value, r.unit, r.measured_at FROM readings r WHERE r.patient_id = %(p)s"
        "   AND r.type = t.type AND r.flags = '{}' AND r.measured_at > %(since)s AND r.measured_at <= %(now)s"
        "   ORDER BY r.measured_at DESC LIMIT 1) v ON true ORDER BY t.i",
        {"p": patient_id, "types": [t.value for t in OVERVIEW_TYPES], "since": now - LOOKBACK, "now": now},
    ).fetchall()
    return [(str(t), float(v), str(u), at) for t, v, u, at in rows]


def latest_with_previous(
    conn: psycopg.Connection, patient_id: str, now: datetime,
) -> list[tuple[str, float, str, datetime, float | None, datetime | None]]:
    """Like latest_readings, with the valid reading before the newest one (value, time) for "change since"."""
    rows = conn.execute(
        "SELECT t.type, v.value, v.unit, v.measured_at, pv.value, pv.measured_at"
        " FROM unnest(%(types)s::text[]) WITH ORDINALITY AS t(type, i)"
        " JOIN LATERAL (SELECT r.value, r.unit, r.measured_at FROM readings r WHERE r.patient_id = %(p)s"
        "   AND r.type = t.type AND r.flags = '{}' AND r.measured_at > %(since)s AND r.measured_at <= %(now)s"
        "   ORDER BY r.measured_at DESC LIMIT 1) v ON true"
        " LEFT JOIN LATERAL (SELECT r.value, r.measured_at FROM readings r WHERE r.patient_id = %(p)s"
        "   AND r.type = t.type AND r.flags = '{}' AND r.measured_at > %(since)s AND r.measured_at < v.measured_at"
        "   ORDER BY r.measured_at DESC LIMIT 1) pv ON true ORDER BY t.i",
        {"p": patient_id, "types": [t.value for t in OVERVIEW_TYPES], "since": now - LOOKBACK, "now": now},
    ).fetchall()
    return [(str(t), float(v), str(u), at, None if pv is None else float(pv), pat) for t, v, u, at, pv, pat in rows]


def has_glucose(conn: psycopg.Connection, patient_id: str, now: datetime) -> bool:
    return conn.execute(
        "SELECT 1 FROM readings WHERE patient_id = %s AND type = 'glucose' AND measured_at > %s LIMIT 1",
        (patient_id, now - LOOKBACK),
    ).fetchone() is not None
