"""SMART App Launch v2 scopes (with v1 ``.read`` accepted): which resource types and interactions a token may use.

``system/Observation.rs`` allows read (r) and search (s) of Observations;
``system/*.read`` (v1) equals ``system/*.rs``. This server is read-only, so
c/u/d are ignored, and it grants what was asked for and supported.
Context (which wards or patient) is never in the scope: it is the client
account's roles, checked by the console's access rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RESOURCES = ("Patient", "Observation", "Device", "Flag")
_SCOPE = re.compile(r"^(system|user|patient)/(\*|[A-Z][A-Za-z]+)\.(read|\*|[cruds]+)$")


@dataclass(frozen=True, slots=True)
class Grants:
    """(resource type, interaction) pairs, interaction 'r' (read) or 's' (search)."""

    allowed: frozenset[tuple[str, str]]

    def allows(self, resource: str, interaction: str) -> bool:
        return (resource, interaction) in self.allowed


def parse(scope: str, context: str = "system") -> tuple[list[str], Grants]:
    """Granted scope strings (normalised to v2) and what they allow; unknown or other-context scopes are dropped."""
    granted: list[str] = []
    allowed: set[tuple[str, str]] = set()
    for s in scope.split():
        m = _SCOPE.match(s)
        if m is None or m.group(1) != context:
            continue
        resource, perms = m.group(2), m.group(3)
        perms = "rs" if perms in ("read", "*") else "".join(p for p in perms if p in "rs")
        types = RESOURCES if resource == "*" else (resource,) if resource in RESOURCES else ()
        if not perms or not types:
            continue
        granted.append(f"{context}/{resource}.{perms}")
        allowed.update((t, p) for t in types for p in perms)
    return granted, Grants(frozenset(allowed))


# A console sign-in used as a bearer token reads what its user may read in the console.
CONSOLE = Grants(frozenset((t, p) for t in RESOURCES for p in "rs"))
