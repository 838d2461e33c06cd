"""`rpm eval alarms`: alarm quality of a labelled scenario, smart vs naive threshold alarms, one JSON object.

Scenarios:

- ``synthetic-ward`` (built in, ``alerts.eval_synthetic``): a generated
  candidate stream with ground truth, until the simulator's scenarios run;
- ``--pipeline``: the simulator's scenario NAME through bridge and stream
  workers (``alerts.eval_pipeline``);
- any other NAME: ``NAME.labels.json[l]`` and ``NAME.candidates.jsonl`` in
  ``--scenario-dir`` (format in ``alerts.eval_labels``), e.g. written by
  running a simulator scenario through the pipeline and saving the
  ``rpm.alert-candidates.v1`` topic; ``--labels``/``--candidates`` name the
  files directly.

Both alarm sets come from the same candidate stream in the same run: the
smart ones through the service's engine (``alerts.engine``), the naive ones
by a plain threshold rule (``alerts.eval_replay.naive_alarms``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

from alerts import (
    eval_labels,
    eval_metrics,
    eval_monitor,
    eval_naive,
    eval_replay,
    eval_synthetic,
)
from alerts.suppression import Evaluation
from wire.messages import AlertCandidate, ReadingBatch

BUILT_IN = {"synthetic-ward"}


def add_parser(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """Adds ``eval`` and returns its sub-command group, so other packages can add their evaluations."""
    ev = sub.add_parser("eval", help="evaluations against ground truth")
    names = ev.add_subparsers(dest="eval_name", required=True, metavar="NAME")
    p = names.add_parser("alarms", help="alarm quality of a labelled scenario: smart vs naive threshold alarms")
    p.add_argument("--scenario", default="synthetic-ward", help="built-in synthetic-ward, or NAME in --scenario-dir")
    p.add_argument("--scenario-dir", type=Path, default=Path("eval/scenarios"))
    p.add_argument("--labels", type=Path, default=None, help="labels file (overrides --scenario-dir)")
    p.add_argument("--candidates", type=Path, default=None, help="candidates JSONL (overrides --scenario-dir)")
    p.add_argument("--patients", type=int, default=24, help="synthetic: patients")
    p.add_argument("--days", type=float, default=2.0, help="synthetic: days")
    p.add_argument("--seed", type=int, default=7, help="synthetic: random seed")
    p.add_argument("--grace-min", type=float, default=30.0,
                   help="an alarm up to this long after an event's end matches it")
    p.add_argument("--ack-after-s", type=float, default=120.0, help="modelled nurse response time")
    p.add_argument("--pipeline", action="store_true",
                   help="run the simulator scenario NAME through bridge and stream workers (minutes)")
    p.add_argument("--speed", type=float, default=60.0, help="--pipeline: simulated seconds per wall second")
    p.add_argument("--monitor-averaging-s", type=float, default=10.0,
                   help="bedside-monitor baseline: averaging of continuous vitals (default 10 s)")
    p.add_argument("--monitor-delay-s", type=float, default=15.0,
                   help="bedside-monitor baseline: alarm condition delay (default 15 s)")
    p.add_argument("--json", action="store_true", help="print one JSON object only")
    p.set_defaults(func=run_cli)
    cap = names.add_parser("capture", help="save the alert candidates topic to a JSONL file (for eval alarms)")
    cap.add_argument("--out", type=Path, required=True)
    cap.add_argument("--idle-s", type=float, default=10.0, help="stop after this long without a new candidate")
    cap.set_defaults(func=capture)
    return names


def capture(a: argparse.Namespace) -> int:
    """Everything on rpm.alert-candidates.v1 from the start (RPM_KAFKA_BOOTSTRAP, RPM_TOPIC_PREFIX)."""
    from kafka import KafkaConsumer

    from runtime.settings import KafkaConn, RpmSettings, load
    from wire import topics

    class CaptureSettings(RpmSettings, KafkaConn):
        pass

    s = load(CaptureSettings)
    consumer = KafkaConsumer(
        f"{s.topic_prefix}{topics.ALERT_CANDIDATES}", bootstrap_servers=s.kafka_bootstrap.split(","),
        api_version=(2, 3, 0), auto_offset_reset="earliest", consumer_timeout_ms=int(a.idle_s * 1000),
    )
    n = 0
    with a.out.open("w", encoding="utf-8") as f:
        for rec in consumer:
            f.write(rec.value.decode() + "\n")
            n += 1
    consumer.close()
    print(f"{n} candidates written to {a.out}", file=sys.stderr)
    return 0


Loaded = tuple[list[AlertCandidate], eval_labels.ScenarioLabels, list[ReadingBatch] | None]


def load(a: argparse.Namespace) -> Loaded:
    """Candidates, ground truth, and the raw readings when the run has them."""
    if a.pipeline:
        from alerts.eval_pipeline import run_scenario

        return run_scenario(a.scenario, a.speed, a.seed)
    if a.scenario in BUILT_IN and a.labels is None and a.candidates is None:
        cands, labels = eval_synthetic.generate(eval_synthetic.SyntheticSpec(a.patients, a.days, a.seed))
        return cands, labels, None
    labels = a.labels or a.scenario_dir / f"{a.scenario}.labels.json"
    if a.labels is None and not labels.exists():
        labels = labels.with_suffix(".jsonl")  # the simulator's own labels file
    cands = a.candidates or a.scenario_dir / f"{a.scenario}.candidates.jsonl"
    missing = [str(f) for f in (cands, labels) if not f.exists()]
    if missing:
        # One line naming the fix instead of a FileNotFoundError traceback.
        sys.exit(f"rpm eval alarms: error: scenario {a.scenario!r} has no recorded files ({', '.join(missing)});"
                 f" run it through the pipeline with --pipeline, record it with `rpm eval capture`,"
                 f" or use the built-in --scenario synthetic-ward")
    return eval_labels.load_candidates(cands), eval_labels.load_labels(labels), None


def evaluate(
    candidates: list[AlertCandidate], labels: eval_labels.ScenarioLabels, grace: timedelta = timedelta(minutes=30),
    ack_after_s: float = 120.0, readings: list[ReadingBatch] | None = None,
    monitor: eval_monitor.MonitorSettings | None = None,
) -> dict[str, object]:
    """Smart alarms beside two baselines from the same run: the naive rule, and a bedside monitor.

    ``readings``: the run's raw reading batches; the baselines then alarm on
    them, otherwise on the candidate stream.
    """
    monitor = monitor or eval_monitor.MonitorSettings()
    evals = [Evaluation.from_candidate(c) for c in candidates]
    replay = eval_replay.Replay(ack_after_s=ack_after_s)
    for ev in sorted(evals, key=lambda e: e.window_end):
        replay.feed(ev)
    smart_alarms = replay.finish(labels.end)
    smart = eval_metrics.quality(smart_alarms, labels, grace)
    if readings is not None:
        naive_set = eval_naive.naive_from_readings(readings)
        monitor_set = eval_monitor.monitor_from_readings(readings, monitor)
    else:
        naive_set = eval_replay.naive_alarms(evals)
        monitor_set = eval_monitor.monitor_from_evaluations(evals, monitor)
    naive = eval_metrics.quality(naive_set, labels, grace)
    mon = eval_metrics.quality(monitor_set, labels, grace)
    out = eval_metrics.report(labels.scenario, smart, naive, labels, monitor=mon)
    out["naive_basis"] = "raw readings" if readings is not None else "candidates"
    out["monitor_baseline"] = {"averaging_s": monitor.averaging_s, "delay_s": monitor.delay_s,
                               "source": "IEC 60601-2-61/-2-27 disclosure; vendor defaults 8-10 s averaging, "
                                         "10-15 s delay (alerts/eval_monitor.py)"}
    out["detection_vs_monitor"] = eval_metrics.delay_comparison(smart_alarms, monitor_set, labels, grace)
    return out


def run_cli(a: argparse.Namespace) -> int:
    started = time.monotonic()
    print(f"loading scenario {a.scenario}", file=sys.stderr)
    candidates, labels, readings = load(a)
    print(f"replaying {len(candidates)} candidates, {len(labels.events)} labelled events", file=sys.stderr)
    monitor = eval_monitor.MonitorSettings(averaging_s=a.monitor_averaging_s, delay_s=a.monitor_delay_s)
    result = evaluate(candidates, labels, timedelta(minutes=a.grace_min), a.ack_after_s, readings, monitor)
    result["candidates"] = len(candidates)
    result["elapsed_s"] = round(time.monotonic() - started, 2)
    if a.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>36}: {v}")
    return 0
