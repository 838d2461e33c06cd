"""No log call passes a reserved LogRecord attribute in ``extra`` (logging raises KeyError at run time)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
PACKAGES = ("wire", "runtime", "storage", "embedded", "ingest", "streams", "alerts", "firmware_sim", "cli")


def _bad_extras() -> list[str]:
    bad = []
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                for kw in node.keywords:
                    if kw.arg == "extra" and isinstance(kw.value, ast.Dict):
                        for key in kw.value.keys:
                            if isinstance(key, ast.Constant) and key.value in RESERVED:
                                bad.append(f"{path.relative_to(REPO)}:{node.lineno} extra key {key.value!r}")
    return bad


def test_scanner_sees_log_calls() -> None:
    # The scan must find the project's many extra= log calls, or it checks nothing.
    calls = sum(
        1 for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py") if "extra={" in p.read_text(encoding="utf-8")
    )
    assert calls >= 10


def test_no_reserved_keys_in_log_extra() -> None:
    assert _bad_extras() == []
