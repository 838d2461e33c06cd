"""Many MQTT device connections on one thread: paho clients driven by one selector.

Each simulated device is a real MQTT client with its own connection,
client id, credentials and last will, as in the field. A paho client per
device with ``loop_start()`` would cost a thread each (2,000 threads for a
ward block); paho's external-loop callbacks let one selector serve them all.

Reconnection is the device's: exponential backoff from 1 s to 60 s with
+-20 % jitter, so a broker restart does not see every device at once.
"""

from __future__ import annotations

import logging
import random
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import paho.mqtt.client as mqtt

from runtime.mqtt import MqttTarget, new_client

log = logging.getLogger(__name__)

BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 60.0


class BrokerUnreachable(RuntimeError):
    """The broker cannot be reached or refuses the devices; the message is one line."""


class ConnState(StrEnum):
    IDLE = "idle"  # waiting for the next attempt
    CONNECTING = "connecting"
    CONNECTED = "connected"
    LINK_DOWN = "link_down"  # simulated network loss: no attempts until it ends


@dataclass(slots=True)
class Conn:
    index: int
    device_id: str
    client: mqtt.Client
    state: ConnState = ConnState.IDLE
    ever_connected: bool = False
    attempted: bool = False  # paho needs connect() once, reconnect() after
    backoff_s: float = BACKOFF_MIN_S
    next_attempt: float = 0.0
    data_mids: set[int] = field(default_factory=set)
    refused: str | None = None
    refused_by_broker: bool = False  # a CONNACK said no (credentials): retrying will not help soon
    write_registered: bool = False  # the selector watches this socket for writability


@dataclass(slots=True)
class FleetCounters:
    connects: int = 0
    disconnects: int = 0
    refusals: int = 0
    published: int = 0
    acked: int = 0


