"""Clinical conditions as data: what each does to the vital signs, and how fast.

Each condition shifts the latent vital signs by an :class:`Effect` scaled by
a severity that rises from 0 at onset to 1 over ``ramp``, stays for ``hold``
and falls back over ``recover``. The effects at full severity are chosen so
the trajectories match the published definitions the downstream scores use:

- Sepsis: SIRS criteria (Bone et al., Chest 1992: HR > 90, RR > 20,
  T > 38 degC) and qSOFA (Singer et al., Sepsis-3, JAMA 2016: RR >= 22,
  SBP <= 100) are crossed within the ramp; vital signs drift for hours
  before ICU transfer (Churpek et al., Chest 2012), so the default ramp is
  6 h. Fever adds heart rate through the coupling in ``physiology``.
- Respiratory deterioration (pneumonia, pulmonary oedema): desaturation
  with compensatory tachypnoea and tachycardia.
- COPD exacerbation on top of a chronic hypercapnic baseline (NEWS2 SpO2
  scale 2, RCP 2017; target 88-92 %, BTS oxygen guideline, O'Driscoll et
  al., Thorax 2017).
- Tachyarrhythmia: atrial fibrillation with rapid ventricular response,
  typically 110-160+/min and irregular (ESC AF guideline, Hindricks et al.,
  Eur Heart J 2021); abrupt onset and offset, BP falls with short diastoles.
- Glucose conditions change the insulin/meal inputs of the UVA/Padova model
  (``glucose.py``), not the vitals directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Condition(StrEnum):
    SEPSIS = "sepsis"
    RESPIRATORY_DETERIORATION = "respiratory_deterioration"
    COPD_EXACERBATION = "copd_exacerbation"
    TACHYARRHYTHMIA = "tachyarrhythmia"
    FEVER = "fever"
    NOCTURNAL_HYPOGLYCAEMIA = "nocturnal_hypoglycaemia"
    POSTPRANDIAL_HYPERGLYCAEMIA = "postprandial_hyperglycaemia"


@dataclass(frozen=True, slots=True)
class Effect:
    """Change of each latent vital at full severity (canonical units)."""

    hr: float = 0.0
    rr: float = 0.0
    spo2: float = 0.0
    temp: float = 0.0
    sbp: float = 0.0
    dbp: float = 0.0
    # Extra sample-to-sample heart-rate scatter (/min, SD): irregular rhythm.
    hr_scatter: float = 0.0


@dataclass(frozen=True, slots=True)
class ConditionSpec:
    effect: Effect
    ramp_s: float
    hold_s: float | None  # None: stays at full severity until the end of the run
    recover_s: float
    glucose: bool = False  # acts through the glucose model's inputs


H = 3600.0
CONDITIONS: dict[Condition, ConditionSpec] = {
    # With baseline HR 75, RR 15, SpO2 97, T 36.8, SBP 125 this reaches about
    # HR 120 (incl. fever coupling), RR 27, SpO2 92, T 38.8, SBP 80: NEWS2 >= 7.
    Condition.SEPSIS: ConditionSpec(
        Effect(hr=28, rr=12, spo2=-5, temp=2.0, sbp=-45, dbp=-25), ramp_s=6 * H, hold_s=None, recover_s=6 * H
    ),
    Condition.RESPIRATORY_DETERIORATION: ConditionSpec(
        Effect(hr=22, rr=13, spo2=-11, temp=0.3, sbp=5, dbp=3), ramp_s=3 * H, hold_s=None, recover_s=4 * H
    ),
    Condition.COPD_EXACERBATION: ConditionSpec(
        Effect(hr=15, rr=8, spo2=-6, temp=0.4), ramp_s=4 * H, hold_s=None, recover_s=12 * H
    ),
    Condition.TACHYARRHYTHMIA: ConditionSpec(
        Effect(hr=80, sbp=-15, dbp=-8, hr_scatter=12), ramp_s=20, hold_s=20 * 60, recover_s=30
    ),
    Condition.FEVER: ConditionSpec(Effect(temp=1.6), ramp_s=1 * H, hold_s=4 * H, recover_s=2 * H),
    Condition.NOCTURNAL_HYPOGLYCAEMIA: ConditionSpec(Effect(), ramp_s=0, hold_s=8 * H, recover_s=0, glucose=True),
    Condition.POSTPRANDIAL_HYPERGLYCAEMIA: ConditionSpec(
        Effect(), ramp_s=0, hold_s=24 * H, recover_s=0, glucose=True
    ),
}


@dataclass(frozen=True, slots=True)
class ConditionEvent:
    """One injected clinical event on one patient (times in seconds from the scenario start)."""

    condition: Condition
    onset_s: float
    ramp_s: float
    hold_s: float | None
    recover_s: float
    severity: float = 1.0

    @property
    def end_s(self) -> float | None:
        return None if self.hold_s is None else self.onset_s + self.ramp_s + self.hold_s + self.recover_s

    def level(self, t: float) -> float:
        """Severity in [0, severity] at time t; smoothstep ramps avoid implausible jumps."""
        x = t - self.onset_s
        if x <= 0:
            return 0.0
        if x < self.ramp_s:
            return self.severity * _smooth(x / self.ramp_s)
        x -= self.ramp_s
        if self.hold_s is None or x < self.hold_s:
            return self.severity
        x -= self.hold_s
        if x < self.recover_s:
            return self.severity * (1.0 - _smooth(x / self.recover_s))
        return 0.0


def _smooth(x: float) -> float:
    return x * x * (3.0 - 2.0 * x)
