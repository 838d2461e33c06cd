"""No pulse / asystole-like signal loss on a bedside monitor: a high-priority physiological alarm (pure).

A monitor that stops reporting a heart rate while it keeps sending channels
that do not need a pulse is the central-station picture of an asystole or a
pulseless rhythm (IEC 60601-2-27: asystole is a high-priority condition
raised within 10 s). It must not be confused with the two technical
pictures that look alike in the numbers:

- probe off / lead off: the device flags the samples (``probe_off``) or
  reports zeros (the bridge dead-letters HR 0 as implausible, so at this
  point a zero is simply an absent HR). Any flagged bedside sample since the
  last pulse restarts the count: a flag says the sensor, not the patient, is
  the problem (streams.signal_loss and the alert service's technical rules
  report it);
- the whole monitor silent: no attachment evidence either, so nothing here
  fires; streams.signal_loss raises ``monitor_no_signal`` after the bedside
  timeout (technical, "no signal, check patient").

Evidence, per patient, in event time (measurement time):

``pulse``
    a valid heart rate (numeric, or from PPG/ECG snippets, any of the
    patient's devices), a valid SpO2 or non-invasive pressure: pulse
    oximetry and oscillometry both measure the pulse itself, so a plausible
    unflagged value from them means the patient has one (the same argument
    as the PPG/ECG fusion in streams.hr_fusion: a pulse refutes asystole).
    A PPG window with pulses but no usable rate counts too. A value flagged
    low perfusion still reports a (weak) pulse: it counts as one, never as
    a block (a false "no pulse" is the costlier error here).
``attached``
    from the bedside monitor: a valid unflagged respiration rate (impedance
    pneumography runs over the ECG electrodes, so it shows the leads are
    on) or temperature, or an ECG window of a live trace with no QRS for
    >= 4 s that no pulse refuted (streams.ecg: the PhysioNet/CinC 2015
    asystole criterion). A perfectly flat trace is "lead off" there, not
    asystole, and gives no evidence of its own.
``blocked``
    a bedside sample flagged probe off, motion, artifact or calibrating.

The condition holds once attachment evidence reaches ``onset_delay_s``
(wire.rules.CATALOG, 10 s) past the later of the last pulse and the last
block flag: one missing HR sample among 1-Hz readings cannot fire it. It
clears at the next pulse sample. While it holds, a firing candidate every
``sliding_reannounce_ms`` (none while blocked: the sensor is in doubt,
and a clear would claim a pulse nobody saw).
"""

from __future__ import annotations

from streams import stats
from streams.batch import Samples
from streams.candidates import CLEAR, FIRING, Outputs, candidate
from streams.config import CoreConfig
from streams.quality import DEVICE_BITS, FLAG_BIT, PROBE_OFF_BITS
from streams.state import NEVER, Live, PulseWatch
from wire.messages import CandidateQuality, DeviceKind, QualityFlag
from wire.rules import Rule, sliding_delay_ms
from wire.units import UNITS, ReadingType

RT = ReadingType
PULSE_TYPES = frozenset({RT.HEART_RATE, RT.SPO2, RT.BP_SYSTOLIC, RT.BP_DIASTOLIC})
ATTACHED_TYPES = frozenset({RT.RESP_RATE, RT.TEMPERATURE})
LOW_PERFUSION_BIT = FLAG_BIT[QualityFlag.LOW_PERFUSION]
BLOCK_BITS = PROBE_OFF_BITS | (DEVICE_BITS & ~LOW_PERFUSION_BIT)
BEDSIDE = DeviceKind.BEDSIDE_MONITOR.value


def watch_for(live: Live, kind: str) -> PulseWatch | None:
    """The patient's watch, started by the first bedside-monitor batch; None while there is none."""
    if live.pulse is None and kind == BEDSIDE:
        live.pulse = PulseWatch()
    return live.pulse


def _newest_valid(rt: ReadingType, g: Samples, skip_bits: int) -> int:
    unit = UNITS[rt]
    lo, hi = unit.plausible_min, unit.plausible_max
    if len(g.t) == 1:  # a 1-Hz monitor's batch: one sample per type, the hot path
        v = g.v[0]
        return g.t[0] if v != 0 and lo <= v <= hi and not (g.flagged and g.bits[0] & skip_bits) else NEVER
    if not g.flagged:
        return max((t for t, v in zip(g.t, g.v, strict=True) if v != 0 and lo <= v <= hi), default=NEVER)
    return max((t for t, v, b in zip(g.t, g.v, g.bits, strict=True) if not b & skip_bits and v != 0 and lo <= v <= hi),
               default=NEVER)


