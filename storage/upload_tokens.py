"""Per-device secrets of Nightscout-compatible CGM uploaders (table upload_tokens, migration 0300).

Uploaders send ``api-secret: <SHA-1 hex of the secret>``; only a SHA-256 of
that SHA-1 is stored. A token belongs to a device, and the registry's
assignment of that device names the patient at each reading's time.
"""

from __future__ import annotations

import hashlib
import secrets

import psycopg


def sha1_hex(secret: str) -> str:
    return hashlib.sha1(secret.encode()).hexdigest()


def _key(api_secret_sha1: str) -> bytes:
    return hashlib.sha256(api_secret_sha1.strip().lower().encode()).digest()


def create(conn: psycopg.Connection, device_id: str, label: str = "") -> str:
    """A new secret for ``device_id`` (printed once; only its hash is kept)."""
    if conn.execute("SELECT 1 FROM devices WHERE id = %s", (device_id,)).fetchone() is None:
        raise ValueError(f"unknown device {device_id!r}")
    secret = "rpm-" + secrets.token_urlsafe(24)
    conn.execute("INSERT INTO upload_tokens (secret_hash, device_id, label) VALUES (%s, %s, %s)",
                 (_key(sha1_hex(secret)), device_id, label))
    return secret


def device_for(conn: psycopg.Connection, api_secret_sha1: str) -> str | None:
    if not api_secret_sha1 or len(api_secret_sha1) > 100:
        return None
    row = conn.execute("SELECT device_id FROM upload_tokens WHERE secret_hash = %s AND revoked_at IS NULL",
                       (_key(api_secret_sha1),)).fetchone()
    return str(row[0]) if row else None


def revoke(conn: psycopg.Connection, device_id: str) -> int:
    cur = conn.execute("UPDATE upload_tokens SET revoked_at = now() WHERE device_id = %s AND revoked_at IS NULL",
                       (device_id,))
    return cur.rowcount
