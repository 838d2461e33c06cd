"""Path parameters of the console API: identifiers are validated where they enter (wire.identifiers).

An id with CR/LF, quotes or slashes is answered 422 before any lookup, so it
can never reach a header, a file name or a log line. Annotated types give
each route parameter its own ``Path`` (a shared ``Path`` object would bind
to the first parameter's name).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from wire.identifiers import ID_PATTERN

PatientId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
WardId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
AlertId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
