"""The fast record decoder (streams.decode) agrees with the pydantic model.

On random records: whatever ReadingBatch accepts decodes to the same Batch
as ``from_model`` (fast path or not), whatever it refuses raises ValueError.
Malformed records are counted and skipped by the worker, never crash it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from streams import decode as dec
from streams.batch import from_model
from wire.messages import DeviceKind, QualityFlag, Reading, ReadingBatch
from wire.packed import PackedReadings, pack
from wire.units import ReadingType

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def record(**over: object) -> dict[str, object]:
    r: dict[str, object] = {
        "v": 1, "patient_id": "P1", "device_id": "mon-1", "seq": 3, "sent_at": "2026-03-02T08:00:09Z",
        "received_at": "2026-03-02T08:00:10.250+00:00",
        "readings": [{"type": "heart_rate", "t": "2026-03-02T08:00:00Z", "value": 80},
                     {"type": "spo2", "t": "2026-03-02T15:00:00+07:00", "value": 97.5, "flags": ["motion"]}],
    }
    r.update(over)
    return r


def pydantic_path(raw: bytes) -> object:
    return from_model(ReadingBatch.model_validate_json(raw))


def test_fast_path_matches_pydantic_on_the_bridge_shape() -> None:
    raw = orjson.dumps(record())
    assert dec._fast(orjson.loads(raw)) == pydantic_path(raw)  # taken by the fast path, same result
    b = dec.decode(raw)
    assert b.n_readings == 2 and b.groups[ReadingType.SPO2].flagged and b.received_ms % 1000 == 250


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"[]", b"null", b'{"v": 1}',
    orjson.dumps(record(v=2)),
    orjson.dumps(record(patient_id="P#1")),
    orjson.dumps(record(patient_id=7)),
    orjson.dumps(record(seq="x")),
    orjson.dumps(record(sent_at="yesterday")),
    orjson.dumps(record(sent_at="2026-03-02T08:00:09")),  # naive time
    orjson.dumps(record(extra=1)),
    orjson.dumps(record(readings=[{"type": "pulse", "t": "2026-03-02T08:00:00Z", "value": 1}])),
    orjson.dumps(record(readings=[{"type": "spo2", "t": "2026-03-02T08:00:00Z", "value": "high"}])),
    orjson.dumps(record(readings=[{"type": "spo2", "t": "2026-03-02T08:00:00Z", "value": 90, "flags": ["x"]}])),
    orjson.dumps(record(readings=[{"type": "spo2", "t": "2026-02-30T08:00:00Z", "value": 90}])),
    orjson.dumps(record(readings=[{"type": "spo2", "t": "2026-03-02T08:00:00Z"}])),
    orjson.dumps(record(readings=[["spo2", "2026-03-02T08:00:00Z", 90]])),
    orjson.dumps(record(readings={"type": "spo2"})),
    orjson.dumps(record(device_kind="toaster")),
    orjson.dumps(record(spo2_scale=3)),
])
def test_malformed_records_raise_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        dec.decode(raw)


def test_what_the_fast_path_leaves_to_pydantic_still_decodes() -> None:
    # A numeric string value and a lower-case 'z' are pydantic's to accept.
    raw = orjson.dumps(record(readings=[{"type": "spo2", "t": "2026-03-02T08:00:00z", "value": "97"}]))
    assert dec.decode(raw) == pydantic_path(raw)
    wave = {"kind": "ppg", "t": "2026-03-02T08:00:00Z", "fs_hz": 50, "samples": [0.1, 0.2, 0.3]}
    raw = orjson.dumps(record(waveforms=[wave]))
    assert dec.decode(raw).waveforms == ReadingBatch.model_validate_json(raw).waveforms


def _time_text(t: datetime, style: int) -> str:
    if style == 0:
        return t.isoformat().replace("+00:00", "Z")  # pydantic's model_dump_json
    return t.isoformat()  # orjson / isoformat, any offset


times = st.builds(
    lambda sec, us, off: (T0 + timedelta(seconds=sec, microseconds=us)).astimezone(timezone(timedelta(minutes=off))),
    st.integers(-10**6, 10**6), st.sampled_from([0, 1000, 123456, 500000]), st.sampled_from([0, 420, -330, 60]),
)
# Mostly valid parts, so that many records are valid and most of those take the fast path.
good_values = st.one_of(st.integers(-(2**60), 2**60), st.floats(allow_nan=False, allow_infinity=False))
values = st.one_of(good_values, good_values, good_values, st.sampled_from(["97", True, None]))
types = st.sampled_from([t.value for t in ReadingType] * 3 + ["pulse"])
flags = st.lists(st.sampled_from([f.value for f in QualityFlag] * 3 + ["odd"]), max_size=3)
readings = st.fixed_dictionaries({"type": types, "t": times, "value": values}, optional={"flags": flags})
records = st.fixed_dictionaries(
    {"patient_id": st.sampled_from(["P1", "B00001", "x" * 64, "P1", "bad id", ""]), "device_id": st.just("dev-1"),
     "seq": st.one_of(st.integers(0, 2**40), st.integers(0, 9), st.just(1.0)), "sent_at": times,
     "received_at": times, "readings": st.lists(readings, max_size=8)},
    optional={"v": st.sampled_from([1, 1, 2]), "device_kind": st.sampled_from([k.value for k in DeviceKind] + ["x"]),
              "spo2_scale": st.sampled_from([1, 2, 3, None]), "waveforms": st.just([])},
)


@settings(max_examples=400, deadline=None)
@given(records, st.integers(0, 1))
def test_decode_is_equivalent_to_pydantic_on_random_records(rec: dict[str, object], style: int) -> None:
    def text(o: object) -> object:
        if isinstance(o, datetime):
            return _time_text(o, style)
        raise TypeError

    raw = orjson.dumps(rec, default=text, option=orjson.OPT_PASSTHROUGH_DATETIME)
    try:
        fast = dec._fast(orjson.loads(raw))
    except (dec._Unrecognised, KeyError, TypeError, ValueError):
        fast = None  # left to pydantic
    try:
        want = pydantic_path(raw)
    except ValidationError:
        assert fast is None  # the fast path never accepts what the model refuses
        with pytest.raises(ValueError):
            dec.decode(raw)
        return
    assert fast is None or fast == want
    assert dec.decode(raw) == want


def test_packed_record_decodes_every_batch_and_a_bad_one_costs_only_itself() -> None:
    good = [ReadingBatch(patient_id=f"P{i}", device_id=f"d{i}", seq=i, sent_at=T0, received_at=T0,
                         readings=(Reading(type=ReadingType.HEART_RATE, t=T0, value=70 + i),)) for i in range(3)]
    raw = pack([b.model_dump_json().encode() for b in good])
    assert len(PackedReadings.model_validate_json(raw).batches) == 3  # the envelope is the wire model
    batches, bad = dec.decode_packed(raw)
    assert ([b.patient_id for b in batches], bad) == (["P0", "P1", "P2"], 0)
    broken = pack([good[0].model_dump_json().encode(), b'{"patient_id": "P9"}', good[2].model_dump_json().encode()])
    batches, bad = dec.decode_packed(broken)
    assert ([b.patient_id for b in batches], bad) == (["P0", "P2"], 1)
    with pytest.raises(ValueError):
        dec.decode_packed(b'{"v": 2, "batches": []}')
