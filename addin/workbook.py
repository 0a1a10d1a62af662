"""openpyxl adapter: read the Updates table from a file, write the results back safely.

Reading streams the sheet (openpyxl read-only mode) for the cell values; addin/sheetxml.py
adds what read-only mode does not expose: hidden rows, merged ranges, and formulas whose file
holds no calculated value.

`FileSheets` is the sheet port of addin/submission.py over a file: one read, one save.

Writing goes into the very file the user gave, atomically (addin/xlsxfile.py), and touches only
the tool's cells (results in F..I, Marks codes in J, Sent fingerprints in K, the Log sheet).
It streams: only those cells are rewritten in the sheet XML, every other part of the package
copied as it is (addin/sheetedit.py, addin/packageedit.py), so a 100,000-row write costs about
what reading costs, and nothing openpyxl would drop is lost. Where the layout must change first
(a plain workbook's first write: tool headers, hidden J/K, colour rules, a table to widen; a
header note; a new Log sheet or Log headers) openpyxl loads and saves the workbook once, and
addin/package.py puts back what it drops: the VBA project and ribbon, formulas' calculated
values, the sheets' Excel 2010+ extensions.
check_writable runs the same refusals up front, so nothing is sent that could not be recorded.
Red and amber cells come from two conditional-format rules driven by the hidden Marks column
(see addin/marks.py), exactly as the ribbon and the template do it: the inputs' own formatting,
fills included, is never touched.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import html
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule, Rule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, from_excel
from openpyxl.utils.escape import unescape
from openpyxl.worksheet.table import TableColumn

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
from .csvfile import read_csv_table
from .dates import DateProblem, from_serial, plain_number
from .errors import WorkbookError
from .gcpause import collector_paused
from .marks import INPUT_WIDTH, ISSUES_COL, LAST_TOOL_COL, TOOL_HEADERS
from .model import Finding, JobOutcome, LogEntry, LogRow, Row, Settings, Table, ToolCells
from .packageedit import SheetEdit, StyleKind, relationships, rewrite_package
from .planitems import PLAN_ITEMS_SHEET, KnownItem, known_items
from .results import (
    ERROR_FILL,
    ERROR_FONT,
    WARNING_FILL,
    WARNING_FONT,
    issues_text_by_row,
    job_status_text,
)
from .settings import parse_settings
from .sheetedit import CannotStream, NewCell
from .sheetxml import SheetScan, scan_part
from .xlsxfile import (
    UNREADABLE,
    WORKBOOK_SUFFIXES,
    check_not_locked,
    check_readable,
    file_errors,
    folder_not_writable,
    load_for_edit,
    open_read_only,
    openpyxl_quiet,
    read_bytes,
    replace_atomically,
    save_atomically,
    unreadable,
)

CSV_SUFFIX = ".csv"
METRIC_COL = model.COLUMNS.index(model.METRIC)  # 0-based
NOTE_AUTHOR = "AchieveIt Progress Updates"  # marks the header notes this tool wrote
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"  # Checked At and the Log's When (the template's too)
LOG_DATETIME_FORMAT = DATETIME_FORMAT + ":ss"
# Style kinds of written cells (addin/packageedit.py adds them to the cell's own style)
WRAP, DATETIME, LOG_DATETIME = "wrap", "datetime", "log-datetime"
SHA_HEADER = model.LOG_COLUMNS[3]  # 'CSV SHA-256'

# ---------------------------------------------------------------------------------------------
# Public interface
# ---------------------------------------------------------------------------------------------


def is_workbook(path: str | os.PathLike[str]) -> bool:
    """True for .xlsx/.xlsm files (as opposed to .csv)."""
    return Path(path).suffix.lower() in WORKBOOK_SUFFIXES


def read_table(path: str | os.PathLike[str]) -> Table:
    """Read the Updates table of a .xlsx/.xlsm workbook or a .csv file."""
    path = Path(path)
    if path.suffix.lower() == CSV_SUFFIX:
        return read_csv_table(read_bytes(path), source=str(path))
    check_readable(path)
    with open_read_only(path) as wb:
        return _table(path, wb)


def read_settings(path: str | os.PathLike[str]) -> Settings | None:
    """The workbook's Settings sheet as Settings, or None when there is none (or for a CSV)."""
    path = Path(path)
    if not is_workbook(path):
        return None
    check_readable(path)
    with open_read_only(path) as wb:
        return _settings(path, wb)


def read_log_hashes(path: str | os.PathLike[str]) -> set[str]:
    """The 'CSV SHA-256' values of the Log sheet (lower-case), to spot a repeated submission."""
    path = Path(path)
    if not is_workbook(path):
        return set()
    check_readable(path)
    with open_read_only(path) as wb:
        return {entry.sha256 for entry in _log_rows(path, wb) if entry.sha256}


