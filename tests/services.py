"""Run product services as real processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


class Services:
    """Start `rpm <service>` processes with a given environment; print their logs on failure."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env = {**os.environ, **env}
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.logdir / f"{name}.log", "ab")
        p = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *(args or (name,))], env=self.env, stdout=log, stderr=log, cwd=REPO
        )
        self.procs[name] = p
        return p

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        p = self.procs.pop(name)
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def assert_running(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"services exited: {dead}\n{self.logs()}"

    def logs(self, tail: int = 40) -> str:
        out = []
        for f in sorted(self.logdir.glob("*.log")):
            lines = f.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"--- {f.name}\n" + "\n".join(lines))
        return "\n".join(out)

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def wait_for(check: Callable[[], T | None], timeout_s: float, what: str, services: Services | None = None) -> T:
    """Poll ``check`` until it returns something truthy; fail with the services' logs otherwise."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        if services is not None:
            services.assert_running()
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last={last!r}\n"
                         + (services.logs() if services else ""))
