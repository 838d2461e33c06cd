"""Embedded PostgreSQL 16 from the `pgserver` wheel (works as root, starts in about a second)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def start(datadir: Path) -> tuple[str, Any]:
    """Start (or reuse) a server in ``datadir``; return (dsn, server handle)."""
    import pgserver

    datadir.mkdir(parents=True, exist_ok=True)
    # Unix socket paths are limited to ~107 bytes; keep the data dir short.
    server = pgserver.get_server(datadir, cleanup_mode="stop")
    return server.get_uri(), server
