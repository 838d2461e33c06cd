"""Identifiers of patients, devices, wards and responders: one pattern, checked wherever an id enters.

Ids travel into MQTT topics, Kafka keys, SQL, HTTP paths, CSV/FHIR exports
and ``Content-Disposition`` headers: letters, digits and ``_ . -`` only
(no CR/LF, quotes, slashes or spaces), starting with a letter or digit,
at most 64 characters.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Annotated, Final

from pydantic import StringConstraints

ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_ID = re.compile(ID_PATTERN)

Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


class BadIdentifier(ValueError):
    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"bad {kind} id {value!r}: use 1-64 letters, digits, '_', '.' or '-',"
                         " starting with a letter or digit")
        self.kind = kind
        self.value = value


def is_identifier(value: str) -> bool:
    # fullmatch: "$" alone would accept a trailing newline.
    return _ID.fullmatch(value) is not None


def check(kind: str, value: str) -> str:
    """``value`` if it is a valid identifier, else BadIdentifier naming ``kind``."""
    if not is_identifier(value):
        raise BadIdentifier(kind, value)
    return value


def arg(kind: str) -> Callable[[str], str]:
    """An argparse ``type=`` that refuses a bad id with a one-line error before anything runs."""
    def parse(value: str) -> str:
        if not is_identifier(value):
            raise argparse.ArgumentTypeError(str(BadIdentifier(kind, value)))
        return value

    parse.__name__ = f"{kind} id"
    return parse
