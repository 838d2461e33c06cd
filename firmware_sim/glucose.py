"""Type 1 diabetes glucose: the UVA/Padova simulator from ``simglucose``, driven by meals and insulin.

The physiology is the validated UVA/Padova T1D model (Dalla Man et al.,
IEEE TBME 2007; Kovatchev et al., J Diabetes Sci Technol 2009) with its 30
virtual patients, as implemented by the ``simglucose`` package; its CGM
noise model (Breton & Kovatchev, J Diabetes Sci Technol 2008) adds the
sensor error. We add only the inputs: a daily meal plan with boluses from
the patient's own carb ratio, and the clinical events that change them:

- nocturnal hypoglycaemia: too much insulin overnight (a mistaken bedtime
  correction bolus plus basal raised by ``basal_factor``, as after exercise
  or a wrong pump setting);
- post-prandial hyperglycaemia: meal boluses reduced to ``bolus_factor``
  (missed or under-dosed boluses).

Ground truth for scoring is the plasma glucose; episodes follow the
international consensus (Battelino et al., Diabetes Care 2019): level 1
below 70 / above 180 mg/dL, level 2 below 54 / above 250 mg/dL, lasting at
least 15 minutes, ending after 15 minutes back across the threshold.
"""

from __future__ import annotations

import csv
import logging
import random
from collections import namedtuple
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from firmware_sim.conditions import Condition, ConditionEvent

log = logging.getLogger(__name__)

MINUTE = 60.0
DAY_MIN = 1440


@dataclass(frozen=True, slots=True)
class Meal:
    minute_of_day: int
    carbs_g: float


DEFAULT_MEALS = (Meal(7 * 60, 50), Meal(12 * 60, 70), Meal(18 * 60 + 30, 80))
VIRTUAL_ADULTS = tuple(f"adult#{i:03d}" for i in range(1, 11))


@dataclass(frozen=True, slots=True)
class GlucoseInputs:
    """Event-specific changes to insulin/meal inputs (defaults are the usual regimen)."""

    basal_factor: float = 1.0
    extra_bolus_u: float = 0.0
    bolus_factor: float = 1.0


@dataclass(frozen=True, slots=True)
class GlucoseSample:
    plasma_mg_dl: float
    interstitial_mg_dl: float


@cache
def _quest() -> dict[str, dict[str, str]]:
    with resources.files("simglucose").joinpath("params/Quest.csv").open() as f:
        return {r["Name"]: r for r in csv.DictReader(f)}


def _new_patient(name: str) -> Any:
    # Deferred: simglucose pulls in pandas, matplotlib and gym (about 1.5 s),
    # only worth it when a scenario has a diabetic patient.
    from simglucose.patient.t1dpatient import T1DPatient

    p = T1DPatient.withName(name)
    series = p._params
    # The ODE right-hand side reads ~50 parameters per call; from a pandas
    # Series that made a simulated day cost 9.5 s, from a namedtuple 0.5 s
    # (measured here, identical trajectories). reset() is never called again.
    fields = namedtuple("UvaPadovaParams", list(series.index), rename=True)  # type: ignore[misc]
    p._params = fields(*series.values)
    return p


