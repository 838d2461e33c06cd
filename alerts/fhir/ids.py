"""Reversible FHIR logical ids for the product's natural keys.

FHIR ids allow ``[A-Za-z0-9.-]{1,64}``; patient and device ids also allow
``_``. Each part is escaped (``-`` -> ``--``, ``_`` -> ``-u``, ``.`` -> ``-d``)
so ``.`` can separate the parts of a composite id: an Observation's id is its
row's natural key (kind, measurement time in microseconds, patient, device),
so a read is one primary-key lookup and no id table is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FHIR_ID = re.compile(r"^[A-Za-z0-9.\-]{1,64}$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNESCAPE = {"--": "-", "-u": "_", "-d": "."}


class BadId(ValueError):
    pass


def escape(part: str) -> str:
    return part.replace("-", "--").replace("_", "-u").replace(".", "-d")


def unescape(part: str) -> str:
    out, i = [], 0
    while i < len(part):
        if part[i] == "-":
            pair = part[i:i + 2]
            if pair not in _UNESCAPE:
                raise BadId(f"bad escape in {part!r}")
            out.append(_UNESCAPE[pair])
            i += 2
        else:
            out.append(part[i])
            i += 1
    return "".join(out)


def simple(product_id: str) -> str:
    """Patient or Device id: the product's id when it is already a FHIR id, else escaped."""
    fid = product_id if "_" not in product_id and not product_id.startswith("-") else "x." + escape(product_id)
    if not FHIR_ID.match(fid):
        raise BadId(f"{product_id!r} has no FHIR id of 64 characters or fewer")
    return fid


def parse_simple(fid: str) -> str:
    if not FHIR_ID.match(fid):
        raise BadId(f"{fid!r} is not a FHIR id")
    return unescape(fid[2:]) if fid.startswith("x.") else fid


def micros(t: datetime) -> int:
    return (t - EPOCH) // timedelta(microseconds=1)


def from_micros(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class ObservationKey:
    kind: str  # a reading type, "bp" (systolic + diastolic panel) or "news2"
    t: datetime
    patient_id: str
    device_id: str = ""  # empty for news2


KIND_CODES = {"heart_rate": "hr", "resp_rate": "rr", "spo2": "spo2", "temperature": "temp", "glucose": "glu",
              "bp": "bp", "news2": "news2"}
_KINDS = {v: k for k, v in KIND_CODES.items()}


def observation(key: ObservationKey) -> str:
    parts = [KIND_CODES[key.kind], str(micros(key.t)), escape(key.patient_id)]
    if key.device_id:
        parts.append(escape(key.device_id))
    fid = ".".join(parts)
    if not FHIR_ID.match(fid):
        raise BadId(f"observation id longer than 64 characters for patient {key.patient_id!r}")
    return fid


def parse_observation(fid: str) -> ObservationKey:
    if not FHIR_ID.match(fid):
        raise BadId(f"{fid!r} is not a FHIR id")
    parts = fid.split(".")
    if len(parts) not in (3, 4) or parts[0] not in _KINDS or not parts[1].isdigit():
        raise BadId(f"{fid!r} is not an Observation id of this server")
    device = unescape(parts[3]) if len(parts) == 4 else ""
    return ObservationKey(_KINDS[parts[0]], from_micros(int(parts[1])), unescape(parts[2]), device)
