"""OAuth2 client credentials for system clients (SMART Backend Services style, with a client secret).

A client is a console account: its roles and wards are its scope, exactly as
for a nurse or clinician, and the token is a console session, so sign-in
rate limits, expiry, revocation, disabling and audit are the console's own
(``alerts.console.login``). The SMART scopes granted here narrow which
resource types the token may read; they never widen the account's wards.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from fastapi import Request

from alerts.console import auth, login
from alerts.console.context import console
from alerts.console.errors import ApiError
from alerts.console.users import CLINICAL, Principal
from alerts.fhir import scopes
from alerts.fhir.errors import FhirError


@dataclass(frozen=True, slots=True)
class Client:
    principal: Principal
    grants: scopes.Grants

    def need(self, resource: str, interaction: str) -> None:
        if not self.grants.allows(resource, interaction):
            raise FhirError(403, "insufficient_scope", f"the token's scopes do not allow {interaction} of {resource}",
                            {"WWW-Authenticate": 'Bearer realm="rpm-fhir", error="insufficient_scope"'})


def _digest(token: str) -> bytes:
    # The key of console_sessions (alerts.console.sessions stores SHA-256 of the token).
    return hashlib.sha256(token.encode()).digest()


def client(request: Request) -> Client:
    """FastAPI dependency: the caller of a FHIR route and what its token may read."""
    token, via = auth.token_of(request)
    if via != "bearer" or not token:
        raise FhirError(401, "unauthenticated", "a bearer token is required (POST /fhir/auth/token)")
    principal = auth.resolve(request)
    if principal is None:
        raise FhirError(401, "unauthenticated", "the token is unknown, expired or revoked",
                        {"WWW-Authenticate": 'Bearer realm="rpm-fhir", error="invalid_token"'})
    with console(request).connect() as conn:
        row = conn.execute("SELECT scopes FROM api_token_scopes WHERE token_hash = %s", (_digest(token),)).fetchone()
    grants = scopes.parse(" ".join(row[0]), _context(principal))[1] if row else scopes.CONSOLE
    return Client(principal, grants)


def _context(p: Principal) -> str:
    return "patient" if p.has("patient") and not p.has(*CLINICAL) else "system"


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise FhirError(401, "invalid_client", "malformed Basic credentials") from None
        cid, sep, secret = raw.partition(":")
        if sep:
            return cid, secret
    if form.get("client_id") and form.get("client_secret"):
        return form["client_id"], form["client_secret"]
    raise FhirError(401, "invalid_client", "client authentication is required (client_secret_basic or _post)")


@dataclass(frozen=True, slots=True)
class Issued:
    access_token: str
    expires_in: int
    scope: str


async def issue(request: Request) -> Issued:
    form = {k: str(v) for k, v in (await request.form()).items()}
    if form.get("grant_type") != "client_credentials":
        raise FhirError(400, "invalid_token_request", "grant_type must be client_credentials")
    cid, secret = _credentials(request, form)
    ctx = console(request)
    try:
        signed = login.sign_in(ctx, request, cid, secret)
    except ApiError as e:
        if e.status == 429:
            raise FhirError(429, "rate_limited", "too many failed attempts", e.headers) from e
        raise FhirError(401, "invalid_client", "unknown client or wrong secret") from e
    granted, grants = scopes.parse(form.get("scope", ""), _context(signed.principal))
    if not grants.allowed:
        raise FhirError(400, "invalid_token_request", "no supported scope requested (e.g. system/Observation.rs)")
    with ctx.connect() as conn:
        conn.execute("INSERT INTO api_token_scopes (token_hash, scopes) VALUES (%s, %s)",
                     (_digest(signed.token), granted))
    expires = min(ctx.settings.console_session_max_s, ctx.settings.console_session_idle_s)
    return Issued(signed.token, int(expires), " ".join(granted))
