"""Migrations: clean on an empty schema, a no-op on a migrated one, backend recorded."""

from __future__ import annotations

import threading

import psycopg
import pytest

from storage import timescale
from storage.backend import Backend, BackendUnavailable, recorded
from storage.migrate import available, migrate
from tests.storage.conftest import NOW, offers_timescaledb, policy_for

TABLES = {
    "wards", "patients", "devices", "assignments", "roles", "users", "user_roles", "audit_log",
    "alerts", "alert_event_kinds", "alert_events", "glucose_metrics", "service_heartbeats",
    "readings", "window_features", "news2_scores", "readings_1m_mat", "readings_1h_mat", "agg_pending",
    "schema_migrations", "console_sessions", "login_attempts", "api_token_scopes", "upload_tokens",
    "waveform_snippets", "escalation_chains",
}
# Every migration version in order (0200: console sign-in, 0210: console language choice, alerts/console;
# 0300: interop tokens; 0400: raw waveform snippets, storage/waveforms.py; 0410: escalation chain headers,
# alerts.chain_store).
VERSIONS = [1, 2, 3, 100, 200, 210, 300, 400, 410]


def _objects(conn: psycopg.Connection) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in conn.execute(
        "SELECT relname, relkind::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
    )}


def test_every_backend_has_every_version() -> None:
    for backend in Backend:
        assert [m.version for m in available(backend)] == VERSIONS
    pg, ts = available(Backend.POSTGRES)[2].sql, available(Backend.TIMESCALEDB)[2].sql
    assert "PARTITION BY RANGE (measured_at)" in pg and "create_hypertable('readings'" in ts


PLAIN_ONLY = {"readings_1m_mat", "readings_1h_mat", "agg_pending"}


def test_migrate_empty_then_again(empty_dsn: str, backend: Backend) -> None:
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        assert migrate(conn, backend, policy_for(backend), now=NOW) == VERSIONS
        assert recorded(conn) is backend
        objects = _objects(conn)
        names = {name for name, _ in objects}
        if backend is Backend.POSTGRES:
            assert TABLES <= names
            assert ("readings", "p") in objects and ("readings_1m", "v") in objects
            # Current day and two ahead, plus the DEFAULT partition.
            assert {"readings_p20260310", "readings_p20260311", "readings_p20260312", "readings_default"} <= names
            assert ("waveform_snippets", "p") in objects
            assert {"waveform_snippets_p20260310", "waveform_snippets_p20260312", "waveform_snippets_default"} <= names
        else:
            assert TABLES - PLAIN_ONLY <= names and not PLAIN_ONLY & names
            assert {("readings_1m", "v"), ("readings_1h", "v")} <= objects
            hypertables = {r[0] for r in conn.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables"
                " WHERE hypertable_schema = current_schema()")}
            assert hypertables == {"readings", "window_features", "news2_scores", "glucose_trends", "waveform_hr",
                                   "waveform_snippets"}
            jobs = timescale.existing_jobs(conn)
            assert len(jobs) == 15
        assert migrate(conn, backend, policy_for(backend), now=NOW) == []
        assert _objects(conn) == objects
        if backend is Backend.TIMESCALEDB:
            assert timescale.existing_jobs(conn) == jobs  # the same jobs, not removed and added again
        rows = conn.execute("SELECT version, name, backend FROM schema_migrations ORDER BY version").fetchall()
        b = backend.value
        assert rows == [(1, "registry", b), (2, "alerts_scores", b), (3, "timeseries", b),
                        (100, "alarm_lifecycle", b), (200, "console", b), (210, "console_locale_choice", b),
                        (300, "interop", b), (400, "waveform_snippets", b), (410, "escalation_chains", b)]


def test_concurrent_starts_apply_once(empty_dsn: str, backend: Backend) -> None:
    results: list[list[int]] = []

    def run() -> None:
        with psycopg.connect(empty_dsn, autocommit=True) as conn:
            results.append(migrate(conn, backend, policy_for(backend), now=NOW))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [[], VERSIONS]


