"""`rpm eval alarms`: alarm quality of a labelled scenario, smart vs naive threshold alarms, one JSON object.

Scenarios:

- ``synthetic-ward`` (built in, ``alerts.eval_synthetic``): a generated
  candidate stream with ground truth, until the simulator's scenarios run;
- any other NAME: ``NAME.labels.json`` and ``NAME.candidates.jsonl`` in
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

from alerts import eval_labels, eval_metrics, eval_replay, eval_synthetic
from alerts.suppression import Evaluation
from wire.messages import AlertCandidate

BUILT_IN = {"synthetic-ward"}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
    p.add_argument("--json", action="store_true", help="print one JSON object only")
    p.set_defaults(func=run_cli)


def load(a: argparse.Namespace) -> tuple[list[AlertCandidate], eval_labels.ScenarioLabels]:
    if a.scenario in BUILT_IN and a.labels is None and a.candidates is None:
        return eval_synthetic.generate(eval_synthetic.SyntheticSpec(a.patients, a.days, a.seed))
    labels = a.labels or a.scenario_dir / f"{a.scenario}.labels.json"
    cands = a.candidates or a.scenario_dir / f"{a.scenario}.candidates.jsonl"
    return eval_labels.load_candidates(cands), eval_labels.load_labels(labels)


def evaluate(
    candidates: list[AlertCandidate], labels: eval_labels.ScenarioLabels, grace: timedelta = timedelta(minutes=30),
    ack_after_s: float = 120.0,
) -> dict[str, object]:
    evals = [Evaluation.from_candidate(c) for c in candidates]
    replay = eval_replay.Replay(ack_after_s=ack_after_s)
    for ev in sorted(evals, key=lambda e: e.window_end):
        replay.feed(ev)
    smart = eval_metrics.quality(replay.finish(labels.end), labels, grace)
    naive = eval_metrics.quality(eval_replay.naive_alarms(evals), labels, grace)
    return eval_metrics.report(labels.scenario, smart, naive, labels)


def run_cli(a: argparse.Namespace) -> int:
    started = time.monotonic()
    print(f"loading scenario {a.scenario}", file=sys.stderr)
    candidates, labels = load(a)
    print(f"replaying {len(candidates)} candidates, {len(labels.events)} labelled events", file=sys.stderr)
    result = evaluate(candidates, labels, timedelta(minutes=a.grace_min), a.ack_after_s)
    result["candidates"] = len(candidates)
    result["elapsed_s"] = round(time.monotonic() - started, 2)
    if a.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>36}: {v}")
    return 0
