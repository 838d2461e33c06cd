"""The chart's Mosquitto configuration, run by a real Mosquitto, with the ACL
example the docs give: no anonymous clients, the bridge's shared subscription
receives, a device cannot publish as another device.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import helm_python
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from embedded.mqtt_broker import mosquitto_binary
from embedded.ports import free_port, wait_tcp
from tests.helm.conftest import CHART, render
from wire.topics import TELEMETRY_FILTER, telemetry_topic

USERS = {"rpm-bridge": "bridge-secret", "dev-1": "pw-1", "dev-2": "pw-2"}


@pytest.fixture
def broker(chart: helm_python.Chart, tmp_path: Path) -> Iterator[int]:
    binary = mosquitto_binary()
    assert binary, "Mosquitto is part of this project's test environment (Debian package mosquitto)"
    conf = render(chart, {"mqtt": {"url": ""}, "mosquitto": {"enabled": True, "existingSecret": "auth"}}).get(
        "ConfigMap", "rpm-mosquitto")["data"]["mosquitto.conf"]
    # What the pod mounts from the Secret: a mosquitto_passwd file and the docs' ACL example.
    secret = tmp_path / "secret"
    secret.mkdir()
    passwd = secret / "passwd"
    for i, (user, pw) in enumerate(USERS.items()):
        subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(passwd), user, pw], check=True)
    (secret / "acl").write_text((CHART / "files" / "mosquitto" / "acl.example").read_text(encoding="utf-8"))
    (tmp_path / "data").mkdir()
    port = free_port()
    conf = conf.replace("/mosquitto/secret/", f"{secret}/").replace("/mosquitto/data/", f"{tmp_path / 'data'}/")
    conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
    # The container runs as UID 1883 already; run as root here, Mosquitto
    # would otherwise switch to its own user, which cannot read tmp_path.
    conf += "user root\n"
    (tmp_path / "mosquitto.conf").write_text(conf)
    log = open(tmp_path / "broker.log", "wb")
    proc = subprocess.Popen([binary, "-c", str(tmp_path / "mosquitto.conf")], stdout=log, stderr=log)
    try:
        wait_tcp("127.0.0.1", port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        log.close()


def _client(port: int, user: str | None, pw: str | None) -> tuple[mqtt.Client, mqtt.ReasonCode | None]:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}", protocol=MQTTProtocolVersion.MQTTv5)
    if user:
        c.username_pw_set(user, pw)
    connected = threading.Event()
    result: list[mqtt.ReasonCode] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, rc: mqtt.ReasonCode, _p: object) -> None:
        result.append(rc)
        connected.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port)
    c.loop_start()
    connected.wait(5)
    return c, result[0] if result else None


def test_anonymous_clients_and_wrong_passwords_are_refused(broker: int) -> None:
    for user, pw in ((None, None), ("dev-1", "wrong")):
        c, rc = _client(broker, user, pw)
        c.loop_stop()
        assert rc is not None and rc.is_failure, (user, rc)


def test_bridge_receives_devices_own_topics_only(broker: int) -> None:
    got: list[str] = []
    arrived = threading.Event()
    bridge, rc = _client(broker, "rpm-bridge", USERS["rpm-bridge"])
    assert rc is not None and not rc.is_failure

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        got.append(msg.payload.decode())
        arrived.set()

    bridge.on_message = on_message
    subscribed = threading.Event()
    bridge.on_subscribe = lambda *_a: subscribed.set()
    bridge.subscribe(f"$share/rpm-bridge/{TELEMETRY_FILTER}", qos=1)
    assert subscribed.wait(5)

    dev1, rc = _client(broker, "dev-1", USERS["dev-1"])
    assert rc is not None and not rc.is_failure
    # Posing as dev-2 first: the ACL must drop it; then its own topic.
    dev1.publish(telemetry_topic("dev-2"), b"spoofed", qos=1).wait_for_publish(5)
    dev1.publish(telemetry_topic("dev-1"), b"genuine", qos=1).wait_for_publish(5)
    assert arrived.wait(5)
    for c in (dev1, bridge):
        c.disconnect()
        c.loop_stop()
    # Same connection, in order: had the spoofed message passed, it would have arrived first.
    assert got == ["genuine"]
