"""Ward API: wards I see, a ward's beds and alarm queue, alarm actions, the live stream (SSE)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from alerts.console import access, actions, alarms, i18n, ward_data
from alerts.console.auth import current_user, staff
from alerts.console.config_models import AlarmDetailOut
from alerts.console.context import Console, console
from alerts.console.errors import ApiError
from alerts.console.live import alert_stream
from alerts.console.models import AckBody, AlarmOut, PauseBody, WardOut, WardRef
from alerts.console.params import AlertId, WardId
from alerts.console.users import RESPONDERS, Principal
from alerts.engine import Outcome
from alerts.metrics import AlertMetrics
from alerts.notification_plan import ChannelsEnabled
from storage import audit

router = APIRouter(prefix="/api", tags=["ward"])
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}}


@router.get("/wards", response_model=list[WardRef], responses={401: {}, 403: {}})
def wards(request: Request, user: Principal = Depends(staff)) -> list[WardRef]:
    with console(request).connect() as conn:
        return [WardRef(id=i, name=n) for i, n in ward_data.wards_of(conn, user.scope())]


@router.get("/wards/{ward_id}", response_model=WardOut, responses=_ERRORS)
def ward(ward_id: WardId, request: Request, user: Principal = Depends(staff)) -> WardOut:
    """Every bed's latest vitals, NEWS2 and signal status, and the open alarms (audited as a ward view)."""
    ctx = console(request)
    now = datetime.now(UTC)
    with ctx.connect() as conn:
        name = access.ward(conn, user, ward_id)
        with conn.transaction():
            snap = ward_data.snapshot(conn, ward_id, name, user.scope(), now, ctx.settings)
            audit.append(conn, user.user_id, "ward.view", f"ward:{ward_id}",
                         {"patients": [b.patient_id for b in snap.beds]})
    return snap


@router.get("/alerts", response_model=list[AlarmOut], responses={401: {}, 403: {}})
def list_alerts(request: Request, limit: int = Query(100, ge=1, le=1000),
                user: Principal = Depends(staff)) -> list[AlarmOut]:
    """The newest alarms in the user's wards, highest priority first (audited)."""
    with console(request).connect() as conn, conn.transaction():
        out = alarms.recent(conn, user.scope(), limit)
        audit.append(conn, user.user_id, "alerts.list", None, {"patients": sorted({a.patient_id for a in out})})
    return out


@router.get("/alerts/stream", responses={401: {}, 403: {}, 200: {"content": {"text/event-stream": {}}}})
def stream(request: Request, ward: str | None = Query(None, description="also push this ward's snapshot"),
           user: Principal = Depends(staff)) -> StreamingResponse:
    """Server-sent events: ``alert`` when an alarm in the user's wards changes; with ``ward``,
    a ``ward`` snapshot at once and every few seconds; ``signed_out`` when the session ends."""
    ctx = console(request)
    name = None
    with ctx.connect() as conn:
        if ward is not None:
            name = access.ward(conn, user, ward)  # the stream audits the ward's patients with its first snapshot
        else:
            with conn.transaction():
                scope = user.scope()
                audit.append(conn, user.user_id, "alerts.watch", None,
                             {"wards": None if scope.every_ward else sorted(scope.wards)})
    return StreamingResponse(alert_stream(request, ctx, user, ward, name), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/alerts/{alert_id}", response_model=AlarmDetailOut, responses=_ERRORS)
def alert_detail(alert_id: AlertId, request: Request, user: Principal = Depends(staff)) -> AlarmDetailOut:
    """One alarm of the user's wards with every recorded step (audited as a read of the patient)."""
    with console(request).connect() as conn:
        ref = access.alert_patient(conn, user, alert_id)
        with conn.transaction():
            out = alarms.one(conn, alert_id)
            steps = alarms.events(conn, alert_id)
            audit.append(conn, user.user_id, "alert.view", ref.id, {"alert_id": alert_id})
    if out is None:
        raise ApiError(404, "error.no_alert")
    return AlarmDetailOut(**out.model_dump(), events=steps)


def _act(ctx: Console, user: Principal, alert_id: str, action: str,
         do: Callable[[psycopg.Connection, datetime, actions.OnOutcome], str],
         metrics: AlertMetrics | None = None) -> AlarmOut:
    if not user.has(*RESPONDERS):
        raise ApiError(403, "error.forbidden")
    now = datetime.now(UTC)
    outcomes: list[Outcome] = []
    with ctx.connect() as conn:
        ref = access.alert_patient(conn, user, alert_id)
        try:
            with conn.transaction():
                state = do(conn, now, outcomes.append)
                audit.append(conn, user.user_id, f"alert.{action}", ref.id, {"alert_id": alert_id, "state": state})
        except actions.AlertNotFound:
            raise ApiError(404, "error.no_alert") from None
        except actions.Refused as e:
            raise ApiError(409, "error.alert_state", state=i18n.t(user.locale, f"state.{e.state}"), by=e.by or "-") from None
        if metrics is not None:
            for o in outcomes:
                metrics.observe(o)  # after the commit, as the lifecycle's own paths do
        ctx.broadcaster.publish(alert_id)  # every console stream re-reads it, as after the consumer's changes
        out = alarms.one(conn, alert_id)
    assert out is not None
    return out


def _channels(request: Request) -> ChannelsEnabled:
    """The alert service's enabled channels (set by alerts.http.create_app)."""
    return getattr(request.app.state, "alert_channels", ChannelsEnabled(webhook=False, sms=False))


@router.post("/alerts/{alert_id}/ack", response_model=AlarmOut, responses={**_ERRORS, 409: {}, 422: {}})
def acknowledge(alert_id: AlertId, request: Request, body: AckBody | None = None,
                user: Principal = Depends(current_user)) -> AlarmOut:
    """Acknowledge an alarm (needs X-CSRF-Token with a cookie session). 409 if it is not sounding."""
    note = body.note if body else ""
    return _act(console(request), user, alert_id, "acknowledge",
                lambda conn, now, seen: actions.acknowledge(conn, alert_id, user.user_id, now, note, seen,
                                                            _channels(request)),
                getattr(request.app.state, "alert_metrics", None))


@router.post("/alerts/{alert_id}/pause", response_model=AlarmOut, responses={**_ERRORS, 409: {}, 422: {}})
def pause(alert_id: AlertId, request: Request, body: PauseBody | None = None,
          user: Principal = Depends(current_user)) -> AlarmOut:
    """Pause the audio of a sounding alarm for ``seconds`` (default 120, at most 600)."""
    seconds = body.seconds if body else 120.0
    return _act(console(request), user, alert_id, "pause",
                lambda conn, now, seen: actions.pause(conn, alert_id, user.user_id, seconds, now, seen,
                                                      _channels(request)),
                getattr(request.app.state, "alert_metrics", None))