class FileSheets:
    """The sheet port of addin/submission.py over a workbook or .csv file.

    read() opens the file once (the Updates table with its tool cells F..L, Settings, Log).
    write() only collects; commit() saves everything collected in one atomic save, so a
    command makes at most one save whatever it records. `record=False` (--no-write-back) and a
    .csv input never write.
    """

    def __init__(self, path: str | os.PathLike[str], *, record: bool = True) -> None:
        self.path = Path(path)
        self.records = record and is_workbook(self.path)
        self._table: Table | None = None
        self._layout: SheetLayout | None = None  # where the tool's cells are, as read
        self._pending: Any = None  # submission.SheetChanges collected since the last commit

    def read(self, *, with_log: bool = True) -> Any:
        from .submission import Snapshot

        path = self.path
        if path.suffix.lower() == CSV_SUFFIX:
            table = read_csv_table(read_bytes(path), source=str(path))
            self._table = table
            return Snapshot(table, Settings(), path.name, str(path), stateful=False)
        check_readable(path)
        stamp = file_stamp(path)  # before reading: a change during the read shows as a change
        with collector_paused(), open_read_only(path) as wb:
            table, tools = _table_and_tools(path, wb)
            settings = _settings(path, wb) or Settings()
            log = _log_rows(path, wb) if with_log else []
            items = _plan_items(path, wb)
            self._layout = SheetLayout.of(wb, table, stamp)
        self._table = table
        next_row = max([1, *(entry.row for entry in log)]) + 1
        return Snapshot(
            table, settings, path.name, str(path.resolve()), tools, log, next_row, items=items
        )

    def check_writable(self) -> None:
        if self.records and self._table is not None:
            check_writable(self.path, self._table)

    def write(self, view: Any, changes: Any) -> None:
        if not self.records:
            return
        if self._pending is None:
            self._pending = changes
        else:
            self._pending.update(changes)

    def commit(self) -> None:
        pending, self._pending = self._pending, None
        if self.records and pending and self._table is not None:
            streamed = write_changes(self.path, self._table, pending, layout=self._layout)
            # the streaming path changes no header: what was read still holds for the new file
            layout = self._layout
            self._layout = (
                replace(layout, stamp=file_stamp(self.path)) if streamed and layout else None
            )


def check_writable(path: str | os.PathLike[str], table: Table) -> None:
    """Raise the WorkbookError write_back would raise, before anything is sent.

    Checks that `path` is an .xlsx/.xlsm workbook (not password-protected, really a zip), that
    it is not open in Excel (no `~$` owner file) and can be opened for writing, that its folder
    takes new files (the save goes through a temp file beside it), and that F..L of the
    header row of `table` are empty or hold the tool's own headers. The CLI calls it before
    POSTing, so a job is never queued whose results could not be recorded.
    """
    path = Path(path)
    if not is_workbook(path):
        raise WorkbookError(
            f"Results can only be written into an .xlsx or .xlsm workbook, not into {path.name}."
        )
    check_readable(path)
    if not zipfile.is_zipfile(path):
        raise unreadable(path)
    check_not_locked(path)
    with file_errors(path), path.open("r+b"):
        pass  # Windows refuses this while Excel holds the file; elsewhere: a read-only file
    if not os.access(path.parent, os.W_OK):
        raise folder_not_writable(path)
    if table.header_row is not None:
        _check_result_headers(path, table.header_row, table.header[INPUT_WIDTH:])


def write_back(
    path: str | os.PathLike[str],
    *,
    table: Table,
    findings: Sequence[Finding],
    outcome: JobOutcome | None = None,
    submitted_rows: Sequence[int] = (),
    log: LogEntry | None = None,
) -> None:
    """Mark the findings, write a job's results and a Log row into the workbook, atomically.

    The findings replace the Issues (F) and Marks (J) of every row, stale ones cleared;
    G..I of `submitted_rows` get the job; `log` goes below the last Log row. A convenience over
    FileSheets and write_changes, which the submission workflow uses directly.
    """
    from .submission import SheetChanges, findings_changes

    check_writable(path, table)
    port = FileSheets(path)
    view = port.read()
    changes = findings_changes(view, findings)
    if outcome is not None:
        checked = outcome.checked_at
        status = job_status_text(outcome.state, outcome.message)
        for row in submitted_rows:
            if table.header_row is None or row <= table.header_row:
                continue
            cells = changes.rows.get(row) or view.tools.get(row, ToolCells())
            job = outcome.job_id or ""
            changes.rows[row] = replace(cells, job_id=job, job_status=status, checked_at=checked)
    if log is not None:
        changes.update(SheetChanges(log_new={view.next_log_row: log}))
    port.write(view, changes)
    port.commit()


