"""`rpm bench sink|query --json`: storage benchmarks (code in bench_sink / bench_query).

Each prints one JSON object on stdout (value, unit, limit, ratio, ...) and
progress on stderr. The database is RPM_DATABASE_URL when set, else an
embedded PostgreSQL 16; every run works in its own schema, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from storage.migrate import migrate


def progress(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def with_schema(dsn: str, schema: str) -> str:
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def bench_schema(keep: bool = False) -> Iterator[tuple[str, str]]:
    """Yield (dsn with a fresh migrated schema on its search_path, server dsn)."""
    url = os.environ.get("RPM_DATABASE_URL")
    server = None
    tmp = None
    if not url:
        from embedded import postgres

        tmp = tempfile.TemporaryDirectory(prefix="rpmbn", dir="/tmp")
        url, server = postgres.start(Path(tmp.name) / "pg")
        progress("embedded PostgreSQL 16 (set RPM_DATABASE_URL to use another server)")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    dsn = with_schema(url, schema)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn)
        yield dsn, url
    finally:
        if not keep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
        if server is not None:
            server.cleanup()
        if tmp is not None:
            tmp.cleanup()


def _sink(a: argparse.Namespace) -> int:
    from storage.bench_sink import run

    result = run(a.readings, a.patients, a.batch_records)
    print(json.dumps(result) if a.json else json.dumps(result, indent=2))
    return 0


def _query(a: argparse.Namespace) -> int:
    from storage.bench_query import run

    result = run(a.patients, a.days, a.vitals, a.interval_s, a.queries, a.keep)
    print(json.dumps(result) if a.json else json.dumps(result, indent=2))
    return 0


def add_parsers(bench: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `sink` and `query` under an `rpm bench` sub-command group."""
    s = bench.add_parser("sink", help="readings sink rows/s vs raw COPY binary into the same table")
    s.add_argument("--json", action="store_true", help="one JSON object on stdout")
    s.add_argument("--readings", type=int, default=1_000_000)
    s.add_argument("--patients", type=int, default=100)
    s.add_argument("--batch-records", type=int, default=5000, help="Kafka records per sink batch")
    s.set_defaults(func=_sink)
    q = bench.add_parser("query", help="trend and ward-overview query latency on a loaded database")
    q.add_argument("--json", action="store_true", help="one JSON object on stdout")
    q.add_argument("--patients", type=int, default=100)
    q.add_argument("--days", type=int, default=14)
    q.add_argument("--vitals", type=int, default=5, choices=range(1, 8))
    q.add_argument("--interval-s", type=int, default=60, help="seconds between readings of one vital")
    q.add_argument("--queries", type=int, default=200, help="timed runs of each query")
    q.add_argument("--keep", action="store_true", help="keep the bench schema afterwards")
    q.set_defaults(func=_query)
