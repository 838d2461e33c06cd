"""Scenario files: wards, patient mixes, clinical events and fault rates, as YAML.

A scenario is data: ``rpm sim --scenario NAME`` loads a built-in file from
``firmware_sim/scenarios/``, ``--scenario path.yaml`` any other. Errors name
the file, line and field in one line, e.g.
``sepsis.yaml line 14: cohorts.1.events.0.at: invalid duration 'soon'``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from firmware_sim.conditions import Condition
from firmware_sim.devices import DeviceModel, DeviceSettings
from firmware_sim.durations import Duration
from firmware_sim.faults import FaultKind, FaultSpec, ProbeOffMode
from firmware_sim.glucose import VIRTUAL_ADULTS, Meal
from firmware_sim.physiology import Profile

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line meant for the user."""


class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ward(_M):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)


class EventSpec(_M):
    """A clinical event or a fault at a set time on every patient of a cohort."""

    type: str
    at: Duration = Field(description="offset from the scenario start; negative: already under way")
    ramp: Duration | None = Field(default=None, ge=0)
    hold: Duration | None = Field(default=None, ge=0, description="clinical: time at full severity; null: to the end")
    jitter: Duration = Field(default=0.0, ge=0, description="onset spread over the cohort: at + U(0, jitter)")
    recover: Duration | None = Field(default=None, ge=0)
    duration: Duration | None = Field(default=None, ge=0, description="faults: how long it lasts")
    severity: float = Field(default=1.0, gt=0, le=1.5)
    device: DeviceModel | None = Field(default=None, description="faults: only this device of the patient")
    magnitude: float | None = None
    mode: ProbeOffMode | None = None
    # Glucose events change the UVA/Padova model's inputs.
    basal_factor: float | None = Field(default=None, gt=0, le=5)
    extra_bolus_u: float | None = Field(default=None, ge=0, le=20)
    bolus_factor: float | None = Field(default=None, ge=0, le=2)

    @field_validator("type")
    @classmethod
    def _known(cls, v: str) -> str:
        known = [c.value for c in Condition] + [k.value for k in FaultKind]
        if v not in known:
            raise ValueError(f"unknown event type {v!r}; known: {', '.join(known)}")
        return v

    @property
    def is_clinical(self) -> bool:
        return self.type in Condition.__members__.values()

    @model_validator(mode="after")
    def _shape(self) -> EventSpec:
        if self.type in (FaultKind.DUPLICATE, FaultKind.CLOCK_SKEW, FaultKind.SENSOR_DRIFT):
            raise ValueError(f"{self.type} is set by rate in 'faults', not as a timed event")
        if not self.is_clinical and self.type != FaultKind.SPIKE and self.duration is None:
            raise ValueError(f"fault event {self.type} needs a duration")
        return self


