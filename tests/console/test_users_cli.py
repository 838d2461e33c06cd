"""`rpm users` (the real command's parser and functions, in process) and the demo accounts `rpm up` creates."""

from __future__ import annotations

import io

import psycopg
import pytest

from alerts.console import passwords, users
from alerts.console.seed import seed_demo_users
from cli.main import main
from storage import registry


def _rpm(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_add_list_passwd_disable(db_dsn: str, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RPM_DATABASE_URL", db_dsn)
    registry.add_ward(db, "ward-a", "A")
    code, out, err = _rpm(capsys, "users", "add", "Lan.Nguyen", "--role", "nurse", "--ward", "ward-a",
                          "--name", "Nguyễn Thị Lan")
    assert code == 0, err
    assert "user lan.nguyen added: nurse (ward-a)" in out
    password = out.split("password (shown once): ")[1].strip()
    assert passwords.verify(users.password_hash(db, "lan.nguyen"), password)
    p = users.load_principal(db, "lan.nguyen")
    assert p is not None and p.display_name == "Nguyễn Thị Lan" and p.scope().wards == {"ward-a"}

    code, _, err = _rpm(capsys, "users", "add", "x.y", "--role", "nurse", "--ward", "ward-zz")
    assert code == 1 and "Unknown ward: ward-zz." in err
    code, _, err = _rpm(capsys, "users", "add", "lan.nguyen", "--role", "nurse")
    assert code == 1 and "is taken" in err

    monkeypatch.setattr("sys.stdin", io.StringIO("A-new-passphrase\n"))
    code, out, err = _rpm(capsys, "users", "passwd", "lan.nguyen", "--password-stdin")
    assert code == 0 and "shown once" not in out, err
    assert passwords.verify(users.password_hash(db, "lan.nguyen"), "A-new-passphrase")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = _rpm(capsys, "users", "passwd", "lan.nguyen", "--password-stdin")
    assert code == 1 and "at least 10 characters" in err

    code, out, _ = _rpm(capsys, "users", "list")
    assert "lan.nguyen" in out and "nurse@ward-a" in out
    assert _rpm(capsys, "users", "disable", "lan.nguyen")[0] == 0
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
