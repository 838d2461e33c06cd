"""Observation codes and units bedside-monitor gateways put in HL7 v2 OBX segments, mapped to the wire contract.

OBX-3 carries an IEEE 11073-10101 (MDC) code (coding system ``MDC``, the
full 32-bit code: partition << 16 + term code, as in the IHE PCD-01
profile: SCADA partition 2 for measurements, DIM partition 4 for units)
or a LOINC code (``LN``). OBX-6 carries a UCUM or MDC unit. Only
codes of parameters the pipeline measures are mapped; a structural OBX
(device/channel containers, OBX-2 not NM) carries no value and is skipped;
mean arterial pressure is read by no downstream rule and is skipped too.
References: IEEE 11073-10101:2019 nomenclature, IHE PCD Technical Framework
Vol. 2 (PCD-01 ORU^R01), LOINC vital-signs panel 85353-1.
"""

from __future__ import annotations

from wire.units import ReadingType

T = ReadingType

# (coding system, code) -> reading type. MDC codes also match by reference id (component 2), which
# gateways fill more reliably than some numbers.
MDC: dict[str, ReadingType] = {
    "147842": T.HEART_RATE,    # MDC_ECG_HEART_RATE
    "149530": T.HEART_RATE,    # MDC_PULS_OXIM_PULS_RATE
    "149546": T.HEART_RATE,    # MDC_PULS_RATE_NON_INV
    "150456": T.SPO2,          # MDC_PULS_OXIM_SAT_O2
    "151562": T.RESP_RATE,     # MDC_RESP_RATE
    "150344": T.TEMPERATURE,   # MDC_TEMP
    "150364": T.TEMPERATURE,   # MDC_TEMP_BODY
    "150392": T.TEMPERATURE,   # MDC_TEMP_TYMP
    "188424": T.TEMPERATURE,   # MDC_TEMP_ORAL
    "188428": T.TEMPERATURE,   # MDC_TEMP_EAR
    "188452": T.TEMPERATURE,   # MDC_TEMP_AXILLA
    "151570": T.RESP_RATE,     # MDC_AWAY_RESP_RATE
    "150021": T.BP_SYSTOLIC,   # MDC_PRESS_BLD_NONINV_SYS
    "150022": T.BP_DIASTOLIC,  # MDC_PRESS_BLD_NONINV_DIA
    "150017": T.BP_SYSTOLIC,   # MDC_PRESS_BLD_SYS
    "150018": T.BP_DIASTOLIC,  # MDC_PRESS_BLD_DIA
    "160020": T.GLUCOSE,       # MDC_CONC_GLU_GEN
    "160184": T.GLUCOSE,       # MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD
    "160188": T.GLUCOSE,       # MDC_CONC_GLU_CAPILLARY_PLASMA
    "160212": T.GLUCOSE,       # MDC_CONC_GLU_ISF
}
MDC_NAMES: dict[str, ReadingType] = {
    "MDC_ECG_HEART_RATE": T.HEART_RATE, "MDC_PULS_OXIM_PULS_RATE": T.HEART_RATE, "MDC_PULS_RATE_NON_INV": T.HEART_RATE,
    "MDC_PULS_OXIM_SAT_O2": T.SPO2, "MDC_RESP_RATE": T.RESP_RATE, "MDC_AWAY_RESP_RATE": T.RESP_RATE,
    "MDC_TTHOR_RESP_RATE": T.RESP_RATE,
    "MDC_TEMP": T.TEMPERATURE, "MDC_TEMP_BODY": T.TEMPERATURE, "MDC_TEMP_ORAL": T.TEMPERATURE,
    "MDC_TEMP_TYMP": T.TEMPERATURE, "MDC_TEMP_EAR": T.TEMPERATURE, "MDC_TEMP_AXILLA": T.TEMPERATURE,
    "MDC_PRESS_BLD_NONINV_SYS": T.BP_SYSTOLIC,
    "MDC_PRESS_BLD_NONINV_DIA": T.BP_DIASTOLIC, "MDC_PRESS_BLD_SYS": T.BP_SYSTOLIC, "MDC_PRESS_BLD_DIA": T.BP_DIASTOLIC,
    "MDC_CONC_GLU_GEN": T.GLUCOSE, "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD": T.GLUCOSE,
    "MDC_CONC_GLU_CAPILLARY_PLASMA": T.GLUCOSE, "MDC_CONC_GLU_ISF": T.GLUCOSE,
}
LOINC: dict[str, ReadingType] = {
    "8867-4": T.HEART_RATE, "9279-1": T.RESP_RATE, "2708-6": T.SPO2, "59408-5": T.SPO2, "8310-5": T.TEMPERATURE,
    "8480-6": T.BP_SYSTOLIC, "8462-4": T.BP_DIASTOLIC, "2339-0": T.GLUCOSE, "99504-3": T.GLUCOSE,
    "2345-7": T.GLUCOSE, "15074-8": T.GLUCOSE,
}
# Known but not a reading of this product: skipped, not refused.
SKIPPED = frozenset({"150023", "MDC_PRESS_BLD_NONINV_MEAN", "150019", "MDC_PRESS_BLD_MEAN", "8478-0"})

# OBX-6 unit (UCUM code, MDC code or MDC reference id) -> the wire contract's unit name (wire.units).
UNITS: dict[str, str] = {
    "/min": "/min", "{beats}/min": "/min", "{breaths}/min": "/min", "{Breaths}/min": "/min", "bpm": "/min",
    "264864": "/min", "MDC_DIM_BEAT_PER_MIN": "/min", "264928": "/min", "MDC_DIM_RESP_PER_MIN": "/min",
    "%": "%", "262688": "%", "MDC_DIM_PERCENT": "%",
    "Cel": "degC", "268192": "degC", "MDC_DIM_DEGC": "degC", "[degF]": "degF", "MDC_DIM_FAHR": "degF",
    "mm[Hg]": "mmHg", "mmHg": "mmHg", "266016": "mmHg", "MDC_DIM_MMHG": "mmHg",
    "kPa": "kPa", "MDC_DIM_KILO_PASCAL": "kPa",
    "mg/dL": "mg/dL", "264274": "mg/dL", "MDC_DIM_MILLI_G_PER_DL": "mg/dL",
    "mmol/L": "mmol/L", "MDC_DIM_MILLI_MOLE_PER_L": "mmol/L",
}


def reading_type(system: str, code: str, name: str) -> ReadingType | None:
    """The reading type of an OBX-3 (identifier, text, coding system), or None if unknown."""
    sys_ = system.upper()
    if sys_ in ("LN", "LOINC"):
        return LOINC.get(code)
    if sys_ in ("MDC", "MDCX", "IEEE 11073"):
        return MDC.get(code) or MDC_NAMES.get(name) or MDC_NAMES.get(code)
    return None


def skipped(code: str, name: str) -> bool:
    return code in SKIPPED or name in SKIPPED


def unit(obx6_code: str, obx6_name: str) -> str:
    """The wire unit for an OBX-6; an unknown unit passes through and validation names it (unknown_unit)."""
    return UNITS.get(obx6_code) or UNITS.get(obx6_name) or obx6_code
