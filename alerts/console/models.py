"""Pydantic bodies and answers of the console API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

# ISO 8601 with its offset as Python writes it ("+00:00"), as the foundation's /api/alerts did.
IsoTime = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str, when_used="json")]


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class LoginBody(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginOut(_Out):
    token: str = Field(description="send as 'Authorization: Bearer <token>' (API clients) or use the cookie set")
    csrf_token: str = Field(description="send as X-CSRF-Token on state-changing requests made with the cookie")
    expires_at: IsoTime
    user: MeOut


class GrantOut(_Out):
    role: str
    ward_id: str | None


class MeOut(_Out):
    user_id: str
    display_name: str
    locale: Literal["vi", "en"]
    patient_id: str | None
    roles: list[GrantOut]
    wards: list[str] | None = Field(description="wards this user sees; null = every ward")


class LocaleBody(_In):
    locale: Literal["vi", "en"]


class AckBody(_In):
    note: str = Field(default="", max_length=500)


class PauseBody(_In):
    # IEC 60601-1-8 audio pause: time-limited; 2 min is the usual default, at most 10 min here.
    seconds: float = Field(default=120.0, gt=0, le=600)


class VitalOut(_Out):
    type: str
    value: float
    unit: str
    measured_at: IsoTime


class News2Out(_Out):
    total: int
    band: str
    red_flag: bool
    complete: bool
    scored_at: IsoTime


class AlarmOut(_Out):
    id: str
    patient_id: str
    ward_id: str | None
    bed: str | None
    display_name: str | None
    rule: str
    parameter: str | None
    priority: Literal["high", "medium", "low"]
    state: str
    value: float | None
    threshold: float | None
    message: str
    window_start: IsoTime
    raised_at: IsoTime
    acknowledged_by: str | None = None
    acknowledged_at: IsoTime | None = None
    paused_until: IsoTime | None = None
    escalation_level: int = 0
    escalated_to: str | None = None
    current_value: float | None = Field(default=None, description="the latest value of the condition (value = at raise)")
    condition_present: bool = True


class BedOut(_Out):
    bed: str | None
    patient_id: str
    display_name: str
    vitals: list[VitalOut]
    news2: News2Out | None
    signal: Literal["live", "stale", "offline"]
    last_seen: IsoTime | None


class WardOut(_Out):
    ward_id: str
    name: str
    server_time: IsoTime
    beds: list[BedOut]
    alarms: list[AlarmOut] = Field(description="open alarms, unanswered first, then by priority and age")


class WardRef(_Out):
    id: str
    name: str


class PatientRefOut(_Out):
    id: str
    display_name: str
    ward_id: str | None
    bed: str | None


class PatientOut(_Out):
    id: str
    display_name: str
    ward_id: str | None
    bed: str | None
    spo2_scale: int
    devices: list[DeviceOut]
    has_glucose: bool


class DeviceOut(_Out):
    device_id: str
    kind: str
    last_sent: IsoTime | None
    state: Literal["live", "stale", "offline"]


class TrendPointOut(_Out):
    t: IsoTime
    value: float | None
    min: float | None
    max: float | None
    n: int


class TrendOut(_Out):
    type: str
    unit: str
    resolution: Literal["raw", "1m", "1h"]
    start: IsoTime
    end: IsoTime
    points: list[TrendPointOut]


class TrendsOut(_Out):
    patient_id: str
    start: IsoTime
    end: IsoTime
    trends: list[TrendOut]


class News2PointOut(_Out):
    scored_at: IsoTime
    total: int
    band: str
    red_flag: bool
    complete: bool
    subscores: dict[str, int | None]


class AlertEventOut(_Out):
    event: str
    actor: str
    at: IsoTime


class AlertHistoryOut(_Out):
    id: str
    rule: str
    parameter: str | None
    priority: str
    state: str
    value: float | None
    threshold: float | None
    message: str
    window_start: IsoTime
    raised_at: IsoTime
    events: list[AlertEventOut]


class GlucoseSummaryOut(_Out):
    n: int
    coverage_pct: float
    sufficient: bool
    mean_mg_dl: float | None
    cv_pct: float | None
    gmi_pct: float | None
    below_54_pct: float | None
    below_70_pct: float | None
    in_70_180_pct: float | None
    above_180_pct: float | None
    above_250_pct: float | None


class AgpBinOut(_Out):
    minute_of_day: int
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float


class GlucoseOut(_Out):
    patient_id: str
    days: int
    days_with_data: int
    summary: GlucoseSummaryOut
    agp: list[AgpBinOut]
    daily: list[DailyGlucoseOut]


class DailyGlucoseOut(_Out):
    day: str
    summary: GlucoseSummaryOut


class HomeReadingOut(_Out):
    type: str
    value: float
    unit: str
    measured_at: IsoTime


class HomeAlertOut(_Out):
    id: str
    rule: str
    parameter: str | None
    message: str
    priority: str
    value: float | None
    threshold: float | None
    raised_at: IsoTime
    care_team_notified: bool
    seen_by_care_team: bool
    seen_at: IsoTime | None


class HomeOut(_Out):
    patient_id: str
    display_name: str
    readings: list[HomeReadingOut]
    devices: list[DeviceOut]
    alerts: list[HomeAlertOut]


LoginOut.model_rebuild()
PatientOut.model_rebuild()
GlucoseOut.model_rebuild()
