"""What the stream worker derives: window features and scores (Kafka records, version 1).

``rpm.features.v1`` carries WindowFeatures and ``rpm.scores.v1`` carries
ScoreBatch, both keyed by patient id. A record batches what one processing
step of the worker produced for one patient (a Kafka record costs far more
than a row). Every item has a natural key (patient, type, window start and
end for windows; patient, kind and time for scores), so a record re-emitted
after a worker restart is recognised downstream as the same.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from wire.messages import DeviceId, PatientId, WaveformKind
from wire.units import ReadingType


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WindowStats(_Frozen):
    """Statistics of one vital over one event-time window [start, end).

    Only accepted samples (past plausibility and artifact checks) enter the
    statistics; ``rejected`` counts the others, by reason in ``rejected_by``.
    ``quality`` = accepted / received; ``coverage`` = accepted / expected
    samples (capped at 1). ``std`` is the sample SD (ddof=1); ``slope_per_h``
    the least-squares slope in the vital's unit per hour.
    """

    type: ReadingType
    length_s: int = Field(description="60 (tumbling) or 900 (sliding, 1-min step)")
    start: AwareDatetime
    end: AwareDatetime
    count: int = Field(ge=0, description="accepted samples")
    received: int = Field(ge=0)
    rejected: int = Field(ge=0)
    rejected_by: dict[str, int] = Field(default_factory=dict)
    mean: float | None = None
    median: float | None = None
    min: float | None = None
    max: float | None = None
    std: float | None = None
    slope_per_h: float | None = None
    coverage: float = Field(ge=0, le=1)
    quality: float | None = Field(default=None, ge=0, le=1, description="None when nothing was received")


class WindowFeatures(_Frozen):
    v: Literal[1] = 1
    patient_id: PatientId
    windows: tuple[WindowStats, ...]
    late_total: int = Field(ge=0, description="readings that arrived after their window closed (cumulative)")
    duplicates_total: int = Field(ge=0, description="duplicate readings dropped (cumulative)")


class News2Score(_Frozen):
    """NEWS2 (RCP 2017) at ``scored_at``; a None sub-score was not scored.

    When ``complete`` is False the total and band are lower bounds and the
    parameters not scored are listed in missing / stale / indeterminate.
    ``inputs`` are the values scored (5-min medians for monitored vitals).
    """

    kind: Literal["news2"] = "news2"
    scored_at: AwareDatetime
    total: int = Field(ge=0)
    resp_rate: int | None
    spo2: int | None
    air_or_oxygen: int | None
    systolic_bp: int | None
    pulse: int | None
    consciousness: int | None
    temperature: int | None
    red_flag: bool
    red_flag_parameters: tuple[str, ...] = ()
    band: Literal["low", "low-medium", "medium", "high"]
    monitoring_frequency: str
    clinical_response: tuple[str, ...]
    spo2_scale: Literal[1, 2]
    complete: bool
    missing: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    indeterminate: tuple[str, ...] = ()
    inputs: dict[str, float] = Field(default_factory=dict)


class GlucoseTrend(_Frozen):
    """CGM trend at one reading: rate (mg/dL/min), arrow, 20/30-min linear predictions."""

    kind: Literal["glucose_trend"] = "glucose_trend"
    at: AwareDatetime
    mg_dl: float
    rate_mg_dl_min: float | None = None
    trend: str | None = None
    predicted_20_mg_dl: float | None = None
    predicted_30_mg_dl: float | None = None
    predicted_low: bool | None = Field(default=None, description="None = too few data, never 'no low'")


class GlucoseDaily(_Frozen):
    """Consensus (Battelino 2019) metrics over one local day [period_start, period_end)."""

    kind: Literal["glucose_daily"] = "glucose_daily"
    period_start: AwareDatetime
    period_end: AwareDatetime
    n_samples: int
    expected_samples: float
    coverage_pct: float
    mean_mg_dl: float
    sd_mg_dl: float | None
    cv_pct: float | None
    gmi_pct: float
    below_54_pct: float
    below_70_pct: float
    in_70_180_pct: float
    above_180_pct: float
    above_250_pct: float


class WaveformHeartRate(_Frozen):
    """Heart rate derived from a waveform snippet; None when its quality was poor.

    ``sqi``: share of the snippet's 8-s windows usable (good or irregular).
    ``source``: ``both`` when fused with the patient's other waveform of the
    same period (PPG with ECG), else the snippet's own kind; ``suppressed``:
    alarm claims of one source that the other refuted (streams.hr_fusion).
    """

    kind: Literal["waveform_hr"] = "waveform_hr"
    at: AwareDatetime
    device_id: DeviceId
    waveform: WaveformKind
    hr_bpm: float | None
    reason: str
    good_windows: int
    windows: int
    sqi: float | None = None
    rhythm: Literal["regular", "irregular"] | None = None
    source: Literal["both", "ecg", "ppg"] | None = None
    suppressed: tuple[str, ...] = ()


Score = Annotated[News2Score | GlucoseTrend | GlucoseDaily | WaveformHeartRate, Field(discriminator="kind")]


class ScoreBatch(_Frozen):
    v: Literal[1] = 1
    patient_id: PatientId
    scores: tuple[Score, ...]
