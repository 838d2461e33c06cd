"""Passwords, sessions and the sign-in rate limit against PostgreSQL (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alerts.console import passwords, ratelimit, sessions, users
from alerts.console.users import Grant, UserError
from storage import registry

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_password_hashes_are_argon2id_and_verify() -> None:
    h = passwords.hash_password("correct horse battery")
    assert h.startswith("$argon2id$") and "correct" not in h
    assert passwords.verify(h, "correct horse battery")
    assert not passwords.verify(h, "correct horse battery!")
    assert not passwords.verify(None, "anything")
    assert passwords.weakness("short") == "error.password_short"
    assert passwords.weakness("1111111111111") == "error.password_weak"
    assert passwords.weakness("a-decent-passphrase") is None


@pytest.fixture
def user(db: psycopg.Connection) -> str:
    registry.add_ward(db, "w1", "Ward 1")
    users.create_user(db, "test", "nurse.one", "Nurse One", "Good-password-1", [Grant("nurse", "w1")])
    return "nurse.one"


def test_sessions_expire_when_idle_and_at_their_end(db: psycopg.Connection, user: str) -> None:
    idle = timedelta(minutes=30)
    token, s = sessions.create(db, user, NOW, timedelta(hours=12))
    assert s.expires_at == NOW + timedelta(hours=12)
    assert sessions.lookup(db, token, NOW + timedelta(minutes=29), idle) is not None  # touches last_seen
    assert sessions.lookup(db, token, NOW + timedelta(minutes=58), idle) is not None  # 29 min after the touch
    assert sessions.lookup(db, token, NOW + timedelta(minutes=89), idle) is None  # idle too long
    token2, _ = sessions.create(db, user, NOW, timedelta(hours=1))
    for m in range(0, 60, 20):
        assert sessions.lookup(db, token2, NOW + timedelta(minutes=m), idle) is not None
    assert sessions.lookup(db, token2, NOW + timedelta(minutes=61), idle) is None  # absolute end
    stored = db.execute("SELECT token_hash FROM console_sessions").fetchall()
    assert all(token.encode() not in bytes(r[0]) for r in stored)


def test_revoked_and_password_change_end_sessions(db: psycopg.Connection, user: str) -> None:
    idle = timedelta(minutes=30)
    a, _ = sessions.create(db, user, NOW, timedelta(hours=1))
    b, _ = sessions.create(db, user, NOW, timedelta(hours=1))
    assert sessions.revoke(db, a, NOW)
    assert sessions.lookup(db, a, NOW, idle) is None and sessions.lookup(db, b, NOW, idle) is not None
    users.set_password(db, "admin", user, "Other-password-2")
    assert sessions.lookup(db, b, NOW, idle) is None
    users.set_disabled(db, "admin", user, True)
    assert users.load_principal(db, user) is None and users.password_hash(db, user) is None


def test_rate_limit_locks_a_name_and_doubles(db: psycopg.Connection) -> None:
    lim = ratelimit.Limits(3, timedelta(minutes=15), timedelta(seconds=60))
    for i in range(3):
        assert ratelimit.retry_after(db, "x", "10.0.0.1", NOW + timedelta(seconds=i), lim) == 0
        ratelimit.record(db, "x", "10.0.0.1", False, NOW + timedelta(seconds=i))
    assert ratelimit.retry_after(db, "x", "10.0.0.1", NOW + timedelta(seconds=2), lim) == 60
    assert ratelimit.retry_after(db, "x", "10.0.0.1", NOW + timedelta(seconds=62), lim) == 0
    ratelimit.record(db, "x", "10.0.0.1", False, NOW + timedelta(seconds=62))
    assert ratelimit.retry_after(db, "x", "10.0.0.1", NOW + timedelta(seconds=62), lim) == 120
    # Another name from another client is unaffected; a success starts the count anew.
    assert ratelimit.retry_after(db, "y", "10.0.0.2", NOW + timedelta(seconds=62), lim) == 0
    ratelimit.record(db, "x", "10.0.0.1", True, NOW + timedelta(seconds=300))
    assert ratelimit.retry_after(db, "x", "10.0.0.1", NOW + timedelta(seconds=301), lim) == 0


def test_one_client_trying_many_names_is_limited_too(db: psycopg.Connection) -> None:
    lim = ratelimit.Limits(2, timedelta(minutes=15), timedelta(seconds=60))
    for i in range(2 * ratelimit.CLIENT_FACTOR):
        ratelimit.record(db, f"name{i}", "10.9.9.9", False, NOW)
    assert ratelimit.retry_after(db, "fresh-name", "10.9.9.9", NOW, lim) == 60
    assert ratelimit.retry_after(db, "fresh-name", "10.9.9.8", NOW, lim) == 0


def test_user_changes_are_checked_and_audited(db: psycopg.Connection, user: str) -> None:
    with pytest.raises(UserError) as e:
        users.create_user(db, "test", "nurse.one", "Again", "Good-password-1", [Grant("nurse", "w1")])
    assert e.value.key == "error.user_exists"
    with pytest.raises(UserError) as e:
        users.create_user(db, "test", "x.y", "X", "Good-password-1", [Grant("nurse", "no-ward")])
    assert e.value.key == "error.unknown_ward"
    with pytest.raises(UserError) as e:
        users.create_user(db, "test", "Bad Name", "X", "Good-password-1", [Grant("nurse", "w1")])
    assert e.value.key == "error.bad_username"
    with pytest.raises(UserError) as e:
        users.create_user(db, "test", "pat", "X", "Good-password-1", [Grant("patient", None)])
    assert e.value.key == "error.patient_required"
    users.grant(db, "admin", user, Grant("charge_nurse", "w1"))
    p = users.load_principal(db, user)
    assert p is not None and p.roles == {"nurse", "charge_nurse"} and p.scope().wards == {"w1"}
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE subject = 'user:nurse.one' ORDER BY id")]
    assert actions == ["user.create", "user.grant"]
