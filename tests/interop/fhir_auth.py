"""Client-credentials tokens for the interop tests."""

from __future__ import annotations

import httpx

from tests.interop.conftest import CLIENT_SECRET, Interop


def bearer(it: Interop, client_id: str, scope: str = "system/*.rs") -> dict[str, str]:
    r = httpx.post(f"{it.fhir}/auth/token", data={"grant_type": "client_credentials", "scope": scope},
                   auth=(client_id, CLIENT_SECRET), timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
