"""Sink configuration (RPM_ environment variables)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import DbConn, KafkaConn, RpmSettings


class SinkSettings(RpmSettings, KafkaConn, DbConn):
    sink_instance: str = Field(default="sink-0", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    sink_max_records: int = Field(default=5000, ge=1)
    sink_poll_ms: int = Field(default=200, ge=1)
