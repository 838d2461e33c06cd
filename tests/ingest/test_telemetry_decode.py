"""The bridge's msgspec telemetry fast path gives exactly the outcome of the pydantic model path, or defers to it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from ingest import telemetry_decode, validate
from tests.ingest.test_fuzz_core import LIMITS, NOW, SNAP, telemetry_like
from wire.messages import Telemetry
from wire.topics import telemetry_topic


def _model_only(payload: bytes, monkeypatch: pytest.MonkeyPatch) -> validate.Outcome:
    def refuse(_p: bytes) -> telemetry_decode.FastTelemetry:
        raise telemetry_decode.NotFast("forced")

    with monkeypatch.context() as m:
        m.setattr(telemetry_decode, "decode", refuse)
        return validate.validate_telemetry(telemetry_topic("d1"), payload, NOW, SNAP, LIMITS)


def _same(payload: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = validate.validate_telemetry(telemetry_topic("d1"), payload, NOW, SNAP, LIMITS)
    slow = _model_only(payload, monkeypatch)
    assert fast.accepted == slow.accepted
    assert [(d.reason, d.reading_index, d.detail) for d in fast.dead] == \
        [(d.reason, d.reading_index, d.detail) for d in slow.dead]


@settings(max_examples=400, deadline=None)
@given(telemetry_like.map(lambda v: json.dumps(v).encode()))
def test_random_payloads_same_outcome_either_path(payload: bytes) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _same(payload, mp)


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
def test_edge_cases_same_outcome_either_path(payload: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    _same(payload, monkeypatch)


def test_fast_path_takes_the_common_payload() -> None:
    msg = telemetry_decode.decode(_with())
    assert (msg.device_id, msg.seq, len(msg.readings)) == ("d1", 5, 1)
    assert Telemetry.model_validate_json(_with()).sent_at == msg.sent_at
