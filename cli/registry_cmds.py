"""`rpm db`, `rpm devices`, `rpm patients`: registry administration from the shell."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import psycopg

from runtime.settings import DbConn, RpmSettings, load
from storage import registry
from storage.migrate import migrate
from wire import identifiers
from wire.messages import DeviceKind


class DbSettings(RpmSettings, DbConn):
    pass


def _connect() -> psycopg.Connection:
    s = load(DbSettings)
    return psycopg.connect(s.database_url.get_secret_value(), autocommit=True, connect_timeout=5)


def _when(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError("time needs a UTC offset, e.g. 2026-11-22T08:00:00+07:00")
    return t


def cmd_migrate(_a: argparse.Namespace) -> int:
    from storage.settings import StorageSettings

    s = load(StorageSettings)
    with psycopg.connect(s.database_url.get_secret_value(), autocommit=True, connect_timeout=5) as conn:
        applied = migrate(conn, s.backend(), s.policy())
    print(f"applied migrations: {applied}" if applied else "database is up to date")
    return 0


def cmd_maintain(_a: argparse.Namespace) -> int:
    from storage import maintain
    from storage.settings import StorageSettings

    s = load(StorageSettings)
    with psycopg.connect(s.database_url.get_secret_value(), autocommit=True, connect_timeout=5) as conn:
        r = maintain.run_once(conn, s.policy())
    for table, p in r.partitions.items():
        print(f"{table}: created {p.created or '-'}, dropped {p.dropped or '-'},"
              f" rows adopted {p.rows_adopted}, rows expired {p.rows_expired}")
    if r.refresh is not None:
        print(f"aggregates: {r.refresh.hours_refreshed} patient-vital-hours refreshed,"
              f" {r.refresh.hours_discarded} past retention discarded")
    if r.jobs is not None:
        print(f"timescaledb jobs: added {r.jobs.added or '-'}, replaced {r.jobs.replaced or '-'},"
              f" unchanged {r.jobs.kept}")
    print(f"backend: {r.backend}")
    return 0


def cmd_patient_add(a: argparse.Namespace) -> int:
    with _connect() as conn:
        if a.ward:
            registry.add_ward(conn, a.ward, a.ward)
        registry.add_patient(conn, a.patient_id, a.name, a.ward, a.bed, a.spo2_scale)
    print(f"patient {a.patient_id} saved")
    return 0


def cmd_device_add(a: argparse.Namespace) -> int:
    with _connect() as conn:
        registry.add_device(conn, a.device_id, DeviceKind(a.kind))
    print(f"device {a.device_id} saved")
    return 0


def cmd_upload_token(a: argparse.Namespace) -> int:
    from storage import upload_tokens

    with _connect() as conn:
        try:
            secret = upload_tokens.create(conn, a.device_id, a.label)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    # Printed once: only a hash is stored. The uploader's "API secret" field takes it as is.
    print(secret)
    return 0


def cmd_upload_revoke(a: argparse.Namespace) -> int:
    from storage import upload_tokens

    with _connect() as conn:
        n = upload_tokens.revoke(conn, a.device_id)
    print(f"{n} upload token(s) of {a.device_id} revoked")
    return 0


def cmd_assign(a: argparse.Namespace) -> int:
    with _connect() as conn:
        try:
            registry.assign(conn, a.device_id, a.patient_id, _when(a.at))
        except registry.RegistryError as e:
            print(f"error: {e}")
            return 1
    print(f"device {a.device_id} assigned to {a.patient_id}")
    return 0


def cmd_unassign(a: argparse.Namespace) -> int:
    with _connect() as conn:
        ok = registry.unassign(conn, a.device_id, _when(a.at))
    print(f"device {a.device_id} unassigned" if ok else f"device {a.device_id} had no open assignment")
    return 0 if ok else 1


def cmd_device_list(_a: argparse.Namespace) -> int:
    with _connect() as conn:
        rows = registry.list_devices(conn)
    print(f"{'device':<16}{'kind':<18}{'patient':<12}{'ward':<10}{'bed':<6}since")
    for r in rows:
        since = r.started_at.isoformat(timespec="seconds") if r.started_at else "-"
        print(f"{r.device_id:<16}{r.kind:<18}{r.patient_id or '-':<12}{r.ward_id or '-':<10}{r.bed or '-':<6}{since}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("migrate", help="apply pending migrations (idempotent)").set_defaults(func=cmd_migrate)
    db.add_parser(
        "maintain", help="partitions ahead, retention, aggregate refresh (plain PostgreSQL); policies (TimescaleDB)"
    ).set_defaults(func=cmd_maintain)

    pat = sub.add_parser("patients", help="patient registry").add_subparsers(dest="pat_cmd", required=True)
    p = pat.add_parser("add", help="add or update a patient")
    p.add_argument("patient_id", type=identifiers.arg("patient"))
    p.add_argument("--name", required=True, help="display name (kept server-side only)")
    p.add_argument("--ward", type=identifiers.arg("ward"))
    p.add_argument("--bed")
    p.add_argument("--spo2-scale", type=int, choices=(1, 2), default=1,
                   help="NEWS2 SpO2 scale; 2 only for hypercapnic respiratory failure")
    p.set_defaults(func=cmd_patient_add)

    dev = sub.add_parser("devices", help="device registry").add_subparsers(dest="dev_cmd", required=True)
    d = dev.add_parser("add", help="register a device")
    d.add_argument("device_id", type=identifiers.arg("device"))
    d.add_argument("--kind", choices=[k.value for k in DeviceKind], required=True)
    d.set_defaults(func=cmd_device_add)
    d = dev.add_parser("assign", help="assign a device to a patient from a time on")
    d.add_argument("device_id", type=identifiers.arg("device"))
    d.add_argument("patient_id", type=identifiers.arg("patient"))
    d.add_argument("--at", help="ISO time with offset (default now)")
    d.set_defaults(func=cmd_assign)
    d = dev.add_parser("upload-token", help="new Nightscout uploader secret for a device (printed once)")
    d.add_argument("device_id")
    d.add_argument("--label", default="", help="what the secret is for, e.g. the patient's phone")
    d.set_defaults(func=cmd_upload_token)
    d = dev.add_parser("upload-revoke", help="revoke every uploader secret of a device")
    d.add_argument("device_id")
    d.set_defaults(func=cmd_upload_revoke)
    d = dev.add_parser("unassign", help="end a device's assignment")
    d.add_argument("device_id", type=identifiers.arg("device"))
    d.add_argument("--at", help="ISO time with offset (default now)")
    d.set_defaults(func=cmd_unassign)
    dev.add_parser("list", help="devices and their current assignment").set_defaults(func=cmd_device_list)

    from cli import broker_cmds  # MQTT credentials: provision / revoke

    broker_cmds.add_device_parsers(dev)
