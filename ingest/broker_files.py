"""The broker's password file, ACL and config on disk (the IO around ingest.broker_auth).

Passwords are hashed by Mosquitto's own ``mosquitto_passwd`` when it is
installed (so a future Mosquitto hash format is followed), fed on stdin,
never on the command line where ``ps`` would show it; without the binary
the same PBKDF2-SHA512 format is written here. Files are replaced
atomically under a lock and readable only by their owner and, when it
exists, the ``mosquitto`` group (Mosquitto drops root privileges to that
user before it reads them).
"""

from __future__ import annotations

import fcntl
import grp
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest import broker_auth


def mosquitto_passwd_binary() -> str | None:
    return shutil.which("mosquitto_passwd") or next(
        (p for p in ("/usr/bin/mosquitto_passwd", "/usr/local/bin/mosquitto_passwd") if Path(p).exists()), None
    )


def _secure(path: Path) -> None:
    try:
        gid = grp.getgrnam("mosquitto").gr_gid
    except KeyError:
        os.chmod(path, 0o600)
        return
    if os.geteuid() == 0:
        os.chown(path, 0, gid)
    os.chmod(path, 0o640)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        _secure(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class BrokerFiles:
    def __init__(self, directory: Path, use_binary: bool = True) -> None:
        self.dir = directory.resolve()
        self.passwd = self.dir / "passwd"
        self.acl = self.dir / "acl"
        self.conf = self.dir / "mosquitto.conf"
        self.binary = mosquitto_passwd_binary() if use_binary else None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def users(self) -> dict[str, str]:
        return broker_auth.parse_passwd(self.passwd.read_text()) if self.passwd.exists() else {}

    def set_password(self, user: str, password: str) -> None:
        broker_auth.check_user(user)
        with self._locked():
            if self.binary:
                self._binary_set(user, password)
            else:
                current = self.passwd.read_text() if self.passwd.exists() else ""
                _write_atomic(self.passwd, broker_auth.with_user(current, user, password))

    def _binary_set(self, user: str, password: str) -> None:
        # mosquitto_passwd edits in place; work on a copy and swap it in atomically.
        work = self.dir / ".passwd.work"
        if self.passwd.exists():
            shutil.copyfile(self.passwd, work)
        else:
            work.write_text("")
        try:
            r = subprocess.run(
                [self.binary or "mosquitto_passwd", str(work), user],
                input=f"{password}\n{password}\n", capture_output=True, text=True, timeout=30,
            )
            if r.returncode != 0:
                raise broker_auth.CredentialError(f"mosquitto_passwd failed: {r.stderr.strip() or r.stdout.strip()}")
            _secure(work)
            os.replace(work, self.passwd)
        finally:
            work.unlink(missing_ok=True)

    def remove(self, user: str) -> bool:
        with self._locked():
            if not self.passwd.exists():
                return False
            text, found = broker_auth.without_user(self.passwd.read_text(), user)
            if found:
                _write_atomic(self.passwd, text)
            return found

    def write_acl(self, bridge_user: str) -> None:
        with self._locked():
            _write_atomic(self.acl, broker_auth.render_acl(bridge_user))

    def write_conf(self, text: str) -> None:
        with self._locked():
            _write_atomic(self.conf, text)
