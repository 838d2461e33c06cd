"""Console API for the alarm lifecycle: one alert with its history; roster and per-patient limits.

Every route needs a signed-in clinical user (alerts.console.auth.staff); the
user is recorded on every change (``audit_log``). Acknowledge and pause are
served by the console (alerts.console.routes_ward -> alerts.console.actions
-> alerts.processing).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts import roster_store, store
from alerts.alarm_model import StaffRole
from alerts.broadcast import Broadcaster
from alerts.console.auth import staff
from alerts.console.users import Principal
from alerts.metrics import AlertMetrics
from alerts.notification_plan import ChannelsEnabled

def _staff_id(user: Principal = Depends(staff)) -> str:
    """The signed-in clinical user (console session or bearer token); recorded on every action."""
    return user.user_id


UserHeader = Depends(_staff_id)


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AckBody(_Body):
    note: str = Field(default="", max_length=500)


class PauseBody(_Body):
    seconds: float = Field(default=120.0, gt=0, le=3600)


class ShiftBody(_Body):
    responder_id: str = Field(min_length=1, max_length=64)
    role: StaffRole
    ward_id: str | None = None
    beds: tuple[str, ...] | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class ResponderBody(_Body):
    display_name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{6,15}$")
    locale: str = Field(default="vi", pattern=r"^(vi|en)$")


class LimitBody(_Body):
    limit: float
    reason: str = Field(min_length=1, max_length=500)
    expires_at: AwareDatetime | None = None


def add_routes(
    app: FastAPI, connect: Callable[[], psycopg.Connection], broadcaster: Broadcaster, metrics: AlertMetrics,
    channels: ChannelsEnabled,
) -> None:
    @app.get("/api/alerts/{alert_id}")
    def alert_detail(alert_id: str, user: str = UserHeader) -> dict[str, object]:
        with connect() as conn:
            views = store.list_alerts(conn, limit=1, alert_id=alert_id)
            if not views:
                raise HTTPException(404, "no such alert")
            return {**views[0].to_json(), "events": [e.to_json() for e in store.events(conn, alert_id)]}

    @app.put("/api/responders/{responder_id}")
    def put_responder(responder_id: str, body: ResponderBody, user: str = UserHeader) -> dict[str, str]:
        with connect() as conn:
            roster_store.upsert_responder(conn, user, responder_id, body.display_name, body.phone, body.locale)
        return {"id": responder_id}

    @app.get("/api/roster")
    def get_roster(ward_id: str | None = Query(None), user: str = UserHeader) -> list[dict[str, object]]:
        with connect() as conn:
            return [s.to_json() for s in roster_store.list_shifts(conn, ward_id, datetime.now(UTC))]

    @app.post("/api/roster", status_code=201)
    def post_shift(body: ShiftBody, user: str = UserHeader) -> dict[str, int]:
        with connect() as conn:
            try:
                sid = roster_store.add_shift(conn, user, body.responder_id, body.role, body.ward_id, body.beds,
                                             body.starts_at, body.ends_at)
            except roster_store.ConfigError as e:
                raise HTTPException(422, str(e)) from None
        return {"id": sid}

    @app.delete("/api/roster/{shift_id}")
    def delete_shift(shift_id: int, user: str = UserHeader) -> dict[str, bool]:
        with connect() as conn:
            if not roster_store.remove_shift(conn, user, shift_id):
                raise HTTPException(404, "no such shift")
        return {"deleted": True}

    @app.get("/api/patients/{patient_id}/limits")
    def get_limits(patient_id: str, user: str = UserHeader) -> list[dict[str, object]]:
        with connect() as conn:
            with conn.transaction():
                roster_store.audit(conn, user, "alarm_limit.read", patient_id, {})
                return roster_store.list_limits(conn, patient_id)

    @app.put("/api/patients/{patient_id}/limits/{rule}")
    def put_limit(patient_id: str, rule: str, body: LimitBody, user: str = UserHeader) -> dict[str, object]:
        with connect() as conn:
            try:
                roster_store.set_limit(conn, user, patient_id, rule, body.limit, body.reason, body.expires_at)
            except roster_store.ConfigError as e:
                raise HTTPException(422, str(e)) from None
        return {"patient_id": patient_id, "rule": rule, "limit": body.limit}

    @app.delete("/api/patients/{patient_id}/limits/{rule}")
    def delete_limit(patient_id: str, rule: str, reason: str = Query(..., min_length=1),
                     user: str = UserHeader) -> dict[str, bool]:
        with connect() as conn:
            if not roster_store.clear_limit(conn, user, patient_id, rule, reason):
                raise HTTPException(404, "no limit set")
        return {"deleted": True}
