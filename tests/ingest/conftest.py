"""Fixtures for the ingest tests: a registered fleet of devices, a logdir for service processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from storage import registry
from tests.services import Services
from wire.messages import DeviceKind


@pytest.fixture
def fleet(db: psycopg.Connection) -> list[str]:
    """Five devices, unique to this test, each assigned to its own patient since yesterday."""
    tag = uuid.uuid4().hex[:6]
    registry.add_ward(db, "w1", "Ward 1")
    since = datetime.now(UTC) - timedelta(days=1)
    devices = []
    for i in range(5):
        device, patient = f"d{tag}-{i}", f"p{tag}-{i}"
        registry.add_patient(db, patient, f"Patient {i}", "w1", str(i))
        registry.add_device(db, device, DeviceKind.WEARABLE)
        registry.assign(db, device, patient, since)
        devices.append(device)
    return devices


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    svc = Services({}, tmp_path)
    yield svc
    svc.close()
