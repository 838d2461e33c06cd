"""Real-time limit alarms: raised within 15 s of onset, with artifact rejection intact (pure core, 1 Hz batches)."""

from __future__ import annotations

from streams.candidates import CLEAR, FIRING
from streams.state import decode_live, encode
from tests.streams.helpers import Patient, at, batch, r, wobble
from wire.messages import QualityFlag
from wire.rules import CATALOG, EvaluatedBy, Rule
from wire.units import ReadingType as RT

HR, SPO2, RR = RT.HEART_RATE, RT.SPO2, RT.RESP_RATE
MOTION, PROBE_OFF = QualityFlag.MOTION, QualityFlag.PROBE_OFF


def monitor(p: Patient, start: int, end: int, hr: dict[int, float] | None = None, spo2: dict[int, float] | None = None,
            flags: dict[int, QualityFlag] | None = None) -> None:
    """One batch per second (as a bedside monitor publishes), HR/SpO2/RR, overrides per second."""
    for s in range(start, end):
        f = (flags or {}).get(s)
        extra = (f,) if f else ()
        p.feed([r(HR, s, (hr or {}).get(s, 75 + wobble(s, 2)), *extra),
                r(SPO2, s, (spo2 or {}).get(s, 97 + wobble(s))), r(RR, s, 16 + wobble(s))])


def fired(p: Patient, rule: str) -> list:  # type: ignore[type-arg]
    return [c for c in p.candidates if c.rule == rule and c.status is FIRING]


def test_every_high_priority_vital_limit_is_on_the_sliding_path_within_15_s() -> None:
    for rule in (Rule.HEART_RATE_HIGH, Rule.HEART_RATE_LOW, Rule.SPO2_LOW, Rule.RESP_RATE_LOW):
        spec = CATALOG[rule]
        assert spec.evaluation is EvaluatedBy.SLIDING and spec.onset_delay_s is not None
        assert spec.onset_delay_s <= 10 and spec.delay_source  # leaves >= 5 s for the pipeline


def test_tachycardia_is_raised_within_15_s_of_onset() -> None:
    p = Patient()
    onset = 30
    monitor(p, 0, 90, hr={s: 145 + wobble(s, 2) for s in range(onset, 90)})
    c = fired(p, "heart_rate_high")[0]
    assert c.window_start == at(onset)  # onset = first abnormal sample, not when the median turned
    assert (c.detected_at - at(onset)).total_seconds() == 10
    assert c.priority.value == "high" and c.evidence["onset_delay_s"] == 10


def test_desaturation_and_bradycardia_use_their_own_delays() -> None:
    p = Patient()
    monitor(p, 0, 60, hr={s: 35 for s in range(20, 60)}, spo2={s: 85 for s in range(20, 60)})
    assert (fired(p, "heart_rate_low")[0].detected_at - at(20)).total_seconds() == 8
    assert (fired(p, "spo2_low")[0].detected_at - at(20)).total_seconds() == 10


def test_spikes_of_one_or_two_samples_never_fire() -> None:
    p = Patient()
    spikes = {s: 210.0 for s in range(120) if s % 10 in (3, 4)}  # two-sample spikes every 10 s
    monitor(p, 0, 120, hr=spikes, spo2={s: 70.0 for s in range(120) if s % 15 == 7})
    assert fired(p, "heart_rate_high") == [] and fired(p, "spo2_low") == []


def test_flagged_and_probe_off_samples_are_no_evidence() -> None:
    p = Patient()
    # Motion-flagged tachycardia for 40 s, then probe-off zeros: neither may fire.
    flags = {s: MOTION for s in range(10, 50)} | {s: PROBE_OFF for s in range(50, 70)}
    hr = {s: 150.0 for s in range(10, 50)} | {s: 0.0 for s in range(50, 70)}
    monitor(p, 0, 70, hr=hr, flags=flags)
    assert fired(p, "heart_rate_high") == [] and fired(p, "heart_rate_low") == []


def test_spo2_dip_during_motion_is_an_artifact() -> None:
    p = Patient()
    monitor(p, 0, 60, spo2={s: 84.0 for s in range(20, 45)}, flags={s: MOTION for s in range(18, 45, 5)})
    assert fired(p, "spo2_low") == []


def test_a_gap_restarts_persistence() -> None:
    p = Patient()
    monitor(p, 0, 20)
    monitor(p, 20, 27, hr={s: 150.0 for s in range(20, 27)})  # 7 s high
    monitor(p, 45, 52, hr={s: 150.0 for s in range(45, 52)})  # 18 s gap, 7 s high again
    assert fired(p, "heart_rate_high") == []


def test_clear_once_when_the_median_returns_and_replays_do_not_refire() -> None:
    p = Patient()
    monitor(p, 0, 40, hr={s: 150.0 + wobble(s) for s in range(5, 25)})
    got = [(c.rule, c.status) for c in p.candidates if c.rule == "heart_rate_high"]
    assert got == [("heart_rate_high", FIRING), ("heart_rate_high", CLEAR)]
    before = len(p.candidates)
    p.send(batch(99, [r(HR, 10, 150), r(HR, 11, 150), r(HR, 12, 150)]))  # late re-sent readings, new seq
    assert len(p.candidates) == before


def test_state_survives_the_changelog_mid_excursion() -> None:
    p = Patient()
    monitor(p, 0, 36, hr={s: 150.0 + wobble(s) for s in range(30, 36)})
    p.live = decode_live(encode(p.live))
    monitor(p, 36, 45, hr={s: 150.0 + wobble(s) for s in range(36, 45)})
    c = fired(p, "heart_rate_high")[0]
    assert c.window_start == at(30) and c.detected_at == at(40)
