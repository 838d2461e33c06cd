"""Plain-PostgreSQL refresh of the 1-minute and 1-hour aggregate tables.

A statement trigger on ``readings`` marks (patient, vital, hour) triples in
``agg_pending``; this job recomputes those hours and unmarks them in one
transaction. Only closed hours are materialised (the current one keeps
changing and is computed live by the views), and hours whose raw rows may
already be gone to retention are unmarked without recomputing, which would
otherwise replace good aggregates with partial ones.

Concurrency: pairs are claimed with FOR UPDATE SKIP LOCKED, so the refresh
never waits on a writer; a writer that touches a claimed hour waits for the
refresh to commit and then marks the hour again (see the trigger in
0003_timeseries.postgres.sql), so no inserted row is ever left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from storage.policy import ORIGIN

_CLAIM = """
DELETE FROM agg_pending p
USING (SELECT patient_id, type, hour FROM agg_pending
       WHERE hour + INTERVAL '1 hour' <= %(settled)s
       ORDER BY hour, patient_id, type LIMIT %(limit)s FOR UPDATE SKIP LOCKED) s
WHERE p.patient_id = s.patient_id AND p.type = s.type AND p.hour = s.hour
RETURNING p.patient_id, p.type, p.hour
"""

_BATCH = "unnest(%(pids)s::text[], %(types)s::text[], %(hours)s::timestamptz[]) AS b(patient_id, type, hour)"

_DELETE_1M = f"""
DELETE FROM readings_1m_mat m USING {_BATCH}
WHERE m.patient_id = b.patient_id AND m.type = b.type
  AND m.bucket >= b.hour AND m.bucket < b.hour + INTERVAL '1 hour'
"""

_INSERT_1M = f"""
INSERT INTO readings_1m_mat (patient_id, type, bucket, n, n_flagged, sum, min, max)
SELECT r.patient_id, r.type, date_bin('1 minute', r.measured_at, %(origin)s),
       count(*) FILTER (WHERE r.flags = '{{}}'), count(*) FILTER (WHERE r.flags <> '{{}}'),
       sum(r.value) FILTER (WHERE r.flags = '{{}}'), min(r.value) FILTER (WHERE r.flags = '{{}}'),
       max(r.value) FILTER (WHERE r.flags = '{{}}')
FROM {_BATCH}
JOIN readings r ON r.patient_id = b.patient_id AND r.type = b.type
    AND r.measured_at >= b.hour AND r.measured_at < b.hour + INTERVAL '1 hour'
GROUP BY 1, 2, 3
"""

_DELETE_1H = f"""
DELETE FROM readings_1h_mat m USING {_BATCH}
WHERE m.patient_id = b.patient_id AND m.type = b.type AND m.bucket = b.hour
"""

_INSERT_1H = f"""
INSERT INTO readings_1h_mat (patient_id, type, bucket, n, n_flagged, sum, min, max)
SELECT m.patient_id, m.type, b.hour, sum(m.n)::bigint, sum(m.n_flagged)::bigint,
       sum(m.sum), min(m.min), max(m.max)
FROM {_BATCH}
JOIN readings_1m_mat m ON m.patient_id = b.patient_id AND m.type = b.type
    AND m.bucket >= b.hour AND m.bucket < b.hour + INTERVAL '1 hour'
GROUP BY 1, 2, 3
"""


@dataclass(frozen=True, slots=True)
class RefreshReport:
    hours_refreshed: int
    hours_discarded: int


def refresh(
    conn: psycopg.Connection,
    now: datetime,
    raw_retention: timedelta,
    settle: timedelta = timedelta(minutes=5),
    batch: int = 2000,
) -> RefreshReport:
    """Materialise every pending closed hour; returns how many (patient, vital, hour) triples were done."""
    refreshed = 0
    # Raw partitions are dropped a whole day at a time: keep a day's margin.
    horizon = now - raw_retention + timedelta(days=1)
    with conn.transaction():
        discarded = conn.execute("DELETE FROM agg_pending WHERE hour < %s", (horizon,)).rowcount
    while True:
        with conn.transaction():
            claimed = conn.execute(_CLAIM, {"settled": now - settle, "limit": batch}).fetchall()
            if not claimed:
                break
            params = {"pids": [c[0] for c in claimed], "types": [c[1] for c in claimed],
                      "hours": [c[2] for c in claimed], "origin": ORIGIN}
            # Separate statements: under READ COMMITTED each takes a fresh
            # snapshot, so the recompute sees every writer that committed
            # while the claim waited on its lock.
            for stmt in (_DELETE_1M, _INSERT_1M, _DELETE_1H, _INSERT_1H):
                conn.execute(stmt, params)
        refreshed += len(claimed)
    return RefreshReport(refreshed, discarded)
