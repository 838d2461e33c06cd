"""Stream worker configuration (RPM_ environment variables)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import DbConn, KafkaConn, RpmSettings


class StreamSettings(RpmSettings, KafkaConn, DbConn):
    worker_instance: str = Field(default="worker-0", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    data_dir: str = Field(default=".rpm-data/streams", description="Faust table state directory")
    hr_high: float = Field(default=130.0, gt=0)
    hr_low: float = Field(default=40.0, gt=0)
    allowed_lateness_s: float = Field(default=10.0, ge=0)
    wall_close_s: float = Field(default=5.0, gt=0, description="how often the wall-clock timer closes windows")
    partitions: int = Field(default=8, ge=1)
