"""Artifacts and faults: what goes wrong with real sensors and networks, as switchable data.

Artifacts change the values a device reports (the patient is unchanged):
motion (optical SpO2 dips, erratic pulse rate), probe off, flatline (a stuck
sensor), single-sample spikes, CGM compression lows (lying on the sensor at
night, Baysal et al., Diabetes Technol Ther 2014), slow sensor drift.
Faults change delivery: network loss (the device stores and forwards),
duplicate resends, device clock skew. Every occurrence is labelled.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from firmware_sim.devices import DeviceModel, Sample
from firmware_sim.durations import Duration
from wire.messages import QualityFlag
from wire.units import ReadingType as RT


class FaultKind(StrEnum):
    MOTION_ARTIFACT = "motion_artifact"
    PROBE_OFF = "probe_off"
    FLATLINE = "flatline"
    SPIKE = "spike"
    CGM_COMPRESSION = "cgm_compression"
    SENSOR_DRIFT = "sensor_drift"
    NETWORK_LOSS = "network_loss"
    DUPLICATE = "duplicate"
    CLOCK_SKEW = "clock_skew"


ARTIFACTS = frozenset({
    FaultKind.MOTION_ARTIFACT, FaultKind.PROBE_OFF, FaultKind.FLATLINE, FaultKind.SPIKE,
    FaultKind.CGM_COMPRESSION, FaultKind.SENSOR_DRIFT,
})


class ProbeOffMode(StrEnum):
    FLAGGED = "flagged"  # last value held, flagged probe_off (most bedside monitors)
    ZEROS = "zeros"  # reports 0: implausible, the bridge dead-letters it
    SILENT = "silent"  # reports nothing: only a no-data timer notices


class FaultSpec(BaseModel):
    """How often a fault happens on one device and how bad it is (scenario files override fields)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_hour: float = Field(default=0.0, ge=0, le=3600, description="Poisson rate per device")
    duration: tuple[Duration, Duration] = (10.0, 60.0)
    magnitude: tuple[float, float] = (0.0, 0.0)
    probability: float = Field(default=0.0, ge=0, le=1, description="duplicate: per message; skew/drift: per device")
    mode: ProbeOffMode = ProbeOffMode.FLAGGED
    flag_probability: float = Field(default=0.5, ge=0, le=1, description="motion: share of samples flagged")
    night_only: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> FaultSpec:
        if self.duration[0] > self.duration[1] or self.duration[0] < 0:
            raise ValueError("duration must be [min, max] with 0 <= min <= max")
        if self.magnitude[0] > self.magnitude[1]:
            raise ValueError("magnitude must be [min, max] with min <= max")
        return self


# Sensible sizes; rates are 0 so a scenario opts in to every fault it wants.
DEFAULTS: dict[FaultKind, FaultSpec] = {
    FaultKind.MOTION_ARTIFACT: FaultSpec(duration=(5, 45), magnitude=(4, 15)),  # SpO2 dip, %
    FaultKind.PROBE_OFF: FaultSpec(duration=(20, 300)),
    FaultKind.FLATLINE: FaultSpec(duration=(60, 600)),
    FaultKind.SPIKE: FaultSpec(duration=(0, 0), magnitude=(1.6, 2.2)),  # HR multiplied / SpO2 drop x10
    FaultKind.CGM_COMPRESSION: FaultSpec(duration=(900, 2700), magnitude=(30, 70), night_only=True),  # mg/dL
    FaultKind.SENSOR_DRIFT: FaultSpec(magnitude=(-2, 2)),  # % of the value per hour
    FaultKind.NETWORK_LOSS: FaultSpec(duration=(120, 3600)),
    FaultKind.DUPLICATE: FaultSpec(),
    FaultKind.CLOCK_SKEW: FaultSpec(magnitude=(-120, 120)),  # seconds
}

