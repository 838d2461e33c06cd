"""Alert service and console configuration (RPM_ environment variables)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import DbConn, KafkaConn, RpmSettings


class AlertSettings(RpmSettings, KafkaConn, DbConn):
    alerts_instance: str = Field(default="alerts-0", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    heartbeat_stale_s: float = Field(default=15.0, gt=0, description="a stage whose heartbeat is older is down")
