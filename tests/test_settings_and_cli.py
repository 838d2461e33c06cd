"""Settings fail early naming the variable; every command has --help; schemas in docs/ match the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import build_parser
from cli.schemas import PUBLISHED, schema_text
from ingest.settings import BridgeSettings
from runtime.settings import load

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("RPM_KAFKA_BOOTSTRAP", "nohostport", "RPM_KAFKA_BOOTSTRAP: Value error, expected host:port"),
        ("RPM_MQTT_URL", "http://x", "RPM_MQTT_URL: String should match pattern"),
        ("RPM_DATABASE_URL", "mysql://x", "RPM_DATABASE_URL: Value error, expected a postgresql:// URL"),
        ("RPM_BATCH_MAX", "0", "RPM_BATCH_MAX: Input should be greater than or equal to 1"),
        ("RPM_METRICS_PORT", "abc", "RPM_METRICS_PORT: Input should be a valid integer"),
    ],
)
def test_bad_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], var: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SystemExit) as e:
        load(BridgeSettings)
    assert e.value.code == 2
    assert expected in capsys.readouterr().err


def test_secrets_are_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPM_MQTT_PASSWORD", "hunter2")
    monkeypatch.setenv("RPM_DATABASE_URL", "postgresql://u:pw-secret@h/db")
    s = load(BridgeSettings)
    assert "hunter2" not in repr(s) and "pw-secret" not in repr(s)
    assert s.mqtt_password is not None and s.mqtt_password.get_secret_value() == "hunter2"


def test_service_exits_with_message_on_bad_config() -> None:
    r = subprocess.run([sys.executable, "-m", "cli.main", "sink"], env={"RPM_KAFKA_BOOTSTRAP": "bad", "PATH": "/usr/bin"},
                       capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 2
    assert "RPM_KAFKA_BOOTSTRAP" in r.stderr


def _all_commands() -> list[list[str]]:
    out: list[list[str]] = [[]]

    def walk(parser: object, prefix: list[str]) -> None:
        for action in getattr(parser, "_actions", []):
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for name, sub in choices.items():
                    out.append([*prefix, name])
                    walk(sub, [*prefix, name])

    walk(build_parser(), [])
    return out


def test_rpm_help_lists_subcommands() -> None:
    text = build_parser().format_help()
    for cmd in ("up", "bridge", "streams", "sink", "alerts", "sim", "db", "devices", "patients", "schemas"):
        assert cmd in text


@pytest.mark.parametrize("cmd", _all_commands(), ids=lambda c: " ".join(c) or "rpm")
def test_every_command_has_help(cmd: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([*cmd, "--help"])
    assert e.value.code == 0
    assert "usage: rpm" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_json_schema_matches_models(name: str) -> None:
    path = REPO / "docs" / "schemas" / f"{name}.schema.json"
    assert path.read_text(encoding="utf-8") == schema_text(PUBLISHED[name]), (
        f"{path} is stale: run `rpm schemas` and commit the result"
    )