class GlucoseModel:
    """One virtual patient, advanced in the model's 1-minute steps up to the queried time."""

    def __init__(
        self,
        virtual_patient: str,
        events: tuple[ConditionEvent, ...],
        start_local_min: float,
        rng: random.Random,
        meals: tuple[Meal, ...] = DEFAULT_MEALS,
        inputs: dict[Condition, GlucoseInputs] | None = None,
    ) -> None:
        if virtual_patient not in _quest():
            raise ValueError(f"unknown simglucose virtual patient {virtual_patient!r}")
        self.name = virtual_patient
        self._p = _new_patient(virtual_patient)
        params = self._p._params
        self._basal_u_min = params.u2ss * params.BW / 6000.0  # steady-state basal, U/min (simglucose)
        self._carb_ratio = float(_quest()[virtual_patient]["CR"])
        self._events = events
        self._inputs = inputs or {}
        self._start_local_min = start_local_min
        self._meals = meals
        self._rng = rng
        self._day_meals: dict[int, dict[int, float]] = {}
        self._bolused: set[ConditionEvent] = set()
        self._minute = 0
        self._prev = self._current = self._sample()
        self._trackers = [EpisodeTracker(rule) for rule in EPISODE_RULES]
        self._finished: list[Episode] = []

    def _sample(self) -> GlucoseSample:
        state = self._p.state
        vg = self._p._params.Vg
        return GlucoseSample(plasma_mg_dl=float(state[3] / vg), interstitial_mg_dl=float(state[12] / vg))

    def _meals_of_day(self, day: int) -> dict[int, float]:
        # People do not eat by the clock: +-20 min and +-20 % per meal, drawn once per day.
        if day not in self._day_meals:
            self._day_meals[day] = {
                m.minute_of_day + self._rng.randint(-20, 20): m.carbs_g * self._rng.uniform(0.8, 1.2)
                for m in self._meals
            }
        return self._day_meals[day]

    def _step(self) -> None:
        from simglucose.patient.t1dpatient import Action

        t_s = self._minute * MINUTE
        local = self._start_local_min + self._minute
        day, minute_of_day = divmod(int(local), DAY_MIN)
        carbs = self._meals_of_day(day).get(minute_of_day, 0.0)
        basal_factor, bolus_factor, extra = 1.0, 1.0, 0.0
        for ev in self._events:
            if ev.level(t_s + 1) <= 0:
                continue
            inp = self._inputs.get(ev.condition, GlucoseInputs())
            basal_factor *= inp.basal_factor
            bolus_factor *= inp.bolus_factor
            if ev not in self._bolused:
                self._bolused.add(ev)
                extra += inp.extra_bolus_u
        insulin = self._basal_u_min * basal_factor + extra  # a bolus is given within one 1-min step
        if carbs:
            insulin += bolus_factor * carbs / self._carb_ratio
        self._p.step(Action(CHO=carbs, insulin=insulin))
        self._minute += 1
        self._prev, self._current = self._current, self._sample()
        for tracker in self._trackers:
            ep = tracker.feed(self._minute * MINUTE, self._current.plasma_mg_dl)
            if ep is not None:
                self._finished.append(ep)

    def take_episodes(self) -> list[Episode]:
        """Episodes that ended since the last call (ground truth for the labels file)."""
        out, self._finished = self._finished, []
        return out

    def open_episodes(self) -> list[Episode]:
        return [ep for t in self._trackers if (ep := t.open_episode()) is not None]

    def at(self, t_s: float) -> GlucoseSample:
        """Glucose at t (non-decreasing calls), linearly interpolated within the current minute."""
        while self._minute * MINUTE < t_s:
            self._step()
        frac = 1.0 - (self._minute * MINUTE - t_s) / MINUTE
        frac = min(max(frac, 0.0), 1.0)
        a, b = self._prev, self._current
        return GlucoseSample(
            a.plasma_mg_dl + frac * (b.plasma_mg_dl - a.plasma_mg_dl),
            a.interstitial_mg_dl + frac * (b.interstitial_mg_dl - a.interstitial_mg_dl),
        )


class CgmNoise:
    """simglucose's CGM error model (Johnson SU, AR(1) at 15 min, cubic-interpolated)."""

    # Parameters of simglucose's sensor_params.csv (same for all three sensors there).
    _PARAMS = {"PACF": 0.7, "gamma": -0.5444, "lambda": 15.9574, "delta": 1.6898, "xi": -5.47}

    def __init__(self, sample_minutes: float, seed: int) -> None:
        from simglucose.sensor.noise_gen import CGMNoise

        self._noise = CGMNoise({**self._PARAMS, "sample_time": sample_minutes}, seed=seed)

    def next(self) -> float:
        return float(next(self._noise))


@dataclass(frozen=True, slots=True)
class Episode:
    kind: str  # e.g. "hypoglycaemia_level2"
    start_s: float
    end_s: float | None
    extreme_mg_dl: float


@dataclass(frozen=True, slots=True)
class EpisodeRule:
    kind: str
    threshold: float
    below: bool


# Battelino et al., Diabetes Care 2019, Table 1 / "CGM-based glycemic events".
EPISODE_RULES = (
    EpisodeRule("hypoglycaemia_level1", 70.0, True),
    EpisodeRule("hypoglycaemia_level2", 54.0, True),
    EpisodeRule("hyperglycaemia_level1", 180.0, False),
    EpisodeRule("hyperglycaemia_level2", 250.0, False),
)
EPISODE_MIN_S = 15 * 60.0


class EpisodeTracker:
    """Finds consensus glycaemic episodes in the true glucose, minute by minute."""

    def __init__(self, rule: EpisodeRule) -> None:
        self.rule = rule
        self._start: float | None = None  # first minute across the threshold
        self._confirmed = False
        self._back: float | None = None  # first minute back in range during an episode
        self._extreme = rule.threshold

    def _across(self, g: float) -> bool:
        return g < self.rule.threshold if self.rule.below else g > self.rule.threshold

    def feed(self, t_s: float, g: float) -> Episode | None:
        """Returns an episode when one ends (confirmed 15 min back in range)."""
        if self._across(g):
            self._back = None
            if self._start is None:
                self._start, self._extreme = t_s, g
            self._extreme = min(self._extreme, g) if self.rule.below else max(self._extreme, g)
            if t_s - self._start >= EPISODE_MIN_S:
                self._confirmed = True
            return None
        if self._start is None:
            return None
        if not self._confirmed:  # shorter than 15 min: not an episode
            self._start = None
            return None
        if self._back is None:
            self._back = t_s
        if t_s - self._back >= EPISODE_MIN_S:
            ep = Episode(self.rule.kind, self._start, self._back, round(self._extreme, 1))
            self._start, self._back, self._confirmed = None, None, False
            return ep
        return None

    def open_episode(self) -> Episode | None:
        if self._start is None or not self._confirmed:
            return None
        return Episode(self.rule.kind, self._start, self._back, round(self._extreme, 1))
