"""runtime.procstat: the CPU figures benchmarks charge to each process and to the machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from runtime import procstat


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_own_process_cpu_and_memory() -> None:
    a = procstat.sample(os.getpid())
    _burn(0.3)
    b = procstat.sample(os.getpid())
    assert a is not None and b is not None
    assert 0.2 <= b.cpu_s - a.cpu_s <= 1.0
    assert 0 < b.rss_mb <= b.peak_rss_mb
    assert procstat.sample(2**22 + 12345) is None  # beyond pid_max: gone


def test_machine_busy_counts_at_least_this_process() -> None:
    m0 = procstat.machine_busy_s()
    _burn(0.3)
    assert procstat.machine_busy_s() - m0 >= 0.25


def test_by_command_sums_the_processes_of_that_name(tmp_path: Path) -> None:
    exe = tmp_path / "rpmburner"  # a unique process name (comm), so nothing else counts
    exe.symlink_to(sys.executable)
    code = "import time\nend=time.process_time()+0.4\nwhile time.process_time()<end: pass\ntime.sleep(30)"
    procs = [subprocess.Popen([str(exe), "-c", code]) for _ in range(2)]
    try:
        deadline = time.monotonic() + 20
        while procstat.by_command("rpmburner") < 0.75 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert 0.75 <= procstat.by_command("rpmburner") <= 2.0
        assert procstat.by_command("no-such-command-here") == 0.0
    finally:
        for p in procs:
            p.kill()
            p.wait()