def write_changes(
    path: str | os.PathLike[str], table: Table, changes: Any, *, layout: SheetLayout | None = None
) -> bool:
    """Write submission.SheetChanges into the workbook, atomically.

    Rows get their whole F..L (Issues, Job ID, Job Status, Checked At, Marks, Sent, Item); empty
    values clear cells without creating empty ones. The tool's headers are written where
    missing, J and K hidden, an Excel table over A..J or A..K grown to take L, and the two
    colour rules added when the sheet lacks them (a plain .xlsx), never twice. Findings about
    the header row (or a missing header) go into a note on the header's A cell (A1 without one),
    since F of the header row holds the word 'Issues'. Log rows are written where the workflow
    placed them (State/Message changes merged in). Input cells A..E are never changed: not
    their values, not their formatting; formulas keep their calculated values and the sheets
    their Excel 2010+ extensions (addin/package.py). Raises what check_writable raises, first.
    True when it streamed (_write_streaming); `layout` spares it a read of the headers while
    the file is unchanged since FileSheets.read took it.
    """
    path = Path(path)
    check_writable(path, table)
    if _write_streaming(path, table, changes, layout):
        return True
    original = read_bytes(path)
    with openpyxl_quiet():
        wb = load_for_edit(path, original)
        apply_changes(path, wb, table, changes)
        save_atomically(wb, path, original)
    return False


# ---------------------------------------------------------------------------------------------
# Writing without openpyxl's load and save (addin/packageedit.py)
# ---------------------------------------------------------------------------------------------

STYLE_KINDS = {
    WRAP: StyleKind(alignment=b'<alignment vertical="top" wrapText="1"/>'),
    DATETIME: StyleKind(number_format=DATETIME_FORMAT),
    LOG_DATETIME: StyleKind(number_format=LOG_DATETIME_FORMAT),
}


@dataclass(frozen=True)
class SheetLayout:
    """Where the streaming write goes, as read: valid while the file's stamp is the same."""

    stamp: tuple[int, int, int]
    header_row: int | None
    header: tuple[Any, ...]
    updates_part: str
    log_part: str | None
    log_header: tuple[Any, ...]

    @classmethod
    def of(cls, wb: Any, table: Table, stamp: tuple[int, int, int]) -> SheetLayout:
        """From a workbook open_read_only gave and the Updates `table` read from it."""
        ws = _find_sheet(wb.worksheets, table.sheet) or _pick_sheet(wb.worksheets)
        log_ws = _find_sheet(wb.worksheets, model.LOG_SHEET)
        log_header = next(log_ws.iter_rows(max_row=1, values_only=True), ()) if log_ws else ()
        return cls(
            stamp,
            table.header_row,
            table.header,
            ws._worksheet_path,  # openpyxl 3.1 (pinned <3.2): the sheet's zip part
            log_ws._worksheet_path if log_ws is not None else None,
            tuple(log_header),
        )


def file_stamp(path: Path) -> tuple[int, int, int]:
    """Changes whenever the file is saved (or replaced)."""
    info = path.stat()
    return info.st_mtime_ns, info.st_size, info.st_ino


