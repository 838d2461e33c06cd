"""Device models: what each measures, how often, and how it publishes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

from firmware_sim.scenario import parse
from tests.sim.helpers import run

H = 3600.0


def test_home_spot_checks_a_few_times_a_day_around_the_set_times() -> None:
    s = parse("""\
name: spot
cohorts:
  - {name: home, count: 2, home: true, devices: [bp_cuff, pulse_oximeter]}
""")
    r = run(s, 2 * 86400, step=1800)
    tz = s.tz
    for d in r.plan.devices:
        rs = r.readings(d.device_id)
        if d.model.value == "bp_cuff":
            assert Counter(x["type"] for x in rs) == Counter({"bp_systolic": 8, "bp_diastolic": 8, "heart_rate": 8})
        elif d.model.value == "pulse_oximeter":
            assert Counter(x["type"] for x in rs) == Counter({"spo2": 8, "heart_rate": 8})
        else:
            continue
        for x in rs:  # 07:30, 12:00, 18:00, 21:30 local, up to 20 min late
            local = datetime.fromisoformat(x["t"]).astimezone(tz)
            minute = local.hour * 60 + local.minute
            assert any(0 <= minute - m <= 20 for m in (450, 720, 1080, 1290)), local


def test_wearable_patch_batches_and_measures_skin_temperature_and_motion() -> None:
    s = parse("""\
name: patch
cohorts:
  - {name: p, count: 1, ambulatory: true, devices: [wearable_patch]}
""")
    r = run(s, H, step=60)
    msgs = [json.loads(m.payload) for m in r.messages]
    assert 115 <= len(msgs) <= 121  # one upload per 30 s
    types = Counter(x["type"] for m in msgs for x in m["readings"])
    # Every 5 s; the last partial batch is still on the device when the run ends.
    assert 714 <= types["heart_rate"] == types["spo2"] == types["resp_rate"] == types["motion"] <= 720
    assert sum(types.values()) + r.engine.buffered() == 4 * 720 + 60
    assert types["skin_temperature"] >= 59 and "temperature" not in types  # skin is not core temperature
    skin = [x["value"] for m in msgs for x in m["readings"] if x["type"] == "skin_temperature"]
    assert 31 <= min(skin) and max(skin) <= 37


def test_cgm_every_five_minutes_or_every_minute() -> None:
    text = """\
name: cgm
devices: {cgm: {interval: %s}}
cohorts:
  - {name: t1d, count: 1, profile: t1d, devices: [cgm], virtual_patients: ["adult#001"]}
"""
    for interval, n in (("5m", 24), ("1m", 120)):
        r = run(parse(text % interval), 2 * H, step=300)
        g = [v for _, v in r.series(r.plan.devices[0].device_id, "glucose")]
        assert len(g) == n and all(40 <= v <= 400 and v == int(v) for v in g)


def test_bedside_monitor_cadence() -> None:
    s = parse("name: b\ncohorts:\n  - {name: a, count: 1}\n")
    r = run(s, H, step=60)
    types = Counter(x["type"] for x in r.readings())
    assert types["heart_rate"] == types["spo2"] == types["resp_rate"] == 3600
    assert types["temperature"] == 60 and types["bp_systolic"] == types["bp_diastolic"] == 4  # NIBP every 15 min


def test_fast_reading_json_equals_the_wire_model() -> None:
    from datetime import UTC, datetime, timedelta

    from firmware_sim.devices import Sample
    from firmware_sim.firmware import encode_reading, iso
    from wire.messages import DeviceReading, QualityFlag, Telemetry
    from wire.units import ReadingType as RT

    t = datetime(2026, 11, 22, 1, 2, 3, 456000, tzinfo=UTC) + timedelta(hours=7)  # device clocks: ms
    samples = [Sample(RT.HEART_RATE, 0, 72.0, "/min"), Sample(RT.SPO2, 0, 93.0, "%", (QualityFlag.MOTION,)),
               Sample(RT.TEMPERATURE, 0, 36.85, "degC"), Sample(RT.MOTION, 0, 0.05, "g"),
               Sample(RT.SPO2, 0, 97.0, "%", (QualityFlag.PROBE_OFF, QualityFlag.ARTIFACT))]
    for s in samples:
        text = encode_reading(s, iso(t))
        model = DeviceReading(type=s.type, t=t, value=s.value, unit=s.unit, flags=s.flags)
        assert DeviceReading.model_validate_json(text) == model
        assert text == model.model_dump_json()
    readings = ",".join(encode_reading(s, iso(t)) for s in samples)
    msg = f'{{"v":1,"device_id":"bm-1","seq":3,"sent_at":"{iso(t)}","readings":[{readings}]}}'
    assert Telemetry.model_validate_json(msg).readings[1].flags == (QualityFlag.MOTION,)
