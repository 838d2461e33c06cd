"""HL7 v2 inbound: python-hl7's MLLP client sends hl7apy-built ORU^R01 to `rpm hl7`; ACK only after Kafka.

The accepted readings travel Kafka -> sink -> PostgreSQL and are then read
back through the console's API and the FHIR API; every refusal is a NACK
with an ERR segment, a dead letter on Kafka and a counted reason.
"""

from __future__ import annotations

import base64
import socket
import uuid
from datetime import UTC, datetime, timedelta

import hl7
import httpx
from confluent_kafka import Consumer
from hl7.client import MLLPClient

from tests.interop.conftest import HL7_DEVICE, Interop
from tests.interop.fhir_auth import bearer
from tests.interop.hl7_messages import oru
from tests.services import readings_batches, wait_for
from wire import topics
from wire.messages import DeadLetter

SPO2 = "150456^MDC_PULS_OXIM_SAT_O2^MDC"
HR = "147842^MDC_ECG_HEART_RATE^MDC"
PERCENT = "262688^MDC_DIM_PERCENT^MDC"
BPM = "264864^MDC_DIM_BEAT_PER_MIN^MDC"


def send(it: Interop, message: str | bytes) -> hl7.Message:
    with MLLPClient("127.0.0.1", it.hl7_port) as client:
        answer = client.send_message(message)
    return hl7.parse(answer.decode().strip("\x0b\x1c\r"))


def msa(ack: hl7.Message) -> tuple[str, str]:
    seg = ack.segment("MSA")
    return str(seg(1)), str(seg(2))


def errs(ack: hl7.Message) -> list[str]:
    try:
        return [str(s) for s in ack.segments("ERR")]
    except KeyError:
        return []


def dead_letters(it: Interop) -> list[DeadLetter]:
    c = Consumer({"bootstrap.servers": it.bootstrap, "group.id": f"t-{uuid.uuid4().hex}",
                  "auto.offset.reset": "earliest"})
    c.subscribe([topics.kafka_topics(it.prefix)[topics.DEAD_LETTER].name])
    out: list[DeadLetter] = []
    try:
        for _ in range(20):
            msgs = c.consume(500, timeout=1.0)
            out += [DeadLetter.model_validate_json(m.value()) for m in msgs if m.error() is None]
            if not msgs and out:
                break
    finally:
        c.close()
    return out


def test_oru_accepted_acknowledged_and_visible_in_console_and_fhir(interop: Interop) -> None:
    at = (datetime.now(UTC) - timedelta(minutes=2)).replace(microsecond=0)
    ack = send(interop, oru("CTRL-OK-1", "PA2", HL7_DEVICE, at, [(SPO2, "93", PERCENT), (HR, "112", BPM),
                                                               ("8310-5^Body temperature^LN", "38.2", "Cel^^UCUM")]))
    assert msa(ack) == ("AA", "CTRL-OK-1") and not errs(ack)
    assert str(ack.segment("MSH")(9)) == "ACK^R01^ACK"
    # On the packed readings topic, where the stream worker scores them (NEWS2, limit alarms) like MQTT readings.
    on_kafka = [b for b in readings_batches(interop.bootstrap, interop.prefix) if b["device_id"] == HL7_DEVICE]
    assert {(r["type"], r["value"]) for b in on_kafka for r in b["readings"]} >= {  # type: ignore[attr-defined]
        ("spo2", 93.0), ("heart_rate", 112.0), ("temperature", 38.2)}

    def stored() -> list[tuple[str, float]]:
        with interop.connect() as conn:
            return conn.execute("SELECT type, value FROM readings WHERE device_id = %s AND measured_at = %s"
                                " ORDER BY type", (HL7_DEVICE, at)).fetchall()

    assert wait_for(lambda: len(stored()) == 3 and stored(), 60, "the HL7 readings in PostgreSQL",
                    interop.services) == [("heart_rate", 112.0), ("spo2", 93.0), ("temperature", 38.2)]
    # The console (nurse of ward A) shows it ...
    nurse = interop.console_login("nurse.a")
    trends = nurse.get("/api/patients/PA2/trends", params={"range": "1h"}).json()
    series = {t["type"]: t for t in trends["trends"]}
    assert any(p["value"] == 112.0 for p in series["heart_rate"]["points"]), series["heart_rate"]
    # ... and so does the FHIR API.
    r = httpx.get(f"{interop.fhir}/Observation", params={"patient": "PA2", "code": "2708-6", "date": f"eq{at.isoformat()}"},
                  headers=bearer(interop, "his.ward-a"), timeout=30)
    obs = [e["resource"] for e in r.json()["entry"]]
    assert [(o["valueQuantity"]["value"], o["device"]["reference"]) for o in obs] == [(93.0, f"Device/{HL7_DEVICE}")]
    # The same message again (a gateway that missed the ACK) is acknowledged and stores nothing twice.
    assert msa(send(interop, oru("CTRL-OK-1", "PA2", HL7_DEVICE, at, [(SPO2, "93", PERCENT)])))[0] == "AA"


