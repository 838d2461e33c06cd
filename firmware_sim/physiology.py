"""Minimal vital-sign generator for the walking skeleton (the full model is firmware_sim's own issue).

Stable patients random-walk around normal values; a deteriorating patient's
heart rate is already high and climbs (a septic picture, compressed in time
so the demo shows an alarm within two minutes).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from wire.units import ReadingType


@dataclass
class Vitals:
    scenario: str
    rng: random.Random
    hr: float = 0.0
    spo2: float = 97.0
    rr: float = 15.0
    temp: float = 36.8
    elapsed_s: float = 0.0
    _base_hr: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._base_hr = 128.0 if self.scenario == "deteriorating" else self.rng.uniform(62, 88)
        self.hr = self._base_hr

    def step(self, dt_s: float) -> dict[ReadingType, float]:
        self.elapsed_s += dt_s
        r = self.rng
        if self.scenario == "deteriorating":
            target_hr = min(self._base_hr + self.elapsed_s * 0.15, 165)
            target_rr, target_spo2, target_temp = 24.0, 92.0, 38.6
        else:
            target_hr, target_rr, target_spo2, target_temp = self._base_hr, 15.0, 97.0, 36.8
        self.hr += 0.2 * (target_hr - self.hr) + r.gauss(0, 1.2)
        self.rr += 0.05 * (target_rr - self.rr) + r.gauss(0, 0.3)
        self.spo2 += 0.05 * (target_spo2 - self.spo2) + r.gauss(0, 0.3)
        self.temp += 0.01 * (target_temp - self.temp) + r.gauss(0, 0.01)
        return {
            ReadingType.HEART_RATE: round(self.hr),
            ReadingType.SPO2: round(min(self.spo2, 100.0)),
            ReadingType.RESP_RATE: round(self.rr),
            ReadingType.TEMPERATURE: round(self.temp, 1),
        }
