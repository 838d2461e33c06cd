"""The Dockerfile builds the image the chart runs (no Docker engine here: it is parsed).

Checked: a multi-stage build whose final stage has no compilers, runs as the
non-root UID the chart's security context names, contains every package of
pyproject.toml, and whose ENTRYPOINT is the `rpm` console script the chart's
args are subcommands of.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.helm.conftest import CHART, REPO

BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "cython", "libpq-dev", "python3-dev")


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, op: str) -> list[str]:
        return [arg for o, arg in self.instructions if o == op]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs and stages; continuation lines joined, comments dropped."""
    logical: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # comment inside a continued instruction
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        op, _, rest = line.partition(" ")
        op, rest = op.upper(), rest.strip()
        if op == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            assert m, line
            stages.append(Stage(m.group(1), m.group(2) or str(len(stages))))
        elif not stages and op == "ARG":
            k, _, v = rest.partition("=")
            args[k] = v
        else:
            stages[-1].instructions.append((op, rest))
    return args, stages


def _dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile((REPO / "Dockerfile").read_text(encoding="utf-8"))


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_parser_handles_continuations_and_stages() -> None:
    args, stages = parse_dockerfile(
        "ARG BASE=python:3.11-slim\n# c\nFROM ${BASE} AS a\nRUN x \\\n # inner\n && y\nFROM ${BASE}\nUSER 1\n"
    )
    assert args == {"BASE": "python:3.11-slim"}
    assert [(s.name, s.instructions) for s in stages] == [("a", [("RUN", "x  && y")]), ("1", [("USER", "1")])]


def test_multi_stage_on_a_slim_python_311_base() -> None:
    args, stages = _dockerfile()
    assert len(stages) >= 2
    bases = {s.base.replace("${PYTHON_IMAGE}", args.get("PYTHON_IMAGE", "")) for s in stages}
    assert bases == {"python:3.11-slim-bookworm"}


def test_final_stage_has_no_build_tools_and_only_copies_the_built_venv() -> None:
    _, stages = _dockerfile()
    build, final = stages[0], stages[-1]
    assert any(tool in run for run in build.all("RUN") for tool in BUILD_TOOLS), "compilers belong in the build stage"
    for run in final.all("RUN"):
        assert "apt-get install" not in run and "pip install" not in run, run
        assert not any(re.search(rf"\b{re.escape(t)}\b", run) for t in BUILD_TOOLS), run
    copies = final.all("COPY")
    assert copies == [f"--from={build.name} /opt/rpm /opt/rpm"]


def test_runs_as_the_non_root_user_the_chart_expects() -> None:
    _, stages = _dockerfile()
    users = stages[-1].all("USER")
    assert users, "the final stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root UID lets runAsNonRoot verify it"
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert values["podSecurityContext"]["runAsUser"] == int(uid)
    assert values["podSecurityContext"]["runAsGroup"] == int(gid)


def test_entrypoint_is_the_rpm_console_script() -> None:
    _, stages = _dockerfile()
    final = stages[-1]
    assert [json.loads(e) for e in final.all("ENTRYPOINT")] == [["rpm"]]
    assert _pyproject()["project"]["scripts"]["rpm"] == "cli.main:main"
    # The venv's bin directory (where pip puts `rpm`) is on PATH.
    assert any("/opt/rpm/bin" in e for e in final.all("ENV"))
    # The build stage proves the script runs before the image is finished.
    assert any("/opt/rpm/bin/rpm --help" in r for r in stages[0].all("RUN"))


def test_every_package_is_copied_into_the_build() -> None:
    _, stages = _dockerfile()
    copied = {c.split()[0].rstrip("/") for c in stages[0].all("COPY")}
    includes = _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.removesuffix("*") for p in includes}
    assert packages <= copied, f"not copied into the image: {packages - copied}"
    assert {"pyproject.toml"} <= {w for c in stages[0].all("COPY") for w in c.split()}


def test_dockerignore_keeps_secrets_and_state_out_of_the_context() -> None:
    ignored = {
        line.strip() for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git", ".rpm-data", "tests"} <= ignored
    _, stages = _dockerfile()
    copied = {c.split()[0].rstrip("/") for c in stages[0].all("COPY")}
    assert not copied & ignored, "a COPY source is excluded from the build context"
