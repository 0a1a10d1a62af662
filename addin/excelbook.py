"""The live workbook as the ribbon buttons see it: one read per sheet, bounded block writes.

Excel round trips are slow (COM on Windows, AppleScript on Mac), so a press makes a fixed number
of them whatever the row count: each sheet is read in one call, the tool columns F..L are written
as one block, and the red/amber cells come from two conditional-format rules of the template
driven by the hidden Marks column (see addin/marks.py) inside that block. Nothing in the input
columns A..E is ever written. `ExcelSheets` is the sheet port of addin/submission.py.

Only xlwings and the small shared modules load with this module: a ribbon click stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import xlwings as xw

from . import marks, model
from .cells import (
    find_header,
    is_percent_format,
    log_columns,
    log_hash,
    normal_label,
    percent_points,
    result_header_clash,
    result_header_message,
    sheet_index,
)
from .cells import is_blank as _blank
from .errors import WorkbookError
from .gcpause import collector_paused
from .marks import INPUT_WIDTH, ISSUES_COL, LAST_TOOL_COL, TOOL_HEADERS
from .planitems import ITEM_HEADERS, PLAN_ITEMS_SHEET, PLAN_ITEMS_TABLE, KnownItem, known_items

if TYPE_CHECKING:
    from .submission import SheetChanges, Snapshot

READ_WIDTH = LAST_TOOL_COL  # A..L
METRIC_INDEX = model.COLUMNS.index(model.METRIC)  # 0-based
BLOAT_ROWS = 5_000  # past this, check the used range isn't just formatting (one call per column)


# ---------------------------------------------------------------------------------------------
# Reading: one call per sheet
# ---------------------------------------------------------------------------------------------


def find_sheet(book: xw.Book, name: str) -> xw.Sheet | None:
    sheets = list(book.sheets)
    index = sheet_index([s.name for s in sheets], name)
    return None if index is None else sheets[index]


def last_row(sheet: xw.Sheet, width: int) -> int:
    """The last row with anything in A..(width): the used range, unless formatting bloats it."""
    last = sheet.used_range.last_cell.row
    if last > BLOAT_ROWS:
        # Formatting alone can stretch the used range: ask each column where its data ends
        # (one call per column, from the first cell below the used range).
        probe = min(last + 1, marks.EXCEL_MAX_ROWS)
        last = max(sheet.range((probe, col)).end("up").row for col in range(1, width + 1))
    return last


def _read_block(sheet: xw.Sheet, width: int, min_width: int | None = None) -> list[list[Any]]:
    """Cells A1:(last row, width) as a 2-D list, errors as text ('#N/A'), dates as datetime."""
    if min_width is not None:  # read as many columns as the sheet uses, at least min_width
        width = max(sheet.used_range.last_cell.column, min_width)
    nrows = last_row(sheet, width)
    values = sheet.range((1, 1), (nrows, width)).options(ndim=2, err_to_str=True).value
    return [list(row) + [None] * (width - len(row)) for row in values]


def table_from_cells(cells: Sequence[Sequence[Any]], source: str, sheet: str) -> model.Table:
    """The Updates sheet's cells (anchored at A1) -> model.Table. Pure.

    The header row is the first of the first 10 rows whose A cell reads 'External ID'. Rows run
    from below it to the last row with anything in A..E. Hidden rows can't be seen in one read,
    so none are reported hidden.
    """
    index = find_header(cells)
    if index is None:
        return model.Table(source=source, sheet=sheet, header_row=None, header=(), rows=())
    header_row = index + 1
    header = list(cells[header_row - 1][:INPUT_WIDTH])
    while header and header[-1] is None:
        header.pop()
    inputs = [tuple((list(r[:INPUT_WIDTH]) + [None] * INPUT_WIDTH)[:INPUT_WIDTH]) for r in cells]
    last = len(inputs)
    while last > header_row and all(_blank(v) for v in inputs[last - 1]):
        last -= 1
    rows = tuple(model.Row(number=n, values=inputs[n - 1]) for n in range(header_row + 1, last + 1))
    return model.Table(
        source=source, sheet=sheet, header_row=header_row, header=tuple(header), rows=rows
    )


def _mark_percent_metrics(sheet: xw.Sheet, table: model.Table) -> model.Table:
    """Rows whose metric cell is %-formatted get metric_percent, for the rules' warning.

    One Excel call at most, and none unless a metric is a whole number above 1: the number
    format of the metric cells from the first such row to the last. Excel gives one format
    when they all share it, and none when they differ; then nothing is marked (asking cell by
    cell would make the calls grow with the rows).
    """
    suspects = [r.number for r in table.rows if percent_points(r.values[METRIC_INDEX])]
    if not suspects:
        return table
    first, last = suspects[0], suspects[-1]
    try:
        number_format = sheet.range(
            (first, METRIC_INDEX + 1), (last, METRIC_INDEX + 1)
        ).number_format
    except Exception:  # a hint only, never a reason for a press to fail (engines without it)
        return table
    if not is_percent_format(number_format):
        return table
    rows = tuple(
        replace(r, metric_percent=True) if first <= r.number <= last else r for r in table.rows
    )
    return replace(table, rows=rows)


@dataclass
class UpdatesSheet:
    """What one read of the Updates sheet gives: its cells A..L and the Table built from them."""

    sheet: xw.Sheet
    cells: list[list[Any]]
    table: model.Table

    @property
    def header_row(self) -> int:
        assert self.table.header_row is not None
        return self.table.header_row

    @property
    def data_rows(self) -> range:
        """Every row below the header that the sheet uses (stale results included)."""
        return range(self.header_row + 1, len(self.cells) + 1)

    def cell(self, row: int, col: int) -> Any:
        """1-based row and column, like Excel."""
        return self.cells[row - 1][col - 1] if row <= len(self.cells) else None


def read_updates(book: xw.Book) -> UpdatesSheet:
    sheet = find_sheet(book, model.UPDATES_SHEET)
    if sheet is None:
        raise WorkbookError(
            f"This workbook has no '{model.UPDATES_SHEET}' sheet. Rename the sheet that holds "
            f"your updates to '{model.UPDATES_SHEET}', then try again."
        )
    cells = _read_block(sheet, READ_WIDTH)
    with collector_paused():
        table = table_from_cells(cells, book.name, sheet.name)
    table = _mark_percent_metrics(sheet, table)
    updates = UpdatesSheet(sheet, cells, table)
    if table.header_row is not None:
        _check_result_headers(updates)
    return updates


def _check_result_headers(updates: UpdatesSheet) -> None:
    """F..L of the header row must be empty or the tool's own headers: the tool writes there."""
    row = updates.header_row
    clash = result_header_clash(updates.cells[row - 1][ISSUES_COL - 1 :])
    if clash is not None:
        place = f"On the {updates.table.sheet} sheet"
        raise WorkbookError(result_header_message(place, row, *clash))


