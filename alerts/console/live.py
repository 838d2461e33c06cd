"""The live stream behind the ward view (server-sent events), filtered to the user's wards.

Alarm changes arrive from the Broadcaster (the alert consumer and the
console's own actions publish there) and are pushed at once. A ward
snapshot is also pushed every few seconds: it carries the vitals (which do
not pass through this process) and makes every open view converge on the
database even for changes made by another process or replica. The session
is re-checked on each snapshot; when it has ended the stream says
``signed_out`` and closes, so a ward screen never silently stops updating.
Opening a stream on a ward is audited once (not every snapshot).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from fastapi import Request

from alerts.console import alarms, auth, sessions, ward_data
from alerts.console.context import Console
from alerts.console.models import AlarmOut, WardOut
from alerts.console.users import Principal
from storage import audit


def _event(kind: str, data: str) -> bytes:
    return f"event: {kind}\ndata: {data}\n\n".encode()


def _alive(ctx: Console, token: str | None) -> bool:
    if not token:
        return False
    with ctx.connect() as conn:
        return sessions.lookup(conn, token, datetime.now(UTC),
                               timedelta(seconds=ctx.settings.console_session_idle_s)) is not None


def _snapshot(ctx: Console, user: Principal, ward_id: str, name: str) -> WardOut:
    with ctx.connect() as conn:
        return ward_data.snapshot(conn, ward_id, name, user.scope(), datetime.now(UTC), ctx.settings)


def _alarms(ctx: Console, alert_ids: list[str]) -> dict[str, AlarmOut]:
    with ctx.connect() as conn:
        return alarms.many(conn, alert_ids)


def _audit_open(ctx: Console, user: Principal, ward_id: str, snap: WardOut) -> None:
    with ctx.connect() as conn, conn.transaction():
        audit.append(conn, user.user_id, "ward.watch", f"ward:{ward_id}",
                     {"patients": [b.patient_id for b in snap.beds]})


async def alert_stream(
    request: Request, ctx: Console, user: Principal, ward_id: str | None, ward_name: str | None,
) -> AsyncIterator[bytes]:
    token = auth.token_of(request)[0]
    scope = user.scope()
    interval = ctx.settings.console_push_interval_s
    q = ctx.broadcaster.subscribe()
    loop = asyncio.get_running_loop()
    try:
        yield b": connected\n\n"
        if ward_id is not None and ward_name is not None:
            snap = await asyncio.to_thread(_snapshot, ctx, user, ward_id, ward_name)
            await asyncio.to_thread(_audit_open, ctx, user, ward_id, snap)
            yield _event("ward", snap.model_dump_json())
        next_tick = loop.time() + interval
        while True:
            try:
                msg = await asyncio.wait_for(q.get(), timeout=max(0.05, next_tick - loop.time()))
            except TimeoutError:
                next_tick = loop.time() + interval
                if not await asyncio.to_thread(_alive, ctx, token):
                    yield _event("signed_out", "{}")
                    return
                if ward_id is not None and ward_name is not None:
                    snap = await asyncio.to_thread(_snapshot, ctx, user, ward_id, ward_name)
                    yield _event("ward", snap.model_dump_json())
                else:
                    yield b": keepalive\n\n"
                continue
            # The broadcaster carries alarm ids. Alarms come in bursts (a ward's worth at the same
            # minute): whatever is queued is read in one query on one connection, each alarm once in
            # its current state, instead of a connection and a query per id (seconds behind at 200).
            ids = [msg]
            while not q.empty():
                ids.append(q.get_nowait())
            ids = list(dict.fromkeys(ids))
            found = await asyncio.to_thread(_alarms, ctx, ids)
            for alarm_id in ids:
                alarm = found.get(alarm_id)
                if alarm is None or not scope.allows(alarm.ward_id):
                    continue
                if ward_id is not None and alarm.ward_id != ward_id:
                    continue
                yield _event("alert", alarm.model_dump_json())
    finally:
        ctx.broadcaster.unsubscribe(q)
