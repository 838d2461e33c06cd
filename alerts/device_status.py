"""Device status (``rpm.device-status.v1``) as evaluations of technical alarm conditions (pure core).

A status message reports a change (online/offline, the battery level); the
conditions it drives are edge-triggered (``SuppressionPolicy.edge``): an
offline device becomes an alarm when it stayed offline for the rule's delay,
checked by the timer, not by a next message that may never come.

Battery: low below ``low_pct``; it clears only at ``low_pct + hysteresis_pct``
or more, so a reading hovering at the limit does not flap.
"""

from __future__ import annotations

from datetime import datetime

from alerts.suppression import Evaluation
from wire.messages import AlertCandidate, DeviceState, DeviceStatus
from wire.rules import CATALOG, Rule


def evaluations(
    status: DeviceStatus, patient_id: str, received_at: datetime, low_pct: float = 20.0, hysteresis_pct: float = 5.0
) -> list[Evaluation]:
    # The broker's last will carries no time: it was published when the broker noticed.
    t = status.at or received_at
    offline = status.state is DeviceState.OFFLINE
    out = [_ev(patient_id, status.device_id, Rule.DEVICE_OFFLINE, t, offline, None, 0.0,
               f"device {status.device_id} {'offline' if offline else 'online'}")]
    pct = status.battery_pct
    if pct is not None and not offline:
        if pct < low_pct:
            out.append(_ev(patient_id, status.device_id, Rule.LOW_BATTERY, t, True, pct, low_pct - pct,
                           f"device {status.device_id} battery {pct:g} % (below {low_pct:g} %)"))
        elif pct >= low_pct + hysteresis_pct:
            out.append(_ev(patient_id, status.device_id, Rule.LOW_BATTERY, t, False, pct, 0.0,
                           f"device {status.device_id} battery {pct:g} %"))
    return out


def _ev(
    patient_id: str, device_id: str, rule: Rule, t: datetime, firing: bool, value: float | None, severity: float,
    message: str,
) -> Evaluation:
    return Evaluation(
        candidate_id=AlertCandidate.make_id(patient_id, f"{rule.value}|{device_id}", t),
        patient_id=patient_id, rule=rule.value, firing=firing, severity=severity, priority=CATALOG[rule].priority,
        value=value, window_start=t, window_end=t, device_id=device_id, message=message, source=device_id,
    )
