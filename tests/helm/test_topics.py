"""The topics Job provisions exactly the topics the code declares (wire.topics)."""

from __future__ import annotations

import json
from typing import Any

import helm_python
import pytest

from cli.main import main
from cli.topics_cmd import plan, provision
from embedded.kafka_mock import MockKafka
from tests.helm.conftest import Rendered, env_of, pod_spec, render
from wire import topics


def _job(rendered: Rendered) -> tuple[list[str], dict[str, Any]]:
    c = pod_spec(rendered.get("Job", "rpm-topics"))["containers"][0]
    return c["args"], env_of(c)


def _run_as_the_job(args: list[str], env: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Run the Job's exact command line with its literal environment, as a dry run."""
    for name, value in env.items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    assert main([*args, "--dry-run", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("which", ["default", "production"])
def test_topics_job_covers_every_topic_of_the_registry(
    which: str, default_render: Rendered, production_render: Rendered,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    rendered = default_render if which == "default" else production_render
    args, env = _job(rendered)
    out = _run_as_the_job(args, env, monkeypatch, capsys)
    prefix, partitions = env["RPM_TOPIC_PREFIX"], int(env["RPM_PARTITIONS"])
    expected = {t.name: t.partitions for t in topics.all_topics(prefix, partitions)}
    assert {t["name"]: t["partitions"] for t in out["topics"]} == expected
    # Product topics and Faust's internal ones alike.
    assert f"{prefix}rpm.readings-packed.v1" in expected
    assert any(n.endswith("-changelog") for n in expected)


def test_topics_job_and_workers_agree_on_prefix_and_partitions(production_render: Rendered) -> None:
    args, job_env = _job(production_render)
    assert args[args.index("--partitions") + 1] == job_env["RPM_PARTITIONS"] == "12"
    for w in production_render.of_kind("Deployment", "StatefulSet"):
        c = pod_spec(w)["containers"][0]
        if "iomt-rpm" not in c["image"]:
            continue
        env = env_of(c)
        assert env["RPM_TOPIC_PREFIX"] == job_env["RPM_TOPIC_PREFIX"] == "hcm."
        assert env["RPM_PARTITIONS"] == "12"
        assert env["RPM_KAFKA_BOOTSTRAP"] == job_env["RPM_KAFKA_BOOTSTRAP"]


def test_topics_job_passes_replication_retention_and_configs(production_render: Rendered) -> None:
    args, _ = _job(production_render)
    assert args[:2] == ["topics", "create"]
    assert args[args.index("--replication-factor") + 1] == "3"
    assert args[args.index("--retention-ms") + 1] == "1209600000"
    configs = {args[i + 1] for i, a in enumerate(args) if a == "--config"}
    assert configs == {"min.insync.replicas=2", "compression.type=zstd"}


def test_topics_job_can_be_turned_off(chart: helm_python.Chart) -> None:
    r = render(chart, {"topics": {"enabled": False}})
    assert not [j for j in r.of_kind("Job") if j["metadata"]["name"] == "rpm-topics"]
    assert not [p for p in r.of_kind("NetworkPolicy") if p["metadata"]["name"] == "rpm-topics"]


def test_plan_compacts_changelogs_and_retains_the_rest() -> None:
    specs = {s.name: s for s in plan("p.", 6, 3, 86_400_000, {"min.insync.replicas": "2"})}
    assert set(specs) == {t.name for t in topics.all_topics("p.", 6)}
    changelog = specs[f"p.rpm-streams-{topics.STREAM_TABLES[0]}-changelog"]
    assert changelog.configs == {"cleanup.policy": "compact", "min.insync.replicas": "2"}
    readings = specs["p.rpm.readings-packed.v1"]
    assert readings.configs == {"cleanup.policy": "delete", "retention.ms": "86400000", "min.insync.replicas": "2"}
    assert (readings.partitions, readings.replication_factor) == (6, 3)
    assert specs["p.rpm-streams-__assignor-__leader"].partitions == 1


def test_dry_run_prints_one_line_per_topic(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RPM_TOPIC_PREFIX", "x.")
    monkeypatch.setenv("RPM_PARTITIONS", "5")
    assert main(["topics", "create", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(topics.all_topics("x.", 5))
    assert lines[0].split()[:3] == ["planned", "x.rpm.readings-packed.v1", "partitions=5"]


def test_bad_config_option_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["topics", "create", "--dry-run", "--config", "novalue"])
    assert e.value.code == 2
    assert "expected key=value" in capsys.readouterr().err


# Against the librdkafka mock cluster (a real Kafka protocol peer). It has no
# CreateTopics API, so topic creation itself is exercised only on real Kafka;
# here: existing topics are recognised, mismatches and failures are reported.


@pytest.fixture(scope="module")
def mock_kafka() -> Any:
    cluster = MockKafka()
    yield cluster
    cluster.close()


def test_existing_topics_are_left_alone(mock_kafka: MockKafka, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    mock_kafka.create_topics(topics.all_topics("ok.", 4))
    monkeypatch.setenv("RPM_KAFKA_BOOTSTRAP", mock_kafka.bootstrap)
    monkeypatch.setenv("RPM_TOPIC_PREFIX", "ok.")
    assert main(["topics", "create", "--partitions", "4", "--json", "--timeout", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True
    assert {t["status"] for t in out["topics"]} == {"exists"}
    assert len(out["topics"]) == len(topics.all_topics("ok.", 4))


def test_partition_mismatch_is_an_error_not_a_repair(mock_kafka: MockKafka) -> None:
    mock_kafka.create_topics(topics.all_topics("mm.", 4))
    specs = provision(mock_kafka.bootstrap, plan("mm.", 8, 1, 1000), timeout_ms=5000)
    by_name = {s.name: s for s in specs}
    readings = by_name["mm.rpm.readings-packed.v1"]
    assert (readings.status, readings.detail) == ("mismatch", "has 4 partitions, the services expect 8")
    # The single-partition leader topic matches whatever the keyed count is.
    assert by_name["mm.rpm-streams-__assignor-__leader"].status == "exists"


def test_a_topic_that_cannot_be_created_fails_the_job(mock_kafka: MockKafka, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RPM_KAFKA_BOOTSTRAP", mock_kafka.bootstrap)
    monkeypatch.setenv("RPM_TOPIC_PREFIX", "missing.")
    assert main(["topics", "create", "--json", "--timeout", "5"]) == 1
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["ok"] is False
    assert {t["status"] for t in out["topics"]} == {"failed"}
    assert "missing or differ" in captured.err
