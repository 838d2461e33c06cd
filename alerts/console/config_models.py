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


class ChainStepIn(_In):
    after_s: float = Field(gt=0, le=86400, description="seconds after the previous level (the first: after raising)")
    target: StaffRole


class ChainBody(_In):
    steps: list[ChainStepIn] = Field(max_length=20, description="in order; the rules (alerts.chain_safety) say 0-5")
    reason: str = Field(min_length=1, max_length=500)


class ChainStepOut(_Out):
    level: int
    after_s: float
    target: str
    source: str = Field(description="configured (this scope), ward_default (the '*' chain) or declared")


class ChainOut(_Out):
    priority: str
    source: str = Field(description="configured, ward_default or declared")
    steps: list[ChainStepOut]
    declared: list[ChainStepOut] = Field(description="the declared default, for comparison and reset")
    min_after_s: float = Field(description="the safe range of every step's delay for this priority and scope")
    max_after_s: float
    min_steps: int
    max_steps: int
    set_by: str | None = None
    set_by_name: str | None = Field(default=None, description="the setter's display name, when a console user")
    set_at: IsoTime | None = None
    reason: str | None = None


class ChainsOut(_Out):
    scope: str
    chains: list[ChainOut]


class ChainSetOut(_Out):
    scope: str
    priority: str
    steps: list[ChainStepOut]
    previous: list[ChainStepOut] | None = Field(description="the configured chain replaced; null if it was a default")
