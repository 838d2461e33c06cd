"""Render the chart with the real Helm engine (helm-python-sdk) and parse the manifests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "rpm"
PRODUCTION_VALUES = CHART / "ci" / "production-values.yaml"
RELEASE = "rpm"
NAMESPACE = "ward"

# Helm logs every template `fail` at INFO on stderr; the tests assert on the
# raised errors instead.
helm_python.disable_logging()


@dataclass
class Rendered:
    """All manifests of one render, as parsed Kubernetes objects."""

    objects: list[dict[str, Any]]

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] in kinds]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]

    def workloads(self) -> list[dict[str, Any]]:
        return self.of_kind("Deployment", "StatefulSet", "Job")


@pytest.fixture(scope="session")
def chart() -> Iterator[helm_python.Chart]:
    with helm_python.Chart.load(CHART) as c:
        yield c


@pytest.fixture(scope="session")
def production_values() -> dict[str, Any]:
    return yaml.safe_load(PRODUCTION_VALUES.read_text(encoding="utf-8"))


def render(chart: helm_python.Chart, values: dict[str, Any] | None = None, release: str = RELEASE) -> Rendered:
    manifests = chart.render(values or {}, name=release, namespace=NAMESPACE)
    objects = []
    for path, text in sorted(manifests.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        objects.extend(o for o in yaml.safe_load_all(text) if o)
    return Rendered(objects)


@pytest.fixture(scope="session")
def default_render(chart: helm_python.Chart) -> Rendered:
    return render(chart)


@pytest.fixture(scope="session")
def production_render(chart: helm_python.Chart, production_values: dict[str, Any]) -> Rendered:
    return render(chart, production_values)


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """name -> value (str) or valueFrom (dict)."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}