# Which readings of which device each artifact touches.
AFFECTS: dict[FaultKind, dict[DeviceModel, frozenset[RT]]] = {
    FaultKind.MOTION_ARTIFACT: {
        DeviceModel.BEDSIDE_MONITOR: frozenset({RT.SPO2, RT.HEART_RATE}),
        DeviceModel.WEARABLE_PATCH: frozenset({RT.SPO2, RT.HEART_RATE, RT.RESP_RATE, RT.MOTION}),
        DeviceModel.PULSE_OXIMETER: frozenset({RT.SPO2, RT.HEART_RATE}),
    },
    FaultKind.PROBE_OFF: {
        DeviceModel.BEDSIDE_MONITOR: frozenset({RT.SPO2}),  # ECG still gives HR
        DeviceModel.WEARABLE_PATCH: frozenset({RT.SPO2, RT.HEART_RATE, RT.RESP_RATE}),
    },
    FaultKind.FLATLINE: {
        DeviceModel.BEDSIDE_MONITOR: frozenset({RT.SPO2, RT.HEART_RATE}),
        DeviceModel.WEARABLE_PATCH: frozenset({RT.SPO2, RT.HEART_RATE}),
    },
    FaultKind.SPIKE: {
        DeviceModel.BEDSIDE_MONITOR: frozenset({RT.HEART_RATE, RT.SPO2}),
        DeviceModel.WEARABLE_PATCH: frozenset({RT.HEART_RATE, RT.SPO2}),
    },
    FaultKind.CGM_COMPRESSION: {DeviceModel.CGM: frozenset({RT.GLUCOSE})},
    FaultKind.SENSOR_DRIFT: {
        DeviceModel.CGM: frozenset({RT.GLUCOSE}),
        DeviceModel.BEDSIDE_MONITOR: frozenset({RT.TEMPERATURE}),
        DeviceModel.WEARABLE_PATCH: frozenset({RT.SKIN_TEMPERATURE}),
    },
}


def applies(kind: FaultKind, model: DeviceModel) -> bool:
    return kind not in AFFECTS or model in AFFECTS[kind]


@dataclass(frozen=True, slots=True)
class FaultEvent:
    kind: FaultKind
    start_s: float
    end_s: float | None  # None: lasts the whole run (skew, drift)
    magnitude: float = 0.0
    mode: ProbeOffMode = ProbeOffMode.FLAGGED
    flag_probability: float = 0.0
    types: frozenset[RT] = frozenset()

    def active(self, t: float) -> bool:
        return self.start_s <= t and (self.end_s is None or t < self.end_s)


def schedule(
    kind: FaultKind, spec: FaultSpec, model: DeviceModel, horizon_s: float, rng: random.Random,
    local_hour: Callable[[float], float],
) -> list[FaultEvent]:
    """Random occurrences of one fault on one device over [0, horizon), non-overlapping."""
    if not applies(kind, model):
        return []
    types = AFFECTS.get(kind, {}).get(model, frozenset())
    if kind in (FaultKind.CLOCK_SKEW, FaultKind.SENSOR_DRIFT):
        if spec.probability <= 0 or rng.random() >= spec.probability:
            return []
        return [FaultEvent(kind, 0.0, None, round(rng.uniform(*spec.magnitude), 3), types=types)]
    if spec.per_hour <= 0 or kind is FaultKind.DUPLICATE:
        return []
    out: list[FaultEvent] = []
    t = 0.0
    while True:
        t += rng.expovariate(spec.per_hour / 3600.0)
        if t >= horizon_s:
            return out
        if spec.night_only and not (local_hour(t) >= 23 or local_hour(t) < 6):
            continue
        length = rng.uniform(*spec.duration)
        out.append(
            FaultEvent(kind, t, t + length, rng.uniform(*spec.magnitude), spec.mode, spec.flag_probability, types)
        )
        t += length


@dataclass(slots=True)
class ArtifactState:
    """What a device remembers while an artifact lasts (held and frozen values)."""

    last_good: dict[RT, float] = field(default_factory=dict)
    frozen: dict[tuple[FaultEvent, RT], float] = field(default_factory=dict)
    spiked: set[FaultEvent] = field(default_factory=set)


