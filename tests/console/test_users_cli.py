"""`rpm users` from the shell and the demo accounts `rpm up` creates."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from alerts.console import passwords, users
from alerts.console.seed import seed_demo_users
from storage import registry
from tests.services import REPO


def _rpm(dsn: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env={**os.environ, "RPM_DATABASE_URL": dsn},
                          cwd=REPO, capture_output=True, text=True, timeout=60, input=stdin)


def test_users_add_list_passwd_disable(db_dsn: str, db: psycopg.Connection) -> None:
    registry.add_ward(db, "ward-a", "A")
    done = _rpm(db_dsn, "users", "add", "Lan.Nguyen", "--role", "nurse", "--ward", "ward-a", "--name", "Nguyễn Thị Lan")
    assert done.returncode == 0, done.stderr
    assert "user lan.nguyen added: nurse (ward-a)" in done.stdout
    password = done.stdout.split("password (shown once): ")[1].strip()
    assert passwords.verify(users.password_hash(db, "lan.nguyen"), password)
    p = users.load_principal(db, "lan.nguyen")
    assert p is not None and p.display_name == "Nguyễn Thị Lan" and p.scope().wards == {"ward-a"}

    bad = _rpm(db_dsn, "users", "add", "x.y", "--role", "nurse", "--ward", "ward-zz")
    assert bad.returncode == 1 and "Unknown ward: ward-zz." in bad.stderr

    changed = _rpm(db_dsn, "users", "passwd", "lan.nguyen", "--password-stdin", stdin="A-new-passphrase\n")
    assert changed.returncode == 0, changed.stderr
    assert passwords.verify(users.password_hash(db, "lan.nguyen"), "A-new-passphrase")

    listed = _rpm(db_dsn, "users", "list")
    assert "lan.nguyen" in listed.stdout and "nurse@ward-a" in listed.stdout
    assert _rpm(db_dsn, "users", "disable", "lan.nguyen").returncode == 0
    assert users.load_principal(db, "lan.nguyen") is None
    audit = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE subject = 'user:lan.nguyen' ORDER BY id")]
    assert audit == ["user.create", "user.password", "user.disable"]


def test_demo_users_get_new_passwords_at_every_start(db: psycopg.Connection) -> None:
    registry.add_ward(db, "ward-a", "A")
    registry.add_patient(db, "P0001", "Demo", "ward-a", "07")
    first = seed_demo_users(db, "ward-a", "P0001")
    assert {u.role for u in first} == {"nurse", "charge_nurse", "clinician", "admin", "patient"}
    second = {u.user_id: u.password for u in seed_demo_users(db, "ward-a", "P0001")}
    for u in first:
        assert second[u.user_id] != u.password
        assert passwords.verify(users.password_hash(db, u.user_id), second[u.user_id])
    me = users.load_principal(db, "patient")
    assert me is not None and me.patient_id == "P0001"
