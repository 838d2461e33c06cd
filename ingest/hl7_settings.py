"""`rpm hl7` configuration (RPM_ environment variables)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import DbConn, KafkaConn, RpmSettings


class Hl7Settings(RpmSettings, KafkaConn, DbConn):
    hl7_instance: str = Field(default="hl7-0", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    hl7_host: str = Field(default="0.0.0.0")
    hl7_port: int = Field(default=2575, ge=1, le=65535, description="MLLP listen port (2575: HL7's registered port)")
    hl7_application: str = Field(default="RPM", max_length=40, description="MSH-3 of our ACKs")
    hl7_facility: str = Field(default="RPM", max_length=40, description="MSH-4 of our ACKs")
    hl7_default_utc_offset_h: float = Field(
        default=7.0, ge=-14, le=14, description="time zone of HL7 timestamps sent without an offset (Viet Nam: +7)")
    max_payload_bytes: int = Field(default=256 * 1024, ge=1024, description="larger messages get AR")
    max_future_skew_s: float = Field(default=300.0, gt=0)
    late_horizon_s: float = Field(default=7 * 86400.0, gt=0)
    registry_refresh_s: float = Field(default=5.0, gt=0)
    kafka_compression: str = Field(default="lz4", pattern=r"^(none|gzip|snappy|lz4|zstd)$")
    kafka_delivery_timeout_ms: int = Field(default=30_000, ge=1000)