_ORDER = {FaultKind.FLATLINE: 1, FaultKind.PROBE_OFF: 2}


def _with(s: Sample, value: float | None = None, flag: QualityFlag | None = None) -> Sample:
    flags = s.flags + (flag,) if flag is not None and flag not in s.flags else s.flags
    return Sample(s.type, s.t, s.value if value is None else value, s.unit, flags)


def apply_artifacts(
    samples: list[Sample], events: list[FaultEvent], state: ArtifactState, rng: random.Random
) -> tuple[list[Sample], list[FaultEvent]]:
    """Distort one measurement's samples by the active artifacts; returns (samples, events that acted)."""
    if not samples:
        return samples, []
    t = samples[0].t
    acted: list[FaultEvent] = []
    out = samples
    # Distortions first, then what replaces the value outright (a stuck sensor, a probe off).
    for ev in sorted(events, key=lambda e: _ORDER.get(e.kind, 0)):
        if ev.kind is FaultKind.SPIKE:
            if ev in state.spiked or t < ev.start_s:
                continue
            state.spiked.add(ev)  # one sample only: the first measurement at/after its time
        elif not ev.active(t):
            continue
        before = out
        out = _apply_one(ev, out, state, rng)
        if out is not before:
            acted.append(ev)
    for s in out:
        if not s.flags:
            state.last_good[s.type] = s.value
    return out, acted


def _apply_one(ev: FaultEvent, samples: list[Sample], state: ArtifactState, rng: random.Random) -> list[Sample]:
    hit = [s for s in samples if s.type in ev.types]
    if not hit:
        return samples
    out: list[Sample] = []
    for s in samples:
        if s.type not in ev.types:
            out.append(s)
            continue
        k = ev.kind
        if k is FaultKind.MOTION_ARTIFACT:
            flag = QualityFlag.MOTION if rng.random() < ev.flag_probability else None
            if s.type is RT.SPO2:
                out.append(_with(s, float(max(70, round(s.value - ev.magnitude * rng.uniform(0.3, 1.0)))), flag))
            elif s.type is RT.MOTION:
                out.append(_with(s, round(s.value + rng.uniform(0.8, 2.5), 2)))
            else:  # pulse/resp rate from a moving optical or impedance signal: erratic
                out.append(_with(s, float(max(25, round(s.value + rng.gauss(0, 0.25 * s.value)))), flag))
        elif k is FaultKind.PROBE_OFF:
            if ev.mode is ProbeOffMode.SILENT:
                continue
            if ev.mode is ProbeOffMode.ZEROS:
                out.append(_with(s, 0.0))
            else:
                out.append(_with(s, state.last_good.get(s.type, s.value), QualityFlag.PROBE_OFF))
        elif k is FaultKind.FLATLINE:
            held = state.frozen.setdefault((ev, s.type), s.value)
            out.append(_with(s, held))
        elif k is FaultKind.SPIKE:
            if s.type is RT.HEART_RATE:
                out.append(_with(s, float(min(280, round(s.value * ev.magnitude)))))
            else:
                out.append(_with(s, float(max(45, round(s.value - 10 * ev.magnitude)))))
        elif k is FaultKind.CGM_COMPRESSION:
            assert ev.end_s is not None
            x = (s.t - ev.start_s) / (ev.end_s - ev.start_s)
            shape = min(1.0, x / 0.3, (1.0 - x) / 0.3)  # falls fast, sits, recovers when the patient turns
            out.append(_with(s, float(max(40, round(s.value - ev.magnitude * shape)))))
        elif k is FaultKind.SENSOR_DRIFT:
            # Drift saturates at 10 %: beyond that a real sensor fails calibration checks.
            drift = s.value * min(max(ev.magnitude / 100.0 * (s.t - ev.start_s) / 3600.0, -0.1), 0.1)
            if s.type is RT.GLUCOSE:
                out.append(_with(s, float(min(max(round(s.value + drift), 40), 400))))
            else:
                out.append(_with(s, round(s.value + drift, 1)))
        else:
            out.append(s)
    return out
