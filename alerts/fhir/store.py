"""SQL behind the FHIR API: Observation rows by natural key or search, devices of a patient.

Reads only; the routes audit every read in the same transaction. Readings
are found through their primary key (patient, type, measured_at, device),
NEWS2 through (patient, scored_at).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from alerts.fhir.ids import ObservationKey
from storage import queries
from storage.queries import News2Point

VITAL_KINDS = ("heart_rate", "resp_rate", "spo2", "temperature", "glucose")
ALL_KINDS = (*VITAL_KINDS, "bp", "news2")
_FAR_PAST = datetime.fromisoformat("1900-01-01T00:00:00+00:00")
_FAR_FUTURE = datetime.fromisoformat("2200-01-01T00:00:00+00:00")


@dataclass(frozen=True, slots=True)
class ObservationRow:
    key: ObservationKey
    value: float
    diastolic: float | None = None
    flags: tuple[str, ...] = ()
    news2: News2Point | None = None


_SEARCH = """
SELECT kind, t, device_id, v1, v2, flags FROM (
  SELECT type AS kind, measured_at AS t, device_id, value AS v1, NULL::double precision AS v2, flags
    FROM readings WHERE patient_id = %(p)s AND type = ANY(%(types)s) AND measured_at >= %(lo)s AND measured_at < %(hi)s
  UNION ALL
  SELECT 'bp', s.measured_at, s.device_id, s.value, d.value, s.flags || d.flags
    FROM readings s JOIN readings d ON d.patient_id = s.patient_id AND d.type = 'bp_diastolic'
                                    AND d.measured_at = s.measured_at AND d.device_id = s.device_id
   WHERE %(bp)s AND s.patient_id = %(p)s AND s.type = 'bp_systolic' AND s.measured_at >= %(lo)s AND s.measured_at < %(hi)s
  UNION ALL
  SELECT 'news2', scored_at, '', total, NULL, '{}'::text[]
    FROM news2_scores WHERE %(news2)s AND patient_id = %(p)s AND scored_at >= %(lo)s AND scored_at < %(hi)s
) o ORDER BY t {direction}, kind, device_id LIMIT %(limit)s OFFSET %(offset)s
"""


def search_observations(
    conn: psycopg.Connection, patient_id: str, kinds: set[str], start: datetime | None, end: datetime | None,
    limit: int, offset: int, newest_first: bool = False,
) -> list[ObservationRow]:
    params = {"p": patient_id, "types": sorted(kinds & set(VITAL_KINDS)), "bp": "bp" in kinds,
              "news2": "news2" in kinds, "lo": start or _FAR_PAST, "hi": end or _FAR_FUTURE,
              "limit": limit, "offset": offset}
    sql = _SEARCH.replace("{direction}", "DESC" if newest_first else "ASC")  # a fixed keyword, never user text
    rows: list[_Raw] = [(kind, t, dev, v1, v2, tuple(fl or ())) for kind, t, dev, v1, v2, fl in conn.execute(sql, params)]
    return _with_news2(conn, patient_id, rows)


# (kind, time, device, value, diastolic, flags) as the search query returns them
_Raw = tuple[str, datetime, str, float, float | None, tuple[str, ...]]


def _with_news2(conn: psycopg.Connection, patient_id: str, rows: list[_Raw]) -> list[ObservationRow]:
    scored = [t for kind, t, *_ in rows if kind == "news2"]
    points: dict[datetime, News2Point] = {}
    if scored:
        hist = queries.news2_history(conn, patient_id, min(scored), max(scored) + timedelta(microseconds=1))
        points = {p.scored_at: p for p in hist}
    return [ObservationRow(ObservationKey(kind, t, patient_id, dev), v1, v2, fl, points.get(t) if kind == "news2" else None)
            for kind, t, dev, v1, v2, fl in rows]


def observation(conn: psycopg.Connection, key: ObservationKey) -> ObservationRow | None:
    """The row an Observation id names, or None."""
    if key.kind == "news2":
        rows: list[_Raw] = [("news2", t, "", float(total), None, ()) for t, total in conn.execute(
            "SELECT scored_at, total FROM news2_scores WHERE patient_id = %s AND scored_at = %s", (key.patient_id, key.t))]
        return next(iter(_with_news2(conn, key.patient_id, rows)), None)
    if key.kind == "bp":
        row = conn.execute(
            "SELECT s.value, d.value, s.flags || d.flags FROM readings s JOIN readings d ON d.patient_id = s.patient_id"
            " AND d.type = 'bp_diastolic' AND d.measured_at = s.measured_at AND d.device_id = s.device_id"
            " WHERE s.patient_id = %s AND s.type = 'bp_systolic' AND s.measured_at = %s AND s.device_id = %s",
            (key.patient_id, key.t, key.device_id)).fetchone()
        return ObservationRow(key, row[0], row[1], tuple(row[2])) if row else None
    if key.kind not in VITAL_KINDS:
        return None
    row = conn.execute(
        "SELECT value, flags FROM readings WHERE patient_id = %s AND type = %s AND measured_at = %s AND device_id = %s",
        (key.patient_id, key.kind, key.t, key.device_id)).fetchone()
    return ObservationRow(key, row[0], None, tuple(row[1])) if row else None


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: str
    kind: str
    retired: bool
    patient_id: str | None  # the current assignment


def devices_of(conn: psycopg.Connection, patient_id: str) -> list[DeviceRow]:
    rows = conn.execute(
        "SELECT d.id, d.kind, d.retired_at IS NOT NULL, a.patient_id FROM devices d"
        " JOIN assignments a ON a.device_id = d.id AND a.ended_at IS NULL WHERE a.patient_id = %s ORDER BY d.id",
        (patient_id,)).fetchall()
    return [DeviceRow(*r) for r in rows]


def device(conn: psycopg.Connection, device_id: str) -> DeviceRow | None:
    row = conn.execute(
        "SELECT d.id, d.kind, d.retired_at IS NOT NULL, a.patient_id FROM devices d"
        " LEFT JOIN assignments a ON a.device_id = d.id AND a.ended_at IS NULL WHERE d.id = %s", (device_id,)).fetchone()
    return DeviceRow(*row) if row else None
