"""Versioned message models for MQTT payloads and Kafka records.

Version 1 of every message carries ``"v": 1``. A consumer that meets a
version it does not know rejects the message with ``unsupported_version``
instead of guessing. JSON Schemas generated from these models are published
in docs/schemas/ for device makers (``rpm schemas``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from wire.units import ReadingType

WIRE_VERSION = 1

DeviceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
PatientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QualityFlag(StrEnum):
    """Flags a device sets on a sample it doubts; downstream never alarms on them."""

    MOTION = "motion"
    LOW_PERFUSION = "low_perfusion"
    PROBE_OFF = "probe_off"
    ARTIFACT = "artifact"
    CALIBRATING = "calibrating"


class DeviceKind(StrEnum):
    BEDSIDE_MONITOR = "bedside_monitor"
    WEARABLE = "wearable"
    CGM = "cgm"
    SPOT_CHECK = "spot_check"


# ---------------------------------------------------------------- MQTT, device -> bridge


class WaveformKind(StrEnum):
    PPG = "ppg"
    ECG = "ecg"


# Waveform size limits (wire contract): at most 60 s and 30,000 samples per
# snippet (60 s at 500 Hz); with the bridge's 256 KiB payload limit that is
# about 8 bytes per sample as JSON text, which integer ADC codes stay within.
MAX_WAVEFORM_SECONDS = 60.0
MAX_WAVEFORM_SAMPLES = 30_000
FiniteSample = Annotated[float, Field(allow_inf_nan=False)]


class WaveformSnippet(_Frozen):
    """A short raw waveform (typically 8-60 s) from one sensor, in device units (Kafka side).

    The bridge builds it from a device's ``Waveform`` message; the stream
    worker derives heart rate and a signal-quality index from it
    (``streams.waveform_stream``: PPG pulse peaks, ECG R-peaks, fused when a
    patient has both).
    """

    kind: WaveformKind
    t: AwareDatetime = Field(description="measurement time of the first sample")
    fs_hz: float = Field(gt=0, le=1000, description="sampling rate")
    samples: tuple[FiniteSample, ...] = Field(min_length=1, max_length=MAX_WAVEFORM_SAMPLES)
    adc_bits: int | None = Field(default=None, ge=8, le=24, description="converter resolution, when known")
    # Carried from the device's Waveform so a stored strip can say what its axis is.
    unit: str = Field(default="a.u.", max_length=16, description="unit of the samples (a.u. = ADC codes)")




class DeviceReading(_Frozen):
    """One sample as a device sends it, in any accepted unit."""

    type: ReadingType
    t: AwareDatetime = Field(description="measurement time (device clock, with offset)")
    value: float = Field(allow_inf_nan=False)
    unit: str = Field(max_length=16)
    flags: tuple[QualityFlag, ...] = ()


class Telemetry(_Frozen):
    """A batch of readings published by one device on its telemetry topic."""

    v: Literal[1] = 1
    device_id: DeviceId
    seq: int = Field(ge=0, description="per-device message counter, increases by one per message")
    sent_at: AwareDatetime
    readings: tuple[DeviceReading, ...] = Field(min_length=1, max_length=2000)
    # Kept only so v1 devices that serialise an empty list stay valid: waveforms
    # travel on the waveform topic (``Waveform``), never inside telemetry.
    waveforms: tuple[WaveformSnippet, ...] = Field(
        default=(), max_length=0, description="always empty: waveforms go on the device's waveform topic")


class Waveform(_Frozen):
    """A short waveform snippet (e.g. 10 s of PPG at 100 Hz) on the device's waveform topic.

    The one waveform transport: ``rpm/<device>/waveform``, QoS 1, one kind per
    message, at most 60 s and 30,000 samples (and the bridge's payload
    limit). Telemetry messages carry numeric readings only (a waveform inside
    them is a schema violation), so the hot telemetry path never parses bulk
    samples. The bridge validates it like telemetry (registered, assigned
    device; time bounds) and forwards it to the readings topic as a
    ``ReadingBatch`` with one ``WaveformSnippet`` and no readings.

    Sample i was measured at ``t0 + i / fs_hz``; samples are finite numbers
    (raw ADC codes are best: wraparound and clipping are judged against
    ``adc_bits``). Heart rate is derived downstream, so a device need not
    trust its own beat detector.
    """

    v: Literal[1] = 1
    device_id: DeviceId
    seq: int = Field(ge=0, description="per-device waveform counter (separate from telemetry seq)")
    sent_at: AwareDatetime
    kind: WaveformKind
    t0: AwareDatetime = Field(description="measurement time of the first sample (device clock)")
    fs_hz: float = Field(gt=0, le=1000)
    unit: str = Field(default="a.u.", max_length=16)
    samples: tuple[FiniteSample, ...] = Field(min_length=1, max_length=MAX_WAVEFORM_SAMPLES)
    adc_bits: int | None = Field(default=None, ge=8, le=24, description="converter resolution, when known")
    flags: tuple[QualityFlag, ...] = ()

    @model_validator(mode="after")
    def _duration(self) -> Waveform:
        if len(self.samples) / self.fs_hz > MAX_WAVEFORM_SECONDS:
            raise ValueError(f"snippet longer than {MAX_WAVEFORM_SECONDS:g} s ({len(self.samples)} samples at "
                             f"{self.fs_hz:g} Hz)")
        return self


class DeviceState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class DeviceStatus(_Frozen):
    """Retained status message; the broker publishes the 'offline' one as last will."""

    v: Literal[1] = 1
    device_id: DeviceId
    state: DeviceState
    at: AwareDatetime | None = None
    battery_pct: float | None = Field(default=None, ge=0, le=100)


# ---------------------------------------------------------------- Kafka records


class Reading(_Frozen):
    """A validated reading in its canonical unit (see wire.units.UNITS)."""

    type: ReadingType
    t: AwareDatetime
    value: float
    flags: tuple[QualityFlag, ...] = ()


class ReadingBatch(_Frozen):
    """Record on the readings topic, keyed by patient id.

    One device message stays one record: readings travel many per record
    because a Kafka record costs far more downstream than a reading.

    ``device_kind`` and ``spo2_scale`` are filled by the bridge from the
    registry (devices.kind, patients.spo2_scale) so the stream worker needs no
    database: it picks the signal-loss timeout per device kind and the NEWS2
    SpO2 scale per patient. When absent the worker keeps the last value it
    saw for the device/patient, else infers the kind from the reading types
    and uses SpO2 scale 1.
    """

    v: Literal[1] = 1
    patient_id: PatientId
    device_id: DeviceId
    seq: int
    sent_at: AwareDatetime
    received_at: AwareDatetime
    readings: tuple[Reading, ...]
    waveforms: tuple[WaveformSnippet, ...] = ()
    device_kind: DeviceKind | None = None
    spo2_scale: Literal[1, 2] | None = None


class Priority(StrEnum):
    """IEC 60601-1-8 alarm priorities."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class CandidateStatus(StrEnum):
    FIRING = "firing"
    CLEAR = "clear"


