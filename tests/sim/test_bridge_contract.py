"""What the fleet publishes is what the bridge accepts, except the faults labelled to be rejected."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from firmware_sim import scenario as scenarios
from firmware_sim.firmware import OutKind
from ingest.validate import Limits, validate_telemetry
from storage.registry import AssignmentSnapshot, Interval
from tests.sim.helpers import run, with_devices
from wire.messages import Waveform
from wire.topics import telemetry_topic


def test_bridge_validation_accepts_the_stream() -> None:
    s = with_devices(scenarios.load("mixed-ward"), interval=5.0)
    s = s.model_copy(update={"devices": s.devices.model_copy(update={
        "wearable_patch": s.devices.wearable_patch.model_copy(update={"ppg_every": 600.0})})})
    r = run(s, 3600, seed=3, patients=20, step=60)
    plan = r.plan
    since = plan.start - timedelta(days=1)
    snapshot = AssignmentSnapshot(
        frozenset(d.device_id for d in plan.devices),
        {d.device_id: (Interval(plan.patients[d.patient_index].patient_id, since, None),) for d in plan.devices},
    )
    zero_modes = any(lb.type == "probe_off" and lb.detail.get("mode") == "zeros" for lb in r.engine.labels.labels)
    end = plan.start + timedelta(seconds=r.engine.now_s)
    accepted = 0
    reasons: Counter[str] = Counter()
    waveforms = 0
    for m in r.messages:
        d = plan.devices[m.device_index]
        if m.kind is OutKind.WAVEFORM:
            Waveform.model_validate_json(m.payload)
            waveforms += 1
            continue
        # Checked at the end of the run with the bridge's default limits (5 min future skew, 7 days late).
        out = validate_telemetry(telemetry_topic(d.device_id), m.payload, end, snapshot, Limits())
        accepted += sum(len(b.readings) for b in out.batches)
        reasons.update(x.reason.value for x in out.dead)
        for b in out.batches:
            assert b.patient_id == plan.patients[d.patient_index].patient_id
    assert accepted > 10000 and waveforms > 0
    # Only a probe reporting zeros is rejected (implausible), and only when the scenario made one.
    assert set(reasons) <= ({"implausible_value"} if zero_modes else set()), reasons