def test_refusals_nack_with_err_dead_letter_and_counter(interop: Interop) -> None:
    at = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    mixed = send(interop, oru("CTRL-MIX", "PA2", HL7_DEVICE, at, [
        (SPO2, "95", PERCENT), ("999999^MDC_UNKNOWN^MDC", "1", PERCENT), (HR, "80", "%^^UCUM"), (HR, "900", BPM)]))
    assert msa(mixed) == ("AE", "CTRL-MIX")
    text = " ".join(errs(mixed))
    assert len(errs(mixed)) == 3 and "OBX^2^5" in text and "unknown_code" in text and "unknown_unit" in text
    assert "implausible_value" in text
    wrong_patient = send(interop, oru("CTRL-PID", "PB1", HL7_DEVICE, at, [(SPO2, "95", PERCENT)]))
    assert msa(wrong_patient)[0] == "AR" and "unassigned_device" in " ".join(errs(wrong_patient))
    unknown_device = send(interop, oru("CTRL-DEV", "PA2", "mon-nobody", at, [(SPO2, "95", PERCENT)]))
    assert msa(unknown_device)[0] == "AR" and "unknown_device" in " ".join(errs(unknown_device))
    adt = send(interop, "MSH|^~\\&|ADT|H|RPM||20260101000000||ADT^A01|CTRL-ADT|P|2.6\rPID|||PA2\r")
    assert msa(adt) == ("AR", "CTRL-ADT") and "200^unsupported_message" in errs(adt)[0]
    garbage = send(interop, b"this is not HL7")
    assert msa(garbage)[0] == "AR"
    # Oversized (over RPM's 256 KiB message limit), sent as one MLLP block on a plain socket.
    big = oru("CTRL-BIG", "PA2", HL7_DEVICE, at, [(SPO2, "95", PERCENT)]) + "NTE|1||" + "x" * 300_000 + "\r"
    with socket.create_connection(("127.0.0.1", interop.hl7_port), timeout=30) as s:
        s.sendall(b"\x0b" + big.encode() + b"\x1c\r")
        answer = s.recv(65536)
    assert b"MSA|AR|CTRL-BIG" in answer and b"oversized" in answer

    dls = wait_for(lambda: [d for d in dead_letters(interop) if d.device_id in (HL7_DEVICE, "mon-nobody", None)
                            and d.mqtt_topic is None and len(d.payload_b64) > 0] or None, 30, "dead letters")
    reasons = {d.reason.value for d in dls}
    assert {"schema_violation", "unknown_unit", "implausible_value", "unassigned_device", "unknown_device",
            "payload_too_large"} <= reasons
    assert any(b"CTRL-MIX" in base64.b64decode(d.payload_b64) for d in dls)  # the original HL7 message

    def stored() -> list[tuple[str, float]]:
        with interop.connect() as conn:
            return conn.execute("SELECT type, value FROM readings WHERE device_id = %s AND measured_at = %s",
                                (HL7_DEVICE, at)).fetchall()

    # Only the good OBX of the mixed message was stored (the others were refused, not half-kept).
    assert wait_for(stored, 60, "the accepted OBX of the mixed message", interop.services) == [("spo2", 95.0)]
