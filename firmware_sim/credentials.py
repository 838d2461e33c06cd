"""Per-device MQTT credentials for the simulated fleet.

``rpm sim --credentials FILE`` reuses the passwords in FILE and adds random
ones for new devices, so re-runs keep working against a broker configured
once. The username is the device id (what the broker ACL keys on). The
Mosquitto password file is written in Mosquitto 2's own format (PBKDF2-
SHA512, 101 iterations, 12-byte salt: identical to ``mosquitto_passwd``),
so the broker can be configured without that tool; the ACL is the ingest
side's ``rpm devices provision``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

MOSQUITTO_PBKDF2_ITERATIONS = 101


class DeviceCredential(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str
    password: SecretStr


class CredentialsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: int = 1
    devices: dict[str, DeviceCredential] = Field(default_factory=dict)


def load_or_create(path: Path, device_ids: list[str]) -> dict[str, str]:
    """device id -> password; creates or extends ``path`` (mode 0600)."""
    existing = CredentialsFile()
    if path.exists():
        existing = CredentialsFile.model_validate_json(path.read_text(encoding="utf-8"))
    devices = dict(existing.devices)
    added = False
    for device_id in device_ids:
        if device_id not in devices:
            devices[device_id] = DeviceCredential(username=device_id, password=SecretStr(secrets.token_urlsafe(24)))
            added = True
    if added or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"v": 1, "devices": {k: {"username": c.username, "password": c.password.get_secret_value()}
                                    for k, c in sorted(devices.items())}}
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        tmp.replace(path)
    return {k: c.password.get_secret_value() for k, c in devices.items() if k in set(device_ids)}


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, MOSQUITTO_PBKDF2_ITERATIONS)
    return f"$7${MOSQUITTO_PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def write_mosquitto_passwords(path: Path, passwords: dict[str, str]) -> None:
    lines = [f"{user}:{mosquitto_hash(pw)}" for user, pw in sorted(passwords.items())]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
