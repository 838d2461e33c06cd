"""Signing in: rate limit, password check, session, audit — shared by the form and the API."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response

from alerts.console import passwords, ratelimit, sessions, users
from alerts.console.auth import COOKIE
from alerts.console.context import Console
from alerts.console.errors import ApiError
from alerts.console.users import Principal
from storage import audit


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    session: sessions.Session
    principal: Principal


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def sign_in(ctx: Console, request: Request, username: str, password: str) -> SignedIn:
    s = ctx.settings
    name = username.strip().lower()
    client = client_of(request)
    now = datetime.now(UTC)
    limits = ratelimit.Limits(s.console_login_max_failures, timedelta(seconds=s.console_login_window_s),
                              timedelta(seconds=s.console_login_lockout_s))
    with ctx.connect() as conn:
        wait = ratelimit.retry_after(conn, name, client, now, limits)
        if wait > 0:
            with conn.transaction():
                audit.append(conn, "anonymous", "auth.login_locked", f"user:{name}", {"client": client})
            secs = math.ceil(wait)
            raise ApiError(429, "error.rate_limited", headers={"Retry-After": str(secs)}, seconds=secs)
        stored = users.password_hash(conn, name)
        ok = passwords.verify(stored, password)
        with conn.transaction():
            ratelimit.record(conn, name, client, ok, now)
            if not ok:
                audit.append(conn, "anonymous", "auth.login_failed", f"user:{name}", {"client": client})
        if not ok:
            # One message for an unknown name and a wrong password: neither is revealed.
            raise ApiError(401, "error.bad_credentials")
        assert stored is not None
        with conn.transaction():
            if passwords.needs_rehash(stored):
                conn.execute("UPDATE users SET password_hash = %s WHERE id = %s",
                             (passwords.hash_password(password), name))
            token, session = sessions.create(conn, name, now, timedelta(seconds=s.console_session_max_s),
                                             request.headers.get("user-agent"))
            audit.append(conn, name, "auth.login", f"user:{name}", {"client": client})
        principal = users.load_principal(conn, name, session.csrf_token)
    if principal is None:
        raise ApiError(401, "error.bad_credentials")
    return SignedIn(token, session, principal)


def set_cookie(response: Response, ctx: Console, signed: SignedIn) -> None:
    response.set_cookie(
        COOKIE, signed.token, max_age=int(ctx.settings.console_session_max_s), httponly=True,
        secure=ctx.settings.console_cookie_secure, samesite="strict", path="/",
    )


def sign_out(ctx: Console, token: str | None, principal: Principal) -> None:
    with ctx.connect() as conn, conn.transaction():
        if token:
            sessions.revoke(conn, token, datetime.now(UTC))
        audit.append(conn, principal.user_id, "auth.logout", f"user:{principal.user_id}", {})
