"""Real xw.Book objects without Excel, from xlwings' remote engine (tests only: it is xlwings PRO,
free for non-commercial use, and needs XLWINGS_LICENSE_KEY before xlwings is imported).

A book is built from plain 2-D lists; what the code under test does to it is the list of queued
actions (`book.json()["actions"]`). `sheet_after` replays the value writes onto the original
cells, so tests can assert on what the user would see, and `reopen` starts a new book from that
state (the next button press).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import os
from collections.abc import Iterator, Sequence
from typing import Any

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import xlwings as xw  # noqa: E402

if "remote" not in xw.engines.engines_by_name:  # xlwings was imported before the key was set
    from xlwings.pro import _xlremote

    xw.engines.add(xw.Engine(impl=_xlremote.engine))

from xlwings.pro import _xlremote  # noqa: E402

UPDATES_HEADER = [
    "External ID",
    "Status",
    "Current Metric Value",
    "As Of Date",
    "Comment",
    "Issues",
    "Job ID",
    "Job Status",
    "Checked At",
    "Marks",
]
SETTINGS_HEADER = ["Setting", "Value", "What it means"]
LOG_HEADER = ["When", "File name", "Rows", "CSV SHA-256", "Job ID", "State", "Message"]


def iso(day: dt.date | dt.datetime) -> str:
    """A date as the remote engine's JSON carries it (Office.js style)."""
    if not isinstance(day, dt.datetime):
        day = dt.datetime(day.year, day.month, day.day)
    return day.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _cells(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    width = max((len(r) for r in rows), default=0)
    out = []
    for row in rows:
        cells = ["" if v is None else iso(v) if isinstance(v, dt.date) else v for v in row]
        out.append(cells + [""] * (width - len(cells)))
    return out or [[]]


def settings_rows(**values: Any) -> list[list[Any]]:
    """A Settings sheet: label -> value, e.g. settings_rows(**{"Base URL override": url})."""
    return [SETTINGS_HEADER, *([label, value, ""] for label, value in values.items())]


def make_book(
    updates: Sequence[Sequence[Any]],
    *,
    settings: Sequence[Sequence[Any]] | None = None,
    log: Sequence[Sequence[Any]] | None = None,
    name: str = "updates.xlsm",
    used_range: dict[str, str] | None = None,
    without: Sequence[str] = (),
    more: dict[str, Sequence[Sequence[Any]]] | None = None,
) -> xw.Book:
    """A book with Updates, Settings and Log sheets (in that order), less those in `without`,
    then the sheets of `more` (name -> rows), e.g. a Plan Items sheet."""
    sheets = [
        ("Updates", updates),
        ("Settings", settings if settings is not None else [SETTINGS_HEADER]),
        ("Log", log if log is not None else [LOG_HEADER]),
        *(more or {}).items(),
    ]
    sheets = [(sheet_name, rows) for sheet_name, rows in sheets if sheet_name not in without]
    api_sheets = []
    for sheet_name, rows in sheets:
        sheet: dict[str, Any] = {
            "name": sheet_name,
            "values": _cells(rows),
            "pictures": [],
            "tables": [],
        }
        if used_range and sheet_name in used_range:
            sheet["used_range_address"] = used_range[sheet_name]
        api_sheets.append(sheet)
    return xw.Book(
        json={
            "client": "Microsoft Office",
            "version": xw.__version__,
            "book": {"name": name, "active_sheet_index": 0, "selection": "A1"},
            "names": [],
            "sheets": api_sheets,
        }
    )


def actions(book: xw.Book) -> list[dict[str, Any]]:
    return book.json()["actions"]


def alerts(book: xw.Book) -> list[str]:
    """The prompts of the alerts shown, in order."""
    return [a["args"][0] for a in actions(book) if a["func"] == "alert"]


def sheet_index(book: xw.Book, name: str) -> int:
    return [s.name for s in book.sheets].index(name)


def sheet_after(book: xw.Book, name: str) -> list[list[Any]]:
    """The sheet's values after the queued value writes (1-based: cell(r, c) = out[r-1][c-1])."""
    index = sheet_index(book, name)
    grid = [list(r) for r in copy.deepcopy(book.sheets[name].api["values"])]
    for action in actions(book):
        if action["func"] != "setValues" or action["sheet_position"] != index:
            continue
        for i, row in enumerate(action["values"]):
            r = action["start_row"] + i
            while len(grid) <= r:
                grid.append([])
            for j, value in enumerate(row):
                c = action["start_column"] + j
                while len(grid[r]) <= c:
                    grid[r].append("")
                grid[r][c] = value
    width = max(len(r) for r in grid)
    return [[None if v == "" else v for v in r + [""] * (width - len(r))] for r in grid]


def cell(grid: list[list[Any]], row: int, col: int) -> Any:
    """1-based, like Excel; None beyond the grid."""
    if row > len(grid) or col > len(grid[row - 1]):
        return None
    return grid[row - 1][col - 1]


def reopen(book: xw.Book, *, name: str | None = None) -> xw.Book:
    """A fresh book holding this book's state after its writes (the next button press)."""
    names = [s.name for s in book.sheets]
    grids = {
        n: [[("" if v is None else v) for v in r] for r in sheet_after(book, n)] for n in names
    }
    return make_book(
        grids["Updates"],
        settings=grids["Settings"],
        log=grids["Log"],
        name=name or book.name,
        more={n: g for n, g in grids.items() if n not in ("Updates", "Settings", "Log")},
    )


def written_ranges(book: xw.Book, name: str) -> list[tuple[int, int, int, int]]:
    """(first row, first col, rows, cols), 1-based, of every value write on the sheet."""
    index = sheet_index(book, name)
    return [
        (a["start_row"] + 1, a["start_column"] + 1, a["row_count"], a["column_count"])
        for a in actions(book)
        if a["func"] == "setValues" and a["sheet_position"] == index
    ]


@contextlib.contextmanager
def counting_reads() -> Iterator[list[int]]:
    """Count cell-value reads (Range.raw_value) while the block runs: `with ... as reads:`."""
    original = _xlremote.Range.raw_value
    count = [0]

    def getter(self: Any) -> Any:
        count[0] += 1
        return original.fget(self)

    _xlremote.Range.raw_value = property(getter, original.fset)
    try:
        yield count
    finally:
        _xlremote.Range.raw_value = original


@contextlib.contextmanager
def number_formats(shown: str | None) -> Iterator[list[str]]:
    """Range.number_format reads give `shown` (what Excel gives for a range whose cells share
    one format; None when they differ), and are recorded by address: `with ... as reads:`.
    The remote engine cannot read formats synchronously; live Excel can, in one call."""
    original = _xlremote.Range.number_format
    reads: list[str] = []

    def getter(self: Any) -> Any:
        reads.append(self.address)
        return shown

    _xlremote.Range.number_format = property(getter, original.fset)
    try:
        yield reads
    finally:
        _xlremote.Range.number_format = original
