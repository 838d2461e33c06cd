"""NEWS2 tests. Expected points are written by hand from RCP 2017 Chart 1."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from streams.news2 import (
    Band,
    ConsciousnessObservation,
    Measurement,
    News2Observations,
    News2Validity,
    OxygenObservation,
    Parameter,
    classify,
    round_half_up,
    score_news2,
    score_numeric,
    summary_text,
)
from streams.news2_table import (
    PULSE_BANDS,
    RESP_RATE_BANDS,
    SPO2_SCALE1_BANDS,
    SPO2_SCALE2_AIR_BANDS,
    SPO2_SCALE2_OXYGEN_BANDS,
    SYSTOLIC_BP_BANDS,
    TEMPERATURE_BANDS,
)

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
P = Parameter


def m(value: float, at: datetime = NOW) -> Measurement:
    return Measurement(value=value, at=at)


def full_obs(
    rr: float = 16,
    spo2: float = 97,
    o2: str = "air",
    sbp: float = 120,
    hr: float = 70,
    acvpu: str = "A",
    temp: float = 37.0,
    scale: int = 1,
) -> News2Observations:
    return News2Observations(
        resp_rate=m(rr),
        spo2=m(spo2),
        air_or_oxygen=OxygenObservation(value=o2, at=NOW),
        systolic_bp=m(sbp),
        pulse=m(hr),
        consciousness=ConsciousnessObservation(value=acvpu, at=NOW),
        temperature=m(temp),
        spo2_scale=scale,
    )


# --- every band edge, both sides ------------------------------------------

RR_EDGES = [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)]
SPO2_S1_EDGES = [(50, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)]
SBP_EDGES = [(40, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)]
PULSE_EDGES = [
    (0, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2),
    (131, 3), (200, 3),
]  # fmt: skip
TEMP_EDGES = [
    (30.0, 3), (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1),
    (39.1, 2), (42.0, 2),
]  # fmt: skip
SPO2_S2_AIR_EDGES = [
    (70, 3), (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 0), (94, 0),
    (96, 0), (97, 0), (100, 0),
]  # fmt: skip
SPO2_S2_O2_EDGES = [
    (70, 3), (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 1), (94, 1),
    (95, 2), (96, 2), (97, 3), (100, 3),
]  # fmt: skip


@pytest.mark.parametrize("value,points", RR_EDGES)
def test_resp_rate_edges(value: float, points: int) -> None:
    assert score_numeric(P.RESP_RATE, value) == points


@pytest.mark.parametrize("value,points", SPO2_S1_EDGES)
def test_spo2_scale1_edges(value: float, points: int) -> None:
    assert score_numeric(P.SPO2, value, spo2_scale=1) == points
    # scale 1 ignores oxygen
    assert score_numeric(P.SPO2, value, spo2_scale=1, on_oxygen=True) == points


@pytest.mark.parametrize("value,points", SPO2_S2_AIR_EDGES)
def test_spo2_scale2_on_air_edges(value: float, points: int) -> None:
    assert score_numeric(P.SPO2, value, spo2_scale=2, on_oxygen=False) == points


@pytest.mark.parametrize("value,points", SPO2_S2_O2_EDGES)
def test_spo2_scale2_on_oxygen_edges(value: float, points: int) -> None:
    assert score_numeric(P.SPO2, value, spo2_scale=2, on_oxygen=True) == points


@pytest.mark.parametrize("value,points", SBP_EDGES)
def test_systolic_edges(value: float, points: int) -> None:
    assert score_numeric(P.SYSTOLIC_BP, value) == points


@pytest.mark.parametrize("value,points", PULSE_EDGES)
def test_pulse_edges(value: float, points: int) -> None:
    assert score_numeric(P.PULSE, value) == points


@pytest.mark.parametrize("value,points", TEMP_EDGES)
def test_temperature_edges(value: float, points: int) -> None:
    assert score_numeric(P.TEMPERATURE, value) == points


def test_air_oxygen_and_consciousness_points() -> None:
    base = score_news2(full_obs(), NOW)
    assert base.total == 0
    assert score_news2(full_obs(o2="oxygen"), NOW).subscores.air_or_oxygen == 2
    for level in "CVPU":
        r = score_news2(full_obs(acvpu=level), NOW)
        assert r.subscores.consciousness == 3, level
        assert r.red_flag and r.red_flag_parameters == (P.CONSCIOUSNESS,)


def test_scale2_below_93_does_not_need_oxygen_status() -> None:
    assert score_numeric(P.SPO2, 85, spo2_scale=2) == 2
    assert score_numeric(P.SPO2, 92.4, spo2_scale=2) == 0
    with pytest.raises(ValueError):
        score_numeric(P.SPO2, 93, spo2_scale=2)


# --- rounding: non-integer inputs near edges -------------------------------

NEAR_EDGE = [
    (P.RESP_RATE, 20.4, 0), (P.RESP_RATE, 20.5, 2), (P.RESP_RATE, 8.4, 3), (P.RESP_RATE, 8.5, 1),
    (P.RESP_RATE, 11.49, 1), (P.RESP_RATE, 11.5, 0),
    (P.RESP_RATE, 24.49, 2), (P.RESP_RATE, 24.5, 3),
    (P.SPO2, 91.49, 3), (P.SPO2, 91.5, 2), (P.SPO2, 93.5, 1), (P.SPO2, 95.49, 1), (P.SPO2, 95.5, 0),
    (P.SYSTOLIC_BP, 90.49, 3), (P.SYSTOLIC_BP, 90.5, 2), (P.SYSTOLIC_BP, 110.49, 1),
    (P.SYSTOLIC_BP, 110.5, 0), (P.SYSTOLIC_BP, 219.49, 0), (P.SYSTOLIC_BP, 219.5, 3),
    (P.PULSE, 40.49, 3), (P.PULSE, 40.5, 1), (P.PULSE, 50.5, 0), (P.PULSE, 90.49, 0),
    (P.PULSE, 90.5, 1), (P.PULSE, 130.49, 2), (P.PULSE, 130.5, 3),
    (P.TEMPERATURE, 35.04, 3), (P.TEMPERATURE, 35.05, 1), (P.TEMPERATURE, 36.04, 1),
    (P.TEMPERATURE, 36.05, 0), (P.TEMPERATURE, 38.04, 0), (P.TEMPERATURE, 38.05, 1),
    (P.TEMPERATURE, 39.04, 1), (P.TEMPERATURE, 39.05, 2),
]  # fmt: skip


@pytest.mark.parametrize("param,value,points", NEAR_EDGE)
def test_non_integer_near_edges(param: Parameter, value: float, points: int) -> None:
    assert score_numeric(param, value) == points


def test_half_up_not_bankers_rounding() -> None:
    # round() would give 20, 50, 110 (half to even) and the wrong score.
    assert round(20.5) == 20 and round_half_up(20.5) == 21
    assert round_half_up(50.5) == 51 and round_half_up(110.5) == 111
    assert str(round_half_up(38.05, 1)) == "38.1"  # float 38.05 is 38.0499999...
    assert str(round_half_up(35.05, 1)) == "35.1"
    assert str(round_half_up(38.04, 1)) == "38.0"


def test_scale2_oxygen_rounding() -> None:
    assert score_numeric(P.SPO2, 92.5, spo2_scale=2, on_oxygen=True) == 1
    assert score_numeric(P.SPO2, 92.49, spo2_scale=2, on_oxygen=True) == 0
    assert score_numeric(P.SPO2, 96.5, spo2_scale=2, on_oxygen=True) == 3


# --- property: independent oracle over dense sweeps ------------------------


def _oracle_int(param: Parameter, v: int, scale: int = 1, on_o2: bool = False) -> int:
    """Chart 1 re-typed as plain ifs, deliberately independent of the table code."""
    if param is P.RESP_RATE:
        return 3 if v <= 8 else 1 if v <= 11 else 0 if v <= 20 else 2 if v <= 24 else 3
    if param is P.SYSTOLIC_BP:
        return 3 if v <= 90 else 2 if v <= 100 else 1 if v <= 110 else 0 if v <= 219 else 3
    if param is P.PULSE:
        if v <= 40:
            return 3
        return 1 if v <= 50 else 0 if v <= 90 else 1 if v <= 110 else 2 if v <= 130 else 3
    if scale == 1:
        return 3 if v <= 91 else 2 if v <= 93 else 1 if v <= 95 else 0
    if v <= 92 or not on_o2:
        return 3 if v <= 83 else 2 if v <= 85 else 1 if v <= 87 else 0
    return 1 if v <= 94 else 2 if v <= 96 else 3


def _oracle_temp(tenths: int) -> int:
    if tenths <= 350:
        return 3
    return 1 if tenths <= 360 else 0 if tenths <= 380 else 1 if tenths <= 390 else 2


def _half_up(x: float, scale: int) -> int:
    # Exact rational arithmetic on the displayed decimal; independent of Decimal.
    return math.floor(Fraction(repr(x)) * scale + Fraction(1, 2))


@pytest.mark.parametrize(
    "param,lo,hi,scale,on_o2",
    [
        (P.RESP_RATE, 0, 60, 1, False),
        (P.SYSTOLIC_BP, 1, 300, 1, False),
        (P.PULSE, 0, 250, 1, False),
        (P.SPO2, 1, 100, 1, False),
        (P.SPO2, 1, 100, 2, False),
        (P.SPO2, 1, 100, 2, True),
    ],
)
def test_dense_sweep_integer_parameters(
    param: Parameter, lo: int, hi: int, scale: int, on_o2: bool
) -> None:
    checked = 0
    for k in range(lo * 100, hi * 100 + 1):
        x = k / 100
        expected = _oracle_int(param, (k + 50) // 100, scale, on_o2)
        assert score_numeric(param, x, spo2_scale=scale, on_oxygen=on_o2) == expected, x
        checked += 1
    assert checked == (hi - lo) * 100 + 1


def test_dense_sweep_temperature() -> None:
    for k in range(2000, 4501):  # 20.00 .. 45.00 in 0.01 steps
        x = k / 100
        assert score_numeric(P.TEMPERATURE, x) == _oracle_temp((k + 5) // 10), x


@pytest.mark.parametrize(
    "bands,step",
    [
        (RESP_RATE_BANDS, 1), (SPO2_SCALE1_BANDS, 1), (SPO2_SCALE2_AIR_BANDS, 1),
        (SPO2_SCALE2_OXYGEN_BANDS, 1), (SYSTOLIC_BP_BANDS, 1), (PULSE_BANDS, 1),
        (TEMPERATURE_BANDS, 10),
    ],
)  # fmt: skip
def test_every_rounded_value_in_exactly_one_band(bands: tuple, step: int) -> None:
    from decimal import Decimal

    for k in range(0, 400 * step):
        v = Decimal(k) / step
        n = sum(
            1 for b in bands if (b.low is None or v >= b.low) and (b.high is None or v <= b.high)
        )
        assert n == 1, v


@given(st.floats(min_value=0, max_value=100), st.sampled_from([P.RESP_RATE, P.PULSE]))
def test_property_integer_rounding(x: float, param: Parameter) -> None:
    assert score_numeric(param, x) == _oracle_int(param, _half_up(x, 1))

@given(st.floats(min_value=1, max_value=100), st.integers(1, 2), st.booleans())
def test_property_spo2(x: float, scale: int, on_o2: bool) -> None:
    assert score_numeric(P.SPO2, x, spo2_scale=scale, on_oxygen=on_o2) == _oracle_int(
        P.SPO2, _half_up(x, 1), scale, on_o2
    )

@given(st.floats(min_value=20, max_value=45))
def test_property_temperature(x: float) -> None:
    assert score_numeric(P.TEMPERATURE, x) == _oracle_temp(_half_up(x, 10))


# --- worked examples and bands ---------------------------------------------


def test_all_normal_is_zero_low_12_hourly() -> None:
    r = score_news2(full_obs(), NOW)
    assert (r.total, r.band, r.red_flag, r.complete) == (0, Band.LOW, False, True)
    assert r.monitoring_frequency == "Minimum 12 hourly"
    assert r.clinical_response == ("Continue routine NEWS monitoring",)


def test_worked_example_medium() -> None:
    # RR 21 ->2, SpO2 93 ->2, air 0, SBP 120 0, HR 95 ->1, A 0, 37.5 0 = 5
    r = score_news2(full_obs(rr=21, spo2=93, hr=95, temp=37.5), NOW)
    assert r.subscores.model_dump() == {
        "resp_rate": 2, "spo2": 2, "air_or_oxygen": 0, "systolic_bp": 0, "pulse": 1,
        "consciousness": 0, "temperature": 0,
    }  # fmt: skip
    assert (r.total, r.band, r.red_flag) == (5, Band.MEDIUM, False)
    assert r.monitoring_frequency == "Minimum 1 hourly"
    assert "Urgent response threshold" in r.clinical_response


def test_total_4_without_three_is_low_4_to_6_hourly() -> None:
    r = score_news2(full_obs(rr=22, hr=115), NOW)  # 2 + 2
    assert (r.total, r.band, r.red_flag) == (4, Band.LOW, False)
    assert r.monitoring_frequency == "Minimum 4-6 hourly"


def test_single_three_is_low_medium() -> None:
    r = score_news2(full_obs(acvpu="C"), NOW)
    assert (r.total, r.band, r.red_flag) == (3, Band.LOW_MEDIUM, True)
    assert r.monitoring_frequency == "Minimum 1 hourly"
    r = score_news2(full_obs(sbp=88, hr=95), NOW)  # 3 + 1 = 4 still low-medium
    assert (r.total, r.band) == (4, Band.LOW_MEDIUM)


def test_red_flag_with_total_five_is_medium() -> None:
    r = score_news2(full_obs(acvpu="V", hr=115), NOW)  # 3 + 2
    assert (r.total, r.band, r.red_flag) == (5, Band.MEDIUM, True)


def test_high_band_continuous_monitoring() -> None:
    # RR 26:3, SpO2 90:3, O2:2, SBP 95:2, HR 120:2, A:0, 38.5:1 = 13
    r = score_news2(full_obs(rr=26, spo2=90, o2="oxygen", sbp=95, hr=120, temp=38.5), NOW)
    assert (r.total, r.band) == (13, Band.HIGH)
    assert r.red_flag_parameters == (P.RESP_RATE, P.SPO2)
    assert r.monitoring_frequency == "Continuous monitoring of vital signs"
    r7 = score_news2(full_obs(rr=22, hr=115, temp=39.5, spo2=95), NOW)  # 2+2+2+1
    assert (r7.total, r7.band) == (7, Band.HIGH)
    r6 = score_news2(full_obs(rr=22, hr=115, temp=39.5), NOW)  # 2+2+2
    assert (r6.total, r6.band) == (6, Band.MEDIUM)


def test_scale2_copd_patient() -> None:
    r = score_news2(full_obs(spo2=90, o2="oxygen", scale=2), NOW)
    assert (r.subscores.spo2, r.subscores.air_or_oxygen, r.total) == (0, 2, 2)
    r = score_news2(full_obs(spo2=97, o2="oxygen", scale=2), NOW)
    assert (r.subscores.spo2, r.total, r.band) == (3, 5, Band.MEDIUM)
    r = score_news2(full_obs(spo2=97, o2="air", scale=2), NOW)
    assert (r.subscores.spo2, r.total) == (0, 0)
    # same 90% on scale 1 would score 3
    assert score_news2(full_obs(spo2=90, o2="oxygen"), NOW).subscores.spo2 == 3


@pytest.mark.parametrize(
    "total,flag,band",
    [
        (0, False, Band.LOW), (1, False, Band.LOW), (4, False, Band.LOW),
        (3, True, Band.LOW_MEDIUM), (4, True, Band.LOW_MEDIUM), (5, False, Band.MEDIUM),
        (5, True, Band.MEDIUM), (6, True, Band.MEDIUM), (7, False, Band.HIGH),
        (7, True, Band.HIGH), (20, True, Band.HIGH),
    ],
)  # fmt: skip
def test_classify(total: int, flag: bool, band: Band) -> None:
    assert classify(total, flag)[0] is band


# --- missing / stale / indeterminate ---------------------------------------


def test_missing_parameters_make_score_incomplete_lower_bound() -> None:
    obs = News2Observations(resp_rate=m(26), pulse=m(70))
    r = score_news2(obs, NOW)
    assert not r.complete
    assert r.total == 3 and r.band is Band.LOW_MEDIUM
    assert set(r.missing) == {
        P.SPO2,
        P.AIR_OR_OXYGEN,
        P.SYSTOLIC_BP,
        P.CONSCIOUSNESS,
        P.TEMPERATURE,
    }
    assert r.subscores.spo2 is None and r.subscores.resp_rate == 3
    assert r.clinical_response[0].startswith("INCOMPLETE")
    assert summary_text(r).startswith("INCOMPLETE")
    assert "at least 3" in summary_text(r)


def test_empty_observations_never_look_complete() -> None:
    r = score_news2(News2Observations(), NOW)
    assert not r.complete and r.total == 0 and len(r.missing) == 7
    assert r.clinical_response[0].startswith("INCOMPLETE")


def test_validity_window_boundaries() -> None:
    hour = timedelta(hours=1)
    at_edge = full_obs().model_copy(update={"pulse": m(120, NOW - hour)})
    r = score_news2(at_edge, NOW)
    assert r.complete and r.subscores.pulse == 2
    too_old = full_obs().model_copy(update={"pulse": m(120, NOW - hour - timedelta(seconds=1))})
    r = score_news2(too_old, NOW)
    assert not r.complete and r.stale == (P.PULSE,) and r.subscores.pulse is None
    assert r.total == 0


def test_custom_validity_for_continuous_monitoring() -> None:
    obs = full_obs().model_copy(update={"spo2": m(90, NOW - timedelta(minutes=6))})
    assert score_news2(obs, NOW).subscores.spo2 == 3
    v = News2Validity(spo2=timedelta(minutes=5))
    r = score_news2(obs, NOW, v)
    assert r.stale == (P.SPO2,) and not r.complete
    assert News2Validity.uniform(timedelta(minutes=5)).temperature == timedelta(minutes=5)


def test_future_readings_beyond_skew_are_not_used() -> None:
    ok = full_obs().model_copy(update={"pulse": m(120, NOW + timedelta(minutes=2))})
    assert score_news2(ok, NOW).subscores.pulse == 2
    bad = full_obs().model_copy(update={"pulse": m(120, NOW + timedelta(minutes=3))})
    assert score_news2(bad, NOW).stale == (P.PULSE,)


def test_scale2_high_spo2_without_oxygen_status_is_indeterminate() -> None:
    obs = News2Observations(spo2=m(95), spo2_scale=2)
    r = score_news2(obs, NOW)
    assert r.indeterminate == (P.SPO2,) and r.subscores.spo2 is None and not r.complete
    stale_o2 = full_obs(spo2=95, o2="oxygen", scale=2).model_copy(
        update={"air_or_oxygen": OxygenObservation(value="oxygen", at=NOW - timedelta(hours=2))}
    )
    r = score_news2(stale_o2, NOW)
    assert r.indeterminate == (P.SPO2,) and r.stale == (P.AIR_OR_OXYGEN,)


# --- validation ------------------------------------------------------------


@pytest.mark.parametrize(
    "field,value",
    [
        ("resp_rate", -1), ("pulse", -0.5), ("spo2", 100.5), ("spo2", 0), ("spo2", 127),
        ("systolic_bp", -10), ("temperature", 98.6), ("temperature", 10),
        ("resp_rate", float("nan")), ("pulse", float("inf")),
    ],
)  # fmt: skip
def test_impossible_values_rejected(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        News2Observations(**{field: m(value)})


def test_other_invalid_inputs() -> None:
    with pytest.raises(ValidationError):
        Measurement(value=True, at=NOW)
    with pytest.raises(ValidationError):
        Measurement(value=80, at=datetime(2024, 1, 1))  # naive timestamp
    with pytest.raises(ValidationError):
        ConsciousnessObservation(value="X", at=NOW)
    with pytest.raises(ValidationError):
        News2Observations(spo2_scale=3)
    with pytest.raises(ValidationError):
        News2Observations(heart_rate=m(70))  # typo'd field is not silently ignored
    with pytest.raises(ValueError, match="timezone"):
        score_news2(full_obs(), datetime(2024, 5, 1, 8, 0))
    with pytest.raises(ValidationError):
        News2Validity(pulse=timedelta(minutes=-1))


def test_models_are_frozen() -> None:
    obs = full_obs()
    with pytest.raises(ValidationError):
        obs.spo2_scale = 2  # type: ignore[misc]
    r = score_news2(obs, NOW)
    with pytest.raises(ValidationError):
        r.total = 99  # type: ignore[misc]
