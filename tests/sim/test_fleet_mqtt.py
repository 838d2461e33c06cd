"""The fleet against the real broker: store-and-forward after an outage, last will, statuses."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from embedded import mqtt_broker
from embedded.ports import free_port
from firmware_sim.engine import Engine
from firmware_sim.mqtt_fleet import MqttFleet
from firmware_sim.plan import build, rng_for
from firmware_sim.runner import RunOptions, SimRunner
from firmware_sim.scenario import parse
from tests.sim.mqtt_watch import Subscriber

SCENARIO = """\
name: outage-live
duration: 10m
devices:
  bedside_monitor: {interval: 1s}
  wearable_patch: {sample_every: 5s, publish_every: 30s, ppg_every: 2m, ppg_hz: 50}
cohorts:
  - name: steady
    count: 2
  - name: patch
    count: 1
    devices: [wearable_patch]
  - name: dropping
    count: 1
    events:
      - {type: network_loss, at: 2m, duration: 4m}
"""


def test_store_and_forward_after_an_outage_against_the_broker(mqtt_url: str, mqtt_v5: bool) -> None:
    prefix = f"t{uuid.uuid4().hex[:6]}-"
    plan = build(parse(SCENARIO), 11, datetime.now(UTC), id_prefix=prefix)
    engine = Engine(plan)
    sub = Subscriber(mqtt_url, mqtt_v5, prefix)

    def fleet(on_connected, on_acked):  # type: ignore[no-untyped-def]
        return MqttFleet(mqtt_url, v5=mqtt_v5, password_for=lambda _d: None, on_connected=on_connected,
                         on_acked=on_acked, rng=rng_for(11, "backoff"))

    runner = SimRunner(plan, engine, fleet, RunOptions(speed=60.0))
    try:
        final = runner.run(threading.Event())
        runner.shutdown()
        sub.wait_for(final.messages)
        # Clean shutdown says "offline" itself (a clean DISCONNECT suppresses the will).
        sub.wait_until(lambda w: sum(1 for _d, st in w.status if st == "offline") >= len(plan.devices) + 1)
    finally:
        sub.close()
    w = sub.watch
    dropping = plan.devices[-1].device_id
    assert final.messages == len({(m["device_id"], m["seq"]) for m in w.telemetry})
    assert final.unacked == 0 and final.buffered == 0
    # Only the dropping device may have resent: messages in flight when its link died (at-least-once).
    resent = Counter((m["device_id"], m["seq"]) for m in w.telemetry)
    assert {dev for (dev, _), n in resent.items() if n > 1} <= {dropping}
    outage = (120.0, 360.0)

    for d in plan.devices:
        msgs = [m for m in w.telemetry if m["device_id"] == d.device_id]
        seqs = [m["seq"] for m in msgs]
        assert sorted(set(seqs)) == list(range(len(set(seqs))))  # no message lost
        times = [datetime.fromisoformat(r["t"]) for m in msgs for r in m["readings"] if r["type"] == "heart_rate"]
        counts = Counter(times)
        elapsed = [(t - plan.start).total_seconds() for t in sorted(counts)]
        expected = 600 if d.model.value == "bedside_monitor" else 120
        assert len(counts) == expected, d.device_id  # every sample of the 10 minutes arrived
        if d.device_id != dropping:
            assert max(counts.values()) == 1 and times == sorted(times)
            continue
        # Readings measured while offline arrived exactly once, in measurement order, after the link came back.
        buffered = [t for t in times if outage[0] <= (t - plan.start).total_seconds() < outage[1]]
        assert len(buffered) == len(set(buffered)) >= 239
        assert buffered == sorted(buffered)
        assert elapsed == sorted(elapsed)
    # The broker published the device's last will when its link dropped, and it came back online.
    states = [s for dev, s in w.status if dev == dropping]
    assert "offline" in states and states[-1] == "offline" and "online" in states[states.index("offline"):]
    assert [lb.device_id for lb in engine.labels.labels if lb.type == "network_loss"] == [dropping]
    # The patch sent its PPG snippets on the waveform topic.
    assert len(w.waveforms) == 5 and all(len(x["samples"]) == 500 for x in w.waveforms)


RESTART = """\
name: broker-restart
duration: 8m
devices:
  bedside_monitor: {interval: 1s}
cohorts:
  - name: ward
    count: 3
"""


def test_devices_ride_out_a_broker_restart(tmp_path: Path) -> None:
    """The broker goes down for a few seconds: devices buffer, back off, reconnect and lose nothing."""
    port = free_port()
    # The subscriber's session must survive the restart; "user root" lets Mosquitto write its db here.
    persist = f"user root\npersistence true\npersistence_location {tmp_path}/\nautosave_interval 1\n"
    broker = mqtt_broker.start(tmp_path / "b1", port=port, extra_conf=persist)
    url = broker.url
    prefix = f"r{uuid.uuid4().hex[:6]}-"
    plan = build(parse(RESTART), 5, datetime.now(UTC), id_prefix=prefix)
    engine = Engine(plan)
    sub = Subscriber(url, True, prefix, durable=True)

    def fleet(on_connected, on_acked):  # type: ignore[no-untyped-def]
        return MqttFleet(url, v5=True, password_for=lambda _d: None, on_connected=on_connected,
                         on_acked=on_acked, rng=rng_for(5, "backoff"))

    runner = SimRunner(plan, engine, fleet, RunOptions(speed=30.0, drain_timeout_s=30))
    brokers = [broker]

    def restart() -> None:
        time.sleep(4)
        brokers[0].stop()
        time.sleep(3)
        brokers.append(mqtt_broker.start(tmp_path / "b2", port=port, extra_conf=persist))

    t = threading.Thread(target=restart)
    t.start()
    try:
        final = runner.run(threading.Event())
        t.join()
        runner.shutdown()
        sub.wait_until(lambda w: len({(m["device_id"], m["seq"]) for m in w.telemetry}) >= final.messages, 20)
    finally:
        sub.close()
        for b in brokers:
            b.stop()
    assert runner.fleet.counters.disconnects >= 3 and final.unacked == 0 and final.buffered == 0
    for d in plan.devices:
        msgs = [m for m in sub.watch.telemetry if m["device_id"] == d.device_id]
        seqs = {m["seq"] for m in msgs}
        missing = sorted(set(range(max(seqs) + 1)) - seqs)
        assert not missing, (d.device_id, missing)  # no message lost; resends of in-flight ones allowed
        hr = {r["t"] for m in msgs for r in m["readings"] if r["type"] == "heart_rate"}
        assert len(hr) == 480, d.device_id  # every second of the 8 simulated minutes
