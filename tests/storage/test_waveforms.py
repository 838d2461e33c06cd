"""Raw waveform snippets on the real PostgreSQL: lossless round trip, replays add nothing, a refused or invalid
snippet never costs the rest, their own shorter retention."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import psycopg
import pytest
from prometheus_client import CollectorRegistry

from firmware_sim.ppg import ppg_snippet
from storage import maintain, readings, sink, waveforms
from storage.policy import RetentionPolicy
from tests.storage.conftest import NOW, reading
from wire import packed
from wire.messages import Reading, ReadingBatch, WaveformKind, WaveformSnippet
from wire.units import ReadingType


def _pleth(seconds: float = 60.0, fs: float = 100.0, seed: int = 3) -> tuple[float, ...]:
    """The simulator's PPG model as 12-bit ADC codes, as a monitor sends them."""
    rng = random.Random(seed)
    return tuple(float(round(2048 + 800 * v)) for v in ppg_snippet(84, 16, seconds, fs, rng))


def _batch(t: datetime, samples: tuple[float, ...], kind: WaveformKind = WaveformKind.PPG, fs: float = 100.0,
           device: str = "bm-1", readings_: tuple[Reading, ...] = ()) -> ReadingBatch:
    snippet = WaveformSnippet(kind=kind, t=t, fs_hz=fs, samples=samples, adc_bits=12, unit="a.u.")
    return ReadingBatch(patient_id="P1", device_id=device, seq=-1, sent_at=t, received_at=t + timedelta(seconds=61),
                        readings=readings_, waveforms=(snippet,))


def test_encoding_is_the_smallest_that_gives_every_sample_back() -> None:
    cases = [([0, 2047, -2048, 32767], "i16"), ([0, 40000, -(2 ** 20)], "i32"), ([0.5, -1.25, 3.0], "f32"),
             ([0.1, 0.2], "f64"), ([2.0 ** 40], "f32")]
    for values, want in cases:
        enc, data = waveforms.encode([float(v) for v in values])
        assert enc == want, values
        assert waveforms.decode(enc, data).tolist() == [float(v) for v in values]
    with pytest.raises(ValueError):
        waveforms.encode([])


def test_snippets_round_trip_exactly_and_replays_add_nothing(db: psycopg.Connection) -> None:
    samples = _pleth()
    ecg = tuple(float(v) for v in np.round(np.sin(np.arange(15000) / 40) * 1.5, 3))  # scaled mV: not integers
    batches = [_batch(NOW, samples), _batch(NOW + timedelta(seconds=60), samples),
               _batch(NOW, ecg, WaveformKind.ECG, fs=250.0)]
    rows = [r for b in batches for r in waveforms.rows_from(b)]
    assert [r.encoding for r in rows] == ["i16", "i16", "f64"]
    with db.transaction():
        assert waveforms.write(db, rows) == waveforms.WriteResult(3, 0, 0)
    # A replay after a sink restart, and the same snippet twice in one batch: nothing new.
    with db.transaction():
        assert waveforms.write(db, rows + rows[:1]) == waveforms.WriteResult(0, 4, 0)
    assert db.execute("SELECT count(*) FROM waveform_snippets").fetchone() == (3,)

    got = waveforms.read(db, "P1", NOW + timedelta(seconds=30), NOW + timedelta(seconds=90))
    assert [(s.kind, s.start_at) for s in got] == [("ecg", NOW), ("ppg", NOW), ("ppg", NOW + timedelta(seconds=60))]
    assert got[1].samples.tolist() == list(samples) and got[0].samples.tolist() == list(ecg)
    assert (got[1].fs_hz, got[1].adc_bits, got[1].unit, got[0].fs_hz) == (100.0, 12, "a.u.", 250.0)
    # Outside the span (the ECG lasted 60 s at 250 Hz: ends at +60 s), and another patient: nothing.
    assert [s.kind for s in waveforms.read(db, "P1", NOW + timedelta(seconds=61), NOW + timedelta(seconds=62))] == [
        "ppg"]
    assert waveforms.read(db, "P2", NOW, NOW + timedelta(minutes=5)) == []
    assert waveforms.latest_end(db, "P1", NOW - timedelta(days=1)) == NOW + timedelta(seconds=120)

    # A minute of 100 Hz pleth as stored: 6,000 int16 samples, 12 KB (the column, as PostgreSQL stores it).
    size = db.execute("SELECT pg_column_size(samples) FROM waveform_snippets WHERE kind = 'ppg' LIMIT 1").fetchone()
    assert size is not None and 12_000 <= size[0] <= 12_010


def test_a_snippet_the_database_refuses_never_blocks_the_rest(db: psycopg.Connection) -> None:
    good = waveforms.rows_from(_batch(NOW, _pleth(10)))[0]
    # A producer bug the model would never let through: more samples than it says.
    bad = waveforms.SnippetRow(**{**{f: getattr(good, f) for f in good.__dataclass_fields__},
                                  "device_id": "bm-2", "n_samples": 7})
    with db.transaction():
        assert readings.write(db, [reading(NOW, 80.0)]) == 1
        assert waveforms.write(db, [bad, good]) == waveforms.WriteResult(1, 0, 1)
    assert db.execute("SELECT device_id FROM waveform_snippets").fetchall() == [("bm-1",)]
    assert db.execute("SELECT count(*) FROM readings").fetchone() == (1,)


def test_sink_parse_keeps_readings_and_good_snippets_of_a_record_with_a_bad_one() -> None:
    m = sink.SinkMetrics(CollectorRegistry())
    hr = Reading(type=ReadingType.HEART_RATE, t=NOW, value=84.0)
    record = orjson.loads(_batch(NOW, _pleth(10), readings_=(hr,)).model_dump_json())
    record["waveforms"].append({**record["waveforms"][0], "fs_hz": 0})  # invalid: no sampling rate
    waves: list[waveforms.SnippetRow] = []
    # One packed record (wire.packed, as the bridge writes them) holding both batches.
    rows = sink.parse([packed.pack([orjson.dumps(record), _batch(NOW, _pleth(10), device="bm-3").model_dump_json().encode()])],
                      m, waves)
    assert [r[3] for r in rows] == ["heart_rate"]
    assert [(w.device_id, w.n_samples) for w in waves] == [("bm-1", 1000), ("bm-3", 1000)]
    assert m.waveform_bad.labels("invalid")._value.get() == 1 and m.bad._value.get() == 0


def test_plain_waveforms_expire_long_before_readings(plain_db: psycopg.Connection) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with plain_db.transaction():
        waveforms.write(plain_db, waveforms.rows_from(_batch(now - timedelta(minutes=5), _pleth(10))))
        readings.write(plain_db, [reading(now - timedelta(minutes=5), 80.0)])
    report = maintain.run_once(plain_db, RetentionPolicy(), now=now + timedelta(days=9))
    assert any(p.startswith("waveform_snippets_p") for p in report.partitions["waveform_snippets"].dropped)
    assert report.partitions["readings"].dropped == []
    assert plain_db.execute("SELECT count(*) FROM waveform_snippets").fetchone() == (0,)
    assert plain_db.execute("SELECT count(*) FROM readings").fetchone() == (1,)
