"""Same answers from both backends: load one sample into two databases and compare.

    python -m storage.crosscheck PLAIN_DSN TIMESCALE_DSN

Each DSN must point at an empty schema (its search_path, e.g.
``options=-csearch_path%3Dcheck``; TimescaleDB's own schema need not be on
it). Both are migrated (the backend is detected), loaded with the same
generated sample, and every query API answer is compared twice: live (the
aggregates not yet materialised) and brought up to date (TimescaleDB:
refresh_continuous_aggregate; plain: rpm db maintain). The sample ends
yesterday, so it lies inside every retention window whenever the tool runs.
Floats are compared with a relative tolerance (1e-9): the two backends may
sum in a different order. Prints every differing answer and exits 1, or
prints "same" and exits 0.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from storage import derived, glucose_queries, maintain, queries, readings, timescale
from storage.backend import Backend, recorded
from storage.derived import News2Row
from storage.migrate import migrate
from storage.policy import RetentionPolicy
from storage.queries import Resolution

DAYS = 3
TOLERANCE = 1e-9


def sample_end(now: datetime | None = None) -> datetime:
    """Noon UTC yesterday: the whole sample is older than the open hour and inside every retention."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)


def load_sample(conn: psycopg.Connection, end: datetime) -> None:
    """Two patients, 3 days to ``end``: vitals every minute (some flagged), CGM every 5 minutes, NEWS2, one alert."""
    conn.execute("INSERT INTO wards VALUES ('w1', 'Khoa Hồi sức')")
    conn.execute("INSERT INTO patients (id, display_name, ward_id, bed) VALUES"
                 " ('P1', 'Nguyễn Văn A', 'w1', '1'), ('P2', 'Trần Thị B', 'w1', '2')")
    rows: list[readings.ReadingRow] = []
    start = end - timedelta(days=3)
    for i in range(3 * 1440):
        t = start + timedelta(minutes=i)
        for p, base in (("P1", 70.0), ("P2", 95.0)):
            flags = ["artifact"] if i % 97 == 0 else []
            rows.append((t, p, f"D{p}", "heart_rate", base + (i * 7) % 23, "/min", flags, i, t))
            rows.append((t, p, f"D{p}", "spo2", 90.0 + (i * 3) % 9, "%", [], i, t))
            if i % 5 == 0:
                rows.append((t, p, f"G{p}", "glucose", 60.0 + (i * 11) % 200, "mg/dL", [], i, t))
    with conn.transaction():
        readings.write(conn, rows)
        derived.write(conn, [News2Row("P1", start + timedelta(hours=h), h % 9, "low", False, (), True, 1,
                                      h % 3, 0, 0, 0, h % 4, 0, 0) for h in range(72)])
        conn.execute(
            "INSERT INTO alerts (id, patient_id, rule, priority, message, window_start, window_end, detected_at,"
            " raised_at) VALUES ('a1', 'P1', 'heart_rate_high', 'high', 'HR', %s, %s, %s, %s)", (end,) * 4)
        conn.execute("INSERT INTO alert_events (alert_id, event, actor, at) VALUES"
                     " ('a1', 'raised', 'system', %s), ('a1', 'acknowledged', 'nurse-1', %s)",
                     (end, end + timedelta(minutes=1)))


def bring_up_to_date(conn: psycopg.Connection, end: datetime) -> None:
    if recorded(conn) is Backend.TIMESCALEDB:
        timescale.refresh_aggregates(conn, None, end + timedelta(hours=1))
    else:
        maintain.run_once(conn, RetentionPolicy(), now=end + timedelta(hours=1))


def snapshot(conn: psycopg.Connection, end: datetime) -> dict[str, object]:
    """Every query API answer on the sample, as plain data."""
    last_day = end.astimezone(ZoneInfo(glucose_queries.DEFAULT_TZ)).date()
    out: dict[str, object] = {}
    for p in ("P1", "P2"):
        for res in Resolution:
            span = timedelta(hours=1) if res is Resolution.RAW else timedelta(days=3)
            trend = queries.vital_trend(conn, p, "heart_rate", end - span, end, res)
            out[f"trend {p} {res}"] = [(x.t, x.value, x.min, x.max, x.n, x.n_flagged) for x in trend.points]
        out[f"daily {p}"] = [asdict(d) for d in glucose_queries.daily_metrics(
            conn, p, last_day - timedelta(days=DAYS), last_day)]
        out[f"agp {p}"] = asdict(glucose_queries.agp(conn, p, end, days=3))
        out[f"news2 {p}"] = [asdict(s) for s in queries.news2_history(conn, p, end - timedelta(days=3), end)]
    out["ward"] = [asdict(b) for b in queries.ward_overview(conn, "w1", end)]
    return out


def same(a: object, b: object, rel: float = TOLERANCE) -> bool:
    """Equal, floats within a relative tolerance (at any depth of lists, tuples and dicts)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=rel)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b, strict=True))
    return a == b


def differences(first: Mapping[str, object], second: Mapping[str, object]) -> list[str]:
    return [k for k in sorted(first.keys() | second.keys()) if not same(first.get(k), second.get(k))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m storage.crosscheck", description=__doc__.split("\n\n")[0],
                                 epilog="Exit status: 0 same answers, 1 a difference.")
    ap.add_argument("first_dsn", help="a DSN whose search_path is an empty schema (e.g. plain PostgreSQL)")
    ap.add_argument("second_dsn", help="the same on the other backend (e.g. TimescaleDB)")
    a = ap.parse_args(argv)
    end = sample_end()
    snaps: list[dict[str, object]] = []
    for dsn in (a.first_dsn, a.second_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn)
            print(f"{dsn.split('@')[-1]}: {recorded(conn)}, loading the sample ending {end:%Y-%m-%d %H:%M}Z",
                  file=sys.stderr)
            load_sample(conn, end)
            live = snapshot(conn, end)
            bring_up_to_date(conn, end)
            up_to_date = snapshot(conn, end)
        stale = differences(live, up_to_date)
        if stale:
            print(f"different before and after materialising on {recorded(conn)}: {', '.join(stale)}")
            return 1
        snaps.append(up_to_date)
    diff = differences(*snaps)
    for key in diff:
        print(f"different: {key}\n  first:  {snaps[0][key]!r:.500}\n  second: {snaps[1].get(key)!r:.500}")
    if diff:
        return 1
    print(f"same ({len(snaps[0])} answers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
