"""Sign-in API: login (cookie + bearer token), logout, who am I, my language."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from alerts.console import users
from alerts.console.auth import COOKIE, current_user, token_of
from alerts.console.context import console
from alerts.console.login import set_cookie, sign_in, sign_out
from alerts.console.models import GrantOut, LocaleBody, LoginBody, LoginOut, MeOut
from alerts.console.users import Principal

router = APIRouter(prefix="/api", tags=["sign-in"])


def me_of(p: Principal) -> MeOut:
    scope = p.scope()
    return MeOut(
        user_id=p.user_id, display_name=p.display_name, locale=p.locale,  # type: ignore[arg-type]
        patient_id=p.patient_id, roles=[GrantOut(role=g.role, ward_id=g.ward_id) for g in p.grants],
        wards=None if scope.every_ward else sorted(scope.wards),
    )


@router.post("/auth/login", response_model=LoginOut, responses={401: {}, 429: {}})
def login(body: LoginBody, request: Request, response: Response) -> LoginOut:
    """Sign in. Wrong passwords are rate-limited per user name and client (429 with Retry-After)."""
    ctx = console(request)
    signed = sign_in(ctx, request, body.username, body.password)
    set_cookie(response, ctx, signed)
    return LoginOut(token=signed.token, csrf_token=signed.session.csrf_token,
                    expires_at=signed.session.expires_at, user=me_of(signed.principal))


@router.post("/auth/logout", status_code=204, responses={401: {}, 403: {}})
def logout(request: Request, response: Response, user: Principal = Depends(current_user)) -> None:
    sign_out(console(request), token_of(request)[0], user)
    response.delete_cookie(COOKIE, path="/")


@router.get("/me", response_model=MeOut, responses={401: {}})
def me(user: Principal = Depends(current_user)) -> MeOut:
    return me_of(user)


@router.put("/me/locale", response_model=MeOut, responses={401: {}, 403: {}, 422: {}})
def put_locale(body: LocaleBody, request: Request, user: Principal = Depends(current_user)) -> MeOut:
    """Switch the user's language (kept on the account, so every device follows)."""
    with console(request).connect() as conn:
        users.set_locale(conn, user.user_id, body.locale)
    updated = Principal(user.user_id, user.display_name, body.locale, user.patient_id, user.grants,
                        user.csrf_token, user.via)
    request.state.principal = updated
    return me_of(updated)
