"""The ACK waits for Kafka: HL7 v2 (and a listener killed before Kafka confirmed loses nothing: the gateway resends),
and the Nightscout API's 200 likewise.

Runs last in the package (file name): it takes the shared Kafka mock down for a few seconds. The sink
(kafka-python) exits when its broker refuses connections; like Kubernetes would, the test restarts it.
"""

from __future__ import annotations

import hashlib
import signal
import socket
from datetime import UTC, datetime, timedelta

import hl7
import httpx
from hl7.client import MLLPClient

from embedded.kafka_mock import MockKafka
from tests.interop.conftest import CGM_DEVICE, HL7_DEVICE, Interop, _port_open
from tests.interop.hl7_messages import oru
from tests.services import wait_for

SPO2 = "150456^MDC_PULS_OXIM_SAT_O2^MDC"
PERCENT = "262688^MDC_DIM_PERCENT^MDC"


def _revive(it: Interop, *names: str) -> None:
    for name in names:
        p = it.services.procs.get(name)
        if p is not None and p.poll() is not None:
            it.services.procs.pop(name)
            it.services.start(name)


def _stored(it: Interop, at: datetime) -> list[float]:
    with it.connect() as conn:
        return [r[0] for r in conn.execute("SELECT value FROM readings WHERE device_id = %s AND type = 'spo2'"
                                           " AND measured_at = %s", (HL7_DEVICE, at))]


def test_answers_only_after_kafka_and_no_loss_when_killed(interop: Interop, kafka_cluster: MockKafka) -> None:
    at = (datetime.now(UTC) - timedelta(seconds=30)).replace(microsecond=0)
    held = oru("CTRL-HELD", "PA2", HL7_DEVICE, at, [(SPO2, "91", PERCENT)])
    lost = oru("CTRL-KILLED", "PA2", HL7_DEVICE, at + timedelta(seconds=1), [(SPO2, "92", PERCENT)])
    kafka_cluster.set_down()
    try:
        # 1. Kafka down: no ACK while the record waits; Kafka back: the ACK (AA) arrives on the same connection.
        with MLLPClient("127.0.0.1", interop.hl7_port) as client:
            client.socket.settimeout(3)
            client.socket.sendall(b"\x0b" + held.encode() + b"\x1c\r")
            try:
                early = client.socket.recv(65536)
            except TimeoutError:
                early = b""
            assert early == b"", "acknowledged before Kafka confirmed"
            kafka_cluster.set_up()
            client.socket.settimeout(60)
            ack = hl7.parse(client.socket.recv(65536).decode().strip("\x0b\x1c\r"))
        assert str(ack.segment("MSA")(1)) == "AA"
        # 2. Kafka down again and the listener killed while the record waits: no ACK was sent.
        kafka_cluster.set_down()
        # The Nightscout API: no answer while Kafka is down (the uploader times out and will retry).
        t = at - timedelta(minutes=3)
        entry = [{"type": "sgv", "sgv": 111, "date": int(t.timestamp() * 1000), "device": "xDrip-DexcomG6"}]
        headers = {"api-secret": hashlib.sha1(interop.upload_secret.encode()).hexdigest()}
        try:
            early_ns = httpx.post(f"{interop.nightscout}/api/v1/entries", json=entry, headers=headers, timeout=3)
        except httpx.ReadTimeout:
            early_ns = None
        assert early_ns is None, "answered before Kafka confirmed"
        with socket.create_connection(("127.0.0.1", interop.hl7_port), timeout=3) as s:
            s.sendall(b"\x0b" + lost.encode() + b"\x1c\r")
            try:
                early = s.recv(65536)
            except TimeoutError:
                early = b""
            assert early == b""
            interop.services.stop("hl7", signal.SIGKILL)
    finally:
        kafka_cluster.set_up()
    _revive(interop, "sink", "alerts")
    interop.services.start("hl7")
    wait_for(lambda: _port_open(interop.hl7_port), 60, "the MLLP port after the restart", interop.services)
    # The gateway, having no ACK, sends the message again.
    with MLLPClient("127.0.0.1", interop.hl7_port) as client:
        again = hl7.parse(client.send_message(lost).decode().strip("\x0b\x1c\r"))
    assert str(again.segment("MSA")(1)) == "AA"
    retry = httpx.post(f"{interop.nightscout}/api/v1/entries", json=entry, headers=headers, timeout=60)
    assert retry.status_code == 200 and len(retry.json()) == 1

    def glucose() -> list[float]:
        with interop.connect() as conn:
            return [r[0] for r in conn.execute("SELECT value FROM readings WHERE device_id = %s AND measured_at = %s",
                                               (CGM_DEVICE, t))]

    assert wait_for(glucose, 60, "the uploaded reading stored once") == [111.0]
    assert wait_for(lambda: _stored(interop, at), 60, "the held reading stored") == [91.0]
    assert wait_for(lambda: _stored(interop, at + timedelta(seconds=1)), 60, "the resent reading stored") == [92.0]
