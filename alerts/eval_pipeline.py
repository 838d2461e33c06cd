"""A simulator scenario through the real pipeline, for ``rpm eval alarms --scenario NAME --pipeline``.

Bridge and stream workers run as processes (``alerts.local_pipeline``);
``rpm sim`` publishes the scenario over MQTT, sped up, registering its
patients and devices and writing its ground truth; the alert candidates
the stream workers emit are collected from Kafka until the pipeline has
drained. The alert service's decisions are then replayed offline over that
stream (``alerts.eval_replay``: the service's own engine, in the scenario's
event time), so the run takes minutes instead of the scenario's hours.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer

from alerts.eval_labels import ScenarioLabels, load_labels
from alerts.local_pipeline import Infra, Processes, wait_ready
from wire import topics
from wire.messages import AlertCandidate, ReadingBatch


def _say(msg: str) -> None:
    print(f"[eval pipeline] {msg}", file=sys.stderr, flush=True)


def _streams_lag(infra: Infra) -> int | None:
    """Readings not yet committed by the stream workers' consumer group (None: unknown, treated as drained)."""
    from kafka import KafkaAdminClient, TopicPartition

    name = f"{infra.prefix}{topics.READINGS_PACKED}"
    try:
        admin = KafkaAdminClient(bootstrap_servers=infra.kafka.bootstrap, api_version=(2, 3, 0))
        committed = admin.list_consumer_group_offsets(topics.stream_app_id(infra.prefix))
        admin.close()
        probe = KafkaConsumer(bootstrap_servers=infra.kafka.bootstrap, api_version=(2, 3, 0))
        parts = [TopicPartition(name, p) for p in probe.partitions_for_topic(name) or ()]
        ends = probe.end_offsets(parts)
        probe.close()
    except Exception as e:  # the check is an optimisation over the idle wait, not a requirement
        _say(f"lag unknown ({type(e).__name__}: {e}); relying on the idle wait")
        return None
    return int(sum(max(0, end - (committed[tp].offset if tp in committed else 0)) for tp, end in ends.items()))


def run_scenario(
    scenario: str, speed: float, seed: int, idle_s: float = 30.0
) -> tuple[list[AlertCandidate], ScenarioLabels, list[ReadingBatch]]:
    """The candidates, the ground truth, and the raw reading batches of the same run (for the baselines)."""
    prefix = f"e{uuid.uuid4().hex[:8]}."
    with tempfile.TemporaryDirectory(prefix="rpmeval") as tmp, Infra(Path(tmp), prefix) as infra:
        labels_path = Path(tmp) / f"{scenario}.labels.jsonl"
        with Processes(infra.env(RPM_DATA_DIR=f"{tmp}/streams"), Path(tmp)) as procs:
            for name in ("bridge", "streams"):
                procs.start(name)
            wait_ready(infra.dsn, ("bridge", "streams"), procs)
            cand_topic, readings_topic = f"{prefix}{topics.ALERT_CANDIDATES}", f"{prefix}{topics.READINGS_PACKED}"
            consumer = KafkaConsumer(
                cand_topic, readings_topic, bootstrap_servers=infra.kafka.bootstrap,
                api_version=(2, 3, 0), auto_offset_reset="earliest", group_id=f"{prefix}eval",
            )
            _say(f"simulating {scenario} at {speed:g}x")
            sim = procs.start("sim", "sim", "--scenario", scenario, "--speed", str(speed), "--seed", str(seed),
                              "--labels", str(labels_path), "--register", "--id-prefix", prefix.strip("."),
                              "--quiet")
            cands: list[AlertCandidate] = []
            batches: list[ReadingBatch] = []
            last_new = time.time()
            while True:
                procs.check()
                for recs in consumer.poll(timeout_ms=500).values():
                    for r in recs:
                        if r.topic == readings_topic:
                            batches += [ReadingBatch.model_validate(b) for b in json.loads(r.value)["batches"]]
                            continue
                        cands.append(AlertCandidate.model_validate_json(r.value))
                        last_new = time.time()
                # After the simulator finished: until the stream workers have caught
                # up with every reading and then stayed quiet for a while.
                if sim.poll() is not None and time.time() - last_new > idle_s and not _streams_lag(infra):
                    break
            consumer.close()
            _say(f"{len(cands)} candidates and {len(batches)} reading batches collected")
        return cands, load_labels(labels_path), batches
