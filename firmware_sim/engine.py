"""The simulator's pure core: advance a fleet plan in simulated time, producing messages and labels.

No IO and no wall clock: the caller says how far to advance and whether
each device is connected. Measurements are processed in global time order
(time, device, schedule), so for a given plan the readings, their values
and times are the same however the run is sliced into ticks.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from firmware_sim.conditions import ConditionEvent
from firmware_sim.devices import (
    Channel,
    Daily,
    DeviceModel,
    Periodic,
    Sample,
    Schedule,
    measure,
    measure_glucose,
    publish_period,
    schedules,
)
from firmware_sim.faults import ARTIFACTS, ArtifactState, FaultEvent, FaultKind, apply_artifacts
from firmware_sim.firmware import Firmware, Outgoing, Snippet
from firmware_sim.glucose import CgmNoise, GlucoseModel
from firmware_sim.labels import Label, LabelCategory, LabelSink
from firmware_sim.physiology import Baseline, Physiology, Vitals
from firmware_sim.plan import DevicePlan, FleetPlan, PatientPlan, rng_for
from firmware_sim.ppg import ppg_snippet

Connected = Callable[[int], bool]


@dataclass(slots=True)
class _Device:
    plan: DevicePlan
    firmware: Firmware
    schedules: tuple[Schedule, ...]
    rng_measure: random.Random
    pending: deque[FaultEvent]  # artifacts not yet started, by start time
    state: ArtifactState = field(default_factory=ArtifactState)
    labelled: set[FaultEvent] = field(default_factory=set)
    cgm_noise: CgmNoise | None = None
    active: list[FaultEvent] = field(default_factory=list)

    def artifacts_at(self, t: float) -> list[FaultEvent]:
        """Artifacts acting at t; a spike stays until it has hit one sample."""
        while self.pending and self.pending[0].start_s <= t:
            self.active.append(self.pending.popleft())
        if self.active:
            self.active = [a for a in self.active if (a.end_s is None or a.end_s > t)
                           or (a.kind is FaultKind.SPIKE and a not in self.state.spiked)]
        return self.active


class Engine:
    def __init__(self, plan: FleetPlan, labels: LabelSink | None = None) -> None:
        self.plan = plan
        self.labels = labels or LabelSink()
        self.now_s = 0.0
        self._physiology = [self._physiology_for(p) for p in plan.patients]
        # Checked every tick: only the patients with a glucose model (not all 2,000 monitors).
        self._glucose = [(p, ph.glucose) for p, ph in zip(plan.patients, self._physiology, strict=True)
                         if ph.glucose is not None]
        self._devices = [self._device_for(d) for d in plan.devices]
        self._heap: list[tuple[float, int, int]] = []
        for d in self._devices:
            for k, sched in enumerate(d.schedules):
                heapq.heappush(self._heap, (self._first_due(d, sched, k), d.plan.index, k))
        # Timed labels (clinical onsets, outages, clock skew) go out when their time comes.
        timed: list[tuple[float, int, Label]] = []
        for p in plan.patients:
            for ev in p.events:
                timed.append((ev.onset_s, len(timed), self._clinical_label(p, ev)))
        for dp in plan.devices:
            for f in dp.faults:
                if f.kind in (FaultKind.NETWORK_LOSS, FaultKind.CLOCK_SKEW):
                    timed.append((max(f.start_s, 0.0), len(timed), self._fault_label(dp, f, LabelCategory.FAULT)))
        self._timed = sorted(timed, key=lambda x: (x[0], x[1]))
        self._timed_pos = 0
        self.labels.add(Label(
            category=LabelCategory.RUN, type="run", start=plan.start, end=self.at(plan.duration_s),
            detail={"scenario": plan.scenario.name, "seed": plan.seed, "patients": len(plan.patients),
                    "devices": len(plan.devices)},
        ))

    # ---------------------------------------------------------------- construction
    def _physiology_for(self, p: PatientPlan) -> Physiology:
        baseline = Baseline.draw(p.profile, rng_for(self.plan.seed, "baseline", p.index))
        glucose = None
        if p.virtual_patient is not None:
            kwargs = {"meals": p.meals} if p.meals is not None else {}
            glucose = GlucoseModel(
                p.virtual_patient, p.events, self.plan.local_hour(0) * 60, rng_for(self.plan.seed, "meals", p.index),
                inputs=dict(p.glucose_inputs), **kwargs,  # type: ignore[arg-type]
            )
        return Physiology(baseline, p.events, rng_for(self.plan.seed, "physiology", p.index),
                          self.plan.local_hour(0), glucose, p.ambulatory)

    def _device_for(self, d: DevicePlan) -> _Device:
        s = self.plan.scenario.devices
        fw = Firmware(d.index, d.device_id, s, self.plan.start, d.clock_skew_s, d.duplicate_probability,
                      rng_for(self.plan.seed, "duplicate", d.index), publish_period(d.model, s))
        noise = None
        if d.model is DeviceModel.CGM:
            noise = CgmNoise(s.cgm.interval / 60.0, rng_for(self.plan.seed, "cgm", d.index).getrandbits(32))
        artifacts = deque(sorted((f for f in d.faults if f.kind in ARTIFACTS), key=lambda f: f.start_s))
        return _Device(d, fw, schedules(d.model, s), rng_for(self.plan.seed, "measure", d.index), artifacts,
                       cgm_noise=noise)

    def _first_due(self, d: _Device, sched: Schedule, k: int) -> float:
        if isinstance(sched, Periodic):
            return d.plan.phase_s if sched.channel in (Channel.CONTINUOUS, Channel.GLUCOSE) else \
                d.plan.phase_s + (k * 7.0) % sched.period_s
        return self._next_daily(d, sched, -1e-9)

    def _next_daily(self, d: _Device, sched: Daily, after: float) -> float:
        midnight0 = -self.plan.local_hour(0) * 3600.0  # sim time of local midnight on day 0
        day = int((after - midnight0) // 86400) - 1
        while True:
            for k, minute in enumerate(sorted(sched.minutes_of_day)):
                jitter = rng_for(self.plan.seed, f"spot:{d.plan.index}:{day}", k).uniform(0, sched.jitter_s)
                t = midnight0 + day * 86400 + minute * 60 + jitter
                if t > after:
                    return t
            day += 1

    # ---------------------------------------------------------------- time
    def at(self, t: float | None) -> datetime | None:
        return None if t is None else self.plan.start + timedelta(milliseconds=round(t * 1000))

    def advance(self, until_s: float, connected: Connected) -> list[Outgoing]:
        """Process every measurement due up to ``until_s``; return messages for connected devices."""
        out: list[Outgoing] = []
        self._emit_timed(until_s)
        heap = self._heap
        while heap and heap[0][0] <= until_s:
            t, di, k = heapq.heappop(heap)
            d = self._devices[di]
            sched = d.schedules[k]
            self._measure(d, sched.channel, t)
            nxt = t + sched.period_s if isinstance(sched, Periodic) else self._next_daily(d, sched, t)
            heapq.heappush(heap, (nxt, di, k))
            if connected(di):
                out += self._collect(d, t)
        self.now_s = max(self.now_s, until_s)
        self._emit_glucose_episodes()
        return out

    def collect(self, device_index: int, flush: bool = False) -> list[Outgoing]:
        """Messages a (re)connected device can send now: backlog, then whatever is due."""
        return self._collect(self._devices[device_index], self.now_s, flush)

    def _collect(self, d: _Device, t: float, flush: bool = False) -> list[Outgoing]:
        out = d.firmware.collect(t, flush)
        for o in out:
            if o.duplicate:
                self.labels.add(Label(
                    category=LabelCategory.FAULT, type=FaultKind.DUPLICATE.value,
                    patient_id=self.plan.patients[d.plan.patient_index].patient_id, device_id=d.plan.device_id,
                    start=self.at(o.first_t), end=self.at(o.first_t),  # type: ignore[arg-type]
                    detail={"seq": o.seq, "readings": o.readings, "sent_at_s": round(t, 3)},
                ))
        return out

    def buffered(self) -> int:
        return sum(d.firmware.buffered for d in self._devices)

    def dropped(self) -> int:
        return sum(d.firmware.drops.count for d in self._devices)

    def firmware(self, device_index: int) -> Firmware:
        return self._devices[device_index].firmware

    # ---------------------------------------------------------------- measuring
    def _measure(self, d: _Device, channel: Channel, t: float) -> None:
        v: Vitals = self._physiology[d.plan.patient_index].at(t)
        if channel is Channel.PPG:
            w = self.plan.scenario.devices.wearable_patch
            moving = any(a.kind is FaultKind.MOTION_ARTIFACT for a in d.artifacts_at(t))
            samples = ppg_snippet(v.hr, v.rr, w.ppg_seconds, w.ppg_hz, d.rng_measure,
                                  v.hr_scatter, 1.0 if moving else v.motion)
            d.firmware.store_snippet(Snippet(t, w.ppg_hz, samples))
            return
        if channel is Channel.GLUCOSE:
            assert d.cgm_noise is not None
            readings: list[Sample] = measure_glucose(v, d.cgm_noise.next())
        else:
            readings = measure(d.plan.model, channel, v, d.rng_measure)
        active = d.artifacts_at(t)
        if active:
            readings, acted = apply_artifacts(readings, active, d.state, d.rng_measure)
            for ev in acted:
                if ev not in d.labelled:
                    d.labelled.add(ev)
                    self.labels.add(self._fault_label(d.plan, ev, LabelCategory.ARTIFACT, first_t=t))
        elif readings:
            for r in readings:
                d.state.last_good[r.type] = r.value
        d.firmware.store(readings)

    # ---------------------------------------------------------------- labels
    def _emit_timed(self, until_s: float) -> None:
        while self._timed_pos < len(self._timed) and self._timed[self._timed_pos][0] <= until_s:
            self.labels.add(self._timed[self._timed_pos][2])
            self._timed_pos += 1

    def _emit_glucose_episodes(self) -> None:
        for p, model in self._glucose:
            for ep in model.take_episodes():
                self.labels.add(Label(
                    category=LabelCategory.CLINICAL, type=ep.kind, patient_id=p.patient_id,
                    start=self.at(ep.start_s), end=self.at(ep.end_s),  # type: ignore[arg-type]
                    detail={"extreme_mg_dl": ep.extreme_mg_dl, "source": "true plasma glucose"},
                ))

    def finish(self) -> None:
        """Label what is still under way: open glucose episodes and buffer overflows."""
        for p, phys in zip(self.plan.patients, self._physiology, strict=True):
            if phys.glucose is not None:
                for ep in phys.glucose.open_episodes():
                    self.labels.add(Label(
                        category=LabelCategory.CLINICAL, type=ep.kind, patient_id=p.patient_id,
                        start=self.at(ep.start_s), end=self.at(ep.end_s),  # type: ignore[arg-type]
                        detail={"extreme_mg_dl": ep.extreme_mg_dl, "source": "true plasma glucose", "open": True},
                    ))
        for d in self._devices:
            drops = d.firmware.drops
            if drops.count:
                self.labels.add(Label(
                    category=LabelCategory.FAULT, type="buffer_overflow",
                    patient_id=self.plan.patients[d.plan.patient_index].patient_id, device_id=d.plan.device_id,
                    start=self.at(drops.first_t), end=self.at(drops.last_t),  # type: ignore[arg-type]
                    detail={"dropped_readings": drops.count},
                ))
        self.labels.flush()

    def _clinical_label(self, p: PatientPlan, ev: ConditionEvent) -> Label:
        return Label(
            category=LabelCategory.CLINICAL, type=ev.condition.value, patient_id=p.patient_id,
            start=self.at(ev.onset_s), end=self.at(ev.end_s),  # type: ignore[arg-type]
            detail={"ramp_s": ev.ramp_s, "severity": ev.severity, "cohort": p.cohort},
        )

    def _fault_label(self, d: DevicePlan, f: FaultEvent, category: LabelCategory, first_t: float | None = None) -> Label:
        start = f.start_s if first_t is None else first_t
        end = f.end_s
        if f.kind is FaultKind.SPIKE:
            end = start
        detail: dict[str, float | int | str | bool | None] = {"magnitude": round(f.magnitude, 3)}
        if f.kind is FaultKind.PROBE_OFF:
            detail["mode"] = f.mode.value
        if f.kind is FaultKind.CLOCK_SKEW:
            detail = {"offset_s": f.magnitude}
        return Label(
            category=category, type=f.kind.value, patient_id=self.plan.patients[d.patient_index].patient_id,
            device_id=d.device_id, start=self.at(start), end=self.at(end),  # type: ignore[arg-type]
            readings=tuple(sorted(f.types)), detail=detail,
        )
