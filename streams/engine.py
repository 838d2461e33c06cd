"""The stream core: one reading batch, or one wall-clock tick, for one patient (pure).

``process`` and ``tick`` take the patient's state and explicit times (event
times from the readings, arrival from the bridge's ``received_at``, wall time
from the tick record) and return what to publish. They never read a clock,
so replaying the same records over recovered state gives the same outputs
with the same candidate ids.

Order inside ``process``: message-level dedup (device, seq, sent_at) ->
waveform snippets to heart rate -> each reading to its window (reading-level
dedup, late count) or, for air/oxygen and ACVPU, to the NEWS2 observations
-> real-time (sliding median) limit alarms -> no-pulse watch of a bedside
monitor -> signal-loss clock -> glucose analytics -> close windows due by
event time.
"""

from __future__ import annotations

from streams import (
    glucose_stream,
    no_pulse,
    signal_loss,
    sliding_alarms,
    waveform_stream,
    windows,
)
from streams.batch import Batch, Samples, from_model
from streams.candidates import Outputs
from streams.config import CoreConfig
from streams.quality import MOTION_BITS, PROBE_OFF_BITS
from streams.sliding_alarms import SLIDING_VITALS
from streams.state import History, Live, SlidingVital
from streams.vitals import NEWS2_PARAMETER, OBSERVATIONS, VITALS
from wire.messages import DeviceKind, ReadingBatch
from wire.units import UNITS, ReadingType

GLUCOSE = ReadingType.GLUCOSE


def _device(live: Live, batch: Batch) -> tuple[int, str]:
    try:
        dev = live.devices.index(batch.device_id)
    except ValueError:
        dev = len(live.devices)
        live.devices.append(batch.device_id)
        live.kinds.append("")
    if batch.device_kind is not None:
        live.kinds[dev] = batch.device_kind
    elif not live.kinds[dev]:
        # Not told by the bridge: a glucose-only device is a CGM; anything else
        # gets the strictest (bedside) timeout rather than none.
        only_glucose = bool(batch.groups) and all(rt is GLUCOSE for rt in batch.groups)
        live.kinds[dev] = (DeviceKind.CGM if only_glucose else DeviceKind.BEDSIDE_MONITOR).value
    return dev, live.kinds[dev]


def _any_valid(rt: ReadingType, g: Samples) -> bool:
    """Any sample valid at arrival for the signal-loss clock: plausible, not zero, not probe-off."""
    unit = UNITS[rt]
    lo, hi = unit.plausible_min, unit.plausible_max
    if not g.flagged:
        return any(v != 0 and lo <= v <= hi for v in g.v)
    return any(v != 0 and not b & PROBE_OFF_BITS and lo <= v <= hi for v, b in zip(g.v, g.bits, strict=True))


def process(
    live: Live, hist: History, batch: Batch | ReadingBatch, partition: int, cfg: CoreConfig, seen_tick_ms: int = 0
) -> Outputs:
    """``seen_tick_ms``: newest tick time the worker saw on this partition. A lagging
    worker must not treat a batch it is only now processing as long quiet."""
    if isinstance(batch, ReadingBatch):
        batch = from_model(batch)
    out = Outputs(live_dirty=True)
    pid = batch.patient_id
    live.partition = partition
    sent_ms, arrival_ms = batch.sent_ms, max(batch.received_ms, seen_tick_ms)
    recent = live.recent.setdefault(batch.device_id, [])
    if [batch.seq, sent_ms] in recent:
        out.duplicate_batch, out.live_dirty = True, False
        return out
    recent.append([batch.seq, sent_ms])
    del recent[:-cfg.recent_messages]
    dev, kind = _device(live, batch)
    if batch.spo2_scale is not None and batch.spo2_scale != hist.spo2_scale:
        hist.spo2_scale = batch.spo2_scale
        out.hist_dirty = True

    lateness = windows.lateness_of(pid, cfg)
    pulse = no_pulse.watch_for(live, kind)
    bedside = kind == no_pulse.BEDSIDE
    if batch.waveforms:
        # Heart rate from the snippets joins the batch's HR readings (windows and real-time alarms alike).
        wave_pulse_ms, asystole_ms = waveform_stream.add_heart_rate(live, batch, out)
        if pulse is not None:
            no_pulse.observe_waveform(pulse, wave_pulse_ms, asystole_ms, bedside, dev)
    any_valid = False
    glucose: list[tuple[int, float]] = []
    # One reading type at a time (order only matters within a type, see streams.batch).
    for rt, g in batch.groups.items():
        if g.flagged:
            live.motion_ms.extend(t for t, b in zip(g.t, g.bits, strict=True) if b & MOTION_BITS)
        if rt in OBSERVATIONS:
            param = NEWS2_PARAMETER[rt].value
            for t_ms, value in zip(g.t, g.v, strict=True):
                if (old := hist.obs.get(param)) is None or old[1] <= t_ms:
                    hist.obs[param] = [value, float(t_ms)]
                    out.hist_dirty = True
            any_valid = True
            continue
        if not any_valid:
            any_valid = _any_valid(rt, g)
        if pulse is not None:
            no_pulse.observe(pulse, rt, g, bedside, dev)
        if rt not in VITALS:
            # A patch's skin temperature and activity level: stored by the sink and
            # shown in trends, but no vital windows, limits or scores of their own.
            continue
        out.accepted += windows.add_many(live, rt.value, g, dev, arrival_ms, lateness)
        if rt is GLUCOSE:
            unit = UNITS[rt]
            glucose += [(t, v) for t, v, b in zip(g.t, g.v, g.bits, strict=True)
                        if not b and v != 0 and unit.plausible_min <= v <= unit.plausible_max]
    # Real-time limit alarms after every group is in: motion flags of the whole batch are known.
    for rt in SLIDING_VITALS & batch.groups.keys():
        sv = live.sliding.get(rt.value)
        if sv is None:
            sv = live.sliding[rt.value] = SlidingVital()
        sliding_alarms.add_samples(pid, sv, rt, batch.groups[rt], live.motion_ms, hist.spo2_scale, batch.device_id,
                                   cfg, out)
    if pulse is not None:
        no_pulse.evaluate(pid, pulse, live.devices, cfg, out)
    if any_valid:
        signal_loss.on_data(pid, live, kind, arrival_ms, out)
    if glucose:
        glucose_stream.add_readings(pid, hist, glucose, cfg, out)
    if live.motion_ms:
        newest = max(live.motion_ms)
        live.motion_ms = [m for m in live.motion_ms if m >= newest - cfg.motion_keep_ms]
    windows.advance(live)
    windows.close_due(pid, live, hist, None, cfg, out)
    return out


def tick(pid: str, live: Live, hist: History, now_ms: int, cfg: CoreConfig) -> Outputs:
    """Wall-clock work: close windows of quiet sensors, signal loss, daily glucose metrics."""
    out = Outputs()
    windows.close_due(pid, live, hist, now_ms, cfg, out)
    if out.hist_dirty:
        out.live_dirty = True
    signal_loss.on_tick(pid, live, now_ms, cfg, out)
    glucose_stream.close_days(hist, now_ms, cfg, out)
    return out
