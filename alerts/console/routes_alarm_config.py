"""Alarm configuration API: responders, the roster and per-patient alarm limits, ward-scoped and audited.

Who may do what (alerts.console.access):
- read a ward's roster: its staff (nurse, charge nurse, clinician) and admins;
- edit responders and shifts: the ward's charge nurse or an admin; a
  hospital-wide shift (rapid response) needs every ward;
- read a patient's limits: the patient's ward staff;
- change or clear a limit: the charge nurse of the patient's ward or a
  clinician of that ward (access.LIMIT_EDITORS), within the rule's safe range
  (alerts.limit_safety); the audit row keeps old value, new value and reason.
Each read or change writes its audit row in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from alerts import roster_store
from alerts.console import access
from alerts.console.auth import current_user
from alerts.console.config_models import (
    CreatedOut,
    DeletedOut,
    LimitBody,
    LimitOut,
    LimitSetOut,
    ResponderBody,
    ResponderOut,
    ShiftBody,
    ShiftOut,
)
from alerts.console.context import console
from alerts.console.errors import ApiError
from alerts.console.params import PatientId
from alerts.console.users import Principal
from alerts.limit_safety import safe_range
from storage import audit
from wire.identifiers import ID_PATTERN
from wire.rules import Rule

router = APIRouter(prefix="/api", tags=["alarm configuration"])
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}, 422: {}}
ResponderId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]

# Roster readers: the ward's clinical staff, and the admins who edit it.
_ROSTER_READERS = access.READERS | access.ROSTER_EDITORS


def _refused(e: roster_store.ConfigError) -> ApiError:
    return ApiError.of(422, e.key, e.params)


@router.put("/responders/{responder_id}", response_model=ResponderOut, responses=_ERRORS)
def put_responder(body: ResponderBody, request: Request, responder_id: ResponderId,
                  user: Principal = Depends(current_user)) -> ResponderOut:
    """Create or edit a responder; one rostered in a ward only by that ward's charge nurse (or an admin)."""
    with console(request).connect() as conn:
        access.require(conn, user, access.ROSTER_EDITORS, f"responder:{responder_id}")
        _, wards = roster_store.responder_wards(conn, responder_id, datetime.now(UTC))
        access.wards_editable(conn, user, [w or None for w in wards], subject=f"responder:{responder_id}")
        roster_store.upsert_responder(conn, user.user_id, responder_id, body.display_name, body.phone, body.locale)
    return ResponderOut(id=responder_id)


@router.get("/roster", response_model=list[ShiftOut], responses=_ERRORS)
def get_roster(request: Request,
               ward_id: str | None = Query(None, min_length=1, max_length=64, pattern=ID_PATTERN),
               user: Principal = Depends(current_user)) -> list[ShiftOut]:
    """Shifts not yet ended in the user's wards (or one of them), with the hospital-wide ones (audited)."""
    with console(request).connect() as conn:
        access.require(conn, user, _ROSTER_READERS, "roster")
        scope = user.scope(_ROSTER_READERS)
        if ward_id is not None:
            access.ward(conn, user, ward_id, _ROSTER_READERS)
            wards: frozenset[str] | None = frozenset({ward_id})
        else:
            wards = None if scope.every_ward else scope.wards
        with conn.transaction():
            rows = roster_store.list_shifts(conn, wards, datetime.now(UTC))
            audit.append(conn, user.user_id, "roster.read", f"ward:{ward_id}" if ward_id else None,
                         {"wards": sorted(wards) if wards is not None else None, "shifts": len(rows)})
    return [ShiftOut(id=s.id, responder_id=s.responder_id, role=s.role.value, ward_id=s.ward_id,
                     beds=list(s.beds) if s.beds is not None else None, starts_at=s.starts_at, ends_at=s.ends_at,
                     created_by=s.created_by) for s in rows]


