"""Run the pure engine over a plan with an ideal or outage-aware link, and index its output."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from firmware_sim import scenario as scenarios
from firmware_sim.engine import Engine
from firmware_sim.firmware import Outgoing, OutKind
from firmware_sim.plan import FleetPlan, build
from firmware_sim.scenario import Scenario

START = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)  # 20:00 in Ha Noi (+07:00)


@dataclass
class Run:
    plan: FleetPlan
    engine: Engine
    messages: list[Outgoing] = field(default_factory=list)

    def readings(self, device_id: str | None = None) -> list[dict]:
        """Every reading sent (device clock times as ISO strings), with its device and seq."""
        out = []
        for m in self.messages:
            if m.kind is not OutKind.TELEMETRY or m.duplicate:
                continue
            msg = json.loads(m.payload)
            if device_id is not None and msg["device_id"] != device_id:
                continue
            for r in msg["readings"]:
                out.append({**r, "device_id": msg["device_id"], "seq": msg["seq"]})
        return out

    def series(self, device_id: str, rtype: str) -> list[tuple[float, float]]:
        """(seconds from start by the device clock, value) for one reading type."""
        return [
            ((datetime.fromisoformat(r["t"]) - self.plan.start).total_seconds(), r["value"])
            for r in self.readings(device_id) if r["type"] == rtype
        ]

    def by_type(self) -> dict[str, list[float]]:
        acc: dict[str, list[float]] = defaultdict(list)
        for r in self.readings():
            acc[r["type"]].append(r["value"])
        return acc


def with_devices(s: Scenario, **bedside: object) -> Scenario:
    """A copy with other bedside monitor settings (tests sample less often to stay fast)."""
    dev = s.devices.model_copy(update={"bedside_monitor": s.devices.bedside_monitor.model_copy(update=bedside)})
    return s.model_copy(update={"devices": dev})


def run(s: Scenario | str, seconds: float, *, seed: int = 1, patients: int | None = None, step: float = 60.0,
        honour_outages: bool = True) -> Run:
    sc = scenarios.load(s) if isinstance(s, str) else s
    plan = build(sc, seed, scenarios.start_time(sc, START, 1.0, None), patients, seconds)
    eng = Engine(plan)
    r = Run(plan, eng)
    outages = {d.index: [(f.start_s, f.end_s) for f in d.outages] for d in plan.devices}
    t = 0.0

    def link_up(i: int) -> bool:
        # An ideal broker: everything sent earlier has been acknowledged by now.
        fw = eng.firmware(i)
        while fw.inflight:
            fw.acked()
        return not honour_outages or not any(a <= t < b for a, b in outages[i])

    was_up = {i: True for i in outages}
    while t < seconds:
        t = min(t + step, seconds)
        out = eng.advance(t, link_up)
        for i in outages:  # a device whose link came back uploads its backlog
            up = link_up(i)
            if up and not was_up[i]:
                out += eng.collect(i)
            was_up[i] = up
        while out:
            r.messages += out
            out = [m for i in sorted({m.device_index for m in out}) if link_up(i) for m in eng.collect(i)]
    eng.finish()
    return r
