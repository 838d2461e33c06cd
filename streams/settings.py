"""Stream worker configuration (RPM_ environment variables)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import DbConn, KafkaConn, RpmSettings
from streams.config import MIN, CoreConfig
from wire.messages import DeviceKind


class StreamSettings(RpmSettings, KafkaConn, DbConn):
    worker_instance: str = Field(default="worker-0", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    data_dir: str = Field(default=".rpm-data/streams", description="Faust table state directory")
    allowed_lateness_s: float = Field(default=10.0, ge=0, description="event-time lateness before a window closes")
    close_spread_s: float = Field(
        default=10.0, ge=0, le=60,
        description="spread window closing over this many seconds by patient (0 = every patient at once)")
    idle_close_s: float = Field(default=10.0, ge=0, description="quiet time after which the wall clock closes windows")
    # 2 s: a silent bedside monitor is reported within its 10-s timeout + one tick (docs/alarms.md: <= 15 s).
    wall_close_s: float = Field(default=2.0, gt=0, description="tick interval: how often wall-clock work runs")
    signal_loss_bedside_s: float = Field(default=10.0, ge=0, description="0 = off")
    signal_loss_wearable_s: float = Field(default=300.0, ge=0)
    signal_loss_cgm_s: float = Field(default=1200.0, ge=0)
    glucose_interval_s: float = Field(default=300.0, gt=0, description="CGM sampling interval (coverage)")
    glucose_day_utc_offset_h: float = Field(default=7.0, ge=-12, le=14, description="local day for daily metrics")
    state_refresh_s: float = Field(
        default=600.0, ge=0,
        description="rewrite a patient's state to the changelog when untouched this long (0 = off): the Kafka "
        "mock has no compaction and deletes the oldest data beyond 5 MiB per partition",
    )
    partitions: int = Field(default=8, ge=1)
    state_flush_s: float = Field(
        # Each flush re-encodes every changed patient's open windows: at 2,000 patients and 1 s
        # that was ~28 % of the worker (py-spy under rpm bench e2e); a crash replays <= this long.
        default=5.0, ge=0,
        description="write changed patient states to the changelog this often; input records are acknowledged "
        "(committable) only after the write that covers them",
    )
    producer_linger_s: float = Field(default=0.005, ge=0, description="batch output and changelog records this long")

    def core(self) -> CoreConfig:
        return CoreConfig(
            allowed_lateness_ms=int(self.allowed_lateness_s * 1000),
            close_spread_ms=int(self.close_spread_s * 1000),
            idle_close_ms=int(self.idle_close_s * 1000),
            signal_loss_ms={
                DeviceKind.BEDSIDE_MONITOR: int(self.signal_loss_bedside_s * 1000),
                DeviceKind.WEARABLE: int(self.signal_loss_wearable_s * 1000),
                DeviceKind.CGM: int(self.signal_loss_cgm_s * 1000),
                DeviceKind.SPOT_CHECK: 0,
            },
            glucose_interval_s=self.glucose_interval_s,
            glucose_day_utc_offset_ms=int(self.glucose_day_utc_offset_h * 60 * MIN),
        )
