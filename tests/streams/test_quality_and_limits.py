"""Artifacts never drive an alarm; limits fire after their onset delay, re-announce while they hold, clear once."""

from __future__ import annotations

from streams.candidates import CLEAR, FIRING
from tests.streams.helpers import Patient, at, r, wobble
from wire.messages import AlertCandidate, QualityFlag
from wire.units import ReadingType as RT

HR, SPO2 = RT.HEART_RATE, RT.SPO2
MOTION, PROBE_OFF = QualityFlag.MOTION, QualityFlag.PROBE_OFF


def rules(cands: list[AlertCandidate]) -> list[tuple[str, str]]:
    return [(c.rule, c.status.value) for c in cands]


def test_spike_probe_off_and_device_flags_are_rejected_and_counted() -> None:
    p = Patient()
    rs = [r(HR, i, 80 + wobble(i, 2)) for i in range(60)]
    rs[20] = r(HR, 20, 250)  # single-sample spike
    rs[30] = r(HR, 30, 150, MOTION)
    rs[40] = r(HR, 40, 0, PROBE_OFF)
    p.feed(rs)
    p.feed([r(HR, 71, 80)])
    (w,) = p.windows(HR)
    assert w.rejected == 3 and w.rejected_by == {"spike": 1, "device_flag": 1, "probe_off": 1}
    assert w.max <= 82 and w.count == 57 and abs(w.quality - 57 / 60) < 1e-12
    assert p.candidates == []


def test_a_run_of_spikes_cannot_fire_a_limit() -> None:
    p = Patient()
    rs = [r(HR, i, 78 + wobble(i, 2)) for i in range(60)]
    for i in (5, 17, 33, 48):
        rs[i] = r(HR, i, 220)
    p.feed(rs)
    p.feed([r(HR, 71, 80)])
    assert p.windows(HR)[0].rejected_by == {"spike": 4} and p.candidates == []


def test_flatline_after_two_minutes_is_rejected() -> None:
    p = Patient()
    for m in range(3):
        p.feed([r(HR, m * 60 + i, 72) for i in range(60)])
    p.feed([r(HR, 191, 73)])
    counts = [(w.count, w.rejected_by.get("flatline", 0)) for w in p.windows(HR)]
    assert counts == [(60, 0), (60, 0), (0, 60)]


def test_spo2_dip_next_to_motion_is_an_artifact_not_a_desaturation() -> None:
    p = Patient()
    rs = []
    for i in range(60):
        value = 84.0 if 20 <= i < 30 else 97 + wobble(i)
        rs.append(r(SPO2, i, value))
    rs.append(r(HR, 24, 95, MOTION))  # the accelerometer saw movement during the dip
    p.feed(rs)
    p.feed([r(SPO2, 71, 97)])
    (w,) = p.windows(SPO2)
    assert w.rejected_by.get("motion_dip") == 10 and w.min >= 95
    assert [c for c in p.candidates if c.rule == "spo2_low"] == []


def test_real_desaturation_without_motion_fires_spo2_low() -> None:
    p = Patient()
    p.feed([r(SPO2, i, 88 + wobble(i)) for i in range(60)])
    p.feed([r(SPO2, 71, 88)])
    c = p.candidates[0]
    assert (c.rule, c.status, c.threshold, c.value) == ("spo2_low", FIRING, 92, 88)
    # Onset at the first low sample, fired once it lasted the rule's 10 s (wire.rules.CATALOG).
    assert (c.window_start, c.window_end, c.detected_at) == (at(0), at(10), at(10))
    assert c.severity == 4 and c.evidence["basis"] == "sliding_median"


def test_spo2_scale_2_patient_is_not_alarmed_at_88() -> None:
    p = Patient()
    p.feed([r(SPO2, i, 88 + wobble(i)) for i in range(60)], scale=2)
    p.feed([r(SPO2, 71, 88)])
    assert p.candidates == []


def test_limit_fires_after_its_delay_reannounces_while_it_holds_then_clears_once() -> None:
    p = Patient()
    values = [140] * 3 + [90] * 2
    for m, v in enumerate(values):
        p.feed([r(HR, m * 60 + i, v + wobble(i, 2)) for i in range(60)])
    p.feed([r(HR, 5 * 60 + 11, 90)])
    got = p.candidates
    # 10 s onset delay, then every 30 s while it holds (3 minutes), one clear.
    assert rules(got) == [("heart_rate_high", "firing")] * 6 + [("heart_rate_high", "clear")]
    assert [c.window_end for c in got[:6]] == [at(s) for s in (10, 40, 70, 100, 130, 160)]
    assert len({c.id for c in got}) == 7
    assert got[0].id == AlertCandidate.make_id("P1", "heart_rate_high", got[0].window_start)
    assert got[-1].status is CLEAR and got[0].priority.value == "high"
    assert got[-1].window_end <= at(185)  # the median comes back within 3 normal samples


def test_limit_edges_use_news2_rounding() -> None:
    for value, fires in ((130.4, False), (130.5, True), (40.5, False), (40.4, True)):
        p = Patient()
        p.feed([r(HR, i, value) for i in range(30)])  # 30 equal samples: under the flatline time
        p.feed([r(HR, 71, 80)])
        assert bool(p.candidates) is fires, value


def test_too_few_valid_samples_is_no_evaluation() -> None:
    p = Patient()
    p.feed([r(HR, 0, 150), r(HR, 1, 151)])
    p.feed([r(HR, 71, 80)])
    assert p.candidates == [] and p.windows(HR)[0].count == 2
