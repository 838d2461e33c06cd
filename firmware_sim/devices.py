"""Device models: what each measures, how often, with which error, and when it publishes.

Measurement error is the device's, not the patient's: it is drawn per
sample on top of the latent physiology. Error sizes follow the devices'
standards: pulse oximeter accuracy Arms 2-3 % (ISO 80601-2-61), automated
NIBP mean error <= 5 mmHg, SD <= 8 mmHg (ISO 81060-2), clinical
thermometers 0.1 degC resolution; CGMs report integers within 40-400 mg/dL
(Dexcom G6 range) with simglucose's sensor error model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from firmware_sim.durations import Duration
from firmware_sim.physiology import Vitals
from wire.messages import DeviceKind, QualityFlag
from wire.units import ReadingType as RT


class DeviceModel(StrEnum):
    BEDSIDE_MONITOR = "bedside_monitor"
    WEARABLE_PATCH = "wearable_patch"
    CGM = "cgm"
    BP_CUFF = "bp_cuff"
    PULSE_OXIMETER = "pulse_oximeter"


WIRE_KIND: dict[DeviceModel, DeviceKind] = {
    DeviceModel.BEDSIDE_MONITOR: DeviceKind.BEDSIDE_MONITOR,
    DeviceModel.WEARABLE_PATCH: DeviceKind.WEARABLE,
    DeviceModel.CGM: DeviceKind.CGM,
    DeviceModel.BP_CUFF: DeviceKind.SPOT_CHECK,
    DeviceModel.PULSE_OXIMETER: DeviceKind.SPOT_CHECK,
}
ID_PREFIX: dict[DeviceModel, str] = {
    DeviceModel.BEDSIDE_MONITOR: "bm",
    DeviceModel.WEARABLE_PATCH: "wp",
    DeviceModel.CGM: "cgm",
    DeviceModel.BP_CUFF: "bp",
    DeviceModel.PULSE_OXIMETER: "ox",
}


class _Cfg(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BedsideSettings(_Cfg):
    interval: Duration = Field(default=1.0, gt=0, description="HR, SpO2, RR sample and publish period")
    temperature_every: Duration = Field(default=60.0, gt=0)
    nibp_every: Duration = Field(default=900.0, gt=0, description="non-invasive BP cycle (15 min)")


class WearableSettings(_Cfg):
    sample_every: Duration = Field(default=5.0, gt=0)
    publish_every: Duration = Field(default=30.0, gt=0, description="patches upload in batches to save power")
    skin_temperature_every: Duration = Field(default=60.0, gt=0)
    ppg_every: Duration | None = Field(default=None, gt=0, description="PPG snippet period; off when absent")
    ppg_seconds: float = Field(default=10.0, gt=0, le=60)
    ppg_hz: float = Field(default=100.0, ge=25, le=500)


class CgmSettings(_Cfg):
    interval: Duration = Field(default=300.0, description="5 min, or 1 min on newer sensors")

    @field_validator("interval")
    @classmethod
    def _cgm_interval(cls, v: float) -> float:
        if v not in (60.0, 300.0):
            raise ValueError("CGM interval must be 1m or 5m")
        return v


class SpotCheckSettings(_Cfg):
    times: tuple[str, ...] = Field(default=("07:30", "12:00", "18:00", "21:30"), min_length=1)
    jitter: Duration = Field(default=1200.0, ge=0, description="people measure around, not at, the set time")

    @field_validator("times")
    @classmethod
    def _hhmm(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for s in v:
            h, _, m = s.partition(":")
            if not (h.isdigit() and m.isdigit() and int(h) < 24 and int(m) < 60):
                raise ValueError(f"time {s!r} is not HH:MM")
        return v


class DeviceSettings(_Cfg):
    bedside_monitor: BedsideSettings = BedsideSettings()
    wearable_patch: WearableSettings = WearableSettings()
    cgm: CgmSettings = CgmSettings()
    bp_cuff: SpotCheckSettings = SpotCheckSettings()
    pulse_oximeter: SpotCheckSettings = SpotCheckSettings()
    buffer_readings: int = Field(default=20000, ge=10, description="store-and-forward capacity per device")
    upload_batch: int = Field(default=500, ge=1, le=2000, description="readings per message when uploading a backlog")
    max_inflight: int = Field(default=10, ge=1, le=100, description="unacknowledged messages per device")


@dataclass(frozen=True, slots=True)
class Sample:
    """One value as measured (true time t in seconds from the scenario start)."""

    type: RT
    t: float
    value: float
    unit: str
    flags: tuple[QualityFlag, ...] = ()


class Channel(StrEnum):
    """A group of values a device measures together, on its own schedule."""

    CONTINUOUS = "continuous"  # HR, SpO2, RR (+ motion on a patch)
    TEMPERATURE = "temperature"
    NIBP = "nibp"
    GLUCOSE = "glucose"
    SPOT_BP = "spot_bp"
    SPOT_SPO2 = "spot_spo2"
    PPG = "ppg"


@dataclass(frozen=True, slots=True)
class Periodic:
    channel: Channel
    period_s: float


@dataclass(frozen=True, slots=True)
class Daily:
    channel: Channel
    minutes_of_day: tuple[int, ...]
    jitter_s: float


Schedule = Periodic | Daily


def schedules(model: DeviceModel, s: DeviceSettings) -> tuple[Schedule, ...]:
    if model is DeviceModel.BEDSIDE_MONITOR:
        b = s.bedside_monitor
        return (
            Periodic(Channel.CONTINUOUS, b.interval),
            Periodic(Channel.TEMPERATURE, b.temperature_every),
            Periodic(Channel.NIBP, b.nibp_every),
        )
    if model is DeviceModel.WEARABLE_PATCH:
        w = s.wearable_patch
        out: list[Schedule] = [
            Periodic(Channel.CONTINUOUS, w.sample_every),
            Periodic(Channel.TEMPERATURE, w.skin_temperature_every),
        ]
        if w.ppg_every:
            out.append(Periodic(Channel.PPG, w.ppg_every))
        return tuple(out)
    if model is DeviceModel.CGM:
        return (Periodic(Channel.GLUCOSE, s.cgm.interval),)
    spot = s.bp_cuff if model is DeviceModel.BP_CUFF else s.pulse_oximeter
    minutes = tuple(int(t[:2]) * 60 + int(t[3:]) for t in spot.times)
    channel = Channel.SPOT_BP if model is DeviceModel.BP_CUFF else Channel.SPOT_SPO2
    return (Daily(channel, minutes, spot.jitter),)


def publish_period(model: DeviceModel, s: DeviceSettings) -> float | None:
    """Seconds between uploads for batching devices; None: publish as soon as measured."""
    return s.wearable_patch.publish_every if model is DeviceModel.WEARABLE_PATCH else None


def measure(model: DeviceModel, channel: Channel, v: Vitals, rng: random.Random) -> list[Sample]:
    """Values as the device reports them: truth + measurement error, rounded to device resolution."""
    g = rng.gauss
    t = v.t
    hr = v.hr + g(0, 1.0 + v.hr_scatter)
    if channel is Channel.CONTINUOUS:
        out = [
            Sample(RT.HEART_RATE, t, float(round(hr)), "/min"),
            Sample(RT.SPO2, t, float(min(100, round(v.spo2 + g(0, 0.8)))), "%"),
            Sample(RT.RESP_RATE, t, float(round(v.rr + g(0, 0.8))), "/min"),
        ]
        if model is DeviceModel.WEARABLE_PATCH:
            out.append(Sample(RT.MOTION, t, round(max(0.0, v.motion + g(0, 0.01)), 2), "g"))
        return out
    if channel is Channel.TEMPERATURE:
        if model is DeviceModel.WEARABLE_PATCH:
            return [Sample(RT.SKIN_TEMPERATURE, t, round(v.skin_temp + g(0, 0.1), 1), "degC")]
        return [Sample(RT.TEMPERATURE, t, round(v.temp + g(0, 0.05), 1), "degC")]
    if channel in (Channel.NIBP, Channel.SPOT_BP):
        sbp = round(v.sbp + g(0, 4.0))
        dbp = round(min(v.dbp + g(0, 3.0), sbp - 10))
        out = [Sample(RT.BP_SYSTOLIC, t, float(sbp), "mmHg"), Sample(RT.BP_DIASTOLIC, t, float(dbp), "mmHg")]
        if channel is Channel.SPOT_BP:  # home cuffs also show the pulse rate
            out.append(Sample(RT.HEART_RATE, t, float(round(hr)), "/min"))
        return out
    if channel is Channel.SPOT_SPO2:
        return [
            Sample(RT.SPO2, t, float(min(100, round(v.spo2 + g(0, 1.0)))), "%"),
            Sample(RT.HEART_RATE, t, float(round(hr)), "/min"),
        ]
    raise ValueError(f"{model} does not measure {channel} as scalar samples")


CGM_MIN_MG_DL, CGM_MAX_MG_DL = 40.0, 400.0


def measure_glucose(v: Vitals, sensor_error_mg_dl: float) -> list[Sample]:
    """A CGM reading: interstitial glucose + sensor error, clamped to the reportable range."""
    if v.glucose is None:
        return []
    value = min(max(round(v.glucose + sensor_error_mg_dl), CGM_MIN_MG_DL), CGM_MAX_MG_DL)
    return [Sample(RT.GLUCOSE, v.t, float(value), "mg/dL")]
