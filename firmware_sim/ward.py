"""A small demo ward: who lies in which bed with which device and scenario."""

from __future__ import annotations

from dataclasses import dataclass

from wire.messages import DeviceKind


@dataclass(frozen=True, slots=True)
class SimPatient:
    patient_id: str
    display_name: str
    bed: str
    device_id: str
    kind: DeviceKind
    scenario: str  # "stable" or "deteriorating"


WARD_ID = "ward-a"
WARD_NAME = "Khoa Nội A / Internal Medicine A"


def demo_ward(patients: int = 20, deteriorating: int = 1) -> list[SimPatient]:
    out = []
    for i in range(1, patients + 1):
        scenario = "deteriorating" if i <= deteriorating else "stable"
        # Bed 7 deteriorates first: a recognisable bed in the demo.
        bed_no = (i + 5) % patients + 1
        out.append(
            SimPatient(
                patient_id=f"P{i:04d}",
                display_name=f"Bệnh nhân mô phỏng {i}",
                bed=f"{bed_no:02d}",
                device_id=f"bm-{i:04d}",
                kind=DeviceKind.BEDSIDE_MONITOR,
                scenario=scenario,
            )
        )
    return out