class MqttFleet:
    def __init__(
        self,
        url: str,
        *,
        v5: bool,
        password_for: Callable[[str], str | None],
        on_connected: Callable[[int], None],
        on_acked: Callable[[int], None],
        rng: random.Random,
        keepalive_s: int = 30,
        ca_file: str | None = None,
    ) -> None:
        self.url = url
        self._v5 = v5
        self._password_for = password_for
        self._on_connected = on_connected
        self._on_acked = on_acked
        self._rng = rng
        self._keepalive = keepalive_s
        self._ca_file = ca_file
        self._sel = selectors.DefaultSelector()
        self.conns: list[Conn] = []
        self.counters = FleetCounters()
        self._target: MqttTarget | None = None
        self._last_misc = 0.0
        # Connections waiting for an attempt: the loop runs ~100 times a second, so it
        # must not scan all 2,000 connections each time.
        self._idle: set[int] = set()
        # Sockets with queued packets: written once per loop turn, and watched for
        # writability only if the kernel buffer was full (saves two epoll_ctl per message).
        self._pending_write: set[int] = set()

    # ---------------------------------------------------------------- setup
    def add(self, device_id: str, will_topic: str, will_payload: bytes) -> int:
        password = self._password_for(device_id)
        client, self._target = new_client(
            self.url, f"sim-{device_id}", username=device_id if password is not None else None,
            password=password, ca_file=self._ca_file, v5=self._v5,
        )
        index = len(self.conns)
        conn = Conn(index, device_id, client)
        client.user_data_set(conn)
        client.will_set(will_topic, will_payload, qos=1, retain=True)
        client.max_inflight_messages_set(1000)  # the firmware bounds in-flight messages itself
        client.on_socket_open = self._sock_open
        client.on_socket_close = self._sock_close
        client.on_socket_register_write = self._want_write
        client.on_socket_unregister_write = self._done_write
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        client.on_publish = self._published
        self.conns.append(conn)
        self._idle.add(index)
        return index

    # ---------------------------------------------------------------- paho callbacks
    # paho types the socket as its SocketLike protocol (TLS sockets included); selectors take any fileobj.
    def _sock_open(self, _c: mqtt.Client, conn: Conn, sock: Any) -> None:
        self._sel.register(sock, selectors.EVENT_READ, conn)

    def _sock_close(self, _c: mqtt.Client, conn: Conn, sock: Any) -> None:
        conn.write_registered = False
        try:
            self._sel.unregister(sock)
        except (KeyError, ValueError):
            pass

    def _want_write(self, _c: mqtt.Client, conn: Conn, _sock: Any) -> None:
        self._pending_write.add(conn.index)

    def _done_write(self, _c: mqtt.Client, conn: Conn, sock: Any) -> None:
        if not conn.write_registered:
            return
        conn.write_registered = False
        try:
            self._sel.modify(sock, selectors.EVENT_READ, conn)
        except (KeyError, ValueError):
            pass

    def _flush_writes(self) -> None:
        pending, self._pending_write = self._pending_write, set()
        for index in pending:
            conn = self.conns[index]
            client = conn.client
            sock: Any = client.socket()
            if sock is None:
                continue
            client.loop_write()
            if client.want_write() and not conn.write_registered and client.socket() is not None:
                conn.write_registered = True
                try:
                    self._sel.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
                except (KeyError, ValueError):
                    conn.write_registered = False

    def _connected(self, _c: mqtt.Client, conn: Conn, _f: object, rc: object, _p: object = None) -> None:
        if getattr(rc, "is_failure", False):
            conn.refused = str(rc)
            conn.refused_by_broker = True
            self.counters.refusals += 1
            self._schedule_retry(conn)
            return
        conn.state = ConnState.CONNECTED
        conn.ever_connected = True
        conn.backoff_s = BACKOFF_MIN_S
        conn.refused = None
        conn.refused_by_broker = False
        self.counters.connects += 1
        self._on_connected(conn.index)

    def _disconnected(self, _c: mqtt.Client, conn: Conn, _f: object, rc: object, _p: object = None) -> None:
        if conn.state is ConnState.CONNECTED:
            self.counters.disconnects += 1
        if conn.state is not ConnState.LINK_DOWN:
            self._schedule_retry(conn)

    def _published(self, _c: mqtt.Client, conn: Conn, mid: int, _rc: object = None, _p: object = None) -> None:
        self.counters.acked += 1
        if mid in conn.data_mids:
            conn.data_mids.discard(mid)
            self._on_acked(conn.index)

    def _schedule_retry(self, conn: Conn) -> None:
        conn.state = ConnState.IDLE
        self._idle.add(conn.index)
        conn.next_attempt = time.monotonic() + conn.backoff_s * self._rng.uniform(0.8, 1.2)
        conn.backoff_s = min(conn.backoff_s * 2, BACKOFF_MAX_S)

    # ---------------------------------------------------------------- driving
    def is_connected(self, index: int) -> bool:
        return self.conns[index].state is ConnState.CONNECTED

    def connect_due(self, max_attempts: int = 200) -> int:
        """Start connection attempts that are due (bounded per call so the loop stays responsive)."""
        now = time.monotonic()
        n = 0
        for index in sorted(self._idle):
            conn = self.conns[index]
            if conn.state is not ConnState.IDLE:
                self._idle.discard(index)
                continue
            if n >= max_attempts:
                break
            if conn.next_attempt > now:
                continue
            n += 1
            self._idle.discard(index)
            conn.state = ConnState.CONNECTING
            try:
                if conn.attempted:
                    conn.client.reconnect()
                else:
                    assert self._target is not None
                    conn.attempted = True
                    conn.client.connect(self._target.host, self._target.port, keepalive=self._keepalive)
            except (OSError, ValueError) as e:
                conn.refused = conn.refused or f"{type(e).__name__}: {e}"
                self._schedule_retry(conn)
        return n

    def link_down(self, index: int) -> None:
        """Simulated network loss: drop the TCP connection without DISCONNECT, so the broker sends the will."""
        conn = self.conns[index]
        was = conn.state
        conn.state = ConnState.LINK_DOWN
        sock: Any = conn.client.socket()
        if was in (ConnState.CONNECTED, ConnState.CONNECTING) and sock is not None:
            self.counters.disconnects += int(was is ConnState.CONNECTED)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.client.loop_read()  # paho sees the closed socket and cleans up (callbacks run here)
            conn.state = ConnState.LINK_DOWN

    def link_up(self, index: int) -> None:
        conn = self.conns[index]
        if conn.state is ConnState.LINK_DOWN:
            conn.state = ConnState.IDLE
            self._idle.add(index)
            conn.backoff_s = BACKOFF_MIN_S
            conn.next_attempt = time.monotonic() + self._rng.uniform(0, 0.5)

    def publish(self, index: int, topic: str, payload: bytes, *, data: bool, retain: bool = False) -> None:
        conn = self.conns[index]
        info = conn.client.publish(topic, payload, qos=1, retain=retain)
        if data:
            conn.data_mids.add(info.mid)
        self.counters.published += 1

    def poll(self, timeout_s: float) -> None:
        self._flush_writes()
        for key, mask in self._sel.select(0.0 if self._pending_write else max(timeout_s, 0.0)):
            client = key.data.client
            if mask & selectors.EVENT_READ:
                client.loop_read()
            if mask & selectors.EVENT_WRITE and client.socket() is not None:
                client.loop_write()
        self._flush_writes()  # PUBACKs handled above may have queued more (e.g. a reconnect's CONNECT)
        now = time.monotonic()
        if now - self._last_misc >= 1.0:  # keepalive pings and ping timeouts
            self._last_misc = now
            for conn in self.conns:
                if conn.state is ConnState.CONNECTED:
                    conn.client.loop_misc()

    def connected_count(self) -> int:
        return sum(1 for c in self.conns if c.state is ConnState.CONNECTED)

    def pending_data(self) -> int:
        return sum(len(c.data_mids) for c in self.conns)

    def close(self) -> None:
        for conn in self.conns:
            if conn.client.socket() is not None:
                conn.client.disconnect()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(c.client.socket() is not None for c in self.conns):
            self.poll(0.05)
        for conn in self.conns:
            leftover: Any = conn.client.socket()
            if leftover is not None:
                self._sock_close(conn.client, conn, leftover)
                leftover.close()
        self._sel.close()


def probe(url: str, timeout_s: float = 5.0) -> None:
    """Fail fast with one line when nothing listens at the broker address."""
    from runtime.mqtt import parse_url

    target = parse_url(url)
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout_s):
            pass
    except OSError as e:
        reason = e.strerror or str(e) or type(e).__name__
        raise BrokerUnreachable(f"cannot reach MQTT broker at {target.host}:{target.port}: {reason}") from None
