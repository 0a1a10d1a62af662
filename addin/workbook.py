"""openpyxl adapter: read the Updates table from a file, write the results back safely.

Reading streams the sheet (openpyxl read-only mode) for the cell values; addin/sheetxml.py
adds what read-only mode does not expose: hidden rows, merged ranges, and formulas whose file
holds no calculated value.

Writing goes into the very file the user gave, atomically (addin/xlsxfile.py), touches only the
tool's cells (results in F..I, Marks codes in J, the Log sheet), and keeps a macro workbook's
VBA project and ribbon, the calculated values of formulas and the sheets' Excel 2010+
extensions, which openpyxl drops (addin/package.py puts them back).
check_writable runs the same refusals up front, so nothing is sent that could not be recorded.
Red and amber cells come from two conditional-format rules driven by the hidden Marks column
(see addin/marks.py), exactly as the ribbon and the template do it: the inputs' own formatting,
fills included, is never touched.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule, Rule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import get_column_letter, range_boundaries

from . import marks, model
from .cells import (
    find_header,
    log_columns,
    log_hash,
    result_header_clash,
    result_header_message,
    sheet_index,
)
from .cells import is_blank as _blank
from .csvfile import read_csv_table
from .errors import WorkbookError
from .marks import INPUT_WIDTH, ISSUES_COL, JOB_ID_COL, MARKS_COL, TOOL_HEADERS
from .model import Finding, JobOutcome, LogEntry, Row, Settings, Table
from .results import (
    ERROR_FILL,
    ERROR_FONT,
    WARNING_FILL,
    WARNING_FONT,
    cell_marks,
    issues_text_by_row,
    job_status_text,
)
from .settings import parse_settings
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
    save_atomically,
    unreadable,
)

CSV_SUFFIX = ".csv"
NOTE_AUTHOR = "AchieveIt Progress Updates"  # marks the header notes this tool wrote
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"  # Checked At and the Log's When (the template's too)
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
        return _log_hashes(path, wb)


def read_inputs(path: str | os.PathLike[str]) -> tuple[Table, Settings | None, set[str]]:
    """read_table, read_settings and read_log_hashes in one go: the workbook is opened (and its
    shared strings parsed) once. For a .csv: (its table, None, an empty set)."""
    path = Path(path)
    if path.suffix.lower() == CSV_SUFFIX:
        return read_csv_table(read_bytes(path), source=str(path)), None, set()
    check_readable(path)
    with open_read_only(path) as wb:
        return _table(path, wb), _settings(path, wb), _log_hashes(path, wb)


def check_writable(path: str | os.PathLike[str], table: Table) -> None:
    """Raise the WorkbookError write_back would raise, before anything is sent.

    Checks that `path` is an .xlsx/.xlsm workbook (not password-protected, really a zip), that
    it is not open in Excel (no `~$` owner file) and can be opened for writing, that its folder
    takes new files (the save goes through a temp file beside it), and that F..J of the
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
    """Mark the findings, write job results and a Log row into the workbook, atomically.

    Column F of the data rows gets the Issues text, column J (hidden, header 'Marks') one code
    per row (marks.row_codes: E = error, W = warning, . = fine, per input column A..E), G..I the
    job of `submitted_rows`. Two conditional-format rules on marks.rule_range(header_row) turn
    the codes into red and amber cells; they are added when the sheet lacks them (a plain .xlsx),
    never twice (the template carries them). Findings about the header row (or about a missing
    header) go into a note on the header's A cell (A1 without a header), since F of the header
    row holds the word 'Issues'. Issues, codes and notes of a previous run are cleared first.
    Input cells A..E are never changed: not their values, not their formatting; formulas keep
    their calculated values and the sheets their Excel 2010+ extensions (addin/package.py).
    Raises what check_writable raises, first.
    """
    path = Path(path)
    check_writable(path, table)
    original = read_bytes(path)
    with openpyxl_quiet():
        wb = load_for_edit(path, original)
        ws = _find_sheet(wb.worksheets, table.sheet) or _pick_sheet(wb.worksheets)
        header_row, header = _header(ws)
        if header_row is not None:
            # The file may have changed since `table` was read: check what is there now.
            _check_result_headers(path, header_row, header[INPUT_WIDTH:])
            _write_result_headers(ws, header_row)
            _write_findings(ws, header_row, findings)
            _ensure_mark_rules(ws, header_row)
            if outcome is not None:
                _write_job(ws, header_row, outcome, submitted_rows)
        _write_header_note(ws, header_row, findings)
        if log is not None:
            _append_log(wb, log)
        save_atomically(wb, path, original)


