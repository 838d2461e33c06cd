from __future__ import annotations

import pytest

from wire.units import MG_DL_PER_MMOL_L, Implausible, ReadingType, UnknownUnit, to_canonical


def test_glucose_mmol_converted_to_mg_dl() -> None:
    assert to_canonical(ReadingType.GLUCOSE, 5.5, "mmol/L") == pytest.approx(5.5 * 18.0182)
    assert MG_DL_PER_MMOL_L == 18.0182
    assert to_canonical(ReadingType.GLUCOSE, 99, "mg/dL") == 99


def test_fahrenheit_and_kpa_converted() -> None:
    assert to_canonical(ReadingType.TEMPERATURE, 98.6, "degF") == pytest.approx(37.0)
    assert to_canonical(ReadingType.BP_SYSTOLIC, 16, "kPa") == pytest.approx(120.01, abs=0.01)


def test_unknown_unit_names_accepted_units() -> None:
    with pytest.raises(UnknownUnit, match=r"'mg/L' not accepted for glucose; accepted: mg/dL, mmol/L"):
        to_canonical(ReadingType.GLUCOSE, 5, "mg/L")


@pytest.mark.parametrize(
    ("rtype", "value", "unit"),
    [
        (ReadingType.HEART_RATE, 0, "/min"),
        (ReadingType.HEART_RATE, 301, "/min"),
        (ReadingType.SPO2, 100.5, "%"),
        (ReadingType.SPO2, 39, "%"),
        (ReadingType.TEMPERATURE, 45.1, "degC"),
        (ReadingType.GLUCOSE, 0.4, "mmol/L"),
        (ReadingType.CONSCIOUSNESS, 1.5, "1"),
        (ReadingType.SUPPLEMENTAL_O2, 2, "1"),
    ],
)
def test_implausible_values_rejected(rtype: ReadingType, value: float, unit: str) -> None:
    with pytest.raises(Implausible, match="outside plausible range"):
        to_canonical(rtype, value, unit)


def test_plausible_edges_accepted() -> None:
    assert to_canonical(ReadingType.SPO2, 100, "%") == 100
    assert to_canonical(ReadingType.HEART_RATE, 20, "bpm") == 20
    assert to_canonical(ReadingType.CONSCIOUSNESS, 4, "1") == 4
