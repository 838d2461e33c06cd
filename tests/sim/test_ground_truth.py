"""Same seed, same stream; the labels file matches what was injected; store-and-forward in the pure core."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from firmware_sim import scenario as scenarios
from firmware_sim.engine import Engine
from firmware_sim.labels import LabelCategory, LabelSink, read_labels
from firmware_sim.plan import build
from firmware_sim.scenario import parse
from tests.sim.helpers import START, Run, run, with_devices

H = 3600.0


def _mixed(seconds: float, seed: int = 1, patients: int = 16) -> Run:
    # Every artifact and fault, sampled every 2 s to keep the test quick.
    return run(with_devices(scenarios.load("mixed-ward"), interval=2.0), seconds, seed=seed, patients=patients,
               step=30)


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    a, b, c = _mixed(1200, 5, 10), _mixed(1200, 5, 10), _mixed(1200, 6, 10)
    assert len(a.messages) > 5000
    assert [m.payload for m in a.messages] == [m.payload for m in b.messages]
    assert a.engine.labels.labels == b.engine.labels.labels
    assert [m.payload for m in a.messages] != [m.payload for m in c.messages]


def test_stream_does_not_depend_on_tick_size() -> None:
    coarse = run(with_devices(scenarios.load("demo-ward"), interval=2.0), 1200, step=300)
    fine = run(with_devices(scenarios.load("demo-ward"), interval=2.0), 1200, step=7)
    assert [m.payload for m in coarse.messages] == [m.payload for m in fine.messages]


def _labels(r: Run, kind: str) -> list:
    return [lb for lb in r.engine.labels.labels if lb.type == kind]


def _t(r: Run, rd: dict) -> datetime:
    """True measurement time: the device clock minus the device's labelled skew."""
    skews = getattr(r, "_skews", None)
    if skews is None:
        skews = {lb.device_id: lb.detail["offset_s"] for lb in _labels(r, "clock_skew")}
        r._skews = skews  # type: ignore[attr-defined]
    return datetime.fromisoformat(rd["t"]) - timedelta(seconds=skews.get(rd["device_id"], 0.0))


def _inside(r: Run, rd: dict, kind: str) -> bool:
    t = _t(r, rd)
    return any(lb.device_id == rd["device_id"] and lb.start <= t and (lb.end is None or t <= lb.end)
               and rd["type"] in lb.readings for lb in _labels(r, kind))


def test_labels_match_what_was_injected() -> None:
    r = _mixed(2 * H)
    readings = r.readings()
    kinds = {lb.type for lb in r.engine.labels.labels}
    assert {"motion_artifact", "probe_off", "spike", "clock_skew", "network_loss", "duplicate"} <= kinds
    motion = [rd for rd in readings if "motion" in rd["flags"]]
    probe = [rd for rd in readings if "probe_off" in rd["flags"]]
    assert motion and probe
    assert all(_inside(r, rd, "motion_artifact") for rd in motion)
    assert all(_inside(r, rd, "probe_off") for rd in probe)
    # Every labelled artifact shows in the stream: a flag, or a value that differs from the truth-like neighbours.
    for lb in _labels(r, "probe_off"):
        if lb.detail["mode"] == "flagged":
            assert any(rd["device_id"] == lb.device_id and "probe_off" in rd["flags"] and lb.start <= _t(r, rd)
                       for rd in probe), lb
    by_device: dict[str, list[dict]] = {}
    for rd in readings:
        by_device.setdefault(rd["device_id"], []).append(rd)
    for lb in _labels(r, "spike"):
        at = [rd for rd in by_device[lb.device_id] if rd["type"] in lb.readings and _t(r, rd) == lb.start]
        assert at, lb
    for lb in _labels(r, "flatline"):
        vals = {(rd["type"], rd["value"]) for rd in by_device[lb.device_id]
                if rd["type"] in lb.readings and lb.start <= _t(r, rd) < lb.end}
        assert len(vals) <= len(lb.readings), lb  # one frozen value per affected type
    # Duplicates: every resend is labelled with its seq, and nothing else is resent.
    seen: dict[tuple[str, int], int] = {}
    for m in r.messages:
        key = (r.plan.devices[m.device_index].device_id, m.seq)
        seen[key] = seen.get(key, 0) + 1
    resent = {k for k, n in seen.items() if n > 1}
    assert resent == {(lb.device_id, lb.detail["seq"]) for lb in _labels(r, "duplicate")}
    # Clinical labels are the plan's events that began within the run, one each.
    planned = sum(1 for p in r.plan.patients for e in p.events if e.onset_s <= 2 * H)
    assert len([lb for lb in r.engine.labels.labels if lb.category is LabelCategory.CLINICAL
                and not lb.type.startswith(("hypo", "hyper"))]) == planned


def test_labels_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    plan = build(with_devices(scenarios.load("demo-ward"), interval=5.0), 3, START, duration_s=H)
    eng = Engine(plan, LabelSink(path))
    eng.advance(H, lambda _i: True)
    eng.finish()
    eng.labels.close()
    assert read_labels(path) == eng.labels.labels
    assert read_labels(path)[0].type == "run" and len(read_labels(path)) > 3


OUTAGE = """\
name: outage
duration: 1h
devices:
  bedside_monitor: {interval: 1s}
  buffer_readings: %d
cohorts:
  - name: a
    count: 2
  - name: b
    count: 1
    events:
      - {type: network_loss, at: 10m, duration: 20m}
"""


def test_store_and_forward_delivers_every_buffered_reading_once_in_order() -> None:
    r = run(parse(OUTAGE % 20000), H, step=1)
    dev = r.plan.devices[-1].device_id
    loss = _labels(r, "network_loss")
    assert [lb.device_id for lb in loss] == [dev]
    a, b = 600.0, 1800.0
    msgs = [m for m in r.messages if r.plan.devices[m.device_index].device_id == dev]
    assert [m.seq for m in msgs] == list(range(len(msgs)))  # consecutive, none lost, none repeated
    hr = r.series(dev, "heart_rate")
    times = [t for t, _ in hr]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert len(times) == 3600  # one per second for the whole hour, outage included
    # Nothing was sent during the outage; the first message after it carries its backlog.
    sent = [(m.seq, m.first_t, m.readings) for m in msgs]
    during = [s for s in sent if a <= s[1] < b]
    assert during and max(n for _, _, n in during) >= 500 > 3
    assert r.engine.dropped() == 0 and not _labels(r, "buffer_overflow")


def test_full_buffer_drops_oldest_and_counts_them() -> None:
    full = run(parse(OUTAGE % 20000), H, step=1)
    r = run(parse(OUTAGE % 1500), H, step=1)
    dev = r.plan.devices[-1].device_id
    # 20 min offline at ~3 readings/s into a 1500-reading buffer: the oldest ~2100 are dropped and counted.
    lost = len(full.readings(dev)) - len(r.readings(dev))
    assert lost == r.engine.dropped() > 2000
    over = _labels(r, "buffer_overflow")
    assert len(over) == 1 and over[0].device_id == dev and over[0].detail["dropped_readings"] == lost
    kept = {round(t) for t, _ in r.series(dev, "heart_rate")}
    missing = sorted({round(t) for t, _ in full.series(dev, "heart_rate")} - kept)
    # Oldest first: one contiguous block from the outage start; the newest readings of the outage survive.
    assert missing[0] == 600 and missing == list(range(600, 600 + len(missing)))
    assert all(t in kept for t in range(600 + len(missing) + 1, 1800))