# ---------------------------------------------------------------------------------------------
# Reading (from a workbook open_read_only gave)
# ---------------------------------------------------------------------------------------------


def _table(path: Path, wb: Any) -> Table:
    ws = _pick_sheet(wb.worksheets)
    try:
        header_row, header = _header(ws)
        if header_row is None:
            return Table(source=str(path), sheet=ws.title, header_row=None, header=(), rows=())
        values = [
            _row_values(cells)
            for cells in ws.iter_rows(min_row=header_row + 1, max_col=INPUT_WIDTH)
        ]
        part = ws._worksheet_path  # openpyxl 3.1 (pinned <3.2): the sheet's zip part
        with zipfile.ZipFile(path) as archive:
            scan = scan_part(archive, part)
    except UNREADABLE as exc:
        raise unreadable(path) from exc
    return Table(
        source=str(path),
        sheet=ws.title,
        header_row=header_row,
        header=header,
        rows=_build_rows(values, header_row, scan),
        findings=_merged_findings(scan.merged, header_row),
    )


def _settings(path: Path, wb: Any) -> Settings | None:
    ws = _find_sheet(wb.worksheets, model.SETTINGS_SHEET)
    if ws is None:
        return None
    try:
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    except UNREADABLE as exc:
        raise unreadable(path) from exc
    return parse_settings(rows)


def _log_hashes(path: Path, wb: Any) -> set[str]:
    ws = _find_sheet(wb.worksheets, model.LOG_SHEET)
    if ws is None:
        return set()
    try:
        rows = ws.iter_rows(values_only=True)
        columns, missing = log_columns(next(rows, ()))
        if SHA_HEADER in missing:
            return set()
        col = columns[SHA_HEADER]
        return {sha for r in rows if col < len(r) and (sha := log_hash(r[col]))}
    except UNREADABLE as exc:
        raise unreadable(path) from exc


_ZERO_PADDED = re.compile(r"0+")


def _row_values(cells: Sequence[Any]) -> tuple[Any, ...]:
    """Cell values; an External ID number shown with leading zeros ('00123') as that text."""
    values = tuple(c.value for c in cells)
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


def _build_rows(
    values: Iterable[tuple[Any, ...]], header_row: int, scan: SheetScan
) -> tuple[Row, ...]:
    rows: list[Row] = []
    for number, raw in enumerate(values, start=header_row + 1):
        cells = list(raw) + [None] * (INPUT_WIDTH - len(raw))
        for col in range(INPUT_WIDTH):
            if cells[col] is None and (number, col + 1) in scan.uncalculated:
                cells[col] = model.Uncalculated(scan.uncalculated[(number, col + 1)])
        rows.append(Row(number=number, values=tuple(cells), hidden=number in scan.hidden_rows))
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
    values = list(rows[index])
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
    """F..J of the header row (`cells`, from F on) must be empty or the tool's own headers."""
    clash = result_header_clash(cells)
    if clash is not None:
        raise WorkbookError(result_header_message(f"In {path.name}", header_row, *clash))


def _write_result_headers(ws: Any, header_row: int) -> None:
    """Name the empty ones of F..J (checked by _check_result_headers) and hide J."""
    for index, name in enumerate(TOOL_HEADERS):
        cell = ws.cell(header_row, ISSUES_COL + index)
        if _blank(cell.value):
            cell.value = name
            cell.font = Font(bold=True)
    _hide_column(ws, MARKS_COL)  # the codes are for the rules, not for reading


