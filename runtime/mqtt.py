"""paho-mqtt client construction from an ``mqtt://`` / ``mqtts://`` URL."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion


@dataclass(frozen=True, slots=True)
class MqttTarget:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def parse_url(url: str) -> MqttTarget:
    u = urlsplit(url)
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        raise ValueError(f"expected mqtt://host:port or mqtts://host:port, got {url!r}")
    tls = u.scheme == "mqtts"
    return MqttTarget(
        u.hostname,
        u.port or (8883 if tls else 1883),
        tls,
        unquote(u.username) if u.username else None,
        unquote(u.password) if u.password else None,
    )


def new_client(
    url: str,
    client_id: str,
    *,
    username: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
    v5: bool = True,
    clean_start: bool = True,
    manual_ack: bool = False,
) -> tuple[mqtt.Client, MqttTarget]:
    """A configured, not yet connected client. Credentials in the URL win over arguments."""
    target = parse_url(url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        clean_session=None if v5 else clean_start,
        manual_ack=manual_ack,
    )
    user = target.username or username
    if user:
        client.username_pw_set(user, target.password or password)
    if target.tls:
        # cert_file/key_file: a client certificate, for brokers that require mutual TLS.
        client.tls_set(ca_certs=ca_file, certfile=cert_file, keyfile=key_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client, target
