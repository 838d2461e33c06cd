"""The IO driver: a clock, the pure engine, and the fleet's MQTT connections.

Simulated time runs at ``speed`` times wall time from the plan's start.
Every tick the engine measures whatever fell due, live messages go out at
once, simulated network losses drop and later restore device links, and
devices that (re)connect announce themselves and upload their backlog.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from firmware_sim.engine import Engine
from firmware_sim.firmware import Outgoing, OutKind
from firmware_sim.mqtt_fleet import BrokerUnreachable, MqttFleet
from firmware_sim.plan import FleetPlan
from wire.messages import DeviceState


@dataclass(frozen=True, slots=True)
class RunOptions:
    speed: float = 1.0
    tick_s: float = 0.05
    progress_every_s: float = 2.0
    connect_timeout_s: float = 15.0
    drain_timeout_s: float = 15.0


@dataclass(frozen=True, slots=True)
class Progress:
    wall_s: float
    sim_s: float
    devices: int
    connected: int
    messages: int
    readings: int
    buffered: int
    dropped: int
    duplicates: int
    links_down: int
    reconnects: int
    unacked: int

    def line(self) -> str:
        return (
            f"sim {self.sim_s / 3600:6.2f} h | devices {self.connected}/{self.devices} connected"
            f" ({self.links_down} offline) | sent {self.messages} msgs, {self.readings} readings"
            f" | buffered {self.buffered} | dropped {self.dropped} | dup {self.duplicates}"
        )


DeviceCallback = Callable[[int], None]
# (on_connected, on_acked) -> the fleet: the runner owns the callbacks, the caller the connection details.
FleetFactory = Callable[[DeviceCallback, DeviceCallback], MqttFleet]


class SimRunner:
    def __init__(
        self, plan: FleetPlan, engine: Engine, fleet_factory: FleetFactory, options: RunOptions,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.plan = plan
        self.engine = engine
        self.opt = options
        self._on_progress = on_progress
        self._just_connected: list[int] = []
        self._ready: set[int] = set()
        self.fleet = fleet_factory(self._just_connected.append, self._acked)
        for d in plan.devices:
            topic, payload = engine.firmware(d.index).status(DeviceState.OFFLINE, None)
            self.fleet.add(d.device_id, topic, payload)
        self.messages = self.readings = self.duplicates = self.waveforms = 0
        self.links_down: set[int] = set()
        self._transitions: list[tuple[float, int, int, bool]] = []
        for d in plan.devices:
            for k, f in enumerate(d.outages):
                assert f.end_s is not None
                self._transitions.append((f.start_s, 2 * k, d.index, False))
                self._transitions.append((f.end_s, 2 * k + 1, d.index, True))
        heapq.heapify(self._transitions)
        self._wall0 = time.monotonic()
        self.sim_s = 0.0
        self._started = False
        # Worst delay between a measurement falling due and its message being handed to MQTT.
        self.max_send_delay_s = 0.0

    def _acked(self, index: int) -> None:
        fw = self.engine.firmware(index)
        fw.acked()
        if fw.buffered:
            self._ready.add(index)

    def _send(self, out: list[Outgoing]) -> None:
        for o in out:
            self.fleet.publish(o.device_index, o.topic, o.payload, data=True)
            if o.kind is OutKind.WAVEFORM:
                self.waveforms += 1
                continue
            self.messages += 1
            self.readings += o.readings
            self.duplicates += int(o.duplicate)

    def _links(self, now_s: float) -> None:
        while self._transitions and self._transitions[0][0] <= now_s:
            _, _, index, up = heapq.heappop(self._transitions)
            if up:
                self.links_down.discard(index)
                self.fleet.link_up(index)
            else:
                self.links_down.add(index)
                self.fleet.link_down(index)

    def _announce(self, flush: bool = False) -> None:
        while self._just_connected:
            i = self._just_connected.pop()
            if i in self.links_down:
                continue
            topic, payload = self.engine.firmware(i).status(DeviceState.ONLINE, self.sim_s, battery_pct=90.0)
            self.fleet.publish(i, topic, payload, data=False, retain=True)
            self._ready.add(i)
        ready, self._ready = self._ready, set()
        for i in ready:
            if self.fleet.is_connected(i):
                self._send(self.engine.collect(i, flush))

    def progress(self) -> Progress:
        return Progress(
            wall_s=time.monotonic() - self._wall0, sim_s=self.sim_s, devices=len(self.plan.devices),
            connected=self.fleet.connected_count(), messages=self.messages, readings=self.readings,
            buffered=self.engine.buffered(), dropped=self.engine.dropped(), duplicates=self.duplicates,
            links_down=len(self.links_down), reconnects=self.fleet.counters.connects, unacked=self.fleet.pending_data(),
        )

    def connect_all(self) -> None:
        """Bring every device online before the clock starts; fail in one line if none can."""
        self._links(0.0)
        deadline = time.monotonic() + self.opt.connect_timeout_s
        wanted = len(self.plan.devices) - len(self.links_down)
        while self.fleet.connected_count() < wanted:
            refused_all = all(c.refused and c.refused_by_broker for c in self.fleet.conns)
            if time.monotonic() > deadline or (refused_all and self.fleet.connected_count() == 0):
                refused = next((c for c in self.fleet.conns if c.refused), None)
                if self.fleet.connected_count() == 0:
                    why = f"device {refused.device_id}: {refused.refused}" if refused else "no CONNACK"
                    raise BrokerUnreachable(f"MQTT broker at {self.fleet.url} did not accept the devices ({why})")
                break
            self.fleet.connect_due()
            self.fleet.poll(0.02)
        # Announced (online status, first messages) when the clock starts.
        self._just_connected[:] = [i for i in range(len(self.plan.devices)) if self.fleet.is_connected(i)]

    def start(self) -> None:
        """Connect the fleet and start the simulated clock (run() does this if not done)."""
        if not self._started:
            self.connect_all()
            self._wall0 = time.monotonic()
            self._started = True

    def run(self, stop: threading.Event) -> Progress:
        self.start()
        duration = self.plan.duration_s
        last_progress = 0.0
        while not stop.is_set():
            now_s = (time.monotonic() - self._wall0) * self.opt.speed
            if duration is not None:
                now_s = min(now_s, duration)
            self.sim_s = now_s
            self._links(now_s)
            self._send(self.engine.advance(now_s, self.fleet.is_connected))
            self.max_send_delay_s = max(self.max_send_delay_s, time.monotonic() - self._wall0 - now_s / self.opt.speed)
            self._announce()
            self.fleet.connect_due()
            self.fleet.poll(self.opt.tick_s)
            if self._on_progress and time.monotonic() - last_progress >= self.opt.progress_every_s:
                last_progress = time.monotonic()
                self._on_progress(self.progress())
            if duration is not None and now_s >= duration:
                break
        self._drain(stop)
        return self.progress()

    def _drain(self, stop: threading.Event) -> None:
        """Wait (bounded) for PUBACKs and for buffered readings of connected devices to go out."""
        deadline = time.monotonic() + self.opt.drain_timeout_s
        self._ready.update(range(len(self.plan.devices)))
        while time.monotonic() < deadline:
            self._announce(flush=True)
            waiting = self.fleet.pending_data()
            backlog = any(self.engine.firmware(i).buffered and self.fleet.is_connected(i)
                          for i in range(len(self.plan.devices)))
            if not waiting and not backlog:
                break
            self.fleet.poll(0.02)

    def shutdown(self) -> None:
        """Say offline (retained) and disconnect cleanly, then label what is still under way."""
        for i in range(len(self.plan.devices)):
            if self.fleet.is_connected(i):
                topic, payload = self.engine.firmware(i).status(DeviceState.OFFLINE, self.sim_s)
                self.fleet.publish(i, topic, payload, data=False, retain=True)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and self.fleet.counters.acked < self.fleet.counters.published:
            self.fleet.poll(0.02)
        self.fleet.close()
        self.engine.finish()
