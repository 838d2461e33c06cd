"""`rpm nightscout` configuration (RPM_ environment variables)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import DbConn, KafkaConn, RpmSettings


class NightscoutSettings(RpmSettings, KafkaConn, DbConn):
    nightscout_instance: str = Field(default="nightscout-0", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    nightscout_host: str = Field(default="0.0.0.0")
    nightscout_port: int = Field(default=1337, ge=1, le=65535, description="HTTP port (Nightscout's default 1337)")
    max_payload_bytes: int = Field(default=1024 * 1024, ge=1024, description="larger uploads get 413")
    max_future_skew_s: float = Field(default=300.0, gt=0)
    late_horizon_s: float = Field(default=7 * 86400.0, gt=0)
    registry_refresh_s: float = Field(default=5.0, gt=0)
    kafka_compression: str = Field(default="lz4", pattern=r"^(none|gzip|snappy|lz4|zstd)$")
    kafka_delivery_timeout_ms: int = Field(default=30_000, ge=1000)
