"""`rpm`: one command for every service and tool of the product."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli.argtypes import CliError, CliParser, port, positive_int
from runtime.settings import load


def _bridge(_a: argparse.Namespace) -> int:
    from ingest.service import run
    from ingest.settings import BridgeSettings

    return run(load(BridgeSettings))


def _streams(_a: argparse.Namespace) -> int:
    from streams.settings import StreamSettings
    from streams.worker import run

    return run(load(StreamSettings))


def _sink(_a: argparse.Namespace) -> int:
    from storage.settings import SinkSettings
    from storage.sink import run

    return run(load(SinkSettings))


def _alerts(a: argparse.Namespace) -> int:
    from alerts.service import run
    from alerts.settings import AlertSettings

    overrides = {"http_port": a.port} if a.port else {}
    return run(load(AlertSettings, **overrides))


def _hl7(_a: argparse.Namespace) -> int:
    from ingest.hl7_service import run
    from ingest.hl7_settings import Hl7Settings

    return run(load(Hl7Settings))


def _nightscout(_a: argparse.Namespace) -> int:
    from ingest.nightscout_service import run
    from ingest.nightscout_settings import NightscoutSettings

    return run(load(NightscoutSettings))


def _up(a: argparse.Namespace) -> int:
    from cli.up import up

    return up(a)


def _schemas(a: argparse.Namespace) -> int:
    from cli.schemas import write_schemas

    return write_schemas(a.out)


def build_parser() -> argparse.ArgumentParser:
    from cli import registry_cmds, sim_cmd

    parser = CliParser(
        prog="rpm",
        description="IoMT remote patient monitoring: MQTT -> Kafka -> Faust -> PostgreSQL -> nurse console.",
    )
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(  # type: ignore[assignment]
        dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="run the whole pipeline with embedded infrastructure and a simulated ward")
    up.add_argument("--port", type=port, default=8080, help="console HTTP port (default 8080)")
    up.add_argument("--patients", type=positive_int, default=20, help="simulated patients (default 20)")
    up.add_argument("--data-dir", default=".rpm-data", help="state directory (default .rpm-data)")
    up.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: run until Ctrl-C)")
    up.set_defaults(func=_up)

    sub.add_parser("bridge", help="MQTT -> Kafka bridge (settings: RPM_* env)").set_defaults(func=_bridge)
    sub.add_parser("hl7", help="HL7 v2 MLLP listener: ORU^R01 from bedside gateways -> Kafka (settings: RPM_* env)"
                   ).set_defaults(func=_hl7)
    sub.add_parser("nightscout", help="Nightscout-compatible CGM uploads API -> Kafka (settings: RPM_* env)"
                   ).set_defaults(func=_nightscout)
    sub.add_parser("streams", help="Faust stream worker (settings: RPM_* env)").set_defaults(func=_streams)
    sub.add_parser("sink", help="Kafka -> PostgreSQL readings sink (settings: RPM_* env)").set_defaults(func=_sink)
    al = sub.add_parser("alerts", help="alert service and console HTTP server (settings: RPM_* env)")
    al.add_argument("--port", type=port, default=None, help="HTTP port (overrides RPM_HTTP_PORT)")
    al.set_defaults(func=_alerts)

    sim_cmd.add_parser(sub)

    registry_cmds.add_parsers(sub)
    from cli import topics_cmd
    topics_cmd.add_parser(sub)

    sc = sub.add_parser("schemas", help="write the wire contract's JSON Schemas (for device makers)")
    sc.add_argument("--out", default="docs/schemas")
    sc.set_defaults(func=_schemas)

    from cli import bench, broker_cmds

    broker_cmds.add_parsers(sub)
    bench.add_parser(sub)
    from alerts.console import cli as users_cli

    users_cli.add_parser(sub)

    from alerts import eval_cli

    evals = eval_cli.add_parser(sub)
    from streams import eval_cgm, eval_waveforms

    eval_waveforms.add_parser(evals)
    eval_cgm.add_parser(evals)

    try:
        from streams import score_cli
    except ImportError:
        pass
    else:
        score_cli.add_parser(sub)
    return parser


def _no_database(e: Exception) -> str:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return (f"cannot reach PostgreSQL: {first}. Start PostgreSQL and point RPM_DATABASE_URL at it"
            " (postgresql://user@host:port/db), or run `rpm up`, which starts an embedded one.")


def main(argv: Sequence[str] | None = None) -> int:
    import psycopg

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"rpm: error: {e}", file=sys.stderr)
        return 2
    except psycopg.OperationalError as e:
        # A missing or unreachable database is a setup step, not a crash: one line naming the fix.
        print(f"rpm: error: {_no_database(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
