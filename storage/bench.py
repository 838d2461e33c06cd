"""Shared by the storage benchmarks (`rpm bench sink`, `rpm bench query`, see
cli/bench.py): progress on stderr and a throw-away schema. The database is RPM_DATABASE_URL when set, else an
embedded PostgreSQL 16; every run works in its own schema, dropped at the end.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from storage import timescale
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
                timescale.drop_schema(conn, schema)
        if server is not None:
            server.cleanup()
        if tmp is not None:
            tmp.cleanup()
