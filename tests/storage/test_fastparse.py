"""The sink's fast path builds exactly the rows the pydantic model would, and
refuses (so the model decides) anything outside canonical JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from storage import fastparse, readings, sink
from wire.messages import DeviceKind, QualityFlag, Reading, ReadingBatch
from wire.packed import pack
from wire.units import ReadingType

ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z")
times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                     timezones=st.sampled_from([UTC, __import__("datetime").timezone(timedelta(hours=7))]))
reading_st = st.builds(
    Reading, type=st.sampled_from(list(ReadingType)), t=times,
    value=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False) | st.integers(-1000, 1000).map(float),
    flags=st.lists(st.sampled_from(list(QualityFlag)), max_size=2).map(tuple),
)
batch_st = st.builds(
    ReadingBatch, patient_id=ids, device_id=ids, seq=st.integers(0, 2**40), sent_at=times, received_at=times,
    readings=st.lists(reading_st, min_size=0, max_size=6).map(tuple),
    device_kind=st.none() | st.sampled_from(list(DeviceKind)), spo2_scale=st.sampled_from([None, 1, 2]),
)


@settings(max_examples=60, deadline=None)
@given(batch_st)
def test_fast_rows_equal_model_rows(batch: ReadingBatch) -> None:
    raw = batch.model_dump_json().encode()
    assert fastparse.rows(raw) == readings.rows_from([ReadingBatch.model_validate_json(raw)])


GOOD = json.loads(ReadingBatch(
    patient_id="P1", device_id="D1", seq=1, sent_at=datetime(2026, 3, 10, tzinfo=UTC),
    received_at=datetime(2026, 3, 10, tzinfo=UTC),
    readings=(Reading(type=ReadingType.SPO2, t=datetime(2026, 3, 10, tzinfo=UTC), value=97),),
).model_dump_json())


def _with(path: tuple[object, ...], value: object) -> bytes:
    d = json.loads(json.dumps(GOOD))
    target = d
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    if value is KeyError:
        del target[path[-1]]  # type: ignore[arg-type]
    else:
        target[path[-1]] = value  # type: ignore[index]
    return json.dumps(d).encode()


@pytest.mark.parametrize("raw", [
    b"not json", b"[]", _with(("v",), 2), _with(("v",), True), _with(("extra",), 1), _with(("patient_id",), "bad id!"),
    _with(("seq",), "1"), _with(("seq",), 1.0), _with(("received_at",), "2026-03-10T00:00:00"),
    _with(("received_at",), "20260310T000000Z"), _with(("received_at",), "2026-03-10T00:00:00.1234567Z"),
    _with(("readings", 0, "type"), "pulse"), _with(("readings", 0, "value"), "97"),
    _with(("readings", 0, "value"), True), _with(("readings", 0, "flags"), ["wet"]),
    _with(("readings", 0, "flags"), [{}]), _with(("device_kind",), "toaster"), _with(("spo2_scale",), 3),
    _with(("spo2_scale",), True), _with(("waveforms",), [{"kind": "ppg"}]), _with(("readings", 0, "t"), KeyError),
    _with(("readings",), KeyError),
    (b'{"v":1,"patient_id":"P1","device_id":"D1","seq":1,"sent_at":"2026-03-10T00:00:00Z",'
     b'"received_at":"2026-03-10T00:00:00Z","readings":[{"type":"spo2","t":"2026-03-10T00:00:00Z","value":NaN}]}'),
])
def test_non_canonical_input_is_left_to_the_model(raw: bytes) -> None:
    with pytest.raises(fastparse.NotCanonical):
        fastparse.rows(raw)


@pytest.mark.parametrize("t", ["2026-03-10 00:00:00Z", "2026-03-10t00:00:00z", "2026-03-10T07:00:00+0700",
                               "2026-03-10T00:00:00.123456Z", "2026-03-10T00:00Z", "2026-03-10T24:00:00Z"])
def test_other_time_forms_give_the_model_rows_or_go_to_the_model(t: str) -> None:
    raw = _with(("received_at",), t)
    try:
        fast = fastparse.rows(raw)
    except fastparse.NotCanonical:
        return  # the model decides
    assert fast == readings.rows_from([ReadingBatch.model_validate_json(raw)])


def test_ids_end_at_the_end_of_the_text() -> None:
    with pytest.raises(fastparse.NotCanonical):
        fastparse.rows(_with(("patient_id",), "P1\n"))


def test_sink_parse_counts_what_neither_path_accepts() -> None:
    m = sink.SinkMetrics(CollectorRegistry())
    # Lax but valid for the model (seq as a string): stored through the fallback.
    lax = _with(("seq",), "7")
    record = pack([json.dumps(GOOD).encode(), lax, _with(("readings", 0, "type"), "pulse")])
    rows = sink.parse([record, pack([json.dumps(GOOD).encode()]), b'{"v":1,"batches":"no"}'], m)
    assert [(r[3], r[7]) for r in rows] == [("spo2", 1), ("spo2", 7), ("spo2", 1)]
    assert m.bad._value.get() == 2  # one bad batch (its neighbours stored) and one record that is not packed


def test_packed_fast_path_gives_the_rows_of_each_batch() -> None:
    one = json.dumps(GOOD).encode()
    assert fastparse.packed_rows(pack([one, one])) == fastparse.rows(one) * 2
    with pytest.raises(fastparse.NotCanonical):
        fastparse.packed_rows(pack([one, _with(("seq",), "7")]))
    assert fastparse.packed_batches(pack([one, b'{"a": [1, 2]}'])) == [one, b'{"a": [1, 2]}']