def _hide_column(ws: Any, index: int) -> None:
    """Hide one column, splitting a <col> range that spans it (overlapping ranges corrupt)."""
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
    dims[get_column_letter(index)].hidden = True


def _write_findings(ws: Any, header_row: int, findings: Sequence[Finding]) -> None:
    """Issues text in F and Marks codes in J of every data row; old ones are cleared."""
    texts = issues_text_by_row(findings)
    codes = marks.row_codes(cell_marks(findings))
    last = max([ws.max_row, *texts, *codes])
    for number in range(header_row + 1, last + 1):
        text = texts.get(number)
        issues = _set_or_clear(ws, number, ISSUES_COL, _cell_text(text) if text else None)
        if issues is not None and text:
            issues.alignment = _WRAP
        _set_or_clear(ws, number, MARKS_COL, codes.get(number))


def _set_or_clear(ws: Any, row: int, col: int, value: str | None) -> Any | None:
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
    limit = header_row or max((f.row for f in findings), default=0)
    texts = issues_text_by_row(f for f in findings if f.row <= limit)
    if header_row is not None:
        # Rows below the header show their findings in their own Issues cell.
        texts = {row: text for row, text in texts.items() if row <= header_row}
    if not texts or (anchor.comment is not None):
        return  # nothing to say, or the user's own note is there: leave it alone
    lines = [
        text if row == (header_row or 1) else f"Row {row}: {text}"
        for row, text in sorted(texts.items())
    ]
    note = Comment(_cell_text("\n".join(lines)), NOTE_AUTHOR)
    note.width, note.height = 480, 160
    anchor.comment = note


def _excel_datetime(value: dt.datetime) -> dt.datetime:
    """Excel has no time zones: show an aware time in the computer's local time."""
    return value.astimezone().replace(tzinfo=None) if value.tzinfo else value


def _write_job(
    ws: Any, header_row: int, outcome: JobOutcome, submitted_rows: Sequence[int]
) -> None:
    job_col = JOB_ID_COL
    status = _cell_text(job_status_text(outcome.state, outcome.message))
    checked = _excel_datetime(outcome.checked_at) if outcome.checked_at else None
    for number in submitted_rows:
        if number <= header_row:
            continue
        ws.cell(number, job_col).value = _cell_text(outcome.job_id or "")
        ws.cell(number, job_col + 1).value = status
        when = ws.cell(number, job_col + 2)
        when.value = checked
        if checked is not None:
            when.number_format = DATETIME_FORMAT


def _append_log(wb: Any, log: LogEntry) -> None:
    ws = _find_sheet(wb.worksheets, model.LOG_SHEET)
    if ws is None:
        ws = wb.create_sheet(model.LOG_SHEET)
    positions, missing = log_columns([c.value for c in ws[1]])  # a reordered Log works
    for name in missing:
        cell = ws.cell(1, positions[name] + 1)
        cell.value, cell.font = name, Font(bold=True)
    columns = [positions[name] + 1 for name in model.LOG_COLUMNS]
    last = 1
    for number, values in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
        if any(not _blank(v) for v in values):
            last = number
    row = last + 1
    for col, value in zip(columns, log.cells(), strict=True):
        cell = ws.cell(row, col)
        if isinstance(value, dt.datetime):
            cell.value, cell.number_format = _excel_datetime(value), DATETIME_FORMAT + ":ss"
        else:
            cell.value = _cell_text(value) if isinstance(value, str) else value
    for table in ws.tables.values():  # a Log table grows with its rows
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        if min_row == 1 and max_row is not None and max_row < row:
            table.ref = f"{get_column_letter(min_col or 1)}1:{get_column_letter(max_col or 1)}{row}"
            if table.autoFilter is not None:
                table.autoFilter.ref = table.ref
