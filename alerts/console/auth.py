"""Who is asking: session cookie or bearer token -> Principal; role checks; CSRF on actions.

Used as FastAPI dependencies. Every check happens before any patient lookup,
so an unauthenticated request gets 401 whatever it names.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from fastapi import Depends, Request

from alerts.console import sessions, users
from alerts.console.context import console
from alerts.console.errors import ApiError
from alerts.console.users import Principal

COOKIE = "rpm_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def token_of(request: Request) -> tuple[str | None, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), "bearer"
    return request.cookies.get(COOKIE), "cookie"


def resolve(request: Request) -> Principal | None:
    """The signed-in user, or None; caches the answer on the request."""
    if hasattr(request.state, "principal"):
        return request.state.principal  # type: ignore[no-any-return]
    token, via = token_of(request)
    principal = None
    if token:
        ctx = console(request)
        now = datetime.now(UTC)
        with ctx.connect() as conn:
            s = sessions.lookup(conn, token, now, timedelta(seconds=ctx.settings.console_session_idle_s))
            if s is not None:
                principal = users.load_principal(conn, s.user_id, s.csrf_token, via)
    request.state.principal = principal
    return principal


def check_origin(request: Request) -> None:
    """Refuse a state-changing request sent by a page of another origin (CSRF defence in depth)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return
    parts = urlsplit(origin)
    if parts.netloc and parts.netloc != request.headers.get("host", ""):
        raise ApiError(403, "error.csrf")


def check_csrf(request: Request, principal: Principal, supplied: str | None) -> None:
    if principal.via != "cookie":
        return  # a browser never attaches a bearer token by itself
    check_origin(request)
    if not supplied or not hmac.compare_digest(supplied, principal.csrf_token):
        raise ApiError(403, "error.csrf")


def current_user(request: Request) -> Principal:
    principal = resolve(request)
    if principal is None:
        raise ApiError(401, "error.unauthenticated")
    if request.method in UNSAFE:
        check_csrf(request, principal, request.headers.get(CSRF_HEADER))
    return principal


def current_user_form(request: Request) -> Principal:
    """For HTML form posts: the CSRF token comes in the form body, checked by the route."""
    principal = resolve(request)
    if principal is None:
        raise ApiError(401, "error.unauthenticated")
    return principal


def staff(user: Principal = Depends(current_user)) -> Principal:
    """Ward staff and clinicians."""
    if not user.has(*users.CLINICAL):
        raise ApiError(403, "error.forbidden")
    return user


def admin(user: Principal = Depends(current_user)) -> Principal:
    if not user.has("admin"):
        raise ApiError(403, "error.forbidden")
    return user


def patient_self(user: Principal = Depends(current_user)) -> Principal:
    if not user.has("patient") or user.patient_id is None:
        raise ApiError(403, "error.forbidden")
    return user