def read_plan_items(book: xw.Book) -> dict[str, KnownItem] | None:
    """The Plan Items sheet's items by External ID, in one read; None without the sheet."""
    sheet = find_sheet(book, PLAN_ITEMS_SHEET)
    if sheet is None:
        return None
    return known_items(_read_block(sheet, 0, min_width=len(ITEM_HEADERS)))


def read_settings(book: xw.Book) -> model.Settings:
    sheet = find_sheet(book, model.SETTINGS_SHEET)
    if sheet is None:
        return model.Settings()
    from .settings import parse_settings  # one parser for files and live workbooks

    return parse_settings(_read_block(sheet, 0, min_width=INPUT_WIDTH))


@dataclass
class LogSheet:
    """The Log sheet as read. Nothing is written until a row is added (append_log): then the
    sheet is added if there is none, and the headers it lacks are written."""

    book: xw.Book
    sheet: xw.Sheet | None  # None: the workbook has no Log sheet (yet)
    cells: list[list[Any]]
    columns: dict[str, int]  # LOG_COLUMNS name -> 0-based column index
    missing: tuple[str, ...] = ()  # LOG_COLUMNS names row 1 lacks (at their `columns` index)

    def rows(self) -> range:
        """Sheet rows below the header that hold anything."""
        last = len(self.cells)
        while last > 1 and all(_blank(v) for v in self.cells[last - 1]):
            last -= 1
        return range(2, last + 1)

    def value(self, row: int, name: str) -> Any:
        return self.cells[row - 1][self.columns[name]]