class CandidateQuality(_Frozen):
    """How far the evaluation behind a candidate can be trusted (signal quality, artifact rejection)."""

    samples: int | None = Field(default=None, ge=0, description="samples the evaluation used")
    rejected: int | None = Field(default=None, ge=0, description="samples flagged or rejected as artifact")
    artifact: bool = Field(default=False, description="the stream worker judged the evaluation an artifact")
    device_kind: DeviceKind | None = Field(default=None, description="for device-level technical conditions")


class AlertCandidate(_Frozen):
    """A condition the stream workers evaluated; the alert service decides what to raise.

    ``id`` is derived from the condition's identity (patient, rule, window),
    so a candidate re-emitted after a worker restart is recognised as the same.
    Streams emit ``firing`` each evaluation while a condition holds (with a
    ``severity`` the alert service may integrate over time, as in SatSeconds)
    and ``clear`` evaluations after it stopped, so alarm delays and clearing
    hysteresis are decided in one place: the alert service.
    """

    v: Literal[1] = 1
    id: str
    patient_id: PatientId
    rule: str = Field(description="a wire.rules.Rule value, e.g. 'heart_rate_high'")
    status: CandidateStatus = CandidateStatus.FIRING
    severity: float = Field(default=0.0, ge=0, description="distance beyond the threshold, in the parameter's unit")
    device_id: str | None = None
    parameter: ReadingType | None = None
    priority: Priority
    value: float | None = None
    threshold: float | None = None
    window_start: AwareDatetime
    window_end: AwareDatetime
    detected_at: AwareDatetime
    message: str
    quality: CandidateQuality = Field(default_factory=lambda: CandidateQuality(),
                                      description="what the alert service decides artifacts and sources on")
    evidence: dict[str, float | int | str] = Field(
        default_factory=dict, description="descriptive context for people (e.g. glucose predictions); never decided on")

    @model_validator(mode="before")
    @classmethod
    def _quality_from_old_evidence(cls, data: object) -> object:
        # Candidates written before ``quality`` existed carried these keys in ``evidence``.
        if isinstance(data, dict) and "quality" not in data and isinstance(data.get("evidence"), dict):
            ev = data["evidence"]
            old = {k: ev[k] for k in ("samples", "device_kind", "artifact") if k in ev}
            if "flagged_samples" in ev or "rejected" in ev:
                old["rejected"] = ev.get("flagged_samples", ev.get("rejected"))
            if old:
                data = {**data, "quality": old}
        return data

    @staticmethod
    def make_id(patient_id: str, rule: str, window_start: datetime) -> str:
        raw = f"{patient_id}|{rule}|{window_start.isoformat()}".encode()
        return hashlib.sha256(raw).hexdigest()[:32]


class DeadLetterReason(StrEnum):
    NOT_JSON = "not_json"
    SCHEMA_VIOLATION = "schema_violation"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_UNIT = "unknown_unit"
    IMPLAUSIBLE_VALUE = "implausible_value"
    FUTURE_TIMESTAMP = "future_timestamp"
    TOO_LATE = "too_late"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNKNOWN_DEVICE = "unknown_device"
    UNASSIGNED_DEVICE = "unassigned_device"
    TOPIC_MISMATCH = "topic_mismatch"
    RATE_LIMITED = "rate_limited"


class DeadLetter(_Frozen):
    """What could not be accepted, with the original payload and why."""

    v: Literal[1] = 1
    reason: DeadLetterReason
    detail: str
    device_id: str | None = None
    mqtt_topic: str | None = None
    reading_index: int | None = Field(default=None, description="set when one reading of a batch was rejected")
    received_at: AwareDatetime
    payload_b64: str
