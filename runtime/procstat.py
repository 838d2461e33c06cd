"""CPU time and memory of a process from /proc (Linux): what benchmarks charge to each service.

Wall-clock rates drift on a shared machine; the CPU seconds a process used
for a known amount of work do not (much), so benchmarks report both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcSample:
    cpu_s: float  # user + system, this process only
    rss_mb: float  # resident set now
    peak_rss_mb: float  # VmHWM: the largest resident set so far


def sample(pid: int) -> ProcSample | None:
    """None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces) start at ") ".
    fields = stat[stat.rindex(")") + 2:].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of proc(5))
    kb = {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in status.splitlines())
          if k in ("VmRSS", "VmHWM")}
    return ProcSample(cpu, kb.get("VmRSS", 0) / 1024, kb.get("VmHWM", 0) / 1024)


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS


def by_command(comm: str) -> float:
    """CPU seconds used so far by the live processes named ``comm`` (e.g. every PostgreSQL backend)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.index("(") + 1:text.rindex(")")] != comm:
            continue
        fields = text[text.rindex(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total
