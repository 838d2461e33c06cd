"""Per-patient stream state and its compact changelog encoding.

State is split in two table keys per patient so the record written for
every reading batch stays small (the Kafka mock keeps only 5 MiB per
partition, and every write is a changelog record):

* ``Live`` (key ``<patient>``), written per batch: open 1-minute windows
  with their raw samples (dedup keys, event-time watermarks, late and
  duplicate counts), recent device messages, signal-loss clocks.
* ``History`` (key ``<patient>#h``), written when a window closes or a
  slow-changing input arrives: the last 15 closed minutes as mergeable
  summaries, artifact-filter context, NEWS2 observations, glucose history,
  which conditions are firing.

Both keys of a patient go to the same changelog partition and History is
always written before Live, so a recovered Live never runs ahead of its
History. These classes are mutable on purpose: one agent owns a patient's
state at a time and rewriting frozen copies per reading was the slowest
part of the earlier core. Outputs leave the core as frozen wire models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.quality import Context
from streams.stats import Minute, Summary

NEVER = -(2**62)
DEV_SLOTS = 1024  # dedup key = t_ms * DEV_SLOTS + device index


@dataclass(slots=True)
class OpenWindow:
    # Event time as ms after the window's start: the changelog stores offsets (a 13-digit
    # epoch would triple the record), so keeping them spares a conversion per write.
    dt: list[int] = field(default_factory=list)
    v: list[float] = field(default_factory=list)
    f: list[int] = field(default_factory=list)  # quality-flag bits
    d: list[int] = field(default_factory=list)  # device index into Live.devices
    keys: set[int] = field(default_factory=set)  # (t, device) dedup keys, rebuilt on decode


@dataclass(slots=True)
class VitalLive:
    watermark_ms: int = NEVER  # newest event time seen
    arrival_ms: int = NEVER  # newest bridge receive time seen
    closed_before_ms: int = NEVER  # windows starting before this are closed for good
    late: int = 0
    duplicates: int = 0
    open: dict[int, OpenWindow] = field(default_factory=dict)
    pending_ms: int = NEVER  # newest event time of the batch being added (transient)


@dataclass(slots=True)
class SignalClock:
    last_valid_ms: int = NEVER
    firing: bool = False
    emitted_minute_ms: int = NEVER
    gaps: list[int] = field(default_factory=list)  # the last arrival gaps (streams.signal_loss: a feed's cadence)


@dataclass(slots=True)
class Run:
    """Sliding-path alarm state of one limit rule of one vital (streams.sliding_alarms)."""

    start_ms: int = NEVER  # onset of the excursion (event time); NEVER when the median is within limits
    firing: bool = False
    emitted_ms: int = NEVER  # window end of the last firing candidate
    rejected: int = 0  # samples rejected as artifacts since the onset


@dataclass(slots=True)
class SlidingVital:
    t: list[int] = field(default_factory=list)  # the last good samples (event time ms), oldest first
    v: list[float] = field(default_factory=list)
    beyond: list[int] = field(default_factory=list)  # per sample: bit i set if beyond limit i (raw value)
    newest_ms: int = NEVER  # newest sample seen (good or not)
    runs: dict[str, Run] = field(default_factory=dict)  # rule -> run


@dataclass(slots=True)
class PulseWatch:
    """No-pulse watch of a patient with a bedside monitor (streams.no_pulse); event times in ms."""

    pulse_ms: int = NEVER  # newest sample showing a pulse (heart rate, SpO2, NIBP; any device)
    attached_ms: int = NEVER  # newest bedside sample showing the monitor attached without needing a pulse
    blocked_ms: int = NEVER  # newest bedside sample flagged probe off / lead off / motion / artifact
    onset_ms: int = NEVER  # while firing: the last pulse before the alarm
    emitted_ms: int = NEVER  # window end of the last firing candidate
    firing: bool = False
    device: int = -1  # index into Live.devices of the bedside monitor giving the evidence

    def encode(self) -> list[int]:
        # A list, not a dict: Live is written per batch and the changelog pays per byte.
        return [self.pulse_ms, self.attached_ms, self.blocked_ms, self.onset_ms, self.emitted_ms, int(self.firing),
                self.device]

    @classmethod
    def decode(cls, j: list[int] | None) -> PulseWatch | None:
        if j is None:
            return None
        pulse, attached, blocked, onset, emitted, firing, device = j
        return cls(pulse, attached, blocked, onset, emitted, bool(firing), device)


@dataclass(slots=True)
class Live:
    partition: int = 0
    devices: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # device kind per device index
    recent: dict[str, list[list[int]]] = field(default_factory=dict)  # device -> [[seq, sent_ms]]
    vitals: dict[str, VitalLive] = field(default_factory=dict)
    motion_ms: list[int] = field(default_factory=list)  # motion / low-perfusion flag times
    signal: dict[str, SignalClock] = field(default_factory=dict)  # device kind -> clock
    sliding: dict[str, SlidingVital] = field(default_factory=dict)  # vital -> real-time alarm state
    # waveform kind -> recent 8-s window verdicts [start_ms, end_ms, hr|-1, quality, ECG pause_s|-1 or PPG pulse 1|0]
    # (streams.waveform_stream fuses PPG with ECG across messages)
    waves: dict[str, list[list[float]]] = field(default_factory=dict)
    pulse: PulseWatch | None = None  # only for patients with a bedside monitor


@dataclass(slots=True)
class VitalHistory:
    minutes: list[Minute] = field(default_factory=list)
    ctx: Context = field(default_factory=Context)
    firing: list[str] = field(default_factory=list)  # limit rules currently firing


@dataclass(slots=True)
class GlucoseHistory:
    t: list[int] = field(default_factory=list)  # sorted, epoch ms
    v: list[float] = field(default_factory=list)
    firing: list[str] = field(default_factory=list)
    days_done_ms: int = NEVER  # end of the last local day whose metrics were emitted


@dataclass(slots=True)
class History:
    vitals: dict[str, VitalHistory] = field(default_factory=dict)
    obs: dict[str, list[float]] = field(default_factory=dict)  # NEWS2 parameter -> [value, at_ms]
    news2_minute_ms: int = NEVER
    news2_firing: str | None = None
    spo2_scale: int = 1
    glucose: GlucoseHistory = field(default_factory=GlucoseHistory)


def _default(o: object) -> Any:
    if isinstance(o, set):
        return None  # dedup keys are rebuilt from dt and d
    raise TypeError(type(o).__name__)


def _window_json(ws: int, w: OpenWindow) -> list[list[int] | list[float]]:
    # Flags and device indexes are almost always all zero: sent as [] then.
    return [w.dt, w.v, w.f if any(w.f) else [], w.d if any(w.d) else []]


def encode(state: Live | History) -> bytes:
    if isinstance(state, History):
        return orjson.dumps(state, default=_default)
    vitals = {
        name: {"watermark_ms": vl.watermark_ms, "arrival_ms": vl.arrival_ms, "closed_before_ms": vl.closed_before_ms,
               "late": vl.late, "duplicates": vl.duplicates,
               "open": {str(ws): _window_json(ws, w) for ws, w in vl.open.items()}}
        for name, vl in state.vitals.items()
    }
    return orjson.dumps({"partition": state.partition, "devices": state.devices, "kinds": state.kinds,
                         "recent": state.recent, "vitals": vitals, "motion_ms": state.motion_ms,
                         "signal": state.signal, "sliding": state.sliding, "waves": state.waves,
                         "pulse": None if state.pulse is None else state.pulse.encode()})


def decode_live(raw: bytes) -> Live:
    j = orjson.loads(raw)
    vitals = {}
    for name, vl in j["vitals"].items():
        windows = {}
        for key, (dt, v, f, d) in vl["open"].items():
            ws = int(key)
            zeros = [0] * len(dt)
            ow = OpenWindow(dt, v, f or zeros, d or list(zeros))
            ow.keys = {(ws + x) * DEV_SLOTS + d for x, d in zip(dt, ow.d, strict=True)}
            windows[ws] = ow
        vitals[name] = VitalLive(vl["watermark_ms"], vl["arrival_ms"], vl["closed_before_ms"], vl["late"],
                                 vl["duplicates"], windows)
    sliding = {name: SlidingVital(sv["t"], sv["v"], sv["beyond"], sv["newest_ms"],
                                  {rule: Run(**run) for rule, run in sv["runs"].items()})
               for name, sv in j.get("sliding", {}).items()}
    return Live(j["partition"], j["devices"], j["kinds"], j["recent"], vitals, j["motion_ms"],
                {k: SignalClock(**c) for k, c in j["signal"].items()}, sliding, j.get("waves", {}),
                PulseWatch.decode(j.get("pulse")))


def _summary(j: dict[str, Any]) -> Summary:
    s = Summary(**j)
    s.mn = math.inf if j["mn"] is None else j["mn"]
    s.mx = -math.inf if j["mx"] is None else j["mx"]
    return s


def decode_history(raw: bytes) -> History:
    j = orjson.loads(raw)
    vitals = {}
    for name, vh in j["vitals"].items():
        minutes = [Minute(m["start_ms"], m["received"], m["rejected_by"], _summary(m["s"]), m["last_ms"])
                   for m in vh["minutes"]]
        c = vh["ctx"]
        vitals[name] = VitalHistory(minutes, Context(tuple(c["tail"]), c["run_value"], c["run_start_ms"]),
                                    vh["firing"])
    g = j["glucose"]
    return History(vitals, j["obs"], j["news2_minute_ms"], j["news2_firing"], j["spo2_scale"],
                   GlucoseHistory(g["t"], g["v"], g["firing"], g["days_done_ms"]))
