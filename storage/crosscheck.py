"""Same answers from both backends: load one sample into two databases and compare.

    python -m storage.crosscheck PLAIN_DSN TIMESCALE_DSN

Each DSN must point at an empty schema (its search_path; for TimescaleDB,
include the extension's schema, e.g. ``options=-csearch_path%3Drpm,public``).
Both are migrated (the backend is detected), loaded with the same
hand-made sample, brought up to date (TimescaleDB: refresh_continuous_aggregate;
plain: rpm db maintain), and every query API answer is compared. Prints the
first difference and exits 1, or prints "same" and exits 0.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import psycopg

from storage import derived, glucose_queries, maintain, queries, readings
from storage.backend import Backend, recorded
from storage.derived import News2Row
from storage.migrate import migrate
from storage.policy import RetentionPolicy
from storage.queries import Resolution

END = datetime(2026, 3, 10, 12, tzinfo=UTC)


def load_sample(conn: psycopg.Connection) -> None:
    """Two patients, 3 days: vitals every minute (some flagged), CGM every 5 minutes, NEWS2, one alert."""
    conn.execute("INSERT INTO wards VALUES ('w1', 'Khoa Hồi sức')")
    conn.execute("INSERT INTO patients (id, display_name, ward_id, bed) VALUES"
                 " ('P1', 'Nguyễn Văn A', 'w1', '1'), ('P2', 'Trần Thị B', 'w1', '2')")
    rows: list[readings.ReadingRow] = []
    start = END - timedelta(days=3)
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
            " raised_at) VALUES ('a1', 'P1', 'heart_rate_high', 'high', 'HR', %s, %s, %s, %s)", (END,) * 4)
        conn.execute("INSERT INTO alert_events (alert_id, event, actor, at) VALUES"
                     " ('a1', 'raised', 'system', %s), ('a1', 'acknowledged', 'nurse-1', %s)",
                     (END, END + timedelta(minutes=1)))


def bring_up_to_date(conn: psycopg.Connection) -> None:
    if recorded(conn) is Backend.TIMESCALEDB:
        for view in ("readings_1m", "readings_1h"):  # 1 h is built on 1 min: refresh in that order
            conn.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
    else:
        maintain.run_once(conn, RetentionPolicy(), now=END + timedelta(hours=1))


def snapshot(conn: psycopg.Connection) -> dict[str, object]:
    """Every query API answer on the sample, as plain data."""
    out: dict[str, object] = {}
    for p in ("P1", "P2"):
        for res in Resolution:
            span = timedelta(hours=1) if res is Resolution.RAW else timedelta(days=3)
            trend = queries.vital_trend(conn, p, "heart_rate", END - span, END, res)
            out[f"trend {p} {res}"] = [(x.t, x.value and round(x.value, 9), x.min, x.max, x.n, x.n_flagged)
                                       for x in trend.points]
        out[f"daily {p}"] = [asdict(d) for d in glucose_queries.daily_metrics(
            conn, p, date(2026, 3, 7), date(2026, 3, 10))]
        out[f"agp {p}"] = asdict(glucose_queries.agp(conn, p, END, days=3))
        out[f"news2 {p}"] = [asdict(s) for s in queries.news2_history(conn, p, END - timedelta(days=3), END)]
    out["ward"] = [asdict(b) for b in queries.ward_overview(conn, "w1", END)]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    snaps = []
    for dsn in argv:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn)
            load_sample(conn)
            bring_up_to_date(conn)
            print(f"{dsn.split('@')[-1]}: {recorded(conn)}", file=sys.stderr)
            snaps.append(snapshot(conn))
    for key in snaps[0]:
        if snaps[0][key] != snaps[1].get(key):
            print(f"different: {key}\n  first:  {snaps[0][key]!r:.500}\n  second: {snaps[1].get(key)!r:.500}")
            return 1
    print("same")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
