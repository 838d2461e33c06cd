"""Bridge configuration (RPM_ environment variables)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import DbConn, KafkaConn, MqttConn, RpmSettings


class BridgeSettings(RpmSettings, MqttConn, KafkaConn, DbConn):
    bridge_instance: str = Field(default="bridge-0", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    # The MQTT client id is fixed per instance so the broker keeps the
    # session (and the unacknowledged messages) across bridge restarts.
    mqtt_v5: bool = Field(default=True, description="MQTT 5 (Mosquitto); false for 3.1.1-only brokers")
    mqtt_shared_group: str | None = Field(default=None, description="subscribe through $share/<group>/...")
    mqtt_receive_maximum: int = Field(default=1000, ge=1, le=65535)
    max_payload_bytes: int = Field(default=256 * 1024, ge=1024)
    max_future_skew_s: float = Field(default=300.0, gt=0)
    late_horizon_s: float = Field(default=7 * 86400.0, gt=0)
    batch_max: int = Field(default=500, ge=1)
    batch_wait_ms: float = Field(default=5.0, ge=0)
    registry_refresh_s: float = Field(default=5.0, gt=0)
