"""One `rpm up` per data directory: a lock file holding the owner's pid, taken before anything starts.

A second instance would reuse the first one's PostgreSQL, reset every demo
password (locking the running console's users out) and then fail on the
port. ``flock`` is released by the kernel when the owner dies, so a lock
file left by a crash never blocks the next start; the pid in it is only
for the message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from cli.argtypes import CliError

LOCK_NAME = "rpm-up.lock"


class InstanceLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = self.path.open("a+", encoding="ascii")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            owner = f.read().strip() or "unknown"
            f.close()
            raise CliError(
                f"another `rpm up` (pid {owner}) is running on {self.path.parent}; stop it first (Ctrl-C in its"
                f" terminal, or kill {owner}), or give this one its own --data-dir and --port") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock; the file stays, harmlessly
            self._file = None
