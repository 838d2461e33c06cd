"""`rpm bench query`: trend and ward-overview latency on a loaded database.

Loads ``patients x days x vitals`` readings at one per ``interval_s`` (server
side, generate_series), NEWS2 every 5 minutes, materialises the aggregates
except the last hour (left live, as in production), then times the query API
as the console calls it. ``limit`` is a bare round trip (SELECT 1): the floor
any query pays on this connection.

On TimescaleDB it then compresses every raw chunk but the newest day (what
the compression job does to chunks past ``compress_after``), reports the
readings' size before and after, and times the queries again on the
compressed data.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg

from storage import maintain, partitions, queries, timescale
from storage.backend import Backend, recorded
from storage.bench import bench_schema, progress
from storage.policy import RetentionPolicy, partition_specs
from storage.queries import Resolution

VITALS = (("heart_rate", 75.0, "/min"), ("spo2", 96.0, "%"), ("resp_rate", 16.0, "/min"),
          ("temperature", 36.9, "degC"), ("bp_systolic", 122.0, "mmHg"), ("bp_diastolic", 78.0, "mmHg"),
          ("glucose", 130.0, "mg/dL"))
BEDS_PER_WARD = 20

_LOAD = """
INSERT INTO readings (measured_at, patient_id, device_id, type, value, unit, flags, seq, received_at)
SELECT ts, 'Q' || lpad(p::text, 4, '0'), 'QD' || lpad(p::text, 4, '0'), v.type,
       round((v.base * (1 + 0.05 * sin(extract(epoch FROM ts) / 3600.0 + p)) + random())::numeric, 1)::float8,
       v.unit, '{}', 0, ts
FROM generate_series(%(a)s::timestamptz, %(b)s::timestamptz - %(step)s::interval, %(step)s::interval) AS ts,
     generate_series(0, %(patients)s - 1) AS p,
     unnest(%(types)s::text[], %(bases)s::float8[], %(units)s::text[]) AS v(type, base, unit)
"""

_NEWS2 = """
INSERT INTO news2_scores (patient_id, scored_at, total, band, red_flag, complete, spo2_scale,
                          resp_rate, spo2, air_or_oxygen, systolic_bp, pulse, consciousness, temperature,
                          monitoring_frequency)
SELECT 'Q' || lpad(p::text, 4, '0'), ts, s, CASE WHEN s >= 7 THEN 'high' WHEN s >= 5 THEN 'medium' ELSE 'low' END,
       false, true, 1, s / 3, 0, 0, s / 3, s - 2 * (s / 3), 0, 0,
       CASE WHEN s >= 7 THEN 'continuous' WHEN s >= 5 THEN 'hourly' WHEN s >= 1 THEN '4-6 hourly' ELSE '12-hourly' END
FROM generate_series(%(a)s::timestamptz, %(b)s::timestamptz - INTERVAL '5 minutes', INTERVAL '5 minutes') AS ts,
     generate_series(0, %(patients)s - 1) AS p,
     LATERAL (SELECT (floor(random() * 8))::int AS s) AS r