def _write_streaming(
    path: Path, table: Table, changes: Any, layout: SheetLayout | None = None
) -> bool:
    """write_changes by rewriting only the tool's cells in the package; False (nothing
    written) where it does not apply, and the openpyxl path does the work instead:
    - the layout needs migrating: a tool header missing, J or K not hidden, a colour rule
      missing, an Excel table to widen (a plain workbook's first write; later ones stream);
    - a header note to write or remove; a Log sheet to create or a Log header to add;
    - sheet XML the byte scanner cannot read safely (addin/sheetedit.py: CannotStream).
    """
    if layout is None or layout.stamp != file_stamp(path):
        # The file may have changed since `table` was read: look at what is there now.
        stamp = file_stamp(path)
        with open_read_only(path) as wb:
            ws = _find_sheet(wb.worksheets, table.sheet) or _pick_sheet(wb.worksheets)
            header_row, header = _header(ws)
            now = Table(str(path), ws.title, header_row, header, ())
            layout = SheetLayout.of(wb, now, stamp)
    header_row, header = layout.header_row, layout.header
    updates_part, log_part, log_header = layout.updates_part, layout.log_part, layout.log_header
    if header_row is None:
        return False
    _check_result_headers(path, header_row, header[INPUT_WIDTH:])
    tools = list(header[INPUT_WIDTH:]) + [None] * len(TOOL_HEADERS)
    if any(_blank(value) for value in tools[: len(TOOL_HEADERS)]):
        return False
    edits = [
        SheetEdit(
            updates_part,
            {
                row: {col: NewCell(value, kind) for col, value, kind in _tool_values(cells)}
                for row, cells in changes.rows.items()
                if row > header_row
            },
            check_head=_require_hidden_columns,
            check_tail=_require_mark_rules,
        )
    ]
    if changes.log_new or changes.log_state:
        positions, missing = log_columns(log_header)
        if log_part is None or missing:
            return False
        log_cells = {
            row: {
                positions[name] + 1: NewCell(
                    value, LOG_DATETIME if isinstance(value, dt.datetime) else None
                )
                for name, value in values
            }
            for row, values in _log_values(changes.log_new, changes.log_state).items()
        }
        edits.append(SheetEdit(log_part, log_cells, grow_tables=True))
    with zipfile.ZipFile(path) as archive:
        related = relationships(archive, updates_part)
        if changes.header_findings is not None and (
            _header_note_lines(header_row, changes.header_findings)
            or any(NOTE_AUTHOR.encode() in archive.read(p) for p in related.get("comments", []))
        ):
            return False
        if any(_table_to_widen(archive.read(p), header_row) for p in related.get("table", [])):
            return False
    try:
        replace_atomically(path, lambda temp: rewrite_package(path, temp, edits, STYLE_KINDS))
    except CannotStream:
        return False
    return True


def _require_hidden_columns(head: bytes) -> None:
    hidden: set[int] = set()
    for tag in re.findall(rb"<col\b[^>]*>", head):
        attrs = dict(re.findall(rb'(\w+)="([^"]*)"', tag))
        if attrs.get(b"hidden") in (b"1", b"true"):
            hidden.update(range(int(attrs.get(b"min", b"0")), int(attrs.get(b"max", b"0")) + 1))
    if any(column_index_from_string(letter) not in hidden for letter in marks.HIDDEN_COLUMNS):
        raise CannotStream("a hidden tool column is not hidden")


def _require_mark_rules(tail: bytes) -> None:
    have = {
        _formula_key(html.unescape(text.decode()))
        for text in re.findall(rb"<formula>([^<]*)</formula>", tail)
    }
    if any(_formula_key(rule.formula[0]) not in have for rule in mark_rules()):
        raise CannotStream("a colour rule is missing")


def _table_to_widen(xml: bytes, header_row: int) -> bool:
    """True for a table _grow_table would widen to the last tool column."""
    found = re.search(rb'<(?:\w+:)?table\b[^>]*?\bref="([^"]*)"', xml)
    if found is None:
        return False
    min_col, min_row, max_col, _ = range_boundaries(found.group(1).decode())
    return (
        min_col == 1
        and min_row == header_row
        and max_col is not None
        and marks.MARKS_COL <= max_col < LAST_TOOL_COL
    )


def apply_changes(path: Path, wb: Any, table: Table, changes: Any) -> None:
    """write_changes' edits on an open workbook (loaded by load_for_edit), not saved."""
    ws = _find_sheet(wb.worksheets, table.sheet) or _pick_sheet(wb.worksheets)
    header_row, header = _header(ws)
    if header_row is not None:
        # The file may have changed since `table` was read: check what is there now.
        _check_result_headers(path, header_row, header[INPUT_WIDTH:])
        _write_result_headers(ws, header_row)
        for row, cells in sorted(changes.rows.items()):
            if row > header_row:
                _write_tool_cells(ws, row, cells)
        _ensure_mark_rules(ws, header_row)
        _grow_table(ws, header_row)
    if changes.header_findings is not None:
        _write_header_note(ws, header_row, changes.header_findings)
    if changes.log_new or changes.log_state:
        _write_log(wb, changes.log_new, changes.log_state)


# ---------------------------------------------------------------------------------------------
# Reading (from a workbook open_read_only gave)
# ---------------------------------------------------------------------------------------------


def _table(path: Path, wb: Any) -> Table:
    return _table_and_tools(path, wb)[0]


