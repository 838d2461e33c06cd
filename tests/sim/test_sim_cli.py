"""`rpm sim` as a user runs it: clear one-line errors, a run with labels, per-device credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from cli.main import main
from embedded import mqtt_broker
from embedded.ports import free_port
from firmware_sim.credentials import load_or_create, write_mosquitto_passwords
from firmware_sim.labels import read_labels
from tests.sim.mqtt_watch import Subscriber

REPO = Path(__file__).resolve().parents[2]


def rpm(*args: str, env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=REPO, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout,
    )


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The same entry point without a new interpreter (the bad-input paths stop before any IO)."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_scenario_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = in_process(capsys, "sim", "--scenario", "intensive-care-on-mars")
    assert code == 2
    assert _one_line(err).startswith("error: unknown scenario 'intensive-care-on-mars'; built-in: bench, copd")


def test_invalid_scenario_file_names_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ward.yaml"
    f.write_text("name: w\ncohorts:\n  - name: a\n    count: 3\n    profile: vampire\n")
    code, _, err = in_process(capsys, "sim", "--scenario", str(f))
    assert code == 2
    assert _one_line(err).startswith(
        "error: ward.yaml line 5: cohorts.0.profile: Input should be 'general', 'copd' or 't1d'")


def test_unreachable_broker_is_one_line_exit_1(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    monkeypatch.setenv("RPM_MQTT_URL", f"mqtt://127.0.0.1:{port}")
    code, _, err = in_process(capsys, "sim", "--scenario", "stable", "--duration", "1m")
    assert code == 1
    assert _one_line(err) == f"error: cannot reach MQTT broker at 127.0.0.1:{port}: Connection refused"


def test_speedup_needs_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = in_process(capsys, "sim", "--scenario", "stable", "--speed", "10")
    assert code == 2 and "needs a duration" in _one_line(err)


def test_help_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["sim", "--help"])
    assert e.value.code == 0 and "--scenario" in capsys.readouterr().out
    code, out, _ = in_process(capsys, "sim", "--list")
    assert code == 0 and "hypoglycaemia" in out and "sepsis" in out


def test_run_with_labels_progress_and_summary(tmp_path: Path, mqtt_url: str, mqtt_v5: bool) -> None:
    labels = tmp_path / "labels.jsonl"
    prefix = f"c{uuid.uuid4().hex[:6]}-"  # unique ids (and MQTT client ids) on a shared broker
    sub = Subscriber(mqtt_url, mqtt_v5, prefix)
    try:
        p = rpm("sim", "--scenario", "tachyarrhythmia", "--patients", "4", "--duration", "2m", "--speed", "30",
                "--seed", "4", "--labels", str(labels), "--id-prefix", prefix,
                env={"RPM_MQTT_URL": mqtt_url, "RPM_MQTT_V5": str(mqtt_v5).lower(), "RPM_LOG_LEVEL": "WARNING"})
        assert p.returncode == 0, p.stderr
        summary = p.stdout.strip().splitlines()[-1]
        sent = int(summary.split(" messages,")[0].rsplit(" ", 1)[1])
        assert sent >= 4 * 120 and "0 dropped" in summary and "0 unacknowledged" in summary
        assert "devices" in p.stderr and "connected" in p.stderr  # the progress line
        ours = {f"{prefix}bm-{i:04d}" for i in range(1, 5)}
        sub.wait_until(lambda w: len({(m["device_id"], m["seq"]) for m in w.telemetry}) >= sent)
        assert {m["device_id"] for m in sub.watch.telemetry} == ours
        assert len({(m["device_id"], m["seq"]) for m in sub.watch.telemetry}) == sent
    finally:
        sub.close()
    got = read_labels(labels)
    assert got[0].type == "run" and got[0].detail["seed"] == 4 and got[0].detail["patients"] == 4


def test_devices_use_their_own_credentials(tmp_path: Path) -> None:
    if mqtt_broker.mosquitto_binary() is None:
        pytest.fail("Mosquitto is required (Debian package mosquitto)")
    creds = tmp_path / "creds.json"
    ids = [f"bm-{i:04d}" for i in range(1, 4)]
    write_mosquitto_passwords(tmp_path / "passwd", load_or_create(creds, ids))
    # 'user root': the broker must read the 0600 file we wrote as root (production chowns it instead).
    broker = mqtt_broker.start(tmp_path / "broker", extra_conf=f"user root\nallow_anonymous false\n"
                                                               f"password_file {tmp_path / 'passwd'}\n")
    env = {"RPM_MQTT_URL": broker.url, "RPM_LOG_LEVEL": "WARNING"}
    try:
        ok = rpm("sim", "--scenario", "stable", "--patients", "3", "--duration", "20s", "--speed", "10",
                 "--credentials", str(creds), env=env)
        assert ok.returncode == 0, ok.stderr
        assert " 0 unacknowledged" in ok.stdout
        anonymous = rpm("sim", "--scenario", "stable", "--patients", "3", "--duration", "20s", "--speed", "10",
                        env=env, timeout=120)
        assert anonymous.returncode == 1
        assert "did not accept the devices" in anonymous.stderr and "Not authorized" in anonymous.stderr
    finally:
        broker.stop()
    data = json.loads(creds.read_text())
    assert sorted(data["devices"]) == ids and oct(creds.stat().st_mode & 0o777) == "0o600"
    again = load_or_create(creds, ids)  # re-runs keep the passwords the broker knows
    assert again == {k: v["password"] for k, v in data["devices"].items()}


def test_bench_prints_the_common_keys() -> None:
    p = rpm("bench", "sim", "--devices", "20", "--seconds", "1.5", "--json", timeout=120)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert {"value", "unit", "limit", "ratio", "cpu_pct_of_one_core", "rss_per_1000_devices_mb"} <= set(result)
    assert result["value"] > 0 and result["limit"] > 0 and result["published"] == result["acked"]
    assert result["achieved_messages_per_s"] == pytest.approx(20, rel=0.3)
