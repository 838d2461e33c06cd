"""`rpm broker init`, `rpm devices provision`, `rpm devices revoke`: MQTT credentials and access rules.

Passwords are printed once, here, and stored only hashed in the broker's
password file (see ingest.broker_auth for why not in the database). The
broker reads changed files on SIGHUP: pass ``--reload-pid`` or run
``kill -HUP <mosquitto pid>``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from ingest import broker_auth
from ingest.broker_files import BrokerFiles


def _dir(a: argparse.Namespace) -> Path:
    d = a.broker_dir or os.environ.get("RPM_BROKER_DIR")
    if not d:
        raise SystemExit("error: give --broker-dir or set RPM_BROKER_DIR (where the broker's passwd/acl live)")
    return Path(d)


def _reload(pid: int | None) -> str:
    if pid is None:
        return "reload the broker to apply: kill -HUP <mosquitto pid>"
    os.kill(pid, signal.SIGHUP)
    return f"broker (pid {pid}) reloaded"


def _print_secret(a: argparse.Namespace, what: str, user: str, password: str, note: str) -> None:
    if a.json:
        print(json.dumps({"username": user, "password": password, "note": note}))
        return
    print(f"{what}; MQTT credentials (shown this once, stored only hashed):")
    print(f"  username: {user}")
    print(f"  password: {password}")
    print(note)


def cmd_init(a: argparse.Namespace) -> int:
    files = BrokerFiles(_dir(a))
    broker_auth.check_user(a.bridge_user)
    tls = None
    if a.tls_cert or a.tls_key:
        if not (a.tls_cert and a.tls_key):
            print("error: --tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        tls = broker_auth.Tls(str(Path(a.tls_cert).resolve()), str(Path(a.tls_key).resolve()),
                              str(Path(a.tls_ca).resolve()) if a.tls_ca else None, a.require_client_cert)
    files.write_acl(a.bridge_user)
    files.write_conf(broker_auth.render_conf(str(files.dir), a.port, a.bind, tls, a.data_dir))
    password = broker_auth.new_password()
    files.set_password(a.bridge_user, password)
    note = (f"broker config: mosquitto -c {files.conf}\n"
            f"bridge settings: RPM_MQTT_USERNAME={a.bridge_user} RPM_MQTT_PASSWORD=<above>")
    _print_secret(a, f"broker files written in {files.dir}", a.bridge_user, password, note)
    return 0


def cmd_provision(a: argparse.Namespace) -> int:
    files = BrokerFiles(_dir(a))
    try:
        broker_auth.check_device(a.device_id, a.bridge_user)
    except broker_auth.CredentialError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.device_id in files.users() and not a.rotate:
        print(f"error: {a.device_id} already has credentials; --rotate replaces them", file=sys.stderr)
        return 1
    if not files.acl.exists():
        files.write_acl(a.bridge_user)
    password = broker_auth.new_password()
    files.set_password(a.device_id, password)
    _print_secret(a, f"device {a.device_id} provisioned", a.device_id, password, _reload(a.reload_pid))
    return 0


def cmd_revoke(a: argparse.Namespace) -> int:
    files = BrokerFiles(_dir(a))
    if not files.remove(a.device_id):
        print(f"device {a.device_id} had no credentials")
        return 1
    # Mosquitto checks credentials at connect: a connected device keeps its
    # session until it reconnects or the broker is restarted.
    print(f"device {a.device_id} revoked; {_reload(a.reload_pid)}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker-dir", help="directory of the broker's passwd, acl, mosquitto.conf (or RPM_BROKER_DIR)")
    p.add_argument("--bridge-user", default=broker_auth.DEFAULT_BRIDGE_USER, help="the bridge's MQTT user name")


def add_device_parsers(dev: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = dev.add_parser("provision", help="create a device's MQTT credentials (password shown once)")
    p.add_argument("device_id")
    _common(p)
    p.add_argument("--rotate", action="store_true", help="replace existing credentials")
    p.add_argument("--reload-pid", type=int, help="send SIGHUP to this Mosquitto process afterwards")
    p.add_argument("--json", action="store_true", help="print the credentials as JSON")
    p.set_defaults(func=cmd_provision)
    p = dev.add_parser("revoke", help="remove a device's MQTT credentials")
    p.add_argument("device_id")
    _common(p)
    p.add_argument("--reload-pid", type=int)
    p.set_defaults(func=cmd_revoke)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    broker = sub.add_parser("broker", help="MQTT broker security files").add_subparsers(dest="broker_cmd", required=True)
    p = broker.add_parser("init", help="write Mosquitto config, ACL and the bridge's credentials")
    _common(p)
    p.add_argument("--port", type=int, default=8883)
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("--tls-cert", help="server certificate (PEM); enables TLS on the listener")
    p.add_argument("--tls-key", help="server private key (PEM)")
    p.add_argument("--tls-ca", help="CA bundle for client certificates")
    p.add_argument("--require-client-cert", action="store_true", help="mutual TLS: clients need a certificate")
    p.add_argument("--data-dir", help="persist sessions and queued messages here (recommended in production)")
    p.add_argument("--json", action="store_true", help="print the bridge credentials as JSON")
    p.set_defaults(func=cmd_init)