def _table_and_tools(path: Path, wb: Any) -> tuple[Table, dict[int, ToolCells]]:
    """The Updates table, and the tool cells F..L of every row below the header that has any."""
    ws = _pick_sheet(wb.worksheets)
    tools: dict[int, ToolCells] = {}
    try:
        header_row, header = _header(ws)
        if header_row is None:
            empty = Table(source=str(path), sheet=ws.title, header_row=None, header=(), rows=())
            return empty, tools
        values = []
        start = header_row + 1
        percent_rows: set[int] = set()
        percent_style: dict[int, bool] = {}  # style id -> its number format shows a '%'
        with _exact_dates(wb) as cell_value:
            rows = ws.iter_rows(min_row=start, max_col=LAST_TOOL_COL)
            for number, cells in enumerate(rows, start):
                row = _row_values(cells[:INPUT_WIDTH], cell_value)
                values.append(row)
                if percent_points(row[METRIC_COL]) and _is_percent(
                    cells[METRIC_COL], percent_style
                ):
                    percent_rows.add(number)  # only a number that may be mistyped is looked at
                if any(c.value is not None for c in cells[INPUT_WIDTH:]):
                    tools[number] = ToolCells.of([cell_value(c) for c in cells[INPUT_WIDTH:]])
        part = ws._worksheet_path  # openpyxl 3.1 (pinned <3.2): the sheet's zip part
        with zipfile.ZipFile(path) as archive:
            scan = scan_part(archive, part)
    except UNREADABLE as exc:
        raise unreadable(path) from exc
    table = Table(
        source=str(path),
        sheet=ws.title,
        header_row=header_row,
        header=header,
        rows=_build_rows(values, header_row, scan, percent_rows),
        findings=_merged_findings(scan.merged, header_row),
        date1904=_is_1904(wb),
    )
    return table, {row: cells for row, cells in tools.items() if any(cells.values())}


def _settings(path: Path, wb: Any) -> Settings | None:
    ws = _find_sheet(wb.worksheets, model.SETTINGS_SHEET)
    if ws is None:
        return None
    try:
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    except UNREADABLE as exc:
        raise unreadable(path) from exc
    return parse_settings(rows)


def _plan_items(path: Path, wb: Any) -> dict[str, KnownItem] | None:
    """The Plan Items sheet's items by External ID (planitems.known_items); None without."""
    ws = _find_sheet(wb.worksheets, PLAN_ITEMS_SHEET)
    if ws is None:
        return None
    try:
        return known_items([tuple(r) for r in ws.iter_rows(values_only=True)])
    except UNREADABLE as exc:
        raise unreadable(path) from exc


def _log_rows(path: Path, wb: Any) -> list[LogRow]:
    """The Log sheet's rows that hold anything, by header name (a reordered Log works)."""
    ws = _find_sheet(wb.worksheets, model.LOG_SHEET)
    if ws is None:
        return []
    found = []
    try:
        rows = ws.iter_rows(values_only=True)
        columns, missing = log_columns(next(rows, ()))

        def cell(values: Sequence[Any], name: str) -> Any:
            col = columns[name]
            return values[col] if name not in missing and col < len(values) else None

        for number, values in enumerate(rows, start=2):
            if all(_blank(v) for v in values):
                continue
            job = cell(values, "Job ID")
            found.append(
                LogRow(
                    number,
                    "" if _blank(job) else str(job).strip(),
                    normal_label(cell(values, "State")),
                    log_hash(cell(values, SHA_HEADER)),
                    str(cell(values, "Message") or ""),
                    cell(values, "When"),
                )
            )
    except UNREADABLE as exc:
        raise unreadable(path) from exc
    return found


_ZERO_PADDED = re.compile(r"0+")


def _text(value: Any) -> Any:
    """A cell's text as typed: the file stores a carriage return or a control character as
    Excel's _xHHHH_ escape (a typed '_x000D_' as '_x005F_x000D_'), which openpyxl leaves."""
    return unescape(value) if isinstance(value, str) else value


def _is_1904(wb: Any) -> bool:
    return bool(wb.epoch == CALENDAR_MAC_1904)


@contextlib.contextmanager
def _exact_dates(wb: Any) -> Iterator[Callable[[Any], Any]]:
    """Within the block, read-only cells give their raw serials, and the function yielded
    gives each cell's value: text unescaped, a date serial as the date and time Excel shows.

    openpyxl rounds a serial to the millisecond before taking its day, so 23:59:59.9995 and
    later became the next day, and its serial 60 (Excel's fictitious 1900-02-29) became
    1900-02-28; dates.from_serial keeps the written day and says what is no real date.
    (openpyxl 3.1, pinned: `_date_formats` holds the style ids it converts.)
    """
    date_styles, duration_styles = wb._date_formats, wb._timedelta_formats
    date1904 = _is_1904(wb)

    def value(cell: Any) -> Any:  # once per cell: the common cases first, and cheap
        raw = cell.value
        if raw is None:
            return None
        if raw.__class__ is str:
            return unescape(raw) if "_x" in raw else raw
        if cell.data_type != "n" or cell._style_id not in date_styles:
            return raw
        if cell._style_id in duration_styles:
            return from_excel(raw, wb.epoch, timedelta=True)
        try:
            return from_serial(raw, date1904=date1904)
        except DateProblem as problem:
            return model.Unreadable(plain_number(raw), problem.code, problem.message)

    wb._date_formats = set()
    try:
        yield value
    finally:
        wb._date_formats = date_styles