@router.post("/roster", status_code=201, response_model=CreatedOut, responses=_ERRORS)
def post_shift(body: ShiftBody, request: Request, user: Principal = Depends(current_user)) -> CreatedOut:
    with console(request).connect() as conn:
        access.require(conn, user, access.ROSTER_EDITORS, "roster")
        access.wards_editable(conn, user, [body.ward_id], subject=f"ward:{body.ward_id}" if body.ward_id else None)
        try:
            sid = roster_store.add_shift(conn, user.user_id, body.responder_id, body.role, body.ward_id, body.beds,
                                         body.starts_at, body.ends_at)
        except roster_store.ConfigError as e:
            raise _refused(e) from None
    return CreatedOut(id=sid)


@router.delete("/roster/{shift_id}", response_model=DeletedOut, responses=_ERRORS)
def delete_shift(shift_id: int, request: Request, user: Principal = Depends(current_user)) -> DeletedOut:
    with console(request).connect() as conn:
        access.require(conn, user, access.ROSTER_EDITORS, f"shift:{shift_id}")
        exists, ward_id = roster_store.shift_ward(conn, shift_id)
        if not exists:
            # Same rule as patients: only an every-ward editor learns that a shift does not exist.
            if user.scope(access.ROSTER_EDITORS).every_ward:
                raise ApiError(404, "error.no_shift")
            access.wards_editable(conn, user, [None], subject=f"shift:{shift_id}")
        access.wards_editable(conn, user, [ward_id], subject=f"shift:{shift_id}")
        if not roster_store.remove_shift(conn, user.user_id, shift_id):
            raise ApiError(404, "error.no_shift")
    return DeletedOut(deleted=True)


def _limit_out(r: roster_store.LimitRow) -> LimitOut:
    rng = safe_range(Rule(r.rule)) if r.rule in Rule._value2member_map_ else None
    return LimitOut(rule=r.rule, limit=r.limit, reason=r.reason, set_by=r.set_by, set_at=r.set_at,
                    expires_at=r.expires_at, safe_low=rng.low if rng else None, safe_high=rng.high if rng else None,
                    unit=rng.unit if rng else None)


@router.get("/patients/{patient_id}/limits", response_model=list[LimitOut], responses=_ERRORS)
def get_limits(request: Request, patient_id: PatientId, user: Principal = Depends(current_user)) -> list[LimitOut]:
    """The patient's alarm limit overrides with each rule's safe range (the ward's staff; audited)."""
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id)
        with conn.transaction():
            audit.append(conn, user.user_id, "alarm_limit.read", ref.id, {})
            return [_limit_out(r) for r in roster_store.list_limits(conn, ref.id)]


@router.put("/patients/{patient_id}/limits/{rule}", response_model=LimitSetOut, responses=_ERRORS)
def put_limit(body: LimitBody, request: Request, patient_id: PatientId, rule: str = Path(max_length=64),
              user: Principal = Depends(current_user)) -> LimitSetOut:
    """Set a patient's limit for a threshold rule: charge nurse or clinician of the patient's ward only."""
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id, access.LIMIT_EDITORS)
        before = {r.rule: r.limit for r in roster_store.list_limits(conn, ref.id)}.get(rule)
        try:
            roster_store.set_limit(conn, user.user_id, ref.id, rule, body.limit, body.reason, body.expires_at)
        except roster_store.ConfigError as e:
            raise _refused(e) from None
    return LimitSetOut(patient_id=ref.id, rule=rule, limit=body.limit, previous=before)


@router.delete("/patients/{patient_id}/limits/{rule}", response_model=DeletedOut, responses=_ERRORS)
def delete_limit(request: Request, patient_id: PatientId, rule: str = Path(max_length=64),
                 reason: str = Query(..., min_length=1, max_length=500),
                 user: Principal = Depends(current_user)) -> DeletedOut:
    """Clear a patient's limit (back to the ward's default): the same staff as setting one; audited."""
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id, access.LIMIT_EDITORS)
        if not roster_store.clear_limit(conn, user.user_id, ref.id, rule, reason):
            raise ApiError(404, "error.no_limit")
    return DeletedOut(deleted=True)