def read_log(book: xw.Book) -> LogSheet:
    """The Log sheet in one read (none without a Log sheet); changes nothing."""
    sheet = find_sheet(book, model.LOG_SHEET)
    width = len(model.LOG_COLUMNS)
    cells = [[None] * width] if sheet is None else _read_block(sheet, 0, min_width=width)
    columns, missing = log_columns(cells[0])  # by header name: a reordered Log works
    width = max(max(columns.values()) + 1, len(cells[0]))
    cells = [row + [None] * (width - len(row)) for row in cells]
    return LogSheet(book, sheet, cells, columns, missing)


def _prepare_log(log: LogSheet) -> xw.Sheet:
    """The Log sheet to write into: added when missing, its missing headers written (one call)."""
    if log.sheet is None:
        log.sheet = log.book.sheets.add(model.LOG_SHEET, after=log.book.sheets[-1])
    if log.missing:
        start = log.columns[log.missing[0]]
        log.sheet.range((1, start + 1)).value = [list(log.missing)]
        for name in log.missing:
            log.cells[0][log.columns[name]] = name
        log.missing = ()
    return log.sheet


# ---------------------------------------------------------------------------------------------
# Writing: one block for the tool columns, one call per Log write
# ---------------------------------------------------------------------------------------------


def write_tools(updates: UpdatesSheet, tools: Mapping[int, model.ToolCells]) -> None:
    """F..L of the header row and every data row, as one block: the tool's headers, then each
    row's cells from `tools` (rows it lacks are emptied). The inputs A..E are not touched."""
    last = max([len(updates.cells), *tools])
    block: list[list[Any]] = [list(TOOL_HEADERS)]
    for row in range(updates.header_row + 1, last + 1):
        block.append(list(tools.get(row, model.ToolCells()).values()))
    updates.sheet.range((updates.header_row, ISSUES_COL)).value = block


def write_plan_items(book: xw.Book, rows: Sequence[Sequence[Any]]) -> None:
    """The Plan Items sheet holding exactly `rows` (planitems.sheet_rows), its table fitted:
    at most four calls (a new sheet: add it, format A as Text; else clear it; the values; the
    table)."""
    sheet = find_sheet(book, PLAN_ITEMS_SHEET)
    if sheet is None:
        sheet = book.sheets.add(PLAN_ITEMS_SHEET, after=book.sheets[-1])
        sheet.range("A:A").number_format = "@"  # IDs stay text: "00731" keeps its zeros
    else:
        sheet.clear_contents()  # fewer items than last time: no stale rows below
    sheet.range((1, 1)).value = [list(r) for r in rows]
    area = sheet.range((1, 1), (max(2, len(rows)), len(rows[0])))
    table = next((t for t in sheet.tables), None)
    if table is None:
        sheet.tables.add(
            source=area,
            has_headers=True,
            table_style_name="TableStyleMedium2",
            name=PLAN_ITEMS_TABLE,
        )
    else:
        table.resize(area)


def append_external_ids(updates: UpdatesSheet, ids: Sequence[str]) -> int:
    """New Updates rows below the last update, External ID only (two calls: Text format, then
    the IDs as one column); the first new row."""
    first = (updates.table.rows[-1].number if updates.table.rows else updates.header_row) + 1
    column = updates.sheet.range((first, 1), (first + len(ids) - 1, 1))
    column.number_format = "@"
    column.value = [[external_id] for external_id in ids]
    return first


def select_first(updates: UpdatesSheet, report: model.Report) -> None:
    """Put the cursor on the first problem: its cell, or the Issues cell for a whole-row one."""
    ordered = [*report.errors, *report.warnings]
    if not ordered:
        return
    first = ordered[0]
    if first.row <= updates.header_row:
        row, col = updates.header_row, 1
    elif first.column in model.COLUMNS:
        row, col = first.row, model.COLUMNS.index(first.column) + 1
    else:
        row, col = first.row, ISSUES_COL
    updates.sheet.activate()
    updates.sheet.range((row, col)).select()


