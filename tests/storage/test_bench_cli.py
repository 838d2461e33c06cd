"""`rpm bench sink` and `rpm bench query` are registered and run end to end on each backend (tiny sizes:
this checks they work and report their figures, not the speed; docs/storage.md has measured runs)."""

from __future__ import annotations

import json

import pytest

from storage.backend import Backend


def _bench(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    from cli.main import main

    assert main(["bench", *args, "--json"]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    for key in ("value", "unit", "limit", "ratio"):
        assert key in result
    return result


def test_bench_query_reports_on_each_backend(
    server_dsn: str, backend: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RPM_DATABASE_URL", server_dsn)
    r = _bench(capsys, "query", "--patients", "3", "--days", "8", "--vitals", "2", "--interval-s", "600",
               "--queries", "3")
    assert r["backend"] == backend.value and r["readings"] == 3 * 8 * 144 * 2
    assert isinstance(r["bytes_per_million_readings"], int) and r["bytes_per_million_readings"] > 0
    if backend is Backend.TIMESCALEDB:
        # Every whole day older than one day is compressed.
        assert isinstance(r["chunks_compressed"], int) and r["chunks_compressed"] >= 6
        assert isinstance(r["compression_ratio"], float) and r["compression_ratio"] > 1
        assert "queries_compressed" in r


def test_bench_sink_reports_on_each_backend(
    server_dsn: str, backend: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RPM_DATABASE_URL", server_dsn)
    r = _bench(capsys, "sink", "--readings", "6000", "--patients", "5", "--batch-records", "20")
    assert r["rows"] == 6000 and r["unit"] == "rows/s"
    assert isinstance(r["value"], int) and r["value"] > 0
