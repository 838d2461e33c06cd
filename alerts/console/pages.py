"""HTML pages: server-rendered shells (Jinja2) whose texts come from the catalogs; data comes from the API.

Pages check access before rendering, with the same rules as the API (a
nurse opening another ward's patient gets the 403 page); the patient data
itself is loaded by the page's script through the audited API.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from alerts.console import access, i18n, users, ward_data
from alerts.console.auth import (
    COOKIE,
    check_csrf,
    check_origin,
    current_user_form,
    resolve,
    token_of,
)
from alerts.console.context import Console, console
from alerts.console.errors import ApiError, request_locale
from alerts.console.favicon import ico as favicon_ico
from alerts.console.login import set_cookie, sign_in, sign_out
from alerts.console.users import CLINICAL, Principal
from wire.rules import CATALOG, RuleKind

# Probe off, lead off, low battery, offline: shown apart from clinical alarms (IEC 60601-1-8 technical alarms).
TECHNICAL_RULES = " ".join(sorted(r.value for r, spec in CATALOG.items() if spec.kind is RuleKind.TECHNICAL))

router = APIRouter(include_in_schema=False)
_env = Environment(loader=PackageLoader("alerts.console", "templates"), autoescape=select_autoescape(["html"]))
# No inline scripts or styles and nothing from another origin: a closed hospital network has no CDN anyway.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
                               " connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _nav(user: Principal | None, page: str) -> list[dict[str, object]]:
    items: list[tuple[str, str, str]] = []
    if user is not None:
        if user.has(*CLINICAL):
            items.append(("ward", "/ward", "nav.ward"))
        if user.has("patient"):
            items.append(("home", "/home", "nav.home"))
        if user.has("admin", "auditor"):
            items.append(("admin", "/admin", "nav.admin"))
    return [{"href": href, "key": key, "active": name == page} for name, href, key in items]


def render(request: Request, template: str, page: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    user = getattr(request.state, "principal", None)
    locale = request_locale(request)
    catalog = json.dumps(i18n.catalog(locale), ensure_ascii=False).replace("</", "<\\/")
    settings = console(request).settings
    html = _env.get_template(template).render(
        t=lambda key, **p: i18n.t(locale, key, **p), locale=locale, other_locale="en" if locale == "vi" else "vi",
        catalog_json=catalog, user=user, csrf=user.csrf_token if user else "", page=page, nav=_nav(user, page),
        tz=settings.console_timezone, roles=" ".join(sorted(user.roles)) if user else "",
        technical_rules=TECHNICAL_RULES, **ctx,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", "error", status=status, status_code=status, message=message)


def _safe_next(target: str | None) -> str:
    # Only a local path: never redirect a user to another site after sign-in.
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/"
    return target


def home_of(user: Principal) -> str:
    if user.has(*CLINICAL):
        return "/ward"
    if user.has("patient"):
        return "/home"
    if user.has("admin", "auditor"):
        return "/admin"
    return "/login"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, lang: str | None = None) -> Response:
    if lang in i18n.LOCALES:
        # The language of the sign-in page (before we know the user) lives in a cookie.
        response = RedirectResponse(f"/login?next={quote(_safe_next(next))}", status_code=303)
        response.set_cookie("rpm_lang", str(lang), max_age=365 * 86400, samesite="strict", httponly=True)
        return response
    return render(request, "login.html", "login", next=_safe_next(next), error=None, username="")


@router.post("/login", response_class=HTMLResponse)
def login_form(request: Request, username: str = Form(""), password: str = Form(""),
               next: str = Form("/")) -> Response:
    check_origin(request)
    locale = request_locale(request)
    if not username.strip() or not password:
        missing = i18n.t(locale, "field.username") if not username.strip() else i18n.t(locale, "field.password")
        return render(request, "login.html", "login", status=422, next=_safe_next(next), username=username,
                      error=i18n.t(locale, "validation.missing", field=missing))
    ctx = console(request)
    try:
        signed = sign_in(ctx, request, username, password)
    except ApiError as e:
        resp = render(request, "login.html", "login", status=e.status, next=_safe_next(next), username=username,
                      error=i18n.t(locale, e.key, **e.params))
        resp.headers.update(e.headers)
        return resp
    _keep_sign_in_language(ctx, request, signed.principal)
    target = _safe_next(next)
    response = RedirectResponse(home_of(signed.principal) if target == "/" else target, status_code=303)
    set_cookie(response, ctx, signed)
    return response


def _keep_sign_in_language(ctx: Console, request: Request, user: Principal) -> None:
    """After sign-in the console speaks the language the sign-in page spoke, unless the account chose one.

    A language picked on the sign-in page (cookie) is a choice: the account
    keeps it. The browser's language replaces only an account default that its
    user never chose; a chosen one follows the user to every device.
    """
    cookie = request.cookies.get("rpm_lang")
    with ctx.connect() as conn:
        if cookie in i18n.LOCALES:
            users.set_locale(conn, user.user_id, str(cookie), chosen=True)
            return
        browser = i18n.asked(request.headers.get("accept-language"))
        if browser is not None and browser != user.locale and not users.locale_chosen(conn, user.user_id):
            users.set_locale(conn, user.user_id, browser, chosen=False)


@router.post("/logout")
def logout_form(request: Request, csrf_token: str = Form(""), user: Principal = Depends(current_user_form)) -> Response:
    check_csrf(request, user, csrf_token)
    sign_out(console(request), token_of(request)[0], user)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(favicon_ico(), media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/")
def root(request: Request) -> Response:
    user = resolve(request)
    return RedirectResponse("/login" if user is None else home_of(user), status_code=303)


def _signed_in(request: Request) -> Principal:
    user = resolve(request)
    if user is None:
        raise ApiError(401, "error.unauthenticated")
    return user


@router.get("/ward", response_class=HTMLResponse)
def ward_default(request: Request) -> Response:
    user = _signed_in(request)
    if not user.has(*CLINICAL):
        raise ApiError(403, "error.forbidden")
    with console(request).connect() as conn:
        wards = ward_data.wards_of(conn, user.scope())
    if not wards:
        return error_page(request, 403, i18n.t(user.locale, "error.no_wards"))
    return RedirectResponse(f"/ward/{quote(wards[0][0])}", status_code=303)


@router.get("/ward/{ward_id}", response_class=HTMLResponse)
def ward_page(ward_id: str, request: Request) -> Response:
    user = _signed_in(request)
    if not user.has(*CLINICAL):
        raise ApiError(403, "error.forbidden")
    with console(request).connect() as conn:
        name = access.ward(conn, user, ward_id)
        wards = ward_data.wards_of(conn, user.scope())
    # The chain editor only where saving would be allowed: this ward's charge nurse.
    edits_chains = user.scope(frozenset({"charge_nurse"})).allows(ward_id)
    return render(request, "ward.html", "ward", ward_id=ward_id, ward_name=name, wards=wards,
                  edits_chains=edits_chains)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(patient_id: str, request: Request) -> Response:
    user = _signed_in(request)
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id)
    return render(request, "patient.html", "patient", patient_id=ref.id, ward_id=ref.ward_id)


@router.get("/home", response_class=HTMLResponse)
def home_page(request: Request) -> Response:
    user = _signed_in(request)
    if not user.has("patient"):
        raise ApiError(403, "error.forbidden")
    return render(request, "home.html", "home")


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> Response:
    user = _signed_in(request)
    if not user.has("admin", "auditor"):
        raise ApiError(403, "error.forbidden")
    chain_scopes: list[tuple[str, str]] = []
    if user.has("admin"):
        # The chain editor's scope picker: every ward (an admin's chains are not limited to a ward).
        with console(request).connect() as conn:
            chain_scopes = [(r[0], r[1]) for r in conn.execute("SELECT id, name FROM wards ORDER BY id")]
    return render(request, "admin.html", "admin", is_admin=user.has("admin"), chain_scopes=chain_scopes)
