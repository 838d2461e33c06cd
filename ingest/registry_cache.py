"""The device registry as the bridge sees it: an immutable snapshot, swapped on reload.

Periodic reloads run on the bridge's main thread, away from the MQTT
network thread. A message from a device the snapshot does not know triggers
one synchronous reload (at most once per ``miss_reload_s``), so a device
registered a moment ago is accepted at once instead of dead-lettered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from storage.registry import AssignmentSnapshot

log = logging.getLogger(__name__)


class RegistryCache:
    def __init__(
        self,
        load: Callable[[], AssignmentSnapshot],
        refresh_s: float,
        miss_reload_s: float = 1.0,
        on_status: Callable[[bool, str], None] | None = None,
    ) -> None:
        self._load = load
        self._refresh_s = refresh_s
        self._miss_reload_s = miss_reload_s
        self._on_status = on_status or (lambda ok, detail: None)
        self._lock = threading.Lock()
        self._snapshot = load()
        self._loaded = time.monotonic()
        self._on_status(True, "")

    @property
    def snapshot(self) -> AssignmentSnapshot:
        return self._snapshot

    def get(self, device_id: str | None) -> AssignmentSnapshot:
        snap = self._snapshot
        if device_id is not None and device_id not in snap.devices:
            if time.monotonic() - self._loaded > self._miss_reload_s:
                self.reload()
            return self._snapshot
        return snap

    def maybe_refresh(self) -> None:
        if time.monotonic() - self._loaded > self._refresh_s:
            self.reload()

    def reload(self) -> bool:
        # Only one reload at a time; a concurrent caller keeps the current snapshot.
        if not self._lock.acquire(blocking=False):
            return False
        try:
            self._loaded = time.monotonic()
            try:
                self._snapshot = self._load()
            except Exception as e:  # keep serving the last good snapshot
                log.warning("registry reload failed", extra={"error": str(e)})
                self._on_status(False, f"reload failed: {e}")
                return False
            self._on_status(True, "")
            return True
        finally:
            self._lock.release()