def observe(pw: PulseWatch, rt: ReadingType, g: Samples, bedside: bool, dev: int) -> None:
    """Take one batch's samples of one reading type as evidence."""
    if rt in PULSE_TYPES:
        pw.pulse_ms = max(pw.pulse_ms, _newest_valid(rt, g, BLOCK_BITS))
    elif bedside and rt in ATTACHED_TYPES:
        t = _newest_valid(rt, g, ~0)  # any flag: not evidence that the monitor is attached
        if t > pw.attached_ms:
            pw.attached_ms, pw.device = t, dev
    if bedside and g.flagged:
        pw.blocked_ms = max(pw.blocked_ms, max((t for t, b in zip(g.t, g.bits, strict=True) if b & BLOCK_BITS),
                                               default=NEVER))


def observe_waveform(pw: PulseWatch, pulse_ms: int, asystole_ms: int, bedside: bool, dev: int) -> None:
    """Snippet evidence: newest window end with a pulse, newest asystole-like ECG window end (NEVER: none)."""
    pw.pulse_ms = max(pw.pulse_ms, pulse_ms)
    if bedside and asystole_ms > pw.attached_ms:
        pw.attached_ms, pw.device = asystole_ms, dev


def _delay_ms() -> int:
    delay = sliding_delay_ms(Rule.NO_PULSE)
    assert delay is not None
    return delay


DELAY_MS = _delay_ms()  # a constant of the rule catalog, read once: evaluate runs for every bedside batch


def evaluate(pid: str, pw: PulseWatch, devices: list[str], cfg: CoreConfig, out: Outputs) -> None:
    """After a batch's evidence is in: fire, re-announce or clear (event time = newest attachment evidence)."""
    delay = DELAY_MS
    if not pw.firing and pw.attached_ms - max(pw.pulse_ms, pw.blocked_ms) < delay:
        return  # the usual batch: a pulse within the last 10 s
    device_id = devices[pw.device] if 0 <= pw.device < len(devices) else None
    if pw.firing:
        if pw.pulse_ms > pw.onset_ms:
            at = pw.pulse_ms
            out.candidates.append(candidate(
                pid, Rule.NO_PULSE, CLEAR, (at, at), at, "pulse back: heart rate / pulse reading resumed",
                parameter=RT.HEART_RATE, device_id=device_id, evidence={"basis": "no_pulse"},
            ))
            pw.firing, pw.onset_ms, pw.emitted_ms = False, NEVER, NEVER
            out.live_dirty = True
            return
        now = pw.attached_ms
        if pw.blocked_ms > now - delay or now < pw.emitted_ms + cfg.sliding_reannounce_ms:
            return
        _fire(pid, pw, (pw.emitted_ms, now), now, delay, device_id, out)
        return
    if pw.pulse_ms == NEVER or pw.attached_ms == NEVER:
        return  # no pulse seen yet: nothing lost, and no onset to count from
    start = max(pw.pulse_ms, pw.blocked_ms)
    if pw.attached_ms - start < delay:
        return
    pw.firing, pw.onset_ms = True, pw.pulse_ms
    _fire(pid, pw, (pw.pulse_ms, pw.attached_ms), pw.attached_ms, delay, device_id, out)


def _fire(pid: str, pw: PulseWatch, window: tuple[int, int], now: int, delay: int, device_id: str | None,
          out: Outputs) -> None:
    pw.emitted_ms = now
    out.live_dirty = True
    absent_s = (now - pw.onset_ms) / 1000
    out.candidates.append(candidate(
        pid, Rule.NO_PULSE, FIRING, window, now,
        f"no pulse: no heart rate for {absent_s:.0f} s while the bedside monitor stays attached",
        # No value: a number beside "heart rate" would read as a rate; the seconds without one are evidence.
        parameter=RT.HEART_RATE, severity=absent_s - delay / 1000,
        device_id=device_id, quality=CandidateQuality(device_kind=DeviceKind.BEDSIDE_MONITOR),
        evidence={"onset_delay_s": delay / 1000, "basis": "no_pulse", "absent_s": absent_s,
                  "last_pulse_at": stats.to_dt(pw.onset_ms).isoformat(),
                  "onset_at": stats.to_dt(pw.onset_ms).isoformat()},
    ))
