"""`rpm bench NAME [--json]`: benchmarks that compare against a limit measured in the same run.

Each benchmark module exposes ``add_arguments(parser)`` and
``run(args) -> dict`` returning at least ``value``, ``unit``, ``limit``
(the physical limit for the same work, same unit, measured in the same run)
and ``ratio`` (value / limit); latency benchmarks add ``p50_ms`` and
``p99_ms``. Progress goes to stderr, the result to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys

# name -> module; a module that does not exist (yet) is simply not offered.
# `sim` registers its own parser (firmware_sim.bench.add_parser).
BENCHES: dict[str, str] = {
    "ingest": "ingest.bench",
    "streams": "streams.bench",
    "sink": "storage.bench_sink",
    "query": "storage.bench_query",
    "e2e": "alerts.bench_e2e",
}
REQUIRED_KEYS = ("value", "unit", "limit", "ratio")


def _available() -> dict[str, str]:
    out = {}
    for name, module in BENCHES.items():
        try:
            if importlib.util.find_spec(module) is not None:
                out[name] = module
        except ModuleNotFoundError:
            continue
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bench = sub.add_parser("bench", help="benchmarks (JSON on stdout with value, unit, limit, ratio)")
    names = bench.add_subparsers(dest="bench_name", required=True, metavar="NAME")
    for name, module in _available().items():
        mod = importlib.import_module(module)
        p = names.add_parser(name, help=(mod.__doc__ or name).strip().splitlines()[0])
        p.add_argument("--json", action="store_true", help="print one JSON object only")
        mod.add_arguments(p)
        p.set_defaults(func=lambda a, m=mod: _run(m, a))
    from firmware_sim import bench as sim_bench

    sim_bench.add_parser(names)  # registers its own parser (`--devices`, `--seconds`, `--json`)


def _run(mod: object, args: argparse.Namespace) -> int:
    result: dict[str, object] = mod.run(args)  # type: ignore[attr-defined]
    missing = [k for k in REQUIRED_KEYS if k not in result]
    if missing:
        raise RuntimeError(f"benchmark result lacks {missing}")
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>24}: {v}")
    sys.stdout.flush()
    return 0
