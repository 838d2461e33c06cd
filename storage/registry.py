"""Device registry: wards, patients, devices and time-bounded assignments.

The bridge resolves a device to the patient it was assigned to *at the
reading's measurement time*, so a home device uploading after an outage
still files each reading under the right patient.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from wire import identifiers
from wire.messages import DeviceKind


class RegistryError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Interval:
    patient_id: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class AssignmentSnapshot:
    """Immutable view of all assignments, loaded at once; lookups do no IO."""

    devices: frozenset[str]
    by_device: dict[str, tuple[Interval, ...]] = field(default_factory=dict)
    # Context the stream worker needs and devices never send.
    device_kinds: dict[str, DeviceKind] = field(default_factory=dict)
    spo2_scales: dict[str, int] = field(default_factory=dict)

    def patient_at(self, device_id: str, t: datetime) -> str | None:
        intervals = self.by_device.get(device_id, ())
        starts = [i.started_at for i in intervals]
        idx = bisect_right(starts, t) - 1
        if idx < 0:
            return None
        iv = intervals[idx]
        return iv.patient_id if iv.ended_at is None or t < iv.ended_at else None


def load_snapshot(conn: psycopg.Connection) -> AssignmentSnapshot:
    kinds = {
        r[0]: DeviceKind(r[1]) for r in conn.execute("SELECT id, kind FROM devices WHERE retired_at IS NULL")
    }
    devices = frozenset(kinds)
    scales = {r[0]: int(r[1]) for r in conn.execute("SELECT id, spo2_scale FROM patients WHERE spo2_scale <> 1")}
    by_device: dict[str, list[Interval]] = {}
    rows = conn.execute(
        "SELECT device_id, patient_id, started_at, ended_at FROM assignments ORDER BY device_id, started_at"
    )
    for device_id, patient_id, started, ended in rows:
        by_device.setdefault(device_id, []).append(Interval(patient_id, started, ended))
    return AssignmentSnapshot(devices, {k: tuple(v) for k, v in by_device.items()}, kinds, scales)


def _check(kind: str, value: str | None) -> None:
    # Ids end up in topics, headers and file names: refuse CR/LF, quotes, slashes where they enter.
    if value is not None and not identifiers.is_identifier(value):
        raise RegistryError(str(identifiers.BadIdentifier(kind, value)))


def add_ward(conn: psycopg.Connection, ward_id: str, name: str) -> None:
    _check("ward", ward_id)
    conn.execute(
        "INSERT INTO wards (id, name) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
        (ward_id, name),
    )


def add_patient(
    conn: psycopg.Connection,
    patient_id: str,
    display_name: str,
    ward_id: str | None = None,
    bed: str | None = None,
    spo2_scale: int = 1,
) -> None:
    _check("patient", patient_id)
    _check("ward", ward_id)
    conn.execute(
        "INSERT INTO patients (id, display_name, ward_id, bed, spo2_scale) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, ward_id = EXCLUDED.ward_id,"
        " bed = EXCLUDED.bed, spo2_scale = EXCLUDED.spo2_scale",
        (patient_id, display_name, ward_id, bed, spo2_scale),
    )


def add_device(conn: psycopg.Connection, device_id: str, kind: DeviceKind) -> None:
    _check("device", device_id)
    conn.execute(
        "INSERT INTO devices (id, kind) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind",
        (device_id, kind.value),
    )


def assign(conn: psycopg.Connection, device_id: str, patient_id: str, at: datetime) -> None:
    """Assign a device from ``at`` on, ending any open assignment of it at the same instant."""
    with conn.transaction():
        if conn.execute("SELECT 1 FROM devices WHERE id = %s", (device_id,)).fetchone() is None:
            raise RegistryError(f"unknown device {device_id!r}")
        if conn.execute("SELECT 1 FROM patients WHERE id = %s", (patient_id,)).fetchone() is None:
            raise RegistryError(f"unknown patient {patient_id!r}")
        conn.execute(
            "UPDATE assignments SET ended_at = %s WHERE device_id = %s AND ended_at IS NULL", (at, device_id)
        )
        conn.execute(
            "INSERT INTO assignments (device_id, patient_id, started_at) VALUES (%s, %s, %s)",
            (device_id, patient_id, at),
        )


def unassign(conn: psycopg.Connection, device_id: str, at: datetime) -> bool:
    cur = conn.execute(
        "UPDATE assignments SET ended_at = %s WHERE device_id = %s AND ended_at IS NULL", (at, device_id)
    )
    return cur.rowcount > 0


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    device_id: str
    kind: str
    patient_id: str | None
    ward_id: str | None
    bed: str | None
    started_at: datetime | None


def list_devices(conn: psycopg.Connection) -> list[AssignmentRow]:
    rows = conn.execute(
        "SELECT d.id, d.kind, a.patient_id, p.ward_id, p.bed, a.started_at FROM devices d"
        " LEFT JOIN assignments a ON a.device_id = d.id AND a.ended_at IS NULL"
        " LEFT JOIN patients p ON p.id = a.patient_id ORDER BY d.id"
    )
    return [AssignmentRow(*r) for r in rows]
