"""A patient's latent (true) physiology over time, independent of any device.

Each vital is baseline + circadian rhythm + slow random variation (an
Ornstein-Uhlenbeck process, exact for any step) + the effects of active
clinical events + couplings between vitals. Devices sample this state and
add their own measurement error and faults (``devices``, ``faults``).

Sources for the couplings and rhythms:
- Fever raises heart rate by about 8.5/min per degC (Karjalainen &
  Viitasalo, Arch Intern Med 1986) and metabolic rate by about 13 % per
  degC (DuBois 1921), which ventilation follows: RR rises ~13 % per degC.
- Circadian: core temperature nadir ~04:30, peak ~16:30, amplitude ~0.35
  degC (Refinetti & Menaker, Physiol Behav 1992); blood pressure dips
  ~10 % at night (O'Brien et al., Lancet 1988); heart rate ~5/min lower.
- Hypoglycaemia triggers an adrenergic response below ~55-60 mg/dL
  (Cryer, Diabetes 2005 glycaemic thresholds): heart rate rises.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum

from firmware_sim.conditions import CONDITIONS, ConditionEvent
from firmware_sim.glucose import GlucoseModel

DAY_S = 86400.0
FEVER_HR_PER_DEGC = 8.5
FEVER_RR_FRACTION_PER_DEGC = 0.13
SLOW_STEP_S = 10.0


class Profile(StrEnum):
    """Chronic background of a patient: sets baselines (and the NEWS2 SpO2 scale)."""

    GENERAL = "general"
    COPD = "copd"  # hypercapnic respiratory failure: NEWS2 SpO2 scale 2
    T1D = "t1d"  # type 1 diabetes: glucose from the UVA/Padova model


@dataclass(frozen=True, slots=True)
class Baseline:
    hr: float
    rr: float
    spo2: float
    temp: float
    sbp: float
    dbp: float

    @staticmethod
    def draw(profile: Profile, rng: random.Random) -> Baseline:
        """Adult inpatient baselines; COPD sits in its 88-92 % SpO2 target range (BTS 2017)."""

        def clip(v: float, lo: float, hi: float) -> float:
            return min(max(v, lo), hi)

        sbp = clip(rng.gauss(124, 12), 100, 155)
        if profile is Profile.COPD:
            return Baseline(
                hr=clip(rng.gauss(86, 6), 72, 98), rr=clip(rng.gauss(19, 1.5), 16, 22),
                spo2=clip(rng.gauss(90, 1.0), 88, 92), temp=clip(rng.gauss(36.8, 0.2), 36.3, 37.2),
                sbp=sbp, dbp=clip(sbp * 0.62 + rng.gauss(0, 4), 60, 95),
            )
        return Baseline(
            hr=clip(rng.gauss(74, 9), 56, 92), rr=clip(rng.gauss(15, 1.5), 12, 19),
            spo2=clip(rng.gauss(97, 0.8), 95, 99), temp=clip(rng.gauss(36.8, 0.2), 36.3, 37.2),
            sbp=sbp, dbp=clip(sbp * 0.62 + rng.gauss(0, 4), 60, 95),
        )


@dataclass(frozen=True, slots=True)
class Vitals:
    """True values at time t (seconds from the scenario start), canonical units."""

    t: float
    hr: float
    rr: float
    spo2: float
    temp: float
    sbp: float
    dbp: float
    skin_temp: float
    motion: float
    hr_scatter: float
    glucose: float | None  # interstitial, mg/dL (what a CGM senses)
    glucose_plasma: float | None


class _Ou:
    """Ornstein-Uhlenbeck noise with exact discretisation, so any step size gives the same law."""

    __slots__ = ("sd", "tau", "x", "_dt", "_a", "_b")

    def __init__(self, sd: float, tau_s: float, rng: random.Random) -> None:
        self.sd, self.tau = sd, tau_s
        self.x = rng.gauss(0, sd)
        self._dt = -1.0
        self._a = self._b = 0.0

    def step(self, dt: float, z: float) -> float:
        if dt != self._dt:  # devices sample on fixed grids, so this is nearly always cached
            self._dt = dt
            self._a = math.exp(-dt / self.tau)
            self._b = self.sd * math.sqrt(1.0 - self._a * self._a)
        self.x = self.x * self._a + self._b * z
        return self.x


def _circadian(local_hour: float, peak_hour: float) -> float:
    """+1 at the peak hour, -1 twelve hours later."""
    return math.cos((local_hour - peak_hour) / 24.0 * 2.0 * math.pi)


class Physiology:
    """Latent state of one patient; ``at(t)`` must be called with non-decreasing t."""

    def __init__(
        self,
        baseline: Baseline,
        events: tuple[ConditionEvent, ...],
        rng: random.Random,
        start_local_hour: float,
        glucose: GlucoseModel | None = None,
        ambulatory: bool = False,
    ) -> None:
        self.baseline = baseline
        self.events = tuple(e for e in events if not CONDITIONS[e.condition].glucose)
        self._rng = rng
        self._start_local_h = start_local_hour
        self.glucose = glucose
        self._ambulatory = ambulatory
        # Per-patient response: the same condition is not equally severe in everyone.
        self._response = {e: rng.uniform(0.85, 1.15) for e in self.events}
        self._noise = {
            "hr": _Ou(3.0, 120, rng), "rr": _Ou(1.2, 180, rng), "spo2": _Ou(0.6, 120, rng),
            "temp": _Ou(0.08, 1800, rng), "sbp": _Ou(5.0, 600, rng), "dbp": _Ou(3.0, 600, rng),
            "activity": _Ou(1.0, 600, rng), "skin": _Ou(0.3, 900, rng),
        }
        self._fast = [self._noise[k] for k in ("hr", "rr", "spo2")]
        # Processes with time constants of 10+ minutes are stepped at most every
        # SLOW_STEP_S: exact at that step, and it halves the cost per sample.
        self._slow = [self._noise[k] for k in ("temp", "sbp", "dbp", "activity", "skin")]
        self._t = 0.0
        self._t_slow = 0.0

    def local_hour(self, t: float) -> float:
        return (self._start_local_h + t / 3600.0) % 24.0

    def at(self, t: float) -> Vitals:
        dt = t - self._t
        if dt < 0:
            raise ValueError(f"physiology queried backwards in time ({t} < {self._t})")
        self._t = t
        g = self._rng.gauss
        n = self._noise
        if dt > 0:
            for ou in self._fast:
                ou.step(dt, g(0.0, 1.0))
            if t - self._t_slow >= SLOW_STEP_S:
                for ou in self._slow:
                    ou.step(t - self._t_slow, g(0.0, 1.0))
                self._t_slow = t
        hour = self.local_hour(t)
        b = self.baseline
        d_hr = d_rr = d_spo2 = d_temp = d_sbp = d_dbp = scatter = 0.0
        for ev in self.events:
            lvl = ev.level(t)
            if lvl <= 0.0:
                continue
            lvl *= self._response[ev]
            e = CONDITIONS[ev.condition].effect
            d_hr += e.hr * lvl
            d_rr += e.rr * lvl
            d_spo2 += e.spo2 * lvl
            d_temp += e.temp * lvl
            d_sbp += e.sbp * lvl
            d_dbp += e.dbp * lvl
            scatter = max(scatter, e.hr_scatter * lvl)

        temp = b.temp + 0.35 * _circadian(hour, 16.5) + n["temp"].x + d_temp
        fever = max(0.0, temp - (b.temp + 0.35))
        night = _circadian(hour, 3.0)  # +1 at 03:00
        activity = 0.0
        if self._ambulatory:
            awake = max(0.0, -night)  # daytime only
            activity = max(0.0, n["activity"].x - 0.6) * 0.5 * awake
        glucose = plasma = None
        d_hr_hypo = 0.0
        if self.glucose is not None:
            gs = self.glucose.at(t)
            glucose, plasma = gs.interstitial_mg_dl, gs.plasma_mg_dl
            d_hr_hypo = 15.0 * min(max((60.0 - plasma) / 25.0, 0.0), 1.0)

        hr = b.hr - 5.0 * night + n["hr"].x + d_hr + FEVER_HR_PER_DEGC * fever + 30.0 * activity + d_hr_hypo
        rr = b.rr * (1.0 + FEVER_RR_FRACTION_PER_DEGC * fever) - 0.7 * night + n["rr"].x + d_rr + 6.0 * activity
        spo2 = b.spo2 + n["spo2"].x + d_spo2
        sbp = b.sbp - 0.05 * b.sbp * max(night, 0.0) * 2 + n["sbp"].x + d_sbp
        dbp = b.dbp - 0.05 * b.dbp * max(night, 0.0) * 2 + n["dbp"].x + d_dbp
        return Vitals(
            t=t,
            hr=min(max(hr, 35.0), 210.0),
            rr=min(max(rr, 6.0), 50.0),
            spo2=min(max(spo2, 70.0), 100.0),
            temp=min(max(temp, 34.5), 41.5),
            sbp=min(max(sbp, 60.0), 220.0),
            dbp=min(max(dbp, 30.0), min(130.0, sbp - 15.0)),
            # Chest-patch skin temperature runs ~2.5 degC under core and follows it.
            skin_temp=min(max(temp - 2.5 + n["skin"].x, 30.0), 39.0),
            motion=0.02 + activity,
            hr_scatter=scatter,
            glucose=glucose,
            glucose_plasma=plasma,
        )