def _row_values(cells: Sequence[Any], cell_value: Callable[[Any], Any]) -> tuple[Any, ...]:
    """Cell values (see _exact_dates); an External ID number shown with leading zeros
    ('00123') as that text."""
    values = tuple(cell_value(c) for c in cells)
    first = values[0] if values else None
    if (
        isinstance(first, int | float)
        and not isinstance(first, bool)
        and float(first).is_integer()
        and _ZERO_PADDED.fullmatch(getattr(cells[0], "number_format", "") or "")
    ):
        width = len(cells[0].number_format)
        return (f"{int(first):0{width}d}", *values[1:])
    return values


def _is_percent(cell: Any, cache: dict[int, bool]) -> bool:
    """Whether the cell's number format shows a percentage (one look-up per style)."""
    style = getattr(cell, "_style_id", None)  # openpyxl 3.1 read-only cells; empty ones lack it
    if style is None:
        return False
    if style not in cache:
        cache[style] = is_percent_format(cell.number_format)
    return cache[style]


def _build_rows(
    values: Iterable[tuple[Any, ...]],
    header_row: int,
    scan: SheetScan,
    percent_rows: set[int] | frozenset[int] = frozenset(),
) -> tuple[Row, ...]:
    rows: list[Row] = []
    for number, raw in enumerate(values, start=header_row + 1):
        cells = list(raw) + [None] * (INPUT_WIDTH - len(raw))
        for col in range(INPUT_WIDTH):
            if cells[col] is None and (number, col + 1) in scan.uncalculated:
                cells[col] = model.Uncalculated(scan.uncalculated[(number, col + 1)])
        rows.append(
            Row(
                number=number,
                values=tuple(cells),
                hidden=number in scan.hidden_rows,
                metric_percent=number in percent_rows,
            )
        )
    while rows and rows[-1].is_blank():  # formatted but empty rows below the data
        rows.pop()
    return tuple(rows)


def _merged_findings(refs: Iterable[str], header_row: int) -> tuple[Finding, ...]:
    findings = []
    for ref in refs:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        if min_col is None or min_row is None or max_col is None or max_row is None:
            continue
        if min_col > INPUT_WIDTH or max_row <= header_row:
            continue
        findings.append(
            Finding(
                row=min_row,
                column=model.COLUMNS[min_col - 1],
                severity=model.ERROR,
                code="merged-cells",
                message=(
                    f"Cells {ref} are merged: unmerge them and fill in each row "
                    "(AchieveIt needs one value per row)."
                ),
                value=ref,
            )
        )
    return tuple(sorted(findings, key=lambda f: (f.row, model.COLUMNS.index(f.column or ""))))


def _header(ws: Any) -> tuple[int | None, tuple[Any, ...]]:
    """(sheet row, values) of the header row (cells.find_header); (None, ()) without one."""
    rows = list(ws.iter_rows(max_row=model.HEADER_SEARCH_ROWS, values_only=True))
    index = find_header(rows)
    if index is None:
        return None, ()
    values = [_text(v) for v in rows[index]]
    while values and values[-1] is None:
        values.pop()
    return index + 1, tuple(values)


def _find_sheet(sheets: Sequence[Any], name: str) -> Any | None:
    index = sheet_index([ws.title for ws in sheets], name)
    return None if index is None else sheets[index]


def _pick_sheet(sheets: Sequence[Any]) -> Any:
    if not sheets:
        raise WorkbookError("The workbook has no worksheet: add an 'Updates' sheet.")
    return _find_sheet(sheets, model.UPDATES_SHEET) or sheets[0]


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _cell_text(text: str) -> str:
    """Text Excel can store: control characters (from pasted values, server replies) as '?'."""
    return ILLEGAL_CHARACTERS_RE.sub("?", text)


_WRAP = Alignment(wrap_text=True, vertical="top")


def _check_result_headers(path: Path, header_row: int, cells: Sequence[Any]) -> None:
    """F..L of the header row (`cells`, from F on) must be empty or the tool's own headers."""
    clash = result_header_clash(cells)
    if clash is not None:
        raise WorkbookError(result_header_message(f"In {path.name}", header_row, *clash))


