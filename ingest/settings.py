"""Bridge configuration (RPM_ environment variables)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import DbConn, KafkaConn, MqttConn, RpmSettings


class BridgeSettings(RpmSettings, MqttConn, KafkaConn, DbConn):
    bridge_instance: str = Field(default="bridge-0", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    # The MQTT client id is fixed per instance so the broker keeps the
    # session (and the unacknowledged messages) across bridge restarts.
    # With a shared subscription the broker also keeps routing a stopped
    # instance's share into its session until it returns: instance ids must
    # be stable (e.g. a StatefulSet ordinal), not random per start.
    mqtt_v5: bool = Field(default=True, description="MQTT 5 (Mosquitto); false for 3.1.1-only brokers")
    mqtt_shared_group: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.-]{1,40}$", description="subscribe through $share/<group>/..."
    )
    mqtt_receive_maximum: int = Field(
        default=1000, ge=1, le=65535, description="unacknowledged messages the broker may send at once (MQTT 5)"
    )
    mqtt_session_expiry_s: int = Field(
        default=7 * 86400, ge=0, description="how long the broker keeps the session while the bridge is away"
    )
    mqtt_cert_file: str | None = Field(default=None, description="client certificate for mutual TLS")
    mqtt_key_file: str | None = Field(default=None, description="client key for mutual TLS")

    kafka_compression: str = Field(default="lz4", pattern=r"^(none|gzip|snappy|lz4|zstd)$")
    kafka_linger_ms: float = Field(default=5.0, ge=0, le=1000)
    kafka_batch_bytes: int = Field(default=1024 * 1024, ge=1024)
    kafka_delivery_timeout_ms: int = Field(
        default=30_000, ge=1000, description="after this a record counts as failed and is produced again"
    )
    kafka_retry_backoff_s: float = Field(default=0.2, gt=0)
    kafka_retry_backoff_max_s: float = Field(default=10.0, gt=0)
    kafka_stall_s: float = Field(
        default=5.0, gt=0, description="not ready when a message waits longer than this for Kafka"
    )

    pack_linger_s: float = Field(
        default=0.1, ge=0, le=1,
        description="collect accepted batches of a partition this long into one packed record (wire.packed)",
    )
    pack_max: int = Field(default=200, ge=1, le=10_000, description="batches per packed record at most")

    max_payload_bytes: int = Field(default=256 * 1024, ge=1024)
    max_future_skew_s: float = Field(default=300.0, gt=0)
    late_horizon_s: float = Field(default=7 * 86400.0, gt=0)
    rate_limit_per_s: float = Field(
        default=20.0, ge=0, description="messages per second per device (0 = off); excess is dead-lettered"
    )
    rate_limit_burst: float = Field(default=200.0, ge=1, description="messages a device may send at once")
    registry_refresh_s: float = Field(default=5.0, gt=0)
