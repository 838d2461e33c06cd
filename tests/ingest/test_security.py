"""Device security against a real, private Mosquitto configured by `rpm broker init` and
`rpm devices provision`: TLS, per-device passwords (hashed only), and an ACL that keeps every
device on its own topics. The machine's shared broker allows anonymous clients, so these tests
always start their own."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from cli import broker_cmds
from embedded.kafka_mock import MockKafka
from embedded.mqtt_broker import mosquitto_binary
from embedded.ports import free_port, wait_tcp
from ingest import broker_auth
from ingest.broker_files import BrokerFiles, mosquitto_passwd_binary
from runtime.mqtt import new_client
from tests.ingest.helpers import Collector, Publisher, bridge_env, metric, ready, telemetry
from tests.services import REPO, Services, wait_for
from wire.topics import config_topic, status_topic, telemetry_topic


def _parser() -> argparse.ArgumentParser:
    # `rpm broker ...` and `rpm devices provision/revoke` as cli.main wires them, without
    # importing every other command (seconds on a busy machine); one test runs the real entry point.
    parser = argparse.ArgumentParser(prog="rpm")
    sub = parser.add_subparsers(dest="command", required=True)
    broker_cmds.add_parsers(sub)
    broker_cmds.add_device_parsers(sub.add_parser("devices").add_subparsers(dest="dev_cmd", required=True))
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return int(args.func(args))


def rpm(*args: str) -> dict[str, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(list(args))
    assert rc == 0, out.getvalue()
    return json.loads(out.getvalue())  # type: ignore[no-any-return]


@dataclass
class SecureBroker:
    dir: Path
    url: str
    ca_file: str
    proc: subprocess.Popen[bytes]
    bridge_password: str


@pytest.fixture
def secure_broker() -> Iterator[SecureBroker]:
    binary = mosquitto_binary()
    assert binary, "these tests need the mosquitto binary (Debian package mosquitto)"
    # Mosquitto drops root privileges before it reads its files: the directory must be reachable.
    d = Path(tempfile.mkdtemp(prefix="rpmsec", dir="/tmp"))
    d.chmod(0o755)
    cert, key = d / "server.crt", d / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    key.chmod(0o644)  # a throwaway test key, readable by the mosquitto user
    port = free_port()
    creds = rpm("broker", "init", "--broker-dir", str(d), "--port", str(port), "--bind", "127.0.0.1",
                "--tls-cert", str(cert), "--tls-key", str(key), "--json")
    log = open(d / "broker.log", "ab")
    proc = subprocess.Popen([binary, "-c", str(d / "mosquitto.conf")], stdout=log, stderr=log)
    try:
        wait_tcp("127.0.0.1", port)
        yield SecureBroker(d, f"mqtts://127.0.0.1:{port}", str(cert), proc, creds["password"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_password_hashes_are_interchangeable_with_mosquitto_passwd(tmp_path: Path) -> None:
    assert mosquitto_passwd_binary(), "mosquitto_passwd is installed with mosquitto"
    ours = broker_auth.hash_password("s3cret")
    assert ours.startswith("$7$101$") and broker_auth.verify_password("s3cret", ours)
    assert not broker_auth.verify_password("s3cret!", ours)
    files = BrokerFiles(tmp_path)
    files.set_password("dev-x", "pw-from-binary")
    theirs = files.users()["dev-x"]
    assert broker_auth.verify_password("pw-from-binary", theirs) and "pw-from-binary" not in files.passwd.read_text()
    assert files.passwd.stat().st_mode & 0o007 == 0, "not readable by others"
    assert files.remove("dev-x") and files.users() == {}


@dataclass
class Device:
    client: mqtt.Client
    acks: dict[int, object]
    got: list[tuple[str, bytes]]


def _device(b: SecureBroker, user: str, password: str) -> Device:
    client, target = new_client(b.url, f"c-{user}", username=user, password=password, ca_file=b.ca_file)
    dev = Device(client, {}, [])
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p=None: connected.set()
    client.on_publish = lambda c, u, mid, rc, p=None: dev.acks.__setitem__(mid, rc)
    client.on_message = lambda c, u, m: dev.got.append((m.topic, m.payload))
    client.connect(target.host, target.port)
    client.loop_start()
    assert connected.wait(10) and client.is_connected(), f"{user} could not connect"
    return dev


def _refused(b: SecureBroker, user: str | None, password: str | None) -> str:
    pub = Publisher(b.url, True, username=user, password=password, ca_file=b.ca_file)
    try:
        assert not pub.wait_connected(), f"{user!r} was let in"
        return pub.refused or ""
    finally:
        pub.close()


def test_devices_authenticate_and_stay_in_their_lane(
    secure_broker: SecureBroker, services: Services, db_dsn: str, kafka_cluster: MockKafka,
    topic_prefix: str, fleet: list[str],
) -> None:
    b = secure_broker
    dev_a, dev_b, dev_c = fleet[:3]
    pw_a = rpm("devices", "provision", dev_a, "--broker-dir", str(b.dir), "--json")["password"]
    # dev_b's hash is written by our own PBKDF2-SHA512 code (the path for machines without mosquitto_passwd).
    pw_b = broker_auth.new_password()
    BrokerFiles(b.dir, use_binary=False).set_password(dev_b, pw_b)
    assert pw_a not in (b.dir / "passwd").read_text() and pw_b not in (b.dir / "passwd").read_text()
    b.proc.send_signal(1)  # SIGHUP: reload the password file
    time.sleep(0.5)

    env, port = bridge_env(db_dsn, b.url, True, kafka_cluster.bootstrap, topic_prefix, "secure",
                           RPM_MQTT_USERNAME=broker_auth.DEFAULT_BRIDGE_USER, RPM_MQTT_PASSWORD=b.bridge_password,
                           RPM_MQTT_CA_FILE=b.ca_file)
    services.env.update(env)
    col = Collector(kafka_cluster.bootstrap, [f"{topic_prefix}rpm.readings-packed.v1", f"{topic_prefix}rpm.dead-letter.v1"])
    try:
        services.start("bridge")
        wait_for(lambda: ready(port), 30, "bridge ready over TLS with its own credentials", services)

        assert "Not authorized" in _refused(b, None, None) or "Bad user" in _refused(b, None, None)
        assert _refused(b, dev_a, pw_a + "x"), "wrong password refused"
        assert _refused(b, dev_a, pw_b), "another device's password refused"
        assert _refused(b, "nobody", pw_a), "unknown user refused"
        plain = Publisher(b.url.replace("mqtts://", "mqtt://"), True, username=dev_a, password=pw_a)
        assert not plain.connected.wait(1.5) or plain.refused, "no plaintext on the TLS listener"
        plain.close()

        a, bb = _device(b, dev_a, pw_a), _device(b, dev_b, pw_b)
        # A perfect spoof: dev_a publishes a well-formed message claiming to be dev_b, on dev_b's topics.
        spoof = telemetry(dev_b, 666)
        spoof_status = json.dumps({"v": 1, "device_id": dev_b, "state": "offline"}).encode()
        denied = [a.client.publish(telemetry_topic(dev_b), spoof, qos=1),
                  a.client.publish(status_topic(dev_b), spoof_status, qos=1),
                  a.client.publish(config_topic(dev_b), b"{}", qos=1)]
        legit = [a.client.publish(telemetry_topic(dev_a), telemetry(dev_a, 1), qos=1),
                 bb.client.publish(telemetry_topic(dev_b), telemetry(dev_b, 2), qos=1)]
        for info in denied + legit:
            info.wait_for_publish(10)
        assert all(getattr(a.acks[i.mid], "is_failure", False) for i in denied), "broker answers 'not authorized'"
        wait_for(lambda: {(dev_a, 1), (dev_b, 2)} <= set(col.seqs()), 30, "legitimate readings in Kafka", services)
        time.sleep(1.0)  # anything the spoof caused would have arrived by now, before or with the legit ones
        assert (dev_b, 666) not in col.seqs() and spoof not in col.dead_payloads()
        assert spoof_status not in col.dead_payloads()
        assert metric(port, "rpm_ingest_messages_received_total") == 2, "the bridge never saw the spoofs"

        # Subscriptions: a device hears its own config topic only.
        a.client.subscribe([(config_topic(dev_b), 1), (telemetry_topic(dev_b), 1), ("rpm/#", 1), (config_topic(dev_a), 1)])
        time.sleep(0.5)
        ops = _device(b, broker_auth.DEFAULT_BRIDGE_USER + "", b.bridge_password)
        for dev in (dev_b, dev_a):
            ops.client.publish(config_topic(dev), json.dumps({"for": dev}).encode(), qos=1).wait_for_publish(10)
        bb.client.publish(telemetry_topic(dev_b), telemetry(dev_b, 3), qos=1).wait_for_publish(10)
        wait_for(lambda: a.got, 10, "dev_a receives its own config")
        time.sleep(0.5)
        assert {t for t, _ in a.got} == {config_topic(dev_a)}, a.got  # (twice: its own filter and rpm/#)

        # Provisioning a new device takes effect on reload; revoking locks a device out.
        pw_c = rpm("devices", "provision", dev_c, "--broker-dir", str(b.dir), "--reload-pid", str(b.proc.pid),
                   "--json")["password"]
        time.sleep(0.5)
        _device(b, dev_c, pw_c).client.disconnect()
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["devices", "revoke", dev_b, "--broker-dir", str(b.dir), "--reload-pid", str(b.proc.pid)]) == 0
        time.sleep(0.5)
        assert _refused(b, dev_b, pw_b), "a revoked device cannot connect again"
        for d in (a, bb, ops):
            d.client.disconnect()
            d.client.loop_stop()
    finally:
        col.close()


def test_provision_refuses_bad_or_reserved_ids(tmp_path: Path) -> None:
    for bad in ("a/b", "+", "#", "", broker_auth.DEFAULT_BRIDGE_USER):
        assert main(["devices", "provision", bad, "--broker-dir", str(tmp_path)]) == 2, bad
    # The one subprocess run: the real `rpm` entry point, as an operator runs it.
    r = subprocess.run([sys.executable, "-m", "cli.main", "devices", "provision", "dev-ok", "--broker-dir", str(tmp_path)],
                       capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0 and "password: " in r.stdout, r.stderr
    password = r.stdout.split("password: ")[1].split()[0]
    assert broker_auth.verify_password(password, BrokerFiles(tmp_path).users()["dev-ok"])
    assert password not in (tmp_path / "passwd").read_text()