def _write_result_headers(ws: Any, header_row: int) -> None:
    """Name the empty ones of F..L (checked by _check_result_headers) and hide J and K."""
    for index, name in enumerate(TOOL_HEADERS):
        cell = ws.cell(header_row, ISSUES_COL + index)
        if _blank(cell.value):
            cell.value = name
            cell.font = Font(bold=True)
    for letter in marks.HIDDEN_COLUMNS:  # the codes are for the rules and the tool, not people
        _hide_column(ws, column_index_from_string(letter))


def own_column_dimension(ws: Any, index: int) -> Any:
    """The column's own <col> entry, split out of a range spanning it (overlapping ranges
    corrupt the file), the range's width and style kept on either side."""
    dims = ws.column_dimensions
    for dim in list(dims.values()):
        dim.reindex()
        if not dim.min <= index <= dim.max or dim.min == dim.max:
            continue
        low, high = dim.min, dim.max
        for first, last in ((low, index - 1), (index, index), (index + 1, high)):
            if first > last:
                continue
            part = copy.copy(dim)
            part.index = get_column_letter(first)
            part.min, part.max = first, last
            dims[part.index] = part  # replaces `dim` itself when first == low
        break
    return dims[get_column_letter(index)]


def _hide_column(ws: Any, index: int) -> None:
    own_column_dimension(ws, index).hidden = True


def _tool_values(cells: ToolCells) -> list[tuple[int, Any, str | None]]:
    """(column, value, style kind) of F..L: text made storable (empty text clears), Issues
    wrapped ('wrap'), Checked At shown as a time ('datetime'). Both writers use it."""
    found: list[tuple[int, Any, str | None]] = []
    for col, value in enumerate(cells.values(), start=ISSUES_COL):
        if isinstance(value, str):
            value = _cell_text(value) if value else None
        elif isinstance(value, dt.datetime):
            value = _excel_datetime(value)
        kind = None
        if value is not None and col == ISSUES_COL:
            kind = WRAP
        elif isinstance(value, dt.datetime):
            kind = DATETIME
        found.append((col, value, kind))
    return found


def _write_tool_cells(ws: Any, row: int, cells: ToolCells) -> None:
    for col, value, kind in _tool_values(cells):
        cell = _set_or_clear(ws, row, col, value)
        if cell is None or value is None:
            continue
        if kind == WRAP:
            cell.alignment = _WRAP
        elif kind == DATETIME:
            cell.number_format = DATETIME_FORMAT


def _set_or_clear(ws: Any, row: int, col: int, value: Any) -> Any | None:
    """Write `value`, or empty the cell when it holds something; the cell, if there is one.

    Checks for an existing cell without creating one, so a 100,000-row sheet doesn't gain
    100,000 empty cells (openpyxl 3.1, pinned: `_cells` is its cell store).
    """
    if value is not None:
        cell = ws.cell(row, col)
        cell.value = value
        return cell
    cell = ws._cells.get((row, col))
    if cell is not None and cell.value is not None:
        cell.value = None
    return cell


def argb(hex_rgb: str) -> str:
    """'FFC7CE' -> 'FFFFC7CE': opaque (openpyxl would make a 6-digit colour transparent)."""
    return "FF" + hex_rgb.lstrip("#").upper()[-6:]


def mark_rules() -> tuple[Rule, Rule]:
    """The two rules that colour A..E from the Marks codes in J, in priority order: error first,
    stopping there (a red cell must never turn amber). The template's builder uses them too."""
    error = FormulaRule(
        formula=[marks.ERROR_RULE_FORMULA],
        stopIfTrue=True,
        fill=PatternFill(bgColor=argb(ERROR_FILL)),
        font=Font(color=argb(ERROR_FONT)),
    )
    warning = FormulaRule(
        formula=[marks.WARNING_RULE_FORMULA],
        fill=PatternFill(bgColor=argb(WARNING_FILL)),
        font=Font(color=argb(WARNING_FONT)),
    )
    return error, warning


def _formula_key(formula: str) -> str:
    """A rule formula compared loosely: no leading '=', no spaces, any case."""
    return "".join(formula.lstrip("=").split()).casefold()


def _ensure_mark_rules(ws: Any, header_row: int) -> None:
    """Add the colour rules the sheet lacks (by formula, wherever they apply), never twice."""
    existing = [rule for cf in ws.conditional_formatting for rule in cf.rules]
    have = {_formula_key(f) for rule in existing for f in (rule.formula or ())}
    priority = max((rule.priority or 0 for rule in existing), default=0)
    for rule in mark_rules():
        if _formula_key(rule.formula[0]) in have:
            continue
        priority += 1  # explicit: openpyxl's own counter ignores the priorities it loaded
        rule.priority = priority
        ws.conditional_formatting.add(marks.rule_range(header_row), rule)