"""


def _stats(samples_ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2)}


def _time(n: int, fn: Callable[[], object]) -> tuple[dict[str, float], object]:
    out: object = None
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        samples.append((time.perf_counter() - t) * 1000)
    return _stats(samples), out


def _load(conn: psycopg.Connection, patients: int, days: int, vitals: int, interval_s: int,
          start: datetime, end: datetime) -> None:
    wards = (patients + BEDS_PER_WARD - 1) // BEDS_PER_WARD
    conn.execute("INSERT INTO wards SELECT 'W' || w, 'Ward ' || w FROM generate_series(0, %s - 1) w", (wards,))
    conn.execute(
        "INSERT INTO patients (id, display_name, ward_id, bed) SELECT 'Q' || lpad(p::text, 4, '0'),"
        " 'Patient ' || p, 'W' || (p / %s), ((p %% %s) + 1)::text FROM generate_series(0, %s - 1) p",
        (BEDS_PER_WARD, BEDS_PER_WARD, patients))
    if recorded(conn) is Backend.POSTGRES:  # TimescaleDB makes its chunks as rows arrive
        for spec in partition_specs(RetentionPolicy()):
            partitions.ensure_range(conn, spec, start, end + timedelta(days=1))
    chosen = VITALS[:vitals]
    params = {"types": [v[0] for v in chosen], "bases": [v[1] for v in chosen], "units": [v[2] for v in chosen],
              "patients": patients, "step": timedelta(seconds=interval_s)}
    for d in range(days):
        a = start + timedelta(days=d)
        t = time.perf_counter()
        with conn.transaction():
            n = conn.execute(_LOAD, {**params, "a": a, "b": a + timedelta(days=1)}).rowcount
        progress(f"day {d + 1}/{days}: {n:,} readings in {time.perf_counter() - t:.1f} s")
    with conn.transaction():
        conn.execute(_NEWS2, {"a": start, "b": end, "patients": patients})


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--patients", type=int, default=100)
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--vitals", type=int, default=5, choices=range(1, 8))
    p.add_argument("--interval-s", type=int, default=60, help="seconds between readings of one vital")
    p.add_argument("--queries", type=int, default=200, help="timed runs of each query")
    p.add_argument("--keep", action="store_true", help="keep the bench schema afterwards")


def run(a: argparse.Namespace) -> dict[str, object]:
    return measure(a.patients, a.days, a.vitals, a.interval_s, a.queries, a.keep)


def _sizes(conn: psycopg.Connection, backend: Backend) -> tuple[int, int]:
    """(readings bytes, aggregate bytes), heap + indexes + TOAST of every partition or chunk."""
    if backend is Backend.TIMESCALEDB:
        aggs = conn.execute(
            "SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)"
            " FROM timescaledb_information.continuous_aggregates WHERE view_schema = current_schema()").fetchall()
        return (timescale.hypertable_bytes(conn, "readings"),
                sum(timescale.hypertable_bytes(conn, a[0]) for a in aggs))
    row = conn.execute(
        "SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits"
        "        WHERE inhparent = 'readings'::regclass),"
        "       (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits"
        "        WHERE inhparent IN ('readings_1m_mat'::regclass, 'readings_1h_mat'::regclass))").fetchone()
    assert row is not None
    return int(row[0] or 0), int(row[1] or 0)


def _materialise(conn: psycopg.Connection, backend: Backend, end: datetime) -> None:
    if backend is Backend.TIMESCALEDB:
        timescale.refresh_aggregates(conn, None, end - timedelta(hours=1))
    else:
        maintain.run_once(conn, RetentionPolicy(), now=end)


def measure(patients: int, days: int, vitals: int, interval_s: int, n_queries: int, keep: bool) -> dict[str, object]:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    rng = random.Random(7)
    with bench_schema(keep) as (dsn, _), psycopg.connect(dsn, autocommit=True) as conn:
        backend = recorded(conn)
        assert backend is not None
        progress(f"backend: {backend}")
        t0 = time.perf_counter()
        _load(conn, patients, days, vitals, interval_s, start, end)
        load_s = time.perf_counter() - t0
        progress("materialising aggregates (all but the last hour)")
        t0 = time.perf_counter()
        _materialise(conn, backend, end)
        refresh_s = time.perf_counter() - t0
        conn.execute("VACUUM ANALYZE")
        n = conn.execute("SELECT count(*) FROM readings").fetchone()[0]  # type: ignore[index]
        size, agg_size = _sizes(conn, backend)
        types = [v[0] for v in VITALS[:vitals]]

        def pick() -> tuple[str, str]:
            return f"Q{rng.randrange(patients):04d}", rng.choice(types)

        def trend(span: timedelta, res: Resolution | None) -> Callable[[], object]:
            return lambda: queries.vital_trend(conn, *pick(), end - span, end, res)

        wards = (patients + BEDS_PER_WARD - 1) // BEDS_PER_WARD

        def time_all() -> dict[str, dict[str, object]]:
            progress(f"timing queries ({n_queries} runs each)")
            results: dict[str, dict[str, object]] = {}
            for name, fn in (
                ("trend_7d_auto", trend(timedelta(days=7), None)),
                ("trend_7d_1m", trend(timedelta(days=7), Resolution.MINUTE)),
                ("trend_24h_auto", trend(timedelta(hours=24), None)),
                ("trend_1h_raw", trend(timedelta(hours=1), None)),
                ("trend_7d_raw", trend(timedelta(days=7), Resolution.RAW)),
                ("ward_overview", lambda: queries.ward_overview(conn, f"W{rng.randrange(wards)}", end)),
                ("news2_history_7d", lambda: queries.news2_history(conn, pick()[0], end - timedelta(days=7), end)),
            ):
                stats, last = _time(n_queries, fn)
                size_hint = len(last.points) if isinstance(last, queries.Trend) else len(last)  # type: ignore[arg-type]
                results[name] = {**stats, "items": size_hint}
            return results

        results = time_all()
        floor, _ = _time(n_queries, lambda: conn.execute("SELECT 1").fetchone())
        compression: dict[str, object] = {}
        if backend is Backend.TIMESCALEDB:
            progress("compressing every readings chunk but the newest day")
            t0 = time.perf_counter()
            chunks = timescale.compress_chunks(conn, "readings", end - timedelta(days=1))
            compress_s = time.perf_counter() - t0
            conn.execute("ANALYZE readings")
            after, _ = _sizes(conn, backend)
            _, chunk_before, chunk_after = timescale.compression_stats(conn, "readings")
            compression = {
                "chunks_compressed": chunks, "compress_s": round(compress_s, 1),
                # The whole table, its newest (uncompressed) day included.
                "readings_bytes_after": after,
                "bytes_per_million_readings_after": round(after / n * 1e6) if n else None,
                # The compressed chunks alone: what compression does to a chunk.
                "compressed_chunks_bytes_before": chunk_before, "compressed_chunks_bytes_after": chunk_after,
                "compression_ratio": round(chunk_before / chunk_after, 1) if chunk_after else None,
                "queries_compressed": time_all(),
            }
    main = results["trend_7d_auto"]
    return {
        "name": "query", "unit": "ms", "value": main["p95_ms"], "limit": floor["p95_ms"],
        "ratio": round(float(main["p95_ms"]) / float(floor["p95_ms"]), 1),  # type: ignore[arg-type]
        "p50_ms": main["p50_ms"], "p95_ms": main["p95_ms"], "p99_ms": main["p99_ms"],
        "ward_overview_p95_ms": results["ward_overview"]["p95_ms"], "target_p95_ms": 100,
        "queries": results, "readings": n, "patients": patients, "days": days, "vitals": vitals,
        "interval_s": interval_s, "load_s": round(load_s, 1), "refresh_s": round(refresh_s, 1),
        "readings_bytes": size, "bytes_per_million_readings": round(size / n * 1e6) if n else None,
        "aggregates_bytes": agg_size, "backend": str(backend), **compression,
    }
