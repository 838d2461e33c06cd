"""FHIR search parameters as this server supports them (pure parsing, no IO).

date: ``[prefix]value`` with prefixes eq, ne (refused), gt, ge, lt, le, sa, eb; a value's precision
sets its range (2026-03-01 is that whole day). token: ``[system|]code``, comma = OR.
Paging: ``_count`` (default 50, at most 500) and ``_offset`` in the next links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_COUNT = 50
MAX_COUNT = 500


class SearchError(ValueError):
    """A search the server cannot answer; becomes a 400 OperationOutcome."""


@dataclass(frozen=True, slots=True)
class Range:
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive

    def narrow(self, other: Range) -> Range:
        starts = [t for t in (self.start, other.start) if t is not None]
        ends = [t for t in (self.end, other.end) if t is not None]
        return Range(max(starts) if starts else None, min(ends) if ends else None)


_DATE = re.compile(r"^(eq|ne|gt|ge|lt|le|sa|eb)?(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
                   r"(Z|[+-]\d{2}:\d{2})?)?)?)?$")


def _span(m: re.Match[str]) -> tuple[datetime, datetime]:
    y, mo, d, hh, mi, ss, frac, tz = (m.group(i) for i in range(2, 10))
    if hh is not None and tz is None:
        raise SearchError("a date with a time needs a time zone (Z or +hh:mm)")
    zone = UTC if tz in (None, "Z") else datetime.strptime(tz.replace(":", ""), "%z").tzinfo
    if mo is None:
        start = datetime(int(y), 1, 1, tzinfo=zone)
        return start, start.replace(year=start.year + 1)
    if d is None:
        start = datetime(int(y), int(mo), 1, tzinfo=zone)
        return start, (start + timedelta(days=32)).replace(day=1)
    if hh is None:
        start = datetime(int(y), int(mo), int(d), tzinfo=zone)
        return start, start + timedelta(days=1)
    micro = min(round(float(frac) * 1_000_000), 999_999) if frac else 0
    start = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0), micro, tzinfo=zone)
    step = timedelta(microseconds=1) if frac else timedelta(seconds=1) if ss else timedelta(minutes=1)
    return start, start + step


def date_range(values: list[str]) -> Range:
    """Every ``date`` parameter narrows the range (FHIR: repeated parameters are AND)."""
    out = Range()
    for v in values:
        m = _DATE.match(v.strip())
        if m is None:
            raise SearchError(f"date {v!r}: expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.fff]]+zz:zz]]]")
        prefix = m.group(1) or "eq"
        lo, hi = _span(m)
        r = {"eq": Range(lo, hi), "ge": Range(lo, None), "sa": Range(hi, None), "gt": Range(hi, None),
             "lt": Range(None, lo), "eb": Range(None, lo), "le": Range(None, hi)}.get(prefix)
        if r is None:
            raise SearchError(f"date prefix {prefix!r} is not supported")
        out = out.narrow(r)
    return out


@dataclass(frozen=True, slots=True)
class Token:
    system: str | None
    code: str


def tokens(value: str) -> list[Token]:
    out = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if "|" in part:
            system, _, code = part.partition("|")
            out.append(Token(system or None, code))
        else:
            out.append(Token(None, part))
    return out


def reference_id(value: str, resource: str) -> str:
    """``Patient/PA1``, ``PA1`` or a full URL ending in ``Patient/PA1`` -> ``PA1``."""
    v = value.strip().rstrip("/")
    marker = f"{resource}/"
    if marker in v:
        v = v.rsplit(marker, 1)[1]
    elif "/" in v:
        raise SearchError(f"{value!r} is not a reference to a {resource}")
    return v


def count(value: str | None) -> int:
    if value is None:
        return DEFAULT_COUNT
    if not value.isdigit():
        raise SearchError("_count must be a non-negative integer")
    return min(int(value), MAX_COUNT)


def offset(value: str | None) -> int:
    if value is None:
        return 0
    if not value.isdigit():
        raise SearchError("_offset must be a non-negative integer")
    return int(value)
