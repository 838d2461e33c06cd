"""The walking skeleton end to end: MQTT -> bridge -> Kafka -> Faust -> PostgreSQL -> console.

Every hop is real: Mosquitto (or the machine's broker), the Kafka protocol
(mock cluster), PostgreSQL, and each service in its own process.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from alerts.console.users import Grant, create_user
from embedded.kafka_mock import MockKafka
from embedded.ports import free_port
from storage import registry
from tests.services import Services, publish_qos1, read_topic, wait_for
from wire.messages import DeviceKind, DeviceReading, Telemetry
from wire.topics import telemetry_topic
from wire.units import ReadingType

pytestmark = pytest.mark.e2e


def _telemetry(device: str, seq: int, t: datetime, hr: float) -> bytes:
    readings = (
        DeviceReading(type=ReadingType.HEART_RATE, t=t, value=hr, unit="/min"),
        DeviceReading(type=ReadingType.SPO2, t=t, value=96, unit="%"),
        DeviceReading(type=ReadingType.RESP_RATE, t=t, value=16, unit="/min"),
    )
    return Telemetry(device_id=device, seq=seq, sent_at=t, readings=readings).model_dump_json().encode()


def test_readings_and_alert_flow_end_to_end(
    tmp_path: Path, db_dsn: str, db: psycopg.Connection, mqtt_url: str, mqtt_v5: bool,
    kafka_cluster: MockKafka, topic_prefix: str,
) -> None:
    registry.add_ward(db, "w1", "Ward 1")
    registry.add_patient(db, "PX1", "Test Patient", "w1", "03")
    registry.add_device(db, "dev-e2e-1", DeviceKind.BEDSIDE_MONITOR)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=4)
    registry.assign(db, "dev-e2e-1", "PX1", start - timedelta(hours=1))
    # The console's API needs a signed-in user who may see ward w1.
    create_user(db, "test", "nurse.e2e", "E2E nurse", "e2e-Password-1", [Grant("nurse", "w1")])

    port = free_port()
    env = {
        "RPM_DATABASE_URL": db_dsn,
        "RPM_MQTT_URL": mqtt_url,
        "RPM_MQTT_V5": "true" if mqtt_v5 else "false",
        "RPM_KAFKA_BOOTSTRAP": kafka_cluster.bootstrap,
        "RPM_TOPIC_PREFIX": topic_prefix,
        "RPM_PARTITIONS": "4",
        "RPM_HTTP_PORT": str(port),
        "RPM_CONSOLE_OPS_ENDPOINTS": "true",  # stage health and metrics on the console port too
        "RPM_DATA_DIR": str(tmp_path / "streams"),
        "RPM_BRIDGE_INSTANCE": f"b{topic_prefix.strip('.')}",
        # The device publishes its two minutes at once and stops: a bedside monitor's 10-s silence alarm
        # (monitor_no_signal) is not what this test counts (tests/streams/test_no_pulse_pipeline.py is).
        "RPM_SIGNAL_LOSS_BEDSIDE_S": "600",
    }
    svc = Services(env, tmp_path)
    try:
        for name in ("bridge", "streams", "sink", "alerts"):
            svc.start(name)
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 90, "every stage healthy", svc)
        login = httpx.post(f"{base}/api/auth/login", json={"username": "nurse.e2e", "password": "e2e-Password-1"},
                           timeout=30)
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        assert httpx.get(f"{base}/api/alerts", timeout=5).status_code == 401  # no longer open

        # Minute 1 normal (HR 70), minute 2 tachycardic (HR 140): exactly one
        # window above the 130/min limit. Message 10 is sent twice (a device
        # resend) and must not add rows.
        messages = [
            (telemetry_topic("dev-e2e-1"), _telemetry("dev-e2e-1", i, start + timedelta(seconds=i), 70 if i < 60 else 140))
            for i in range(120)
        ]
        messages.append(messages[10])
        # An unregistered device: dead-lettered, never stored.
        messages.append((telemetry_topic("ghost-1"), _telemetry("ghost-1", 0, start, 150)))
        publish_qos1(mqtt_url, mqtt_v5, messages, "e2e-publisher")

        def stored() -> int | None:
            n = db.execute("SELECT count(*) FROM readings").fetchone()[0]
            return n if n >= 360 else None

        wait_for(stored, 60, "360 readings in PostgreSQL", svc)

        def alerts() -> list[dict[str, object]] | None:
            r = httpx.get(f"{base}/api/alerts", headers=auth, timeout=5)
            r.raise_for_status()
            return r.json() or None

        got = wait_for(alerts, 60, "an alert from /api/alerts", svc)
        assert len(got) == 1
        alert = got[0]
        assert alert["patient_id"] == "PX1" and alert["bed"] == "03" and alert["ward_id"] == "w1"
        assert alert["rule"] == "heart_rate_high" and alert["priority"] == "high"
        assert alert["value"] == 140.0
        assert alert["window_start"] == (start + timedelta(minutes=1)).isoformat()

        # Give late duplicates a moment to (not) arrive, then check exact counts.
        with httpx.Client(cookies=login.cookies, follow_redirects=True, timeout=5) as browser:
            page = browser.get(base + "/").text
        assert "Cảnh báo" in page and "/api/alerts/stream" in page
        rows = db.execute(
            "SELECT type, count(*), count(DISTINCT measured_at) FROM readings WHERE patient_id = 'PX1' GROUP BY type"
        ).fetchall()
        assert sorted(rows) == [("heart_rate", 120, 120), ("resp_rate", 120, 120), ("spo2", 120, 120)]
        assert db.execute("SELECT count(*) FROM readings WHERE device_id = 'ghost-1'").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM alert_events WHERE event = 'raised'").fetchone()[0] == 1

        dead = read_topic(kafka_cluster.bootstrap, f"{topic_prefix}rpm.dead-letter.v1")
        reasons = [json.loads(v)["reason"] for v in dead]
        assert reasons == ["unknown_device"]

        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        assert 'rpm_alerts_raised_total{priority="high"} 1.0' in metrics
    finally:
        svc.close()
