"""Who is called for an alarm (pure core): roster, fallbacks, home care teams, quiet hours.

- A ward patient's alarm goes to the nurse rostered for that bed on the
  current shift; with nobody rostered for the bed, to the ward's charge
  nurse; with no charge nurse either, to the rapid response team.
- Escalation steps name a role (``StaffRole``); the same lookup finds who
  holds it now.
- A home patient's alarm goes to the care team (commune health station or
  family doctor): the primary members first, the backup members on
  escalation. Low-priority notifications wait for the end of the team's
  quiet hours (night, local time); the alarm itself is raised and visible at
  once, only the SMS/webhook delivery is deferred.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from alerts.alarm_model import StaffRole
from wire.messages import Priority


class TeamRole(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


@dataclass(frozen=True, slots=True)
class Responder:
    id: str
    display_name: str
    phone: str | None = None
    locale: str = "vi"


@dataclass(frozen=True, slots=True)
class Shift:
    """One roster entry: ``responder_id`` holds ``role`` in ``ward_id`` (None: hospital-wide) for
    [starts_at, ends_at)."""

    responder_id: str
    role: StaffRole
    ward_id: str | None
    starts_at: datetime
    ends_at: datetime
    beds: frozenset[str] | None = None  # None: every bed of the ward

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True, slots=True)
class CareTeam:
    id: str
    name: str
    members: tuple[tuple[str, TeamRole], ...]
    quiet_start: time | None = None
    quiet_end: time | None = None
    timezone: str = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True, slots=True)
class PatientPlace:
    """Where a patient is cared for: a ward bed, or at home with a care team."""

    patient_id: str
    ward_id: str | None = None
    bed: str | None = None
    care_team: CareTeam | None = None

    @property
    def at_home(self) -> bool:
        return self.ward_id is None


@dataclass(frozen=True, slots=True)
class Route:
    recipients: tuple[str, ...]
    reason: str
    deferred_until: datetime | None = None


def route(place: PatientPlace, target: StaffRole, priority: Priority, roster: tuple[Shift, ...], at: datetime) -> Route:
    """The responders to notify for ``target`` at ``at`` (an empty route: console only, reason says why)."""
    if place.at_home:
        return _route_home(place, target, priority, at)
    chain = {
        StaffRole.NURSE: (StaffRole.NURSE, StaffRole.CHARGE_NURSE, StaffRole.RAPID_RESPONSE),
        StaffRole.CHARGE_NURSE: (StaffRole.CHARGE_NURSE, StaffRole.RAPID_RESPONSE),
        StaffRole.RAPID_RESPONSE: (StaffRole.RAPID_RESPONSE,),
    }[target]
    for i, role in enumerate(chain):
        found = on_shift(roster, role, place.ward_id, place.bed, at)
        if found:
            if i == 0:
                return Route(found, f"{role.value} on shift")
            return Route(found, f"no {target.value} on shift for ward {place.ward_id} bed {place.bed}: "
                                f"fallback to {role.value}")
    return Route((), f"nobody on shift for {target.value} in ward {place.ward_id}: console only")


def on_shift(
    roster: tuple[Shift, ...], role: StaffRole, ward_id: str | None, bed: str | None, at: datetime
) -> tuple[str, ...]:
    out: list[str] = []
    for s in roster:
        if s.role is not role or not s.covers(at):
            continue
        # The rapid response team is usually hospital-wide (ward_id None).
        if s.ward_id is not None and s.ward_id != ward_id:
            continue
        if role is StaffRole.NURSE and s.beds is not None and bed not in s.beds:
            continue
        if s.responder_id not in out:
            out.append(s.responder_id)
    return tuple(out)


def _route_home(place: PatientPlace, target: StaffRole, priority: Priority, at: datetime) -> Route:
    team = place.care_team
    if team is None:
        return Route((), "home patient without a care team: console only")
    want = TeamRole.PRIMARY if target is StaffRole.NURSE else TeamRole.BACKUP
    found = tuple(r for r, role in team.members if role is want)
    reason = f"care team {team.id} {want.value}"
    if not found:
        found = tuple(r for r, _ in team.members)
        reason = f"care team {team.id}: no {want.value} member, whole team"
    deferred = quiet_hours_end(team, at) if priority is Priority.LOW else None
    if deferred is not None:
        reason += f"; low priority deferred to the end of quiet hours ({deferred.isoformat()})"
    return Route(found, reason, deferred)


def quiet_hours_end(team: CareTeam, at: datetime) -> datetime | None:
    """The end of the quiet period containing ``at`` (team's local time), None if ``at`` is not in one."""
    if team.quiet_start is None or team.quiet_end is None or team.quiet_start == team.quiet_end:
        return None
    tz = ZoneInfo(team.timezone)
    local = at.astimezone(tz)
    t = local.time()
    start, end = team.quiet_start, team.quiet_end
    if start < end:  # e.g. 12:00-13:30
        inside, end_day = start <= t < end, local.date()
    else:  # spans midnight, e.g. 21:00-06:00
        inside = t >= start or t < end
        end_day = local.date() + timedelta(days=1) if t >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=tz).astimezone(at.tzinfo)
