"""Console configuration (RPM_CONSOLE_* environment variables)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import RpmSettings


class ConsoleSettings(RpmSettings):
    # A shift is up to 12 h; a tablet left on the ward signs out after 30 min idle.
    console_session_max_s: float = Field(default=12 * 3600, gt=0, description="absolute session lifetime")
    console_session_idle_s: float = Field(default=30 * 60, gt=0, description="sign out after this long idle")
    # Behind TLS (production) cookies must be Secure; the embedded demo is plain HTTP on localhost.
    console_cookie_secure: bool = False
    console_login_max_failures: int = Field(default=5, ge=1, description="wrong passwords before a lockout")
    console_login_window_s: float = Field(default=15 * 60, gt=0, description="window in which failures count")
    console_login_lockout_s: float = Field(default=60, gt=0, description="first lockout; doubles per extra failure")
    console_timezone: str = Field(default="Asia/Ho_Chi_Minh", description="hospital time zone for dates and days")
    # Signal status of a bed: live while the newest valid reading is younger than
    # stale_after_s, stale until offline_after_s, then offline.
    console_stale_after_s: float = Field(default=30, gt=0)
    console_offline_after_s: float = Field(default=300, gt=0)
    console_alarm_window_h: float = Field(default=24, gt=0, description="open alarms shown from this far back")
    console_push_interval_s: float = Field(default=5, gt=0, description="ward snapshot period on the live stream")
