"""Signal loss: no valid reading from a patient's device kind for too long (pure).

The clock runs on arrival (bridge receive time), not measurement time: a
home device uploading a backlog is talking again. Evaluated on every tick:
``signal_loss`` fires (at most once per minute while it holds) once the
silence reaches the device kind's timeout, and clears at the next batch
carrying a valid reading. After ``signal_loss_give_up_ms`` the clock is
dropped: a device that has been silent for a day was removed, and the
alert service already holds the alarm.

A bedside monitor's silence is its own rule, ``monitor_no_signal`` ("no
signal, check patient"), after a short timeout (10 s by default): the
patient it watches needs continuous monitoring, and the silence may be the
patient (a monitor that reports only zeros after an arrest is, after the
bridge's plausibility check, as silent as one that lost its network). Home
devices keep ``signal_loss`` with timeouts of minutes (docs/alarms.md).

A bedside source need not be a 1-Hz monitor: an HL7 gateway may deliver a
bed's numerics once a minute. Its silence counts from three missed
deliveries of its own cadence (the median of the last 5 gaps between
arrivals: one outage or one burst cannot move it), never less than the
bedside timeout: 10 s for a 1-Hz monitor, 3 min for a 1-minute feed,
instead of an alarm every minute. Until a second delivery shows the
cadence, the bedside timeout applies.
"""

from __future__ import annotations

from streams import stats
from streams.candidates import CLEAR, FIRING, Outputs, candidate
from streams.config import CoreConfig
from streams.state import NEVER, Live, SignalClock
from wire.messages import CandidateQuality, DeviceKind
from wire.rules import Rule

CADENCE_FACTOR = 3
CADENCE_GAPS = 5
BEDSIDE = DeviceKind.BEDSIDE_MONITOR.value


def rule_for(kind: str) -> Rule:
    return Rule.MONITOR_NO_SIGNAL if kind == BEDSIDE else Rule.SIGNAL_LOSS


def on_data(pid: str, live: Live, kind: str, arrival_ms: int, out: Outputs) -> None:
    c = live.signal.get(kind)
    if c is None:
        c = live.signal[kind] = SignalClock()
    if arrival_ms > c.last_valid_ms:
        if c.last_valid_ms != NEVER and kind == BEDSIDE:
            c.gaps.append(arrival_ms - c.last_valid_ms)
            del c.gaps[:-CADENCE_GAPS]
        c.last_valid_ms = arrival_ms
    if c.firing:
        c.firing = False
        minute = arrival_ms - arrival_ms % stats.MINUTE_MS
        out.candidates.append(candidate(
            pid, rule_for(kind), CLEAR, (minute, arrival_ms), arrival_ms,
            f"{kind}: data resumed", qualifier=kind, quality=CandidateQuality(device_kind=DeviceKind(kind)),
        ))


def on_tick(pid: str, live: Live, now_ms: int, cfg: CoreConfig, out: Outputs) -> None:
    for kind, c in list(live.signal.items()):
        timeout = cfg.signal_loss_ms.get(DeviceKind(kind), 0)
        if not timeout or c.last_valid_ms == NEVER:
            continue
        if c.gaps:
            timeout = max(timeout, CADENCE_FACTOR * sorted(c.gaps)[len(c.gaps) // 2])
        silent = now_ms - c.last_valid_ms
        if silent >= cfg.signal_loss_give_up_ms:
            del live.signal[kind]
            out.live_dirty = True
            continue
        minute = now_ms - now_ms % stats.MINUTE_MS
        if silent < timeout or (c.firing and minute <= c.emitted_minute_ms):
            continue
        c.firing, c.emitted_minute_ms = True, minute
        out.live_dirty = True
        rule = rule_for(kind)
        check = ": check patient" if rule is Rule.MONITOR_NO_SIGNAL else ""
        out.candidates.append(candidate(
            pid, rule, FIRING, (minute, now_ms), now_ms,
            f"no valid {kind} data for {silent / 1000:.0f} s (limit {timeout / 1000:.0f} s){check}",
            qualifier=kind, value=silent / 1000, threshold=timeout / 1000, severity=(silent - timeout) / 1000,
            quality=CandidateQuality(device_kind=DeviceKind(kind)),
            evidence={"last_valid_at": stats.to_dt(c.last_valid_ms).isoformat()},
        ))
