"""`rpm users`: console accounts from the shell (add, list, password, disable, grant)."""

from __future__ import annotations

import argparse
import sys

import psycopg

from alerts.console import passwords, users
from alerts.console.users import Grant, UserError
from runtime.settings import DbConn, RpmSettings, load
from wire import identifiers

ACTOR = "cli"


class _Db(RpmSettings, DbConn):
    pass


def _connect() -> psycopg.Connection:
    s = load(_Db)
    return psycopg.connect(s.database_url.get_secret_value(), autocommit=True, connect_timeout=5)


def _password(a: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated): --password-stdin reads one line; else one is generated and printed once."""
    if a.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return passwords.generate(), True


def _fail(e: UserError) -> int:
    from alerts.console import i18n

    print(f"error: {i18n.t('en', e.key, **e.params)}", file=sys.stderr)
    return 1


def cmd_add(a: argparse.Namespace) -> int:
    password, generated = _password(a)
    grants = [Grant(a.role, ward) for ward in (a.ward or [None])]
    with _connect() as conn:
        try:
            users.create_user(conn, ACTOR, a.username.lower(), a.name or a.username, password, grants, a.locale,
                              a.patient)
        except UserError as e:
            return _fail(e)
    where = ", ".join(a.ward) if a.ward else "every ward"
    print(f"user {a.username.lower()} added: {a.role} ({where if a.role != 'patient' else a.patient})")
    if generated:
        print(f"password (shown once): {password}")
    return 0


def cmd_passwd(a: argparse.Namespace) -> int:
    password, generated = _password(a)
    with _connect() as conn:
        try:
            users.set_password(conn, ACTOR, a.username.lower(), password)
        except UserError as e:
            return _fail(e)
    print(f"password of {a.username.lower()} changed; its sessions are signed out")
    if generated:
        print(f"password (shown once): {password}")
    return 0


def cmd_disable(a: argparse.Namespace) -> int:
    with _connect() as conn:
        try:
            users.set_disabled(conn, ACTOR, a.username.lower(), not a.enable)
        except UserError as e:
            return _fail(e)
    print(f"user {a.username.lower()} {'enabled' if a.enable else 'disabled'}")
    return 0


def cmd_grant(a: argparse.Namespace) -> int:
    with _connect() as conn:
        try:
            users.grant(conn, ACTOR, a.username.lower(), Grant(a.role, a.ward))
        except UserError as e:
            return _fail(e)
    print(f"{a.username.lower()}: {a.role} granted ({a.ward or 'every ward'})")
    return 0


def cmd_list(_a: argparse.Namespace) -> int:
    with _connect() as conn:
        rows = users.list_users(conn)
    print(f"{'user':<20}{'name':<28}{'roles':<40}{'locale':<7}state")
    for u in rows:
        roles = ", ".join(f"{g.role}@{g.ward_id or '*'}" for g in u.grants)
        print(f"{u.user_id:<20}{u.display_name[:27]:<28}{roles[:39]:<40}{u.locale:<7}{'disabled' if u.disabled else 'active'}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("users", help="console users and roles").add_subparsers(dest="users_cmd", required=True)
    add = p.add_parser("add", help="add a user (password generated and printed once unless --password-stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=users.ROLES)
    add.add_argument("--ward", action="append", type=identifiers.arg("ward"),
                     help="limit the role to this ward (repeatable; default every ward)")
    add.add_argument("--name", help="display name (default: the user name)")
    add.add_argument("--patient", type=identifiers.arg("patient"), help="the patient's own id, for --role patient")
    add.add_argument("--locale", choices=("vi", "en"), default="vi")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_add)
    pw = p.add_parser("passwd", help="set a new password (signs the user out everywhere)")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    pw.set_defaults(func=cmd_passwd)
    d = p.add_parser("disable", help="disable a user (or --enable again)")
    d.add_argument("username")
    d.add_argument("--enable", action="store_true")
    d.set_defaults(func=cmd_disable)
    g = p.add_parser("grant", help="grant one more role")
    g.add_argument("username")
    g.add_argument("--role", required=True, choices=users.ROLES)
    g.add_argument("--ward", type=identifiers.arg("ward"))
    g.set_defaults(func=cmd_grant)
    p.add_parser("list", help="every user with roles").set_defaults(func=cmd_list)

