"""The periods a clinician can pick (last hour to 14 days) and the vitals the console charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from alerts.console.errors import ApiError
from wire.units import ReadingType

RangeName = Literal["1h", "6h", "24h", "3d", "7d", "14d"]
RANGES: dict[str, timedelta] = {
    "1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(hours=24),
    "3d": timedelta(days=3), "7d": timedelta(days=7), "14d": timedelta(days=14),
}
MAX_SPAN = timedelta(days=14)

# Charted in this order; blood pressure is one chart of two series in the page.
CHARTED: tuple[ReadingType, ...] = (
    ReadingType.HEART_RATE, ReadingType.SPO2, ReadingType.RESP_RATE, ReadingType.TEMPERATURE,
    ReadingType.BP_SYSTOLIC, ReadingType.BP_DIASTOLIC, ReadingType.GLUCOSE,
)


def period(range_: str, end: datetime | None) -> tuple[datetime, datetime]:
    """[start, end) for a named range ending at ``end`` (default now); ``end`` needs an offset."""
    if end is not None and end.tzinfo is None:
        raise ApiError(422, "error.time_offset")
    stop = end or datetime.now(UTC)
    return stop - RANGES[range_], stop
