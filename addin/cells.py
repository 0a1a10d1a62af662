"""Small pure helpers for cell values, sheet names and the sheet layouts, shared by the file
(openpyxl), Excel (xlwings) and CSV adapters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from . import model
from .lookalikes import plain
from .marks import ISSUES_COL, LAST_TOOL_COLUMN, TOOL_HEADERS
from .model import is_blank

__all__ = [
    "find_header",
    "is_blank",
    "is_percent_format",
    "percent_points",
    "log_columns",
    "log_hash",
    "normal_label",
    "result_header_clash",
    "result_header_message",
    "sheet_index",
]

_EXTERNAL_ID = model.EXTERNAL_ID.casefold()


def normal_label(value: Any) -> str:
    """A header or setting label as compared: look-alike spaces and dashes as what they look
    like, no BOM or other invisible characters, single spaces, any case."""
    if not isinstance(value, str):
        return ""
    return " ".join(plain(value).split()).casefold()


def is_percent_format(number_format: str | None) -> bool:
    """Whether an Excel number format shows numbers as percentages ('0%', '0.0%;[Red]-0%'):
    a '%' outside quoted text and not escaped with a backslash."""
    if not number_format or "%" not in number_format:
        return False
    quoted = escaped = False
    for ch in number_format:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "%" and not quoted:
            return True
    return False


def percent_points(value: Any) -> bool:
    """A metric a %-formatted cell would show as 2000%: a whole number above 1 (20 typed
    where 20% = 0.2 was meant). Only such a value makes the cell's format worth a look."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) > 1 and float(value).is_integer()


def sheet_index(names: Sequence[str], wanted: str) -> int | None:
    """Position of the sheet called `wanted`: exactly, else ignoring case and outer spaces."""
    if wanted in names:
        return names.index(wanted)
    folded = [name.strip().casefold() for name in names]
    return folded.index(wanted.casefold()) if wanted.casefold() in folded else None


def find_header(rows: Iterable[Sequence[Any]]) -> int | None:
    """0-based index of the header row: the first of the first model.HEADER_SEARCH_ROWS rows
    whose first cell reads 'External ID'; None when there is none."""
    for index, row in enumerate(islice(rows, model.HEADER_SEARCH_ROWS)):
        if len(row) and normal_label(row[0]) == _EXTERNAL_ID:
            return index
    return None


def result_header_clash(cells: Sequence[Any]) -> tuple[int, Any] | None:
    """The first of F..L of the header row (`cells`, from F on) that holds something other
    than the tool's own header, as (0-based offset from F, value); None when all are free."""
    for index, name in enumerate(TOOL_HEADERS):
        value = cells[index] if index < len(cells) else None
        if not is_blank(value) and normal_label(value) != name.casefold():
            return index, value
    return None


def result_header_message(place: str, header_row: int, index: int, value: Any) -> str:
    """What to do about a result_header_clash; `place` says where, e.g. 'In updates.xlsx'."""
    letter = chr(ord("A") + ISSUES_COL - 1 + index)  # F..L: single letters
    first, last = chr(ord("A") + ISSUES_COL - 1), LAST_TOOL_COLUMN
    return (
        f"{place}, cell {letter}{header_row} holds {value!r}; the tool needs columns "
        f"{first}..{last} for its results ({', '.join(TOOL_HEADERS)}). Move that column to the "
        f"right of {last} (or clear the cell), then try again."
    )


def log_columns(header: Sequence[Any]) -> tuple[dict[str, int], tuple[str, ...]]:
    """Where each of model.LOG_COLUMNS is in the Log sheet's header row (its cells as read).

    Matched by name, so a reordered Log still works. Returns (name -> 0-based column, for every
    name) and the names the header lacks: those are placed after its last filled cell, in
    model.LOG_COLUMNS order, for the caller to write when it adds a row.
    """
    labels = [normal_label(value) for value in header]
    positions: dict[str, int] = {}
    missing: list[str] = []
    for name in model.LOG_COLUMNS:
        if name.casefold() in labels:
            positions[name] = labels.index(name.casefold())
        else:
            missing.append(name)
    start = max((i + 1 for i, label in enumerate(labels) if label), default=0)
    for offset, name in enumerate(missing):
        positions[name] = start + offset
    return positions, tuple(missing)


def log_hash(value: Any) -> str:
    """A Log row's 'CSV SHA-256' cell as compared: trimmed, lower case; '' when empty."""
    return "" if value is None else str(value).strip().lower()
