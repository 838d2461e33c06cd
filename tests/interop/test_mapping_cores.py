"""Pure cores of the interop interfaces (no IO): FHIR ids, search parameters, scopes, HL7 and Nightscout mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.fhir import ids, scopes, search
from ingest import hl7_map, nightscout_map
from ingest.validate import Limits
from storage.registry import AssignmentSnapshot, Interval
from tests.interop.hl7_messages import oru
from wire.messages import DeviceKind

PRODUCT_ID = st.from_regex(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,15}$", fullmatch=True)
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@given(PRODUCT_ID, PRODUCT_ID, st.sampled_from(sorted(ids.KIND_CODES)), st.integers(0, 2**50))
def test_observation_ids_round_trip(patient: str, device: str, kind: str, us: int) -> None:
    key = ids.ObservationKey(kind, ids.from_micros(us), patient, "" if kind == "news2" else device)
    fid = ids.observation(key)
    assert ids.FHIR_ID.match(fid) and ids.parse_observation(fid) == key
    assert ids.parse_simple(ids.simple(patient)) == patient


def test_date_prefixes_and_precision() -> None:
    r = search.date_range(["ge2026-03-01", "lt2026-03-02T06:00:00+07:00"])
    assert r.start == datetime(2026, 3, 1, tzinfo=UTC) and r.end == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    day = search.date_range(["2026-03"])
    assert (day.start, day.end) == (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    with pytest.raises(search.SearchError):
        search.date_range(["ge2026-03-01T10:00"])  # a time without a zone is ambiguous
    with pytest.raises(search.SearchError):
        search.date_range(["ne2026"])


def test_scopes_v1_v2_and_context() -> None:
    granted, g = scopes.parse("system/Observation.read system/Patient.rs patient/Flag.rs launch openid", "system")
    assert granted == ["system/Observation.rs", "system/Patient.rs"]
    assert g.allows("Observation", "s") and g.allows("Patient", "r") and not g.allows("Flag", "r")
    assert scopes.parse("system/*.cruds")[1].allows("Device", "s")
    assert not scopes.parse("system/Encounter.rs")[1].allowed


def _registry() -> AssignmentSnapshot:
    start = NOW - timedelta(days=1)
    return AssignmentSnapshot(frozenset({"mon-1"}), {"mon-1": (Interval("P1", start, None),)},
                              {"mon-1": DeviceKind.BEDSIDE_MONITOR})


def test_hl7_codes_units_and_acknowledgement() -> None:
    raw = oru("C1", "P1", "mon-1", NOW - timedelta(minutes=1), [
        ("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "16", "kPa^^UCUM"), ("150023^MDC_PRESS_BLD_NONINV_MEAN^MDC", "90",
                                                                     "266016^MDC_DIM_MMHG^MDC"),
        ("8310-5^Body temperature^LN", "101.3", "[degF]^^UCUM"), ("9279-1^Resp rate^LN", "abc", "/min^^UCUM")]).encode()
    result = hl7_map.route(raw, NOW, lambda _d: _registry(), Limits())
    (batch,) = result.outcome.batches
    values = {r.type.value: round(r.value, 1) for r in batch.readings}
    assert values == {"bp_systolic": 120.0, "temperature": 38.5}  # kPa and degF converted; MAP skipped
    assert result.ack_code == "AE" and [p.kind for p in result.problems] == ["bad_value"]
    ack = hl7_map.ack(result, "RPM", "RPM").decode()
    assert "MSA|AE|C1" in ack and "ERR||OBX^4^5|102^bad_value^HL70357|E" in ack


def test_nightscout_entries_direction_and_refusals() -> None:
    good = {"type": "sgv", "sgv": 180, "date": int((NOW - timedelta(minutes=5)).timestamp() * 1000)}
    cal = {"type": "cal", "date": 1, "slope": 900}
    reg = AssignmentSnapshot(frozenset({"mon-1"}), {"mon-1": (Interval("P1", NOW - timedelta(days=1), None),)})
    mapped = nightscout_map.route("mon-1", [good, cal, {"sgv": "x"}], b"[]", NOW, reg, Limits())
    assert [i for i, _ in mapped.accepted] == [0] and sorted(i for i, _, _ in mapped.refused) == [1, 2]
    assert len(mapped.outcome.dead) == 2 and mapped.outcome.forwarded_readings == 1
    rows = [(NOW, 130.0, "d"), (NOW - timedelta(minutes=5), 115.0, "d")]
    out = nightscout_map.entries_out(rows)
    assert [e["direction"] for e in out] == ["SingleUp", "NONE"] and out[0]["delta"] == 15.0
