"""Plain-PostgreSQL partition upkeep: create ahead, adopt late rows, drop for retention.

``plan`` is pure (what to create and drop, given the partitions that exist
and the buckets found in the DEFAULT partition); ``apply`` runs it. Partition
DDL waits at most ``lock_timeout`` for its lock, so a long report query
makes maintenance retry later instead of queueing the sink behind it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg import sql

from storage.policy import ORIGIN, PartitionSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Plan:
    create: tuple[Partition, ...] = ()
    drop: tuple[Partition, ...] = ()


@dataclass(slots=True)
class Report:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    rows_adopted: int = 0
    rows_expired: int = 0
    # Steps that gave up on a lock (a long query or open writer); retried next run.
    skipped: list[str] = field(default_factory=list)


def partition_name(spec: PartitionSpec, start: datetime) -> str:
    return f"{spec.table}_p{start:%Y%m%d}"


def plan(spec: PartitionSpec, now: datetime, existing: list[Partition], default_buckets: list[datetime]) -> Plan:
    """Partitions to create (current, ``ahead`` more, and any holding DEFAULT rows) and to drop."""
    horizon = now - spec.retention
    have = {p.start for p in existing}
    current = spec.floor(now)
    wanted = {current + i * spec.interval for i in range(spec.ahead + 1)}
    # Late rows parked in DEFAULT get their own partition, unless retention
    # would drop it straight away.
    wanted |= {spec.floor(b) for b in default_buckets if spec.floor(b) + spec.interval > horizon}
    create = tuple(
        Partition(partition_name(spec, s), s, s + spec.interval) for s in sorted(wanted - have)
    )
    drop = tuple(p for p in sorted(existing, key=lambda p: p.start) if p.end <= horizon)
    return Plan(create, drop)


def existing(conn: psycopg.Connection, table: str) -> list[Partition]:
    rows = conn.execute(
        "SELECT c.relname, b[1]::timestamptz, b[2]::timestamptz FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid"
        " CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),"
        "   'FROM \\(''([^'']+)''\\) TO \\(''([^'']+)''\\)') AS b"
        " WHERE i.inhparent = %s::regclass AND b IS NOT NULL",
        (table,),
    ).fetchall()
    return [Partition(name, start, end) for name, start, end in rows]


def _default(spec: PartitionSpec) -> sql.Identifier:
    return sql.Identifier(f"{spec.table}_default")


def default_buckets(conn: psycopg.Connection, spec: PartitionSpec) -> list[datetime]:
    q = sql.SQL("SELECT DISTINCT date_bin({iv}, {col}, {origin}) FROM {dflt}").format(
        iv=sql.Literal(spec.interval), col=sql.Identifier(spec.column),
        origin=sql.Literal(ORIGIN),
        dflt=_default(spec),
    )
    return [r[0] for r in conn.execute(q)]


def _create(conn: psycopg.Connection, spec: PartitionSpec, p: Partition) -> int:
    """Create ``p`` empty, move its rows out of DEFAULT, then attach it; returns rows moved."""
    name, parent, col = sql.Identifier(p.name), sql.Identifier(spec.table), sql.Identifier(spec.column)
    lo, hi = sql.Literal(p.start), sql.Literal(p.end)
    conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(name, parent))
    moved = conn.execute(
        sql.SQL(
            "WITH moved AS (DELETE FROM {dflt} WHERE {col} >= {lo} AND {col} < {hi} RETURNING *)"
            " INSERT INTO {name} SELECT * FROM moved"
        ).format(dflt=_default(spec), col=col, lo=lo, hi=hi, name=name)
    ).rowcount
    # ATTACH (not CREATE ... PARTITION OF) takes a weaker lock on the parent:
    # writers into other partitions keep going.
    conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
        parent, name, lo, hi))
    return moved


def apply(conn: psycopg.Connection, spec: PartitionSpec, now: datetime, lock_timeout_ms: int = 5000) -> Report:
    """Bring one table's partitions in line with ``spec`` at ``now`` (one transaction per step)."""
    report = Report()
    timeout = sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{lock_timeout_ms}ms"))
    with conn.transaction():
        p = plan(spec, now, existing(conn, spec.table), default_buckets(conn, spec))
    for part in p.create:
        try:
            with conn.transaction():
                conn.execute(timeout)
                report.rows_adopted += _create(conn, spec, part)
                report.created.append(part.name)
        except psycopg.errors.LockNotAvailable:
            report.skipped.append(f"create {part.name}")
    horizon = now - spec.retention
    try:
        with conn.transaction():
            conn.execute(timeout)
            report.rows_expired = conn.execute(
                sql.SQL("DELETE FROM {} WHERE {} < {}").format(
                    _default(spec), sql.Identifier(spec.column), sql.Literal(horizon))
            ).rowcount
            for part in p.drop:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(part.name)))
                report.dropped.append(part.name)
    except psycopg.errors.LockNotAvailable:
        report.rows_expired, report.dropped = 0, []
        report.skipped.append("retention")
    if report.created or report.dropped or report.rows_expired or report.skipped:
        log.info("partitions maintained", extra={"table": spec.table, "partitions_created": report.created,
                                                  "dropped": report.dropped, "adopted": report.rows_adopted,
                                                  "expired": report.rows_expired, "skipped": report.skipped})
    return report


def ensure_range(conn: psycopg.Connection, spec: PartitionSpec, start: datetime, end: datetime) -> list[str]:
    """Create the partitions covering [start, end) that do not exist yet: run before a
    bulk backfill, so its rows go straight to their partitions instead of DEFAULT."""
    have = {p.start for p in existing(conn, spec.table)}
    made = []
    t = spec.floor(start)
    while t < end:
        if t not in have:
            part = Partition(partition_name(spec, t), t, t + spec.interval)
            with conn.transaction():
                _create(conn, spec, part)
            made.append(part.name)
        t += spec.interval
    return made
