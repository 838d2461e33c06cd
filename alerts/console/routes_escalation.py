"""Escalation chain API: who is called, and after how long, when nobody answers an alarm.

Scopes: a ward id, ``*`` (the default of every ward) or ``home``.
- read a ward's chains: its staff (nurse, charge nurse, clinician) and admins;
  ``*`` and ``home``: admins of every ward only (access.chain_scope);
- replace or reset a priority's chain: the ward's charge nurse for her own
  ward, admins for any scope (access.CHAIN_EDITORS); within the rules of
  alerts.chain_safety (422 with the reason); the audit row keeps the old and
  new chain and the reason.
Chains name no patient: reading one is not audited (as /api/wards is not);
every change is, in its own transaction (alerts.chain_store).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from alerts import chain_store
from alerts.alarm_model import EscalationStep
from alerts.chain_safety import MAX_STEPS, MIN_STEPS, ChainRefused, delay_range
from alerts.console import access, i18n
from alerts.console.auth import current_user
from alerts.console.config_models import ChainBody, ChainOut, ChainSetOut, ChainsOut, ChainStepOut, DeletedOut
from alerts.console.context import console
from alerts.console.errors import ApiError, request_locale
from alerts.console.users import Principal
from wire.messages import Priority

router = APIRouter(prefix="/api/escalation-chains", tags=["alarm configuration"])
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}, 422: {}}
# A ward id (wire.identifiers.ID_PATTERN) or one of the two hospital scopes.
Scope = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_.-]*)$")]


def _refused(request: Request, e: ChainRefused) -> ApiError:
    # Roles in the message in the reader's language ("điều dưỡng trưởng"), not as enum values.
    locale = request_locale(request)
    params = {k: i18n.t(locale, f"target.{v}") if k in ("target", "previous") else v for k, v in e.params.items()}
    return ApiError.of(422, e.key, params)


def _steps(steps: Sequence[EscalationStep], source: str) -> list[ChainStepOut]:
    return [ChainStepOut(level=i, after_s=s.after_s, target=s.target.value, source=source)
            for i, s in enumerate(steps, start=1)]


def _chain_out(scope: str, v: chain_store.ChainView) -> ChainOut:
    rng = delay_range(scope, v.priority)
    return ChainOut(priority=v.priority.value, source=v.source.value, steps=_steps(v.steps, v.source.value),
                    declared=_steps(v.declared, chain_store.Source.DECLARED.value), min_after_s=rng.low_s,
                    max_after_s=rng.high_s, min_steps=MIN_STEPS[v.priority], max_steps=MAX_STEPS, set_by=v.set_by,
                    set_by_name=v.set_by_name, set_at=v.set_at, reason=v.reason)


@router.get("/{scope}", response_model=ChainsOut, responses=_ERRORS)
def get_chains(request: Request, scope: Scope, user: Principal = Depends(current_user)) -> ChainsOut:
    """The effective chain per priority, each step marked configured, ward default or declared."""
    with console(request).connect() as conn:
        access.chain_scope(conn, user, scope, access.CHAIN_READERS)
        views = chain_store.effective(conn, scope)
    return ChainsOut(scope=scope, chains=[_chain_out(scope, v) for v in views])


@router.put("/{scope}/{priority}", response_model=ChainSetOut, responses=_ERRORS)
def put_chain(body: ChainBody, request: Request, scope: Scope, priority: Priority,
              user: Principal = Depends(current_user)) -> ChainSetOut:
    """Replace the scope's chain for one priority (every level at once); ``steps: []`` means no escalation."""
    steps = [EscalationStep(s.after_s, s.target) for s in body.steps]
    with console(request).connect() as conn:
        access.chain_scope(conn, user, scope, access.CHAIN_EDITORS)
        try:
            before = chain_store.set_chain(conn, user.user_id, scope, priority, steps, body.reason)
        except ChainRefused as e:
            raise _refused(request, e) from None
    src = chain_store.Source.CONFIGURED.value
    return ChainSetOut(scope=scope, priority=priority.value, steps=_steps(steps, src),
                       previous=_steps(before, src) if before is not None else None)


@router.delete("/{scope}/{priority}", response_model=DeletedOut, responses=_ERRORS)
def delete_chain(request: Request, scope: Scope, priority: Priority,
                 reason: str = Query(..., min_length=1, max_length=500),
                 user: Principal = Depends(current_user)) -> DeletedOut:
    """Back to the default (the ward default, else the declared chain); 404 if the scope had none of its own."""
    with console(request).connect() as conn:
        access.chain_scope(conn, user, scope, access.CHAIN_EDITORS)
        try:
            if not chain_store.reset_chain(conn, user.user_id, scope, priority, reason):
                raise ApiError(404, "error.no_chain")
        except ChainRefused as e:
            raise _refused(request, e) from None
    return DeletedOut(deleted=True)
