"""Validated copies of frozen pydantic models.

``model_copy(update=...)`` copies without validation, so a wrong type or an
out-of-range value in ``update`` would travel on unnoticed inside the alarm
core. ``updated`` re-validates the whole model with the changes applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def updated(model: M, changes: Mapping[str, object]) -> M:
    """A copy of ``model`` with ``changes``, validated like a new instance."""
    return type(model).model_validate({**dict(model), **changes})
