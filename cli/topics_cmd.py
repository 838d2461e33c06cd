"""`rpm topics create`: provision every Kafka topic of wire.topics, idempotently.

The Helm chart's topics Job runs this, so the cluster gets exactly the
topics the code uses (product topics and Faust's internal ones) with the
partition count the stream workers expect. Existing topics are never
altered: adding partitions to a keyed topic would move patients to other
partitions and orphan their window state, so a partition-count mismatch is
reported as an error for an operator to resolve, not "fixed".
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field

from pydantic import Field

from runtime.settings import KafkaConn, RpmSettings, load
from wire import topics

DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000


class TopicSettings(RpmSettings, KafkaConn):
    # Same variable the stream workers read (RPM_PARTITIONS), so a deployment
    # configures the count once.
    partitions: int = Field(default=topics.DEFAULT_PARTITIONS, ge=1)


@dataclass(slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]
    status: str = "planned"  # planned | created | exists | mismatch | failed
    detail: str = field(default="")


def plan(
    prefix: str, partitions: int, replication_factor: int, retention_ms: int, extra: dict[str, str] | None = None
) -> list[TopicSpec]:
    """The topics to provision, from the code's own registry."""
    specs = []
    for t in topics.all_topics(prefix, partitions):
        # Faust table changelogs hold the latest state per key: compacted,
        # never deleted by age (that would lose window state on recovery).
        if t.name.endswith("-changelog"):
            configs = {"cleanup.policy": "compact"}
        else:
            configs = {"cleanup.policy": "delete", "retention.ms": str(retention_ms)}
        configs.update(extra or {})
        specs.append(TopicSpec(t.name, t.partitions, replication_factor, configs))
    return specs


def provision(bootstrap: str, specs: list[TopicSpec], timeout_ms: int = 30_000) -> list[TopicSpec]:
    """Create the missing topics; mark each spec created / exists / mismatch / failed."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    # kafka-python cannot probe every broker's version (the librdkafka mock
    # included); 2.3 is spoken by real Kafka, Redpanda and the mock alike.
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap.split(","),
        api_version=(2, 3, 0),
        client_id="rpm-topics",
        request_timeout_ms=timeout_ms,
    )
    try:
        existing = set(admin.list_topics())
        present = [s.name for s in specs if s.name in existing]
        counts = _partition_counts(admin.describe_topics(present)) if present else {}
        for s in specs:
            if s.name in counts:
                have = counts[s.name]
                s.status = "exists" if have == s.partitions else "mismatch"
                if have != s.partitions:
                    s.detail = f"has {have} partitions, the services expect {s.partitions}"
                continue
            # One topic per request: an "already exists" answer (another job
            # racing us) then concerns exactly this topic.
            try:
                admin.create_topics(
                    [NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs)],
                    timeout_ms=timeout_ms,
                )
                s.status = "created"
            except TopicAlreadyExistsError:
                s.status = "exists"
            except KafkaError as e:
                s.status, s.detail = "failed", f"{type(e).__name__}: {e}"
    finally:
        admin.close()
    return specs


def _partition_counts(described: list[dict[str, object]]) -> dict[str, int]:
    # kafka-python 2.x names the key "topic", 3.x "name"; error_code != 0
    # means the broker does not know the topic after all.
    out = {}
    for d in described:
        name = d.get("name", d.get("topic"))
        parts = d.get("partitions")
        if isinstance(name, str) and isinstance(parts, list) and not d.get("error_code"):
            out[name] = len(parts)
    return out


def _config_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key, value


def cmd_create(a: argparse.Namespace) -> int:
    s = load(TopicSettings)
    specs = plan(
        s.topic_prefix,
        a.partitions or s.partitions,
        a.replication_factor,
        a.retention_ms,
        dict(a.config or []),
    )
    if not a.dry_run:
        specs = provision(s.kafka_bootstrap, specs, timeout_ms=int(a.timeout * 1000))
    ok = all(t.status in ("planned", "created", "exists") for t in specs)
    if a.json:
        print(json.dumps({"ok": ok, "dry_run": a.dry_run, "topics": [asdict(t) for t in specs]}))
    else:
        for t in specs:
            cfg = ",".join(f"{k}={v}" for k, v in sorted(t.configs.items()))
            line = f"{t.status:<9} {t.name}  partitions={t.partitions} rf={t.replication_factor} {cfg}"
            print(line + (f"  ({t.detail})" if t.detail else ""))
    if not ok:
        print("some topics are missing or differ from what the services expect", file=sys.stderr)
    return 0 if ok else 1


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    grp = sub.add_parser("topics", help="Kafka topic provisioning").add_subparsers(dest="topics_cmd", required=True)
    c = grp.add_parser(
        "create",
        help="create every topic the services use (idempotent; settings: RPM_KAFKA_BOOTSTRAP, RPM_TOPIC_PREFIX)",
    )
    c.add_argument("--partitions", type=int, default=None,
                   help=f"partitions per keyed topic (default RPM_PARTITIONS or {topics.DEFAULT_PARTITIONS})")
    c.add_argument("--replication-factor", type=int, default=1, help="replicas per partition (production: 3)")
    c.add_argument("--retention-ms", type=int, default=DEFAULT_RETENTION_MS,
                   help="retention of non-compacted topics (default 7 days)")
    c.add_argument("--config", type=_config_pair, action="append", metavar="KEY=VALUE",
                   help="extra topic config for every topic, e.g. min.insync.replicas=2 (repeatable)")
    c.add_argument("--timeout", type=float, default=30.0, help="seconds per Kafka request (default 30)")
    c.add_argument("--dry-run", action="store_true", help="print the topics without contacting Kafka")
    c.add_argument("--json", action="store_true", help="one JSON object on stdout")
    c.set_defaults(func=cmd_create)