def append_log(log: LogSheet, entry: model.LogEntry, row: int | None = None) -> int:
    """Write the entry into `row` (default: below the last Log row) in one call, after adding
    the sheet and writing its missing headers if need be; return its sheet row."""
    sheet = _prepare_log(log)
    row = row or log.rows().stop  # first empty row after the data
    width = max(log.columns.values()) + 1
    values: list[Any] = [None] * width
    for name, value in zip(model.LOG_COLUMNS, entry.cells(), strict=True):
        values[log.columns[name]] = value
    sheet.range((row, 1)).value = [values]
    while len(log.cells) < row:
        log.cells.append([None] * width)
    log.cells[row - 1] = values + [None] * (len(log.cells[0]) - width)
    return row


def update_log_rows(log: LogSheet, changes: dict[int, tuple[str, str]]) -> None:
    """New State and Message of some Log rows, as one block over State..Message."""
    if not changes:
        return
    sheet = _prepare_log(log)  # a Log sheet without a Message header gets one
    state_col, message_col = log.columns["State"], log.columns["Message"]
    first, last = min(changes), max(changes)
    left, right = min(state_col, message_col), max(state_col, message_col)
    block = []
    for r in range(first, last + 1):
        row = [
            log.cells[r - 1][c] if r <= len(log.cells) and c < len(log.cells[r - 1]) else None
            for c in range(left, right + 1)
        ]
        if r in changes:
            row[state_col - left], row[message_col - left] = changes[r]
        block.append(row)
    sheet.range((first, left + 1)).value = block
    for r, (state, message) in changes.items():  # keep the in-memory copy in step
        if r <= len(log.cells):
            log.cells[r - 1][state_col], log.cells[r - 1][message_col] = state, message


# ---------------------------------------------------------------------------------------------
# The sheet port of addin/submission.py, over a live workbook
# ---------------------------------------------------------------------------------------------


def _log_rows(log: LogSheet) -> list[model.LogRow]:
    rows = []
    for r in log.rows():
        job = log.value(r, "Job ID")
        rows.append(
            model.LogRow(
                r,
                "" if _blank(job) else str(job).strip(),
                normal_label(log.value(r, "State")),
                log_hash(log.value(r, model.LOG_COLUMNS[3])),
                str(log.value(r, "Message") or ""),
                log.value(r, "When"),
            )
        )
    return rows


class ExcelSheets:
    """Updates, Settings and Log of a live workbook: read once per sheet; each write() is one
    block over F..L plus one call per new Log row; Log State/Message changes wait for commit()
    and go as one block (so a press updates the Log with a fixed number of calls)."""

    records = True

    def __init__(self, book: xw.Book) -> None:
        self.book = book
        self.updates: UpdatesSheet | None = None
        self.log: LogSheet | None = None
        self._log_state: dict[int, tuple[str, str]] = {}

    def read(self, *, with_log: bool = True, with_settings: bool = True) -> Snapshot:
        from .submission import Snapshot

        updates = self.updates = read_updates(self.book)
        settings = read_settings(self.book) if with_settings else model.Settings()
        items = read_plan_items(self.book) if with_settings else None  # not for Clear Results
        self.log = read_log(self.book) if with_log else None
        tools = {}
        if updates.table.header_row is not None:
            for r in updates.data_rows:
                tools[r] = model.ToolCells.of(updates.cells[r - 1][ISSUES_COL - 1 : LAST_TOOL_COL])
        return Snapshot(
            table=updates.table,
            settings=settings,
            name=self.book.name,
            # The full path keys this computer's outbox: only a sending press (one that reads
            # the Log) asks Excel for it.
            source=str(self.book.fullname) if with_log else "",
            tools={r: cells for r, cells in tools.items() if any(cells.values())},
            log=_log_rows(self.log) if self.log else [],
            next_log_row=self.log.rows().stop if self.log else 2,
            items=items,
        )

    def check_writable(self) -> None:
        pass  # Excel holds the book open for us; a protected sheet fails the write itself

    def write(self, view: Snapshot, changes: SheetChanges) -> None:
        if changes.rows and self.updates is not None and self.updates.table.header_row:
            write_tools(self.updates, view.tools)
        if changes.log_new or changes.log_state:
            log = self._require_log()
            for row, entry in sorted(changes.log_new.items()):
                append_log(log, entry, row)
            self._log_state.update(changes.log_state)

    def commit(self) -> None:
        if self._log_state:
            update_log_rows(self._require_log(), self._log_state)
            self._log_state = {}

    def _require_log(self) -> LogSheet:
        if self.log is None:
            self.log = read_log(self.book)
        return self.log
