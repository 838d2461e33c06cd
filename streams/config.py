"""Configuration of the stream core (plain data; the worker builds it from StreamSettings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from streams.news2 import News2Validity
from wire.messages import DeviceKind

MIN = 60_000


def _continuous_validity() -> News2Validity:
    # Monitored vitals are 5-minute medians, valid for 5 minutes; spot values
    # (NIBP, temperature) and nurse observations (air/oxygen, ACVPU) for the
    # RCP minimum monitoring interval of a low score band (4-6 h is the chart's
    # minimum for 1-4; 1 h keeps an unreviewed score from looking complete).
    five, hour = timedelta(minutes=5), timedelta(hours=1)
    return News2Validity(resp_rate=five, spo2=five, pulse=five, systolic_bp=hour, temperature=hour,
                         air_or_oxygen=timedelta(hours=4), consciousness=timedelta(hours=4))


@dataclass(frozen=True, slots=True)
class CoreConfig:
    allowed_lateness_ms: int = 10_000
    # Each patient's windows close up to this much later than allowed_lateness_ms (a fixed
    # offset from the patient id, windows.lateness_of): otherwise every patient's minute closes
    # at the same second, a burst of window statistics and NEWS2 that held up the real-time
    # alarms queued behind it by seconds at ward scale. 0 in the pure core's default (tests).
    close_spread_ms: int = 0
    # Wall clock closes a window once its end + lateness has passed AND the
    # vital has been quiet this long (so a backlog upload is not cut up).
    idle_close_ms: int = 10_000
    sliding_ms: int = 15 * MIN
    news2_median_ms: int = 5 * MIN
    news2_validity: News2Validity = field(default_factory=_continuous_validity)
    # NEWS2 candidates need this many scored parameters (a bedside monitor's
    # HR, SpO2 and RR); the score itself is always published, marked incomplete.
    news2_min_scored: int = 3
    # Signal loss after this silence per device kind (0 = never). A bedside monitor watches a patient
    # who needs continuous monitoring: 10 s without valid data is "no signal, check patient"
    # (wire.rules MONITOR_NO_SIGNAL); home devices drop out for minutes as a matter of course.
    signal_loss_ms: dict[DeviceKind, int] = field(default_factory=lambda: {
        DeviceKind.BEDSIDE_MONITOR: 10_000,
        DeviceKind.WEARABLE: 5 * MIN,
        DeviceKind.CGM: 20 * MIN,
        DeviceKind.SPOT_CHECK: 0,
    })
    signal_loss_give_up_ms: int = 24 * 60 * MIN  # stop re-firing for a device long gone
    glucose_interval_s: float = 300.0  # CGM sampling interval (coverage, episodes)
    glucose_history_ms: int = 26 * 60 * MIN  # a full local day plus the late-data grace
    glucose_episode_lookback_ms: int = 6 * 60 * MIN
    glucose_day_utc_offset_ms: int = 7 * 60 * MIN  # local day of Vietnam (UTC+7)
    glucose_day_grace_ms: int = 60 * MIN
    motion_keep_ms: int = 3 * MIN
    # Sliding-path alarms (streams.sliding_alarms; onset delays per rule in wire.rules.CATALOG).
    sliding_median_n: int = 5  # median of the last 5 good samples: 1-2 spikes cannot move it
    sliding_min_samples: int = 3
    sliding_max_gap_ms: int = 10_000  # longer without a good sample: persistence starts again
    sliding_reannounce_ms: int = 30_000  # a firing candidate this often while the condition holds
    recent_messages: int = 32  # per device, for message-level dedup
