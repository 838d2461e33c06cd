"""The bridge's msgspec telemetry fast path gives exactly the outcome of the pydantic model path, or defers to it."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import telemetry_decode, validate
from storage.registry import AssignmentSnapshot, Interval
from tests.ingest.test_fuzz_core import LIMITS, NOW, SNAP, telemetry_like
from wire.messages import DeviceKind, Telemetry
from wire.topics import telemetry_topic
from wire.units import UNITS, ReadingType

# d1 has a closed and an open assignment (reading by reading); d3 one open assignment since five days
# (a message can be accepted whole), with a device kind and SpO2 scale 2 for its records.
SNAP3 = AssignmentSnapshot(
    SNAP.devices | {"d3"},
    {**SNAP.by_device, "d3": (Interval("P3", NOW - timedelta(days=5), None),)},
    device_kinds={"d3": DeviceKind.BEDSIDE_MONITOR},
    spo2_scales={"P3": 2},
)


def _outcome(payload: bytes, device: str, mp: pytest.MonkeyPatch, *, checked: bool = True,
             generic: bool = True) -> validate.Outcome:
    """The outcome with the checked decoder, the generic msgspec decoder or both of them turned off."""
    def refuse(_p: bytes) -> telemetry_decode.FastTelemetry:
        raise telemetry_decode.NotFast("forced")

    with mp.context() as m:
        if not checked:
            m.setattr(telemetry_decode, "decode_checked", lambda _p: None)
        if not generic:
            m.setattr(telemetry_decode, "decode", refuse)
        return validate.validate_telemetry(telemetry_topic(device), payload, NOW, SNAP3, LIMITS)


def _key(out: validate.Outcome) -> tuple[object, ...]:
    return (out.accepted, [(d.reason, d.reading_index, d.detail) for d in out.dead])


def _same(payload: bytes, monkeypatch: pytest.MonkeyPatch, device: str = "d1") -> None:
    full = _outcome(payload, device, monkeypatch)
    generic = _outcome(payload, device, monkeypatch, checked=False)
    model = _outcome(payload, device, monkeypatch, checked=False, generic=False)
    assert _key(full) == _key(generic) == _key(model)


@settings(max_examples=400, deadline=None)
@given(telemetry_like.map(lambda v: json.dumps(v).encode()), st.sampled_from(["d1", "d3"]))
def test_random_payloads_same_outcome_either_path(payload: bytes, device: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _same(payload, mp, device)


def _canonical(reading: dict[str, object]) -> dict[str, object]:
    rt = ReadingType(reading["type"])
    spec = UNITS[rt]
    return {**reading, "unit": spec.canonical,
            "value": round(spec.plausible_min + (spec.plausible_max - spec.plausible_min) / 3)}


# Messages that mostly pass: the whole-message path and its edges (time bounds, assignment start).
_plausible = telemetry_like.map(lambda v: {**v, "v": 1, "device_id": "d3", "seq": abs(v["seq"]),
                                           "readings": [_canonical(r) for r in v["readings"]
                                                        if r["type"] in set(ReadingType)] or
                                           [{"type": "spo2", "t": "2026-11-22T07:59:00Z", "value": 95, "unit": "%"}]})


@settings(max_examples=300, deadline=None)
@given(_plausible.map(lambda v: json.dumps(v).encode()))
def test_plausible_payloads_same_outcome_either_path(payload: bytes) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _same(payload, mp, "d3")


GOOD = {"v": 1, "device_id": "d1", "seq": 5, "sent_at": "2026-11-22T07:59:59Z",
        "readings": [{"type": "heart_rate", "t": "2026-11-22T07:59:58.5+07:00", "value": 88, "unit": "/min"}]}


def _with(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def _reading(**changes: object) -> bytes:
    return _with(readings=[{**GOOD["readings"][0], **changes}])  # type: ignore[index]


@pytest.mark.parametrize("payload", [
    _with(), _with(v=2), _with(v="1"), _with(seq=-1), _with(seq=1.0), _with(seq="5"), _with(device_id="d1\n"),
    _with(sent_at="2026-11-22T07:59:59"), _with(sent_at="2026-11-22 07:59:59Z"), _with(sent_at="2026-11-22t07:59:59z"),
    _with(readings=[]), _with(extra=1), _with(waveforms=[]), _with(waveforms=[{"kind": "ppg"}]),
    _reading(value="88"), _reading(value=True), _reading(value=None), _reading(value=1e308 * 10),
    _reading(t="2026-11-22T07:59:58.1234567Z"), _reading(unit="x" * 17), _reading(flags=["motion", "bogus"]),
    _reading(flags=["probe_off"]), _reading(type="pulse"), _reading(unit="bpm"), _reading(value=88.5),
    b'{"v":1,"device_id":"d1","seq":5,"sent_at":"2026-11-22T07:59:59Z","readings":[{"type":"spo2",'
    b'"t":"2026-11-22T07:59:59Z","value":NaN,"unit":"%"}]}',
])
@pytest.mark.parametrize("device", ["d1", "d3"])
def test_edge_cases_same_outcome_either_path(payload: bytes, device: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _same(payload.replace(b'"d1"', f'"{device}"'.encode()), monkeypatch, device)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _band_edges() -> list[dict[str, object]]:
    """Every reading type at and just beyond each plausible limit, in each accepted unit."""
    out: list[dict[str, object]] = []
    for rt, spec in UNITS.items():
        for lo_hi in (spec.plausible_min, spec.plausible_max):
            for v in (lo_hi, math.nextafter(lo_hi, -math.inf), math.nextafter(lo_hi, math.inf), lo_hi + 0.5):
                out.append({"type": rt.value, "t": "2026-11-22T07:59:00Z", "value": v, "unit": spec.canonical})
        for unit in spec.accepted:
            out.append({"type": rt.value, "t": "2026-11-22T07:59:00Z", "value": spec.plausible_max, "unit": unit})
    return out


_START3 = NOW - timedelta(days=5)
_EDGE_TIMES = [NOW + timedelta(minutes=5), NOW + timedelta(minutes=5, microseconds=1), NOW - timedelta(days=7),
               NOW - timedelta(days=7, microseconds=1), _START3, _START3 - timedelta(microseconds=1)]


@pytest.mark.parametrize("device", ["d1", "d3"])
@pytest.mark.parametrize("reading", _band_edges() + [
    {"type": "heart_rate", "t": _iso(t), "value": 80, "unit": "/min"} for t in _EDGE_TIMES
] + [{"type": "supplemental_o2", "t": "2026-11-22T07:59:00Z", "value": -0.0, "unit": "1"}])
def test_band_edges_and_time_bounds_same_outcome_either_path(
        reading: dict[str, object], device: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ok = {"type": "spo2", "t": "2026-11-22T07:59:30Z", "value": 96, "unit": "%"}
    for readings in ([reading], [ok, reading]):
        _same(json.dumps({**GOOD, "device_id": device, "readings": readings}).encode(), monkeypatch, device)


def test_the_common_message_is_accepted_whole_by_the_checked_decoder() -> None:
    payload = json.dumps({**GOOD, "device_id": "d3", "readings": [
        {"type": "heart_rate", "t": "2026-11-22T07:59:58Z", "value": 88, "unit": "/min"},
        {"type": "spo2", "t": "2026-11-22T07:59:58+07:00", "value": 96.5, "unit": "%", "flags": ["motion"]},
        {"type": "consciousness", "t": "2026-11-22T07:59:57Z", "value": 0, "unit": "1"}]}).encode()
    msg = telemetry_decode.decode_checked(payload)
    assert msg is not None and [r.type for r in msg.readings] == ["heart_rate", "spo2", "consciousness"]
    whole = validate.accept_whole(msg, NOW, SNAP3, LIMITS)
    assert whole is not None and not whole.dead
    (batch,) = whole.batches
    assert (batch.patient_id, batch.device_kind, batch.spo2_scale) == ("P3", DeviceKind.BEDSIDE_MONITOR, 2)
    assert [r.value for r in batch.readings] == [88, 96.5, 0]


@pytest.mark.parametrize("reading", [
    {"type": "temperature", "t": "2026-11-22T07:59:58Z", "value": 98.6, "unit": "degF"},  # converted: reading by reading
    {"type": "heart_rate", "t": "2026-11-22T07:59:58Z", "value": 19, "unit": "/min"},  # implausible
    {"type": "supplemental_o2", "t": "2026-11-22T07:59:58Z", "value": 0.5, "unit": "1"},  # not integral
    {"type": "heart_rate", "t": "2026-11-22T07:59:58.1234567Z", "value": 80, "unit": "/min"},  # sub-microsecond
])
def test_what_needs_a_reason_or_a_conversion_is_not_in_the_checked_form(reading: dict[str, object]) -> None:
    assert telemetry_decode.decode_checked(json.dumps({**GOOD, "readings": [reading]}).encode()) is None


def test_fast_path_takes_the_common_payload() -> None:
    msg = telemetry_decode.decode(_with())
    assert (msg.device_id, msg.seq, len(msg.readings)) == ("d1", 5, 1)
    assert Telemetry.model_validate_json(_with()).sent_at == msg.sent_at
