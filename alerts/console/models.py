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
    spo2_scale: int = Field(default=1, description="NEWS2 SpO2 scale used (2: hypercapnic respiratory failure)")


class EffectiveLimitOut(_Out):
    rule: str
    parameter: str
    direction: Literal["above", "below"] = Field(description="the alarm is for values beyond `value` this way")
    value: float = Field(description="last normal value (the stream workers' default or the patient's own)")
    default: float
    source: Literal["default", "patient"]
    reason: str | None = None
    set_by: str | None = None
    expires_at: IsoTime | None = None


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
    acknowledged_by_name: str | None = Field(default=None, description="display name of acknowledged_by")
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
    spo2_scale: int = 1
    limits: list[EffectiveLimitOut] = Field(default_factory=list, description="alarm limits that apply now")
    sparklines: dict[str, list[float | None]] = Field(
        default_factory=dict, description="per vital, the last 60 one-minute means (oldest first; null = no data)")


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
    limits: list[EffectiveLimitOut] = Field(default_factory=list, description="alarm limits that apply now")


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


class WaveformPointOut(_Out):
    at: IsoTime
    hr_bpm: float | None = Field(description="null when the snippet's quality allowed no rate")
    reason: str
    quality: float = Field(description="share of the snippet's analysis windows that were usable (0-1)")


class WaveformStripOut(_Out):
    device_id: str
    waveform: str = Field(description="ppg or ecg")
    fs_hz: float = Field(description="the device's sampling rate")
    unit: str = Field(description="unit of the values (a.u.: the device's ADC codes)")
    adc_bits: int | None
    samples: int = Field(description="raw samples in the span")
    decimation: str = Field(description="none, or minmax: each bucket's lowest and highest sample, in time order")
    t: list[float] = Field(description="seconds since the span's start, one per value")
    values: list[float | None] = Field(description="samples; null where no snippet covers the time (a gap)")
    hr: list[WaveformPointOut] = Field(description="what the stream workers derived from this device's snippets "
                                                   "around the span (rate, quality, reason)")


class WaveformOut(_Out):
    patient_id: str
    start: IsoTime
    end: IsoTime
    strips: list[WaveformStripOut] = Field(description="one per device and kind with samples in the span; "
                                                       "empty: no waveform")


class AlertEventOut(_Out):
    event: str
    actor: str
    at: IsoTime
    actor_name: str | None = Field(default=None, description="display name of a console user actor")


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
    previous_value: float | None = Field(default=None, description="the valid reading before this one")
    previous_at: IsoTime | None = None
    trend: Literal["up", "down", "flat"] | None = Field(
        default=None, description="direction since the previous reading (flat: within the vital's usual noise)")


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
