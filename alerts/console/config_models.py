"""Bodies and answers of the alarm configuration API: responders, roster shifts, per-patient limits."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.alarm_model import StaffRole
from alerts.console.models import AlarmOut, IsoTime
from wire.identifiers import ID_PATTERN


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ResponderBody(_In):
    display_name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{6,15}$")
    locale: str = Field(default="vi", pattern=r"^(vi|en)$")


class ResponderOut(_Out):
    id: str


class ShiftBody(_In):
    responder_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    role: StaffRole
    ward_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=ID_PATTERN)
    beds: tuple[str, ...] | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class ShiftOut(_Out):
    id: int
    responder_id: str
    role: str
    ward_id: str | None
    beds: list[str] | None
    starts_at: IsoTime
    ends_at: IsoTime
    created_by: str


class CreatedOut(_Out):
    id: int


class DeletedOut(_Out):
    deleted: bool


class LimitBody(_In):
    limit: float = Field(description="in the rule's canonical unit; must lie in the rule's safe range")
    reason: str = Field(min_length=1, max_length=500)
    expires_at: AwareDatetime | None = None


class LimitOut(_Out):
    rule: str
    limit: float
    reason: str
    set_by: str
    set_at: IsoTime
    expires_at: IsoTime | None
    safe_low: float | None = Field(default=None, description="the rule's clinically safe range (alerts.limit_safety)")
    safe_high: float | None = None
    unit: str | None = None


class LimitSetOut(_Out):
    patient_id: str
    rule: str
    limit: float
    previous: float | None


class AlarmEventOut(_Out):
    event: str
    actor: str
    at: IsoTime
    detail: dict[str, object] = Field(description="the lifecycle's record of the step (e.g. reason, level, called)")


class AlarmDetailOut(AlarmOut):
    events: list[AlarmEventOut] = Field(description="every recorded step, oldest first")