class Cohort(_M):
    name: str = Field(pattern=_ID)
    count: int = Field(ge=0, le=100000)
    profile: Profile = Profile.GENERAL
    devices: tuple[DeviceModel, ...] = Field(default=(DeviceModel.BEDSIDE_MONITOR,), min_length=1)
    ward: Ward | None = None
    ambulatory: bool = Field(default=False, description="walks about: activity raises HR and motion")
    home: bool = Field(default=False, description="monitored at home: no bed")
    events: tuple[EventSpec, ...] = ()
    faults: dict[FaultKind, FaultSpec] = Field(default_factory=dict)
    virtual_patients: tuple[str, ...] = Field(default=VIRTUAL_ADULTS, min_length=1)
    meals: tuple[tuple[str, float], ...] | None = None

    @field_validator("virtual_patients")
    @classmethod
    def _vp(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not re.fullmatch(r"(adult|adolescent|child)#0(0[1-9]|10)", name):
                raise ValueError(f"{name!r} is not a simglucose virtual patient (adult#001..adult#010, ...)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Cohort:
        if DeviceModel.CGM in self.devices and self.profile is not Profile.T1D:
            raise ValueError("a CGM needs profile t1d (the glucose model)")
        for ev in self.events:
            if ev.type in (Condition.NOCTURNAL_HYPOGLYCAEMIA, Condition.POSTPRANDIAL_HYPERGLYCAEMIA) \
                    and self.profile is not Profile.T1D:
                raise ValueError(f"event {ev.type} needs profile t1d")
            if ev.device is not None and ev.device not in self.devices:
                raise ValueError(f"event {ev.type} names device {ev.device}, which this cohort does not wear")
        return self

    def meal_plan(self) -> tuple[Meal, ...] | None:
        if self.meals is None:
            return None
        return tuple(Meal(int(t[:2]) * 60 + int(t[3:]), g) for t, g in self.meals)


class Scenario(_M):
    name: str = Field(pattern=_ID)
    description: str = ""
    start: AwareDatetime | None = Field(default=None, description="simulated clock start; default: now")
    start_local_time: str | None = Field(
        default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="start at the latest such local time (e.g. 21:00 for a night) before the usual start",
    )
    utc_offset: str = Field(default="+07:00", pattern=r"^[+-]\d\d:\d\d$", description="ward local time")
    duration: Duration | None = Field(default=None, gt=0)
    ward: Ward = Ward(id="ward-a", name="Khoa Nội A / Internal Medicine A")
    devices: DeviceSettings = DeviceSettings()
    faults: dict[FaultKind, FaultSpec] = Field(default_factory=dict)
    cohorts: tuple[Cohort, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Scenario:
        names = [c.name for c in self.cohorts]
        if len(set(names)) != len(names):
            raise ValueError(f"cohort names must be unique, got {names}")
        if sum(c.count for c in self.cohorts) == 0:
            raise ValueError("the cohorts have no patients")
        return self

    @property
    def tz(self) -> timezone:
        sign = -1 if self.utc_offset[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(self.utc_offset[1:3]), minutes=int(self.utc_offset[4:6])))

    def fault_spec(self, kind: FaultKind, cohort: Cohort) -> FaultSpec:
        """Built-in default, then the scenario's fields, then the cohort's fields."""
        from firmware_sim.faults import DEFAULTS

        spec = DEFAULTS[kind]
        for layer in (self.faults.get(kind), cohort.faults.get(kind)):
            if layer is not None:
                spec = spec.model_copy(update={f: getattr(layer, f) for f in layer.model_fields_set})
        return spec


# ---------------------------------------------------------------- loading


def builtin_names() -> list[str]:
    root = resources.files("firmware_sim.scenarios")
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def load(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a YAML file by path; ScenarioError otherwise."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ScenarioError(f"scenario file {name_or_path} not found")
        return parse(path.read_text(encoding="utf-8"), path.name)
    if name_or_path not in builtin_names():
        raise ScenarioError(
            f"unknown scenario {name_or_path!r}; built-in: {', '.join(builtin_names())} (or a .yaml file)"
        )
    text = resources.files("firmware_sim.scenarios").joinpath(f"{name_or_path}.yaml").read_text(encoding="utf-8")
    return parse(text, f"{name_or_path}.yaml")


def parse(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = yaml.safe_load(text)
        lines = _line_index(yaml.compose(text))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" line {mark.line + 1}" if mark else ""
        raise ScenarioError(f"{source}{where}: not valid YAML: {e.problem or e}") from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"{source}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping with name, cohorts, ...")
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "<root>"
        line = _nearest_line(lines, loc)
        more = f" (+{e.error_count() - 1} more)" if e.error_count() > 1 else ""
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ScenarioError(f"{source} line {line}: {field}: {msg}{more}") from None


def _line_index(node: yaml.Node | None) -> dict[tuple[Any, ...], int]:
    """Line (1-based) of every key and item, by its path of keys and indexes."""
    out: dict[tuple[Any, ...], int] = {}

    def walk(n: yaml.Node, path: tuple[Any, ...]) -> None:
        out.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                out[path + (key,)] = k.start_mark.line + 1
                walk(v, path + (key,))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, path + (i,))

    if node is not None:
        walk(node, ())
    return out


def _nearest_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    # pydantic adds model/union names to the location; drop trailing parts until a known path.
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return 1


def start_time(s: Scenario, now: datetime, speed: float, duration_s: float | None) -> datetime:
    """Where the simulated clock starts.

    A sped-up run with a known duration starts in the past so that it ends
    at the wall-clock end of the run: measurement times never lie in the
    future, which the bridge would rightly reject.
    """
    if s.start is not None:
        return s.start
    base = now
    if speed > 1 and duration_s is not None:
        base = now - timedelta(seconds=duration_s * (1 - 1 / speed))
    if s.start_local_time is not None:
        local = base.astimezone(s.tz)
        hh, mm = int(s.start_local_time[:2]), int(s.start_local_time[3:])
        wanted = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
        if wanted > local:
            wanted -= timedelta(days=1)
        base = wanted
    return base