def _write_header_note(ws: Any, header_row: int | None, findings: Sequence[Finding]) -> None:
    """Findings on or above the header row, as a note on the header's A cell (A1 if none)."""
    anchor = ws.cell(header_row or 1, 1)
    if anchor.comment is not None and anchor.comment.author == NOTE_AUTHOR:
        anchor.comment = None
    lines = _header_note_lines(header_row, findings)
    if not lines or (anchor.comment is not None):
        return  # nothing to say, or the user's own note is there: leave it alone
    note = Comment(_cell_text("\n".join(lines)), NOTE_AUTHOR)
    note.width, note.height = 480, 160
    anchor.comment = note


def _header_note_lines(header_row: int | None, findings: Sequence[Finding]) -> list[str]:
    """The header note's lines: findings on or above the header row (all, without one)."""
    limit = header_row or max((f.row for f in findings), default=0)
    texts = issues_text_by_row(f for f in findings if f.row <= limit)
    if header_row is not None:
        # Rows below the header show their findings in their own Issues cell.
        texts = {row: text for row, text in texts.items() if row <= header_row}
    return [
        text if row == (header_row or 1) else f"Row {row}: {text}"
        for row, text in sorted(texts.items())
    ]


def _excel_datetime(value: dt.datetime) -> dt.datetime:
    """Excel has no time zones: show an aware time in the computer's local time."""
    return value.astimezone().replace(tzinfo=None) if value.tzinfo else value


def _grow_table(ws: Any, header_row: int) -> None:
    """An Excel table over the inputs and results that ends before L takes the tool's columns
    up to L (a sort must move each row's Sent fingerprint and Item with it). The added columns
    are named in the table too: a table whose columns don't match its range is a corrupt file."""
    last = LAST_TOOL_COL
    for table in ws.tables.values():
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        if min_col != 1 or min_row != header_row or max_col is None or max_row is None:
            continue
        if not marks.MARKS_COL <= max_col < last:
            continue
        if len(table.tableColumns) != max_col:
            continue  # not a layout we know: leave it alone rather than guess
        for col in range(max_col + 1, last + 1):
            name = TOOL_HEADERS[col - ISSUES_COL]
            table.tableColumns.append(TableColumn(id=col, name=name))
        table.ref = f"A{header_row}:{get_column_letter(last)}{max_row}"
        if table.autoFilter is not None:
            table.autoFilter.ref = table.ref


def _log_values(
    new: Mapping[int, LogEntry], states: Mapping[int, tuple[str, str]]
) -> dict[int, list[tuple[str, Any]]]:
    """Log row -> (column name, value) to write: a new State/Message merged into a new row,
    text made storable, times local. Both writers use it."""
    rows: dict[int, list[tuple[str, Any]]] = {}
    for row, entry in new.items():
        if row in states:
            entry = replace(entry, state=states[row][0], message=states[row][1])
        rows[row] = list(zip(model.LOG_COLUMNS, entry.cells(), strict=True))
    for row, (state, message) in states.items():
        rows.setdefault(row, [("State", state), ("Message", message)])
    for row, values in rows.items():
        rows[row] = [(name, _log_value(value)) for name, value in values]
    return rows


def _log_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _excel_datetime(value)
    return _cell_text(value) if isinstance(value, str) else value


def _write_log(wb: Any, new: Mapping[int, LogEntry], states: Mapping[int, tuple[str, str]]) -> None:
    """Log rows where the workflow placed them (a new State/Message merged into a new row),
    and new State/Message cells of existing rows; a Log table grows with its rows."""
    ws = _find_sheet(wb.worksheets, model.LOG_SHEET)
    if ws is None:
        ws = wb.create_sheet(model.LOG_SHEET)
    positions, missing = log_columns([c.value for c in ws[1]])  # a reordered Log works
    for name in missing:
        cell = ws.cell(1, positions[name] + 1)
        cell.value, cell.font = name, Font(bold=True)
    rows = _log_values(new, states)
    for row, values in sorted(rows.items()):
        for name, value in values:
            cell = ws.cell(row, positions[name] + 1)
            cell.value = value
            if isinstance(value, dt.datetime):
                cell.number_format = LOG_DATETIME_FORMAT
    last = max(rows, default=1)
    for table in ws.tables.values():  # a Log table grows with its rows
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        if min_row == 1 and max_row is not None and max_row < last:
            table.ref = (
                f"{get_column_letter(min_col or 1)}1:{get_column_letter(max_col or 1)}{last}"
            )
            if table.autoFilter is not None:
                table.autoFilter.ref = table.ref
