"""Bodies and answers of the administration API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alerts.console.models import IsoTime
from wire.messages import DeviceKind

Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UserCreate(_In):
    user_id: str = Field(min_length=2, max_length=64)
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=256)
    role: Literal["nurse", "charge_nurse", "clinician", "patient", "auditor", "admin"]
    ward_id: str | None = Field(default=None, max_length=64)
    patient_id: str | None = Field(default=None, max_length=64)
    locale: Literal["vi", "en"] = "vi"


class GrantBody(_In):
    role: Literal["nurse", "charge_nurse", "clinician", "patient", "auditor", "admin"]
    ward_id: str | None = Field(default=None, max_length=64)


class UserOut(BaseModel):
    user_id: str
    display_name: str
    locale: str
    patient_id: str | None
    disabled: bool
    roles: list[tuple[str, str | None]]


class WardBody(_In):
    name: str = Field(min_length=1, max_length=200)


class PatientBody(_In):
    display_name: str = Field(min_length=1, max_length=200)
    ward_id: str | None = Field(default=None, max_length=64)
    bed: str | None = Field(default=None, max_length=16)
    spo2_scale: Literal[1, 2] = 1


class PatientRow(BaseModel):
    id: str
    display_name: str
    ward_id: str | None
    bed: str | None
    spo2_scale: int


class DeviceBody(_In):
    kind: DeviceKind


class AssignBody(_In):
    patient_id: str = Id


class DeviceRow(BaseModel):
    device_id: str
    kind: str
    patient_id: str | None
    ward_id: str | None
    bed: str | None
    since: IsoTime | None


class AuditRow(BaseModel):
    at: IsoTime
    actor: str
    action: str
    subject: str | None
    detail: dict[str, object]