def test_backend_is_never_switched(db: psycopg.Connection, backend: Backend) -> None:
    other = Backend.TIMESCALEDB if backend is Backend.POSTGRES else Backend.POSTGRES
    with pytest.raises(RuntimeError, match=f"migrated for {backend}"):
        migrate(db, other)


def test_plain_server_refuses_the_timescaledb_backend(plain_empty_dsn: str) -> None:
    with psycopg.connect(plain_empty_dsn, autocommit=True) as conn:
        if offers_timescaledb(conn):
            pytest.skip("not applicable: this server has TimescaleDB (the [tsdb] variants test it)")
        with pytest.raises(BackendUnavailable):
            migrate(conn, Backend.TIMESCALEDB)
        assert recorded(conn) is None  # the failed attempt left nothing behind


def test_audit_log_and_alert_events_are_append_only(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('u1', 'read', 'P1')")
    for stmt in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            db.execute(stmt)
    assert db.execute("SELECT actor FROM audit_log").fetchall() == [("u1",)]
    db.execute(
        "INSERT INTO alerts (id, patient_id, rule, priority, message, window_start, window_end, detected_at)"
        " VALUES ('a1', 'P1', 'hr_high', 'high', 'm', now(), now(), now())"
    )
    db.execute("INSERT INTO alert_events (alert_id, event, actor) VALUES ('a1', 'acknowledged', 'nurse-1')")
    with pytest.raises(psycopg.errors.RaiseException):
        db.execute("DELETE FROM alert_events")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute("INSERT INTO alert_events (alert_id, event, actor) VALUES ('a1', 'ignored', 'nurse-1')")


def test_roles_seeded_and_user_role_unique_per_ward(db: psycopg.Connection) -> None:
    assert {r[0] for r in db.execute("SELECT id FROM roles")} == {"nurse", "clinician", "patient", "auditor", "admin",
                                                                     "charge_nurse"}  # 0200 (console)
    db.execute("INSERT INTO wards VALUES ('w1', 'Ward 1')")
    db.execute("INSERT INTO users (id, display_name) VALUES ('u1', 'Nguyễn Thị Lan')")
    db.execute("INSERT INTO user_roles (user_id, role_id, ward_id, granted_by) VALUES ('u1', 'nurse', 'w1', 'admin')")
    db.execute("INSERT INTO user_roles (user_id, role_id, ward_id, granted_by) VALUES ('u1', 'nurse', NULL, 'admin')")
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("INSERT INTO user_roles (user_id, role_id, granted_by) VALUES ('u1', 'nurse', 'admin')")
    assert db.execute("SELECT locale FROM users").fetchone() == ("vi",)


def test_rpm_db_migrate_and_maintain_commands(
    empty_dsn: str, backend: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from cli.main import main

    monkeypatch.setenv("RPM_DATABASE_URL", empty_dsn)
    monkeypatch.setenv("RPM_DB_BACKEND", backend.value)

    def rpm(*args: str) -> str:
        assert main(list(args)) == 0
        return capsys.readouterr().out

    assert rpm("db", "migrate").strip() == f"applied migrations: {VERSIONS}"
    assert rpm("db", "migrate").strip() == "database is up to date"
    out = rpm("db", "maintain")
    assert f"backend: {backend}" in out
    if backend is Backend.POSTGRES:
        assert "aggregates: 0 patient-vital-hours refreshed" in out
        assert "readings: created -, dropped -" in out  # migrate already made today's partitions
    else:
        # The jobs migrate created are kept as they are, not removed and added again.
        assert "timescaledb jobs: added -, replaced -, unchanged 15" in out
        monkeypatch.setenv("RPM_RETENTION_RAW_DAYS", "60")
        out = rpm("db", "maintain")
        assert "timescaledb jobs: added -, replaced ['retention readings'], unchanged 14" in out
