"""Storage and sink configuration (RPM_ environment variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from runtime.settings import DbConn, KafkaConn, RpmSettings
from storage.backend import Backend
from storage.policy import RetentionPolicy


class StorageSettings(RpmSettings, DbConn):
    db_backend: Literal["auto", "postgres", "timescaledb"] = Field(
        default="auto", description="time-series backend for a new schema; auto = detect the extension"
    )
    retention_raw_days: int = Field(default=90, ge=1)
    retention_features_days: int = Field(default=90, ge=1)
    retention_scores_days: int = Field(default=400, ge=1)
    retention_1m_days: int = Field(default=400, ge=1)
    retention_1h_days: int = Field(default=1825, ge=1)
    compress_after_days: int = Field(default=7, ge=1, description="TimescaleDB only")
    refresh_lookback_days: int = Field(default=7, ge=1, description="TimescaleDB cagg refresh window")
    retention_waveform_days: int = Field(default=7, ge=1, description="raw PPG/ECG samples (docs/storage.md)")
    waveform_compress_after_days: int = Field(default=1, ge=1, description="TimescaleDB only")

    def backend(self) -> Backend | None:
        return None if self.db_backend == "auto" else Backend(self.db_backend)

    def policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            raw_days=self.retention_raw_days, features_days=self.retention_features_days,
            scores_days=self.retention_scores_days, agg_1m_days=self.retention_1m_days,
            agg_1h_days=self.retention_1h_days, compress_after_days=self.compress_after_days,
            refresh_lookback_days=self.refresh_lookback_days, waveform_days=self.retention_waveform_days,
            waveform_compress_after_days=self.waveform_compress_after_days,
        )


class SinkSettings(StorageSettings, KafkaConn):
    sink_instance: str = Field(default="sink-0", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    # Kafka records per transaction; readings records are packed (tens of device
    # messages each, wire.packed), so 100 records is a few thousand rows.
    sink_max_records: int = Field(default=100, ge=1)
    sink_poll_ms: int = Field(default=200, ge=1)
    maintain_interval_s: float = Field(
        default=60.0, ge=0, description="partition upkeep and aggregate refresh period; 0 = off"
    )
