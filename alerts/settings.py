"""Alert service and console configuration (RPM_ environment variables)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from runtime.settings import DbConn, KafkaConn, RpmSettings


class AlertSettings(RpmSettings, KafkaConn, DbConn):
    alerts_instance: str = Field(default="alerts-0", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    console_ops_endpoints: bool = Field(
        default=False, description="also serve /healthz (every stage) and /metrics on the console port; off: the"
        " metrics port only (they answer without a session)")
    heartbeat_stale_s: float = Field(default=15.0, gt=0, description="a stage whose heartbeat is older is down")
    timer_interval_s: float = Field(
        default=1.0, gt=0, description="how often due escalations, pauses, re-announces and condition timers run")
    decision_workers: int = Field(default=4, ge=1, le=32, description="patients decided concurrently (connections)")
    artifact_share: float = Field(
        default=0.5, gt=0, le=1, description="share of flagged or rejected samples making an evaluation an artifact")
    low_battery_pct: float = Field(default=20.0, ge=0, le=100)
    registry_refresh_s: float = Field(
        default=10.0, gt=0, description="device -> patient assignments reload (device status)")
    # Outside channels: off unless a URL is configured.
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    webhook_secret: SecretStr = Field(default=SecretStr(""), description="HMAC-SHA256 key for X-RPM-Signature-256")
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1, description="attempts before a notification is dead-lettered")
    webhook_backoff_s: float = Field(default=1.0, gt=0, description="first retry delay; doubles per attempt")
    sms_gateway_url: str | None = Field(default=None, pattern=r"^https?://")
    sms_gateway_token: SecretStr | None = None
    sms_sender: str = Field(default="RPM", max_length=11)
    sms_timeout_s: float = Field(default=5.0, gt=0)
    sms_max_attempts: int = Field(default=8, ge=1)
    sms_backoff_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
