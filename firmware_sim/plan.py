"""From a scenario, a patient count and a seed to a concrete fleet: who, which devices, what happens when.

Everything random is drawn here or from per-patient/per-device generators
seeded from (seed, purpose, index), so the same seed gives the same fleet
and stream, and adding a patient never changes the others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime

from firmware_sim.conditions import CONDITIONS, Condition, ConditionEvent
from firmware_sim.devices import ID_PREFIX, DeviceModel, Periodic, schedules
from firmware_sim.faults import AFFECTS, FaultEvent, FaultKind, FaultSpec, applies, schedule
from firmware_sim.glucose import GlucoseInputs, Meal
from firmware_sim.physiology import Profile
from firmware_sim.scenario import Cohort, EventSpec, Scenario

DEFAULT_HORIZON_S = 7 * 86400.0

# Default input changes of the glucose events (see glucose.py).
GLUCOSE_DEFAULTS: dict[Condition, GlucoseInputs] = {
    Condition.NOCTURNAL_HYPOGLYCAEMIA: GlucoseInputs(basal_factor=2.0, extra_bolus_u=3.0),
    Condition.POSTPRANDIAL_HYPERGLYCAEMIA: GlucoseInputs(bolus_factor=0.25),
}


def rng_for(seed: int, purpose: str, index: int = 0) -> random.Random:
    # String seeds are hashed with SHA-512 by random.Random: stable across runs and platforms.
    return random.Random(f"{seed}:{purpose}:{index}")


@dataclass(frozen=True, slots=True)
class PatientPlan:
    index: int
    patient_id: str
    display_name: str
    cohort: str
    profile: Profile
    ward_id: str
    ward_name: str
    bed: str | None
    spo2_scale: int
    ambulatory: bool
    events: tuple[ConditionEvent, ...]
    virtual_patient: str | None
    glucose_inputs: tuple[tuple[Condition, GlucoseInputs], ...]
    meals: tuple[Meal, ...] | None


@dataclass(frozen=True, slots=True)
class DevicePlan:
    index: int
    device_id: str
    model: DeviceModel
    patient_index: int
    phase_s: float
    clock_skew_s: float
    faults: tuple[FaultEvent, ...]
    duplicate_probability: float

    @property
    def outages(self) -> tuple[FaultEvent, ...]:
        return tuple(f for f in self.faults if f.kind is FaultKind.NETWORK_LOSS)


@dataclass(frozen=True, slots=True)
class FleetPlan:
    scenario: Scenario
    seed: int
    start: datetime
    duration_s: float | None
    patients: tuple[PatientPlan, ...]
    devices: tuple[DevicePlan, ...]

    @property
    def horizon_s(self) -> float:
        return self.duration_s if self.duration_s is not None else DEFAULT_HORIZON_S

    def local_hour(self, t: float) -> float:
        local = self.start.astimezone(self.scenario.tz)
        h0 = local.hour + local.minute / 60 + local.second / 3600
        return (h0 + t / 3600.0) % 24.0


def allocate(cohorts: tuple[Cohort, ...], total: int | None) -> list[int]:
    """Patients per cohort: as written, or scaled to ``total`` (largest remainder, each cohort >= 1 if room)."""
    counts = [c.count for c in cohorts]
    if total is None or total == sum(counts):
        return counts
    weights = counts
    live = [i for i, w in enumerate(weights) if w > 0]
    base = [0] * len(weights)
    if total >= len(live):
        for i in live:
            base[i] = 1
    rest = total - sum(base)
    wsum = sum(weights)
    shares = [rest * w / wsum for w in weights]
    alloc = [b + int(s) for b, s in zip(base, shares, strict=True)]
    order = sorted(live, key=lambda i: (-(shares[i] - int(shares[i])), i))
    for i in order[: total - sum(alloc)]:
        alloc[i] += 1
    return alloc


def _condition_event(ev: EventSpec, rng: random.Random) -> ConditionEvent:
    spec = CONDITIONS[Condition(ev.type)]
    hold = ev.hold if "hold" in ev.model_fields_set else spec.hold_s
    return ConditionEvent(
        Condition(ev.type),
        onset_s=ev.at + (rng.uniform(0, ev.jitter) if ev.jitter else 0.0),
        ramp_s=spec.ramp_s if ev.ramp is None else ev.ramp,
        hold_s=hold,
        recover_s=spec.recover_s if ev.recover is None else ev.recover,
        severity=ev.severity,
    )


def _glucose_inputs(events: tuple[EventSpec, ...]) -> tuple[tuple[Condition, GlucoseInputs], ...]:
    out: dict[Condition, GlucoseInputs] = {}
    for ev in events:
        if ev.type not in GLUCOSE_DEFAULTS:
            continue
        cond = Condition(ev.type)
        base = GLUCOSE_DEFAULTS[cond]
        out[cond] = GlucoseInputs(
            basal_factor=base.basal_factor if ev.basal_factor is None else ev.basal_factor,
            extra_bolus_u=base.extra_bolus_u if ev.extra_bolus_u is None else ev.extra_bolus_u,
            bolus_factor=base.bolus_factor if ev.bolus_factor is None else ev.bolus_factor,
        )
    return tuple(out.items())


def _timed_fault(ev: EventSpec, model: DeviceModel, spec: FaultSpec, rng: random.Random) -> FaultEvent | None:
    kind = FaultKind(ev.type)
    if not applies(kind, model):
        return None
    start = ev.at + (rng.uniform(0, ev.jitter) if ev.jitter else 0.0)
    length = ev.duration if ev.duration is not None else 0.0
    magnitude = ev.magnitude if ev.magnitude is not None else (spec.magnitude[0] + spec.magnitude[1]) / 2
    return FaultEvent(
        kind, start, start + length, magnitude, ev.mode or spec.mode, spec.flag_probability,
        AFFECTS.get(kind, {}).get(model, frozenset()),
    )


def build(scenario: Scenario, seed: int, start: datetime, patients: int | None = None,
          duration_s: float | None = None, id_prefix: str = "") -> FleetPlan:
    """``id_prefix`` namespaces patient and device ids (parallel tests on one broker)."""
    duration = duration_s if duration_s is not None else scenario.duration
    counts = allocate(scenario.cohorts, patients)
    plan_patients: list[PatientPlan] = []
    plan_devices: list[DevicePlan] = []
    partial = FleetPlan(scenario, seed, start, duration, (), ())
    horizon = partial.horizon_s
    shortest = {m: min(s.period_s for s in schedules(m, scenario.devices) if isinstance(s, Periodic))
                for m in DeviceModel if any(isinstance(s, Periodic) for s in schedules(m, scenario.devices))}

    for cohort, n in zip(scenario.cohorts, counts, strict=True):
        for _ in range(n):
            i = len(plan_patients)
            rng = rng_for(seed, "patient", i)
            ward = cohort.ward or scenario.ward
            events = tuple(_condition_event(e, rng) for e in cohort.events if e.is_clinical)
            vp = rng.choice(cohort.virtual_patients) if cohort.profile is Profile.T1D else None
            plan_patients.append(PatientPlan(
                index=i, patient_id=f"{id_prefix}P{i + 1:04d}", display_name=f"Bệnh nhân mô phỏng {i + 1}",
                cohort=cohort.name, profile=cohort.profile, ward_id=ward.id, ward_name=ward.name, bed=None,
                spo2_scale=2 if cohort.profile is Profile.COPD else 1, ambulatory=cohort.ambulatory,
                events=events, virtual_patient=vp, glucose_inputs=_glucose_inputs(cohort.events),
                meals=cohort.meal_plan(),
            ))
            for model in cohort.devices:
                d = len(plan_devices)
                drng = rng_for(seed, "device", d)
                faults: list[FaultEvent] = []
                for kind in FaultKind:
                    faults += schedule(kind, scenario.fault_spec(kind, cohort), model, horizon, drng, partial.local_hour)
                for ev in cohort.events:
                    if not ev.is_clinical and (ev.device is None or ev.device is model):
                        fe = _timed_fault(ev, model, scenario.fault_spec(FaultKind(ev.type), cohort), drng)
                        if fe is not None:
                            faults.append(fe)
                skew = next((f.magnitude for f in faults if f.kind is FaultKind.CLOCK_SKEW), 0.0)
                plan_devices.append(DevicePlan(
                    index=d, device_id=f"{id_prefix}{ID_PREFIX[model]}-{i + 1:04d}", model=model, patient_index=i,
                    phase_s=round(drng.uniform(0, shortest.get(model, 1.0)), 3), clock_skew_s=skew,
                    faults=tuple(sorted(faults, key=lambda f: f.start_s)),
                    duplicate_probability=scenario.fault_spec(FaultKind.DUPLICATE, cohort).probability,
                ))
    # Beds: a seeded shuffle per ward, so the sick patients are not all in bed 01.
    home = {c.name for c in scenario.cohorts if c.home}
    by_ward: dict[str, list[int]] = {}
    for p in plan_patients:
        if p.cohort not in home:
            by_ward.setdefault(p.ward_id, []).append(p.index)
    beds: dict[int, str] = {}
    for ward_id, members in sorted(by_ward.items()):
        numbers = list(range(1, len(members) + 1))
        rng_for(seed, f"beds:{ward_id}").shuffle(numbers)
        beds.update({idx: f"{num:02d}" for idx, num in zip(members, numbers, strict=True)})
    plan_patients = [_with_bed(p, beds.get(p.index)) for p in plan_patients]
    return FleetPlan(scenario, seed, start, duration, tuple(plan_patients), tuple(plan_devices))


def _with_bed(p: PatientPlan, bed: str | None) -> PatientPlan:
    return replace(p, bed=bed)
