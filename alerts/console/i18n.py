"""Message catalogs (vi, en): every label, message and alarm text of the console.

Catalogs are flat JSON files, ``key -> text`` with ``{name}`` placeholders,
in ``alerts/console/i18n/``. Templates and scripts only name keys; the pages
receive the whole catalog of the user's language. Vietnamese is the default.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

LOCALES = ("vi", "en")
DEFAULT = "vi"
# Locale tags for dates and numbers in the browser (Intl) per catalog.
INTL = {"vi": "vi-VN", "en": "en-GB"}


@cache
def catalog(locale: str) -> dict[str, str]:
    if locale not in LOCALES:
        locale = DEFAULT
    text = resources.files("alerts.console").joinpath(f"i18n/{locale}.json").read_text(encoding="utf-8")
    data: dict[str, str] = json.loads(text)
    return data


class _Keep(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def t(locale: str, key: str, **params: object) -> str:
    """The text for ``key`` in ``locale`` with placeholders filled; the key itself if missing."""
    text = catalog(locale).get(key) or catalog(DEFAULT).get(key) or key
    return text.format_map(_Keep(params)) if params else text


def asked(accept_language: str | None, cookie: str | None = None) -> str | None:
    """The language the user chose on the sign-in page (cookie) or the browser asked for; None if neither."""
    if cookie in LOCALES:
        return str(cookie)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return None


def negotiate(accept_language: str | None, cookie: str | None = None) -> str:
    """Locale before sign-in: the language cookie, else the browser's first known language, else Vietnamese."""
    return asked(accept_language, cookie) or DEFAULT
