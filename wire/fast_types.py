"""The wire contract's field types for msgspec, for the one-pass decoders of the hot paths.

The bridge (ingest.telemetry_decode) and the sink (storage.fastparse) decode
the common, canonical form of their records with msgspec and leave anything
else to the pydantic models in wire.messages, which have the final word.
These types restate the models' constraints in msgspec's terms, built from
the models and enums themselves so they cannot drift; each is at most as
permissive as the model's (the decoders' tests check both on the same input).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal, get_args

import msgspec

from wire.messages import DeviceKind, PatientId, QualityFlag
from wire.units import ReadingType

# The contract's id pattern; \Z because Python's $ also matches before a final
# newline, which the model's (Rust) regex refuses.
Id = Annotated[str, msgspec.Meta(pattern=get_args(PatientId)[1].pattern.removesuffix("$") + r"\Z")]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]
# Finite only: the model would take an out-of-range number as infinity.
FiniteFloat = Annotated[float, msgspec.Meta(ge=-1.7976931348623157e308, le=1.7976931348623157e308)]
# The enums' values as Literals: msgspec yields the plain strings. mypy cannot
# follow a Literal built at run time, hence the ignores where they are used.
TypeName = Literal[tuple(t.value for t in ReadingType)]  # type: ignore[valid-type]
FlagName = Literal[tuple(f.value for f in QualityFlag)]  # type: ignore[valid-type]
KindName = Literal[tuple(k.value for k in DeviceKind)]  # type: ignore[valid-type]
# Sub-microsecond digits: msgspec rounds them, pydantic truncates; such input goes to the model.
LONG_FRACTION = re.compile(rb":\d\d\.\d{7}")
# Seven digits after any point: a superset that the regex engine finds by its
# literal first byte, twice as fast on a payload with none (the common case).
_SEVEN_DECIMALS = re.compile(rb"\.\d{7}")


def has_long_fraction(raw: bytes | memoryview) -> bool:
    """Whether a time in ``raw`` has digits below the microsecond (``LONG_FRACTION``)."""
    return _SEVEN_DECIMALS.search(raw) is not None and LONG_FRACTION.search(raw) is not None
