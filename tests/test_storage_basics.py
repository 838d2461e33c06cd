"""Migrations, registry and the idempotent readings writer on real PostgreSQL, on
both backends (the fixtures of tests/storage: a ``[tsdb]`` variant runs where a
TimescaleDB server is available, see tests/storage/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from storage import readings, registry
from storage.backend import Backend
from storage.migrate import available, migrate
from tests.storage import conftest as storage_fixtures
from wire.messages import DeviceKind, QualityFlag, Reading, ReadingBatch
from wire.units import ReadingType

# The storage tests' fixtures, so each test here runs on both backends too.
backend = storage_fixtures.backend
server_dsn = storage_fixtures.server_dsn
tsdb_server_dsn = storage_fixtures.tsdb_server_dsn
db_dsn = storage_fixtures.db_dsn

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_migrate_is_idempotent_and_recorded(db: psycopg.Connection, backend: Backend) -> None:
    assert migrate(db) == []  # the fixture already migrated this schema
    assert {r[0] for r in db.execute("SELECT backend FROM schema_migrations")} == {backend.value}
    versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m.version for m in available()]


def test_audit_log_is_append_only(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('nurse1', 'view', 'P1')")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        db.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        db.execute("DELETE FROM audit_log")
    assert db.execute("SELECT actor FROM audit_log").fetchall() == [("nurse1",)]


def test_reassignment_closes_previous_and_snapshot_resolves_by_time(db: psycopg.Connection) -> None:
    registry.add_patient(db, "P1", "A")
    registry.add_patient(db, "P2", "B")
    registry.add_device(db, "d1", DeviceKind.WEARABLE)
    registry.assign(db, "d1", "P1", T0)
    registry.assign(db, "d1", "P2", T0 + timedelta(hours=2))
    snap = registry.load_snapshot(db)
    assert snap.patient_at("d1", T0 - timedelta(seconds=1)) is None
    assert snap.patient_at("d1", T0) == "P1"
    assert snap.patient_at("d1", T0 + timedelta(hours=2) - timedelta(microseconds=1)) == "P1"
    assert snap.patient_at("d1", T0 + timedelta(hours=2)) == "P2"
    assert registry.unassign(db, "d1", T0 + timedelta(hours=3))
    assert registry.load_snapshot(db).patient_at("d1", T0 + timedelta(hours=3)) is None
    assert not registry.unassign(db, "d1", T0 + timedelta(hours=4))


def test_assign_unknown_device_or_patient_is_a_clear_error(db: psycopg.Connection) -> None:
    registry.add_patient(db, "P1", "A")
    with pytest.raises(registry.RegistryError, match="unknown device 'nope'"):
        registry.assign(db, "nope", "P1", T0)
    registry.add_device(db, "d1", DeviceKind.CGM)
    with pytest.raises(registry.RegistryError, match="unknown patient 'P404'"):
        registry.assign(db, "d1", "P404", T0)


def _batch(seq: int, n: int, offset_s: int = 0) -> ReadingBatch:
    rs = tuple(
        Reading(type=ReadingType.HEART_RATE, t=T0 + timedelta(seconds=offset_s + i), value=70 + i,
                flags=(QualityFlag.MOTION,) if i == 0 else ())
        for i in range(n)
    )
    return ReadingBatch(patient_id="P1", device_id="d1", seq=seq, sent_at=T0, received_at=T0, readings=rs)


def test_readings_write_is_idempotent(db: psycopg.Connection) -> None:
    rows = readings.rows_from([_batch(1, 50)])
    with db.transaction():
        assert readings.write(db, rows) == 50
    with db.transaction():
        assert readings.write(db, rows) == 0  # a replayed batch adds nothing
    # Overlapping batch, itself carrying a duplicate: only the 10 new readings land.
    rows2 = readings.rows_from([_batch(2, 20, offset_s=40)]) + readings.rows_from([_batch(2, 1, offset_s=59)])
    with db.transaction():
        assert readings.write(db, rows2) == 10
    assert db.execute("SELECT count(*), min(value), max(value) FROM readings").fetchone() == (60, 70, 119)
    assert db.execute("SELECT flags, unit FROM readings WHERE measured_at = %s", (T0,)).fetchone() == (
        ["motion"], "/min")
