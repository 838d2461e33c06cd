"""Issue 13/17: every `rpm` mistake gets one line naming the fix, at the command where it was made.

In-process (`cli.main.main`) rather than subprocesses: each `rpm` start costs
a second or two of imports on the shared machine.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from cli.instance_lock import LOCK_NAME, InstanceLock
from cli.main import main

# Nothing listens on port 1: a connection is refused at once.
NO_DB = "postgresql://postgres@127.0.0.1:1/rpm"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
        if isinstance(e.code, str):
            return code, capsys.readouterr().err + e.code
    return code, capsys.readouterr().err


def test_unknown_top_level_option_is_named_not_a_missing_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["--bogus"], capsys)
    assert code == 2
    assert "--bogus" in err and "required" not in err


def test_subcommand_mistakes_print_that_subcommand_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["sim", "--bogus"], capsys)
    assert code == 2
    assert err.startswith("usage: rpm sim") and "unrecognized arguments: --bogus" in err
    code, err = _run(["devices", "list", "--x"], capsys)
    assert code == 2 and err.startswith("usage: rpm devices list")


def test_bad_values_say_what_is_expected_not_a_function_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["sim", "--speed", "abc"], capsys)
    assert code == 2
    assert "argument --speed: expected a number, got 'abc'" in err and "_positive" not in err
    code, err = _run(["sim", "--speed", "0"], capsys)
    assert "argument --speed: must be greater than 0" in err


def test_up_with_a_bad_port_names_port_and_touches_nothing(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    code, err = _run(["up", "--port", "99999", "--data-dir", str(data)], capsys)
    assert code == 2
    assert "argument --port: a TCP port is 1-65535" in err and "RPM_HTTP_PORT" not in err
    assert not data.exists()


def test_second_up_on_the_same_data_dir_is_refused_before_touching_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Were it not refused, it would reach the database and reset the demo passwords: make that fail loudly.
    monkeypatch.setenv("RPM_DATABASE_URL", NO_DB)
    running = InstanceLock(tmp_path).acquire()
    try:
        code, err = _run(["up", "--data-dir", str(tmp_path), "--port", "1"], capsys)
    finally:
        running.release()
    assert code == 2
    assert f"another `rpm up` (pid {__import__('os').getpid()}) is running on {tmp_path}" in err
    assert "PostgreSQL" not in err and "[1/6]" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK_NAME]


def test_a_lock_left_by_a_dead_instance_does_not_block(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("999999\n")
    lock = InstanceLock(tmp_path).acquire()
    assert (tmp_path / LOCK_NAME).read_text().strip() == str(__import__("os").getpid())
    lock.release()


def test_up_on_a_busy_port_is_refused_naming_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        busy = s.getsockname()[1]
        code, err = _run(["up", "--data-dir", str(tmp_path), "--port", str(busy)], capsys)
    assert code == 2
    assert f"--port {busy} is not free" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK_NAME]


@pytest.mark.parametrize("argv", [["devices", "list"], ["db", "migrate"]], ids=" ".join)
def test_without_a_database_one_line_names_the_fix(argv: list[str], capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPM_DATABASE_URL", NO_DB)
    code, err = _run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("rpm: error: cannot reach PostgreSQL") and "RPM_DATABASE_URL" in lines[0]


def test_eval_of_an_unrecorded_scenario_names_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["eval", "alarms", "--scenario", "sepsis", "--scenario-dir", str(tmp_path)], capsys)
    assert code == 1
    assert "Traceback" not in err and "FileNotFoundError" not in err
    assert "scenario 'sepsis' has no recorded files" in err and "--pipeline" in err


def test_up_on_an_external_database_with_a_running_console_is_refused(
    db_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A console started from another data directory serves this database (its heartbeat is fresh).
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO service_heartbeats (service, instance, ready) VALUES ('alerts', 'other-up', true)")
        conn.execute("INSERT INTO users (id, display_name, locale, password_hash) VALUES ('nurse', 'N', 'vi', 'keep')")
    monkeypatch.setenv("RPM_DATABASE_URL", db_dsn)
    code, err = _run(["up", "--data-dir", str(tmp_path), "--port", str(_free_port())], capsys)
    assert code == 2
    assert "a console (alerts instance other-up) is running against RPM_DATABASE_URL" in err
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT password_hash FROM users WHERE id = 'nurse'").fetchone() == ("keep",)


def _free_port() -> int:
    from embedded.ports import free_port

    return free_port()
