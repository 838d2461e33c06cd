"""CSV readers for the ``score`` CLI: CGM traces and PPG sample files.

Kept apart from the scoring core because it does IO-shaped work (text parsing,
header sniffing). Every problem raises ``CsvFormatError`` with a line number so
the CLI can exit 2 with a message a person can act on.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from streams.glucose import GlucoseSample, mmol_l_to_mg_dl

GlucoseUnit = Literal["mg/dL", "mmol/L"]
UnitSource = Literal["argument", "header", "values"]

# Consensus CGM values in mmol/L never reach 35 (= 630 mg/dL) and values in
# mg/dL never fall below 35 (CGMs report "Low" under 40), so the ranges do
# not overlap: all values < 35 means the file is in mmol/L.
MMOL_DETECTION_LIMIT = 35.0

_TIME_NAMES = {"time", "timestamp", "datetime", "date", "date_time", "datestring", "ts"}
_GLUCOSE_NAMES = {"glucose", "value", "sgv", "bg", "mg/dl", "mmol/l"}


class CsvFormatError(ValueError):
    """The file cannot be read as the expected CSV; message says where and why."""


@dataclass(frozen=True, slots=True)
class CgmFile:
    samples: tuple[GlucoseSample, ...]
    unit: GlucoseUnit
    unit_source: UnitSource
    skipped_blank_rows: int


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CsvFormatError(f"cannot read {path}: {exc}") from exc
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [
            (n, [c.strip() for c in row])
            for n, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1)
            if any(c.strip() for c in row)
        ]
    except csv.Error as exc:
        raise CsvFormatError(f"{path}: malformed CSV: {exc}") from exc
    if not rows:
        raise CsvFormatError(f"{path}: file is empty")
    return rows


def _norm(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").split())


def _is_time_name(name: str) -> bool:
    n = _norm(name)
    return n in _TIME_NAMES or "time" in n or n.startswith("date")


def _is_glucose_name(name: str) -> bool:
    n = _norm(name)
    return n in _GLUCOSE_NAMES or "glucose" in n or n.startswith("sgv")


def parse_time(text: str, line: int) -> datetime:
    """ISO 8601 (naive = UTC) or Unix epoch seconds / milliseconds."""
    try:
        epoch = float(text)
    except ValueError:
        epoch = math.nan
    try:
        if math.isfinite(epoch):
            seconds = epoch / 1000 if epoch > 1e11 else epoch  # Nightscout uses ms
            return datetime.fromtimestamp(seconds, tz=UTC)
        t = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError) as exc:
        raise CsvFormatError(f"line {line}: cannot parse time {text!r} (use ISO 8601)") from exc
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _number(text: str, line: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise CsvFormatError(f"line {line}: {what} {text!r} is not a number") from exc
    if not math.isfinite(value):
        raise CsvFormatError(f"line {line}: {what} {text!r} is not finite")
    return value


def _looks_like_data(row: list[str]) -> bool:
    if len(row) < 2:
        return False
    try:
        parse_time(row[0], 0)
        float(row[1])
    except (CsvFormatError, ValueError):
        return False
    return True


_ID_NAMES = {"id", "subject", "subject id", "patient", "patient id", "ptid", "person id", "user id"}
_MISSING = {"na", "nan", "null", "none", "-"}

# CGM out-of-range markers. Dexcom (G6/G7) reports 40-400 mg/dL and "Low"/"High"
# beyond; FreeStyle Libre reports 40-500 with "LO"/"HI". The marker is replaced
# by a value just beyond the reportable range so the reading still counts in
# time below/above range (dropping it would hide the most extreme readings);
# the count is reported. The high value is the lower of the two ranges' edges
# plus one: a conservative "above 400" that still counts as > 250.
LOW_MARKERS = {"low", "lo", "below 40", "<40"}
HIGH_MARKERS = {"high", "hi", "above 400", ">400", "above 500", ">500"}
LOW_MARKER_MG_DL = 39.0
HIGH_MARKER_MG_DL = 401.0


@dataclass(frozen=True, slots=True)
class CgmSubject:
    subject: str
    file: CgmFile
    low_markers: int
    high_markers: int


def _is_id_name(name: str) -> bool:
    return _norm(name) in _ID_NAMES


def read_cgm_subjects(path: Path, unit: GlucoseUnit | None = None) -> list[CgmSubject]:
    """Read a CGM CSV: (time, glucose), optionally with a subject id column (research data sets).

    Unit: ``unit`` argument, else header hint, else values (decided over the
    whole file, not per subject). Rows without a reading (vendor event rows,
    ``NA``) are counted and skipped; ``Low``/``High`` markers become 39 and 401
    mg/dL (see ``LOW_MARKERS``). Subjects keep their order of first appearance.
    """
    rows = _rows(path)
    first_line, header = rows[0]
    time_col = next((i for i, h in enumerate(header) if _is_time_name(h)), None)
    glucose_col = next((i for i, h in enumerate(header) if _is_glucose_name(h) or _norm(h) == "gl"), None)
    id_col = next((i for i, h in enumerate(header) if _is_id_name(h)), None)
    if time_col is not None and glucose_col is not None:
        data = rows[1:]
        hint = _norm(header[glucose_col])
        header_unit: GlucoseUnit | None = (
            "mmol/L" if "mmol" in hint else "mg/dL" if "mg/dl" in hint else None
        )
    elif time_col is None and glucose_col is None and _looks_like_data(header):
        time_col, glucose_col, data, header_unit = 0, 1, rows, None  # headerless
    else:
        raise CsvFormatError(
            f"{path}: line {first_line}: need a time column (time/timestamp/date...) and a "
            f"glucose column (glucose/gl/value/sgv...); found {header}"
        )
    if not data:
        raise CsvFormatError(f"{path}: no data rows")

    points: dict[str, list[tuple[datetime, float | None]]] = {}
    blank: dict[str, int] = {}
    lows: dict[str, int] = {}
    highs: dict[str, int] = {}
    need = max(time_col, glucose_col, id_col if id_col is not None else 0)
    for line, row in data:
        if need >= len(row):
            raise CsvFormatError(f"line {line}: too few columns")
        subject = row[id_col] if id_col is not None else ""
        points.setdefault(subject, [])
        cell = row[glucose_col]
        if not cell or cell.lower() in _MISSING or row[time_col].lower() in _MISSING | {""}:
            blank[subject] = blank.get(subject, 0) + 1  # event rows (calibrations, alerts) carry no reading
            continue
        marker = cell.lower()
        if marker in LOW_MARKERS or marker in HIGH_MARKERS:
            # None: filled in once the unit is known (the marker value is mg/dL).
            counter = lows if marker in LOW_MARKERS else highs
            counter[subject] = counter.get(subject, 0) + 1
            points[subject].append((parse_time(row[time_col], line), -1.0 if marker in LOW_MARKERS else None))
            continue
        value = _number(cell, line, "glucose")
        if value <= 0:
            raise CsvFormatError(f"line {line}: glucose {value} must be positive")
        points[subject].append((parse_time(row[time_col], line), value))
    numeric = [v for pts in points.values() for _, v in pts if v is not None and v > 0]
    if not numeric and not any(points.values()):
        raise CsvFormatError(f"{path}: no glucose values")

    chosen: GlucoseUnit
    source: UnitSource
    if unit is not None:
        chosen, source = unit, "argument"
    elif header_unit is not None:
        chosen, source = header_unit, "header"
    else:
        low = bool(numeric) and all(v < MMOL_DETECTION_LIMIT for v in numeric)
        chosen, source = ("mmol/L" if low else "mg/dL"), "values"

    def mg_dl(v: float | None) -> float:
        if v is None:
            return HIGH_MARKER_MG_DL
        if v < 0:
            return LOW_MARKER_MG_DL
        return mmol_l_to_mg_dl(v) if chosen == "mmol/L" else v

    out: list[CgmSubject] = []
    for subject, pts in points.items():
        if not pts:
            continue
        try:
            samples = tuple(GlucoseSample(at=t, mg_dl=mg_dl(v)) for t, v in pts)
        except ValueError as exc:
            raise CsvFormatError(f"{path}: implausible glucose for unit {chosen}: {exc}") from exc
        f = CgmFile(samples=samples, unit=chosen, unit_source=source, skipped_blank_rows=blank.get(subject, 0))
        out.append(CgmSubject(subject=subject, file=f, low_markers=lows.get(subject, 0),
                              high_markers=highs.get(subject, 0)))
    if not out:
        raise CsvFormatError(f"{path}: no glucose values")
    return out


def read_cgm_csv(path: Path, unit: GlucoseUnit | None = None) -> CgmFile:
    """A single-subject CGM CSV (see :func:`read_cgm_subjects`); several subject ids are an error."""
    subjects = read_cgm_subjects(path, unit)
    if len(subjects) > 1:
        names = ", ".join(s.subject for s in subjects[:5])
        raise CsvFormatError(f"{path}: {len(subjects)} subjects ({names}...); choose one with --id")
    return subjects[0].file


def read_ppg_csv(path: Path, column: str | None = None) -> list[float]:
    """PPG samples: one number per line (optional header), or the named column.

    Empty cells and ``nan`` become NaN (dropped samples); the scorer marks the
    windows that contain them as poor.
    """
    rows = _rows(path)
    if column is not None:
        (first_line, header), data = rows[0], rows[1:]
        names = [_norm(h) for h in header]
        if _norm(column) not in names:
            raise CsvFormatError(f"{path}: line {first_line}: no column {column!r} in {header}")
        col = names.index(_norm(column))
    else:
        widths = {len(r) for _, r in rows}
        if widths != {1}:
            raise CsvFormatError(f"{path}: has several columns; choose one with --column NAME")
        col, data = 0, rows
        try:
            float(rows[0][1][0])
        except ValueError:
            data = rows[1:]  # a header line
    values: list[float] = []
    for line, row in data:
        if col >= len(row):
            raise CsvFormatError(f"line {line}: missing column {col + 1}")
        cell = row[col]
        try:
            values.append(float(cell) if cell else math.nan)
        except ValueError as exc:
            raise CsvFormatError(f"line {line}: sample {cell!r} is not a number") from exc
    if not values:
        raise CsvFormatError(f"{path}: no samples")
    return values
