"""openpyxl adapter: read the Updates table from a file, write the results back safely.

Reading streams the sheet (openpyxl read-only mode) for the cell values, plus one pass over the
sheet's XML for what read-only mode does not expose: hidden rows, merged ranges, and formulas
whose file holds no calculated value.

Writing goes into the very file the user gave, atomically (temp file beside it, then
os.replace), touches only the tool's cells (results in F..I, Marks codes in J, the Log sheet),
and keeps a macro workbook's VBA project and ribbon (openpyxl drops the customUI14 relationship),
the calculated values of formulas and the sheets' Excel 2010+ extensions (openpyxl drops both).
check_writable runs the same refusals up front, so nothing is sent that could not be recorded.
Red and amber cells come from two conditional-format rules driven by the hidden Marks column
(see addin/marks.py), exactly as the ribbon and the template do it: the inputs' own formatting,
fills included, is never touched.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import os
import re
import shutil
import tempfile
import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule, Rule
from openpyxl.formula.translate import Translator, TranslatorError
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.exceptions import InvalidFileException

from . import marks, model
from .cells import is_blank as _blank
from .cells import normal_label as _label
from .cells import sheet_index
from .csvfile import read_csv_table
from .errors import WorkbookError
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

WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm"})
CSV_SUFFIX = ".csv"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # an encrypted .xlsx (or an old .xls) is an OLE compound file
NOTE_AUTHOR = "AchieveIt Progress Updates"  # marks the header notes this tool wrote
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
INPUT_WIDTH = len(model.COLUMNS)  # A..E
SHA_HEADER = model.LOG_COLUMNS[3]  # 'CSV SHA-256'

# Package relationships of a ribbon: Office 2010+ (customUI14) and Office 2007 (customUI).
RIBBON_REL_TYPES = frozenset(
    {
        "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
        "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    }
)
VBA_PROJECT = "xl/vbaProject.bin"
ROOT_RELS = "_rels/.rels"
CONTENT_TYPES = "[Content_Types].xml"

# What a damaged or foreign file makes openpyxl / zipfile / expat raise.
_UNREADABLE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    KeyError,
    InvalidFileException,
    ET.ParseError,
    ValueError,
    TypeError,
    IndexError,
    EOFError,
    zlib.error,
)


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
        return read_csv_table(_read_bytes(path), source=str(path))
    _check_readable(path)
    with _open_read_only(path) as wb:
        ws = _pick_sheet(wb.worksheets)
        try:
            header_row, header = _find_header(ws.iter_rows(max_row=model.HEADER_SEARCH_ROWS))
            if header_row is None:
                return Table(source=str(path), sheet=ws.title, header_row=None, header=(), rows=())
            values = [
                _row_values(cells)
                for cells in ws.iter_rows(min_row=header_row + 1, max_col=INPUT_WIDTH)
            ]
            part = ws._worksheet_path  # openpyxl 3.1 (pinned <3.2): the sheet's zip part
            with zipfile.ZipFile(path) as archive, archive.open(part) as xml:
                scan = _scan_sheet_xml(xml)
        except _UNREADABLE as exc:
            raise _unreadable(path) from exc
    rows = _build_rows(values, header_row, scan)
    return Table(
        source=str(path),
        sheet=ws.title,
        header_row=header_row,
        header=header,
        rows=rows,
        findings=_merged_findings(scan.merged, header_row),
    )


def read_settings(path: str | os.PathLike[str]) -> Settings | None:
    """The workbook's Settings sheet as Settings, or None when there is none (or for a CSV)."""
    path = Path(path)
    if not is_workbook(path):
        return None
    _check_readable(path)
    with _open_read_only(path) as wb:
        ws = _find_sheet(wb.worksheets, model.SETTINGS_SHEET)
        if ws is None:
            return None
        try:
            rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
        except _UNREADABLE as exc:
            raise _unreadable(path) from exc
    return parse_settings(rows)


def read_log_hashes(path: str | os.PathLike[str]) -> set[str]:
    """The 'CSV SHA-256' values of the Log sheet (lower-case), to spot a repeated submission."""
    path = Path(path)
    if not is_workbook(path):
        return set()
    _check_readable(path)
    with _open_read_only(path) as wb:
        ws = _find_sheet(wb.worksheets, model.LOG_SHEET)
        if ws is None:
            return set()
        try:
            rows = ws.iter_rows(values_only=True)
            header = [_label(c) for c in next(rows, ())]
            if SHA_HEADER.casefold() not in header:
                return set()
            col = header.index(SHA_HEADER.casefold())
            return {
                str(r[col]).strip().lower()
                for r in rows
                if col < len(r) and r[col] is not None and str(r[col]).strip()
            }
        except _UNREADABLE as exc:
            raise _unreadable(path) from exc


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
    _check_readable(path)
    if not zipfile.is_zipfile(path):
        raise _unreadable(path)
    _check_not_locked(path)
    with _file_errors(path), path.open("r+b"):
        pass  # Windows refuses this while Excel holds the file; elsewhere: a read-only file
    if not os.access(path.parent, os.W_OK):
        raise _folder_not_writable(path)
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
    their calculated values and the sheets their Excel 2010+ extensions (restore_sheet_content).
    Raises what check_writable raises, first.
    """
    path = Path(path)
    check_writable(path, table)
    original = _read_bytes(path)
    with _openpyxl_quiet():
        wb = _load_for_edit(path, original)
        ws = _find_sheet(wb.worksheets, table.sheet) or _pick_sheet(wb.worksheets)
        header_row, header = _find_header(ws.iter_rows(max_row=model.HEADER_SEARCH_ROWS))
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
        _save_atomically(wb, path, original)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@dataclass
class _SheetScan:
    """What the sheet XML says that openpyxl's read-only mode does not."""

    hidden_rows: set[int] = field(default_factory=set)
    # (row, 1-based column) in A..E -> formula text, for formulas without a calculated value
    uncalculated: dict[tuple[int, int], str] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _scan_sheet_xml(xml: Any) -> _SheetScan:
    """One streaming pass over a worksheet part: hidden rows, merges, uncalculated formulas."""
    scan = _SheetScan()
    shared: dict[str, tuple[str, str]] = {}  # shared formula index -> (formula, origin cell)
    sheet_data = None
    row_number = 0
    col = 0
    for event, elem in ET.iterparse(xml, events=("start", "end")):
        name = _local(elem.tag)
        if event == "start":
            if name == "row":
                row_number = int(elem.get("r") or row_number + 1)
                col = 0
                if elem.get("hidden") in ("1", "true"):
                    scan.hidden_rows.add(row_number)
            elif name == "sheetData":
                sheet_data = elem
            continue
        if name == "c":
            ref = elem.get("r")
            col = column_index_from_string(ref.rstrip("0123456789")) if ref else col + 1
            _note_formula(elem, row_number, col, shared, scan)
        elif name == "row" and sheet_data is not None:
            sheet_data.clear()  # keep memory flat on 100,000 rows
        elif name == "mergeCell" and elem.get("ref"):
            scan.merged.append(elem.get("ref", ""))
    return scan


def _note_formula(
    cell: ET.Element, row: int, col: int, shared: dict[str, tuple[str, str]], scan: _SheetScan
) -> None:
    formula = value = None
    for child in cell:
        name = _local(child.tag)
        if name == "f":
            formula = child
        elif name == "v":
            value = child
    if formula is None:
        return
    text = formula.text or ""
    where = f"{get_column_letter(col)}{row}"
    if formula.get("t") == "shared":
        index = formula.get("si", "")
        if text:
            shared[index] = (text, where)
        elif index in shared:
            master, origin = shared[index]
            with contextlib.suppress(TranslatorError):
                text = Translator("=" + master, origin=origin).translate_formula(where)[1:]
    # Excel stores a formula that returns "" as t="str" with an empty <v>: that is calculated.
    calculated = value is not None and (bool(value.text) or cell.get("t") == "str")
    if not calculated and col <= INPUT_WIDTH:
        scan.uncalculated[(row, col)] = "=" + text


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
    values: Iterable[tuple[Any, ...]], header_row: int, scan: _SheetScan
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


def _find_header(rows: Iterable[Sequence[Any]]) -> tuple[int | None, tuple[Any, ...]]:
    """(sheet row, cells) of the first row whose A cell is 'External ID'; cells as values."""
    for number, cells in enumerate(rows, start=1):
        values = [getattr(c, "value", c) for c in cells]
        if values and _label(values[0]) == model.EXTERNAL_ID.casefold():
            while values and values[-1] is None:
                values.pop()
            return number, tuple(values)
    return None, ()


def _find_sheet(sheets: Sequence[Any], name: str) -> Any | None:
    index = sheet_index([ws.title for ws in sheets], name)
    return None if index is None else sheets[index]


def _pick_sheet(sheets: Sequence[Any]) -> Any:
    if not sheets:
        raise WorkbookError("The workbook has no worksheet: add an 'Updates' sheet.")
    return _find_sheet(sheets, model.UPDATES_SHEET) or sheets[0]


# ---------------------------------------------------------------------------------------------
# Opening files, with plain-word errors
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _file_errors(path: Path) -> Iterator[None]:
    """OS errors on opening the user's file -> what to do about them."""
    try:
        yield
    except FileNotFoundError:
        raise WorkbookError(f"Can't find {path}: check the file name and folder.") from None
    except IsADirectoryError:
        raise WorkbookError(f"{path} is a folder, not a file: give the workbook's name.") from None
    except PermissionError:
        raise _no_permission(path) from None


def _read_bytes(path: Path) -> bytes:
    with _file_errors(path):
        return path.read_bytes()


def _check_readable(path: Path) -> None:
    """Refuse what openpyxl cannot read, with a message saying what to do instead."""
    suffix = path.suffix.lower()
    if suffix not in WORKBOOK_SUFFIXES:
        raise WorkbookError(
            f"{path.name} is a {suffix or 'file without extension'}: this tool reads .xlsx/.xlsm "
            "workbooks and CSV files. In Excel use File > Save As and choose 'Excel Workbook "
            "(*.xlsx)', 'Excel Macro-Enabled Workbook (*.xlsm)' or 'CSV UTF-8 (*.csv)'."
        )
    with _file_errors(path), path.open("rb") as handle:
        start = handle.read(len(OLE_MAGIC))
    if start == OLE_MAGIC:
        raise WorkbookError(
            f"{path.name} is password-protected: remove the password (File > Info > Protect "
            "Workbook) or save an unprotected copy, then try again."
        )


def _no_permission(path: Path) -> WorkbookError:
    return WorkbookError(
        f"Can't open {path}: permission denied. If it is open in another program, close it; "
        "otherwise check that you may read and change this file."
    )


def _unreadable(path: Path) -> WorkbookError:
    return WorkbookError(
        f"{path} is not a readable Excel workbook; it may be damaged or not really an "
        f"{path.suffix.lower()} file. Open it in Excel and save it again (File > Save As)."
    )


@contextlib.contextmanager
def _openpyxl_quiet() -> Iterator[None]:
    """openpyxl warns about what it cannot keep (x14 extensions, slicers...): they don't matter
    for reading, and restore_sheet_content puts them back on writing. Read-only worksheets
    parse lazily, so every openpyxl call must run inside this block, not only the load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@contextlib.contextmanager
def _open_read_only(path: Path) -> Iterator[Any]:
    with _openpyxl_quiet():
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            for ws in wb.worksheets:
                # Read every row the XML holds: some programs write a wrong <dimension> ("A1"),
                # and read-only mode would stop there.
                ws.reset_dimensions()
        except PermissionError:
            raise _no_permission(path) from None
        except _UNREADABLE as exc:
            raise _unreadable(path) from exc
        try:
            yield wb
        finally:
            wb.close()  # read-only mode keeps the file open (Windows would keep it locked)


def _load_for_edit(path: Path, data: bytes) -> Any:
    """The workbook to change; call inside _openpyxl_quiet."""
    try:
        return openpyxl.load_workbook(
            io.BytesIO(data),
            keep_vba=path.suffix.lower() == ".xlsm",
            data_only=False,  # keep the formulas
            keep_links=True,
        )
    except _UNREADABLE as exc:
        raise _unreadable(path) from exc


def _lock_file(path: Path) -> Path:
    """The owner file Excel keeps beside a workbook it has open."""
    return path.with_name("~$" + path.name)


def _in_use(path: Path) -> WorkbookError:
    return WorkbookError(
        f"{path.name} is open in Excel (or another program): close it, then try again."
    )


def _folder_not_writable(path: Path) -> WorkbookError:
    return WorkbookError(
        f"Can't save into {path.parent}: you may not create files in that folder. Copy the "
        "workbook into a folder of your own (Documents, for example) and use that copy."
    )


def _check_not_locked(path: Path) -> None:
    if _lock_file(path).exists():
        raise _in_use(path)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _cell_text(text: str) -> str:
    """Text Excel can store: control characters (from pasted values, server replies) as '?'."""
    return ILLEGAL_CHARACTERS_RE.sub("?", text)


_WRAP = Alignment(wrap_text=True, vertical="top")
# F..I hold the results, J the Marks codes: the tool owns these header cells.
_TOOL_HEADERS = (*model.RESULT_COLUMNS, marks.MARKS_HEADER)
_ISSUES_COL = INPUT_WIDTH + 1  # F, 1-based
_MARKS_COL = marks.MARKS_INDEX + 1  # J, 1-based


def _check_result_headers(path: Path, header_row: int, cells: Sequence[Any]) -> None:
    """F..J of the header row (`cells`, from F on) must be empty or the tool's own headers."""
    for index, name in enumerate(_TOOL_HEADERS):
        value = cells[index] if index < len(cells) else None
        if not _blank(value) and _label(value) != name.casefold():
            where = f"{get_column_letter(_ISSUES_COL + index)}{header_row}"
            raise WorkbookError(
                f"In {path.name}, cell {where} holds {value!r}; the tool needs "
                f"columns F..J for its results ({', '.join(_TOOL_HEADERS)}). Move that "
                "column to the right of J (or clear the cell), then try again."
            )


def _write_result_headers(ws: Any, header_row: int) -> None:
    """Name the empty ones of F..J (checked by _check_result_headers) and hide J."""
    for index, name in enumerate(_TOOL_HEADERS):
        cell = ws.cell(header_row, _ISSUES_COL + index)
        if _blank(cell.value):
            cell.value = name
            cell.font = Font(bold=True)
    _hide_column(ws, _MARKS_COL)  # the codes are for the rules, not for reading


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
        issues = _set_or_clear(ws, number, _ISSUES_COL, _cell_text(text) if text else None)
        if issues is not None and text:
            issues.alignment = _WRAP
        _set_or_clear(ws, number, _MARKS_COL, codes.get(number))


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
    job_col = INPUT_WIDTH + 2  # G
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
    header = [_label(c.value) for c in ws[1]] if ws.max_row >= 1 else []
    columns: list[int] = []
    for name in model.LOG_COLUMNS:  # by header name, so a reordered Log sheet still works
        if name.casefold() in header:
            columns.append(header.index(name.casefold()) + 1)
            continue
        while len(header) and not header[-1]:
            header.pop()
        header.append(name.casefold())
        cell = ws.cell(1, len(header))
        cell.value, cell.font = name, Font(bold=True)
        columns.append(len(header))
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


def _save_atomically(wb: Any, path: Path, original: bytes) -> None:
    """Write beside the file, keep the ribbon and permissions, then swap it in in one step."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    except PermissionError:
        raise _folder_not_writable(path) from None
    os.close(fd)
    temp = Path(name)
    try:
        wb.save(temp)
        saved = temp.read_bytes()
        fixed = restore_ribbon(original, restore_sheet_content(original, saved))
        if fixed != saved:
            temp.write_bytes(fixed)
        shutil.copymode(path, temp)
        _check_not_locked(path)  # Excel may have opened it while we worked
        os.replace(temp, path)
    except PermissionError:
        raise _in_use(path) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


# ---------------------------------------------------------------------------------------------
# Keeping the VBA project and the ribbon through openpyxl
# ---------------------------------------------------------------------------------------------

_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_ELEMENT = re.compile(rb"<(?:\w+:)?(Relationship|Override|Default)\b[^>]*?(?:/>|>\s*</[^>]*>)")
_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')


def _elements(xml: bytes, kind: bytes) -> list[tuple[bytes, dict[bytes, bytes]]]:
    return [
        (m.group(0), dict(_ATTR.findall(m.group(0))))
        for m in _ELEMENT.finditer(xml)
        if m.group(1) == kind
    ]


def restore_ribbon(original: bytes, saved: bytes) -> bytes:
    """`saved` (openpyxl's output) with the ribbon and VBA project of `original` put back.

    openpyxl keeps only the 2006 customUI relationship, so a customUI14 ribbon would vanish.
    This copies every part of the ribbon folders (and xl/vbaProject.bin) byte-identical from the
    original, replaces the package's ribbon relationships with the original ones, and adds the
    content types those parts had. Returns `saved` unchanged when the original has no ribbon.
    """
    with zipfile.ZipFile(io.BytesIO(original)) as src:
        names = set(src.namelist())
        rels = src.read(ROOT_RELS) if ROOT_RELS in names else b""
        ribbon = [
            (xml, attrs)
            for xml, attrs in _elements(rels, b"Relationship")
            if attrs.get(b"Type", b"").decode() in RIBBON_REL_TYPES
        ]
        folders = {
            attrs.get(b"Target", b"").decode().lstrip("/").rpartition("/")[0] + "/"
            for _, attrs in ribbon
        }
        keep = {n for n in names for f in folders if f != "/" and n.startswith(f)}
        keep |= {attrs.get(b"Target", b"").decode().lstrip("/") for _, attrs in ribbon} & names
        if VBA_PROJECT in names:
            keep.add(VBA_PROJECT)
        parts = {n: src.read(n) for n in keep}
        types = src.read(CONTENT_TYPES) if CONTENT_TYPES in names else b""
    if not ribbon and VBA_PROJECT not in parts:
        return saved

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(saved)) as dst:
        dst_names = dst.namelist()
        if VBA_PROJECT not in dst_names:
            parts.pop(VBA_PROJECT, None)  # saved as .xlsx: no project wanted
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as result:
            for info in dst.infolist():
                data = dst.read(info)
                if info.filename == ROOT_RELS and ribbon:
                    data = _with_ribbon_rels(data, [xml for xml, _ in ribbon])
                elif info.filename == CONTENT_TYPES:
                    data = _with_content_types(data, types, parts)
                data = parts.pop(info.filename, data)
                result.writestr(info, data)
            for name, data in parts.items():  # ribbon parts openpyxl did not copy
                result.writestr(name, data)
    return out.getvalue()


def _with_ribbon_rels(saved_rels: bytes, ribbon: list[bytes]) -> bytes:
    kept = [
        (xml, attrs)
        for xml, attrs in _elements(saved_rels, b"Relationship")
        if attrs.get(b"Type", b"").decode() not in RIBBON_REL_TYPES
    ]
    used = {attrs.get(b"Id") for _, attrs in kept}
    added = []
    for xml in ribbon:
        rid = dict(_ATTR.findall(xml)).get(b"Id", b"")
        if rid in used:  # ids are local to the file; a ribbon's id is referenced nowhere
            fresh = next(i for i in (f"rIdUI{n}".encode() for n in range(1, 99)) if i not in used)
            xml = xml.replace(b'Id="' + rid + b'"', b'Id="' + fresh + b'"')
            rid = fresh
        used.add(rid)
        added.append(re.sub(rb"^<\w+:", b"<", xml))
    body = b"".join(xml for xml, _ in kept) + b"".join(added)
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Relationships xmlns="' + _REL_NS.encode() + b'">' + body + b"</Relationships>"
    )


def _with_content_types(
    saved_types: bytes, original_types: bytes, parts: dict[str, bytes]
) -> bytes:
    """Add the original's Overrides for the copied parts, and Defaults for their extensions."""
    have_overrides = {
        attrs.get(b"PartName", b"").lower() for _, attrs in _elements(saved_types, b"Override")
    }
    have_defaults = {
        attrs.get(b"Extension", b"").lower() for _, attrs in _elements(saved_types, b"Default")
    }
    wanted_parts = {b"/" + name.encode().lower() for name in parts}
    wanted_exts = {name.rpartition(".")[2].encode().lower() for name in parts if "." in name}
    overrides = b"".join(
        xml
        for xml, attrs in _elements(original_types, b"Override")
        if attrs.get(b"PartName", b"").lower() in wanted_parts - have_overrides
    )
    defaults = b"".join(
        xml
        for xml, attrs in _elements(original_types, b"Default")
        if attrs.get(b"Extension", b"").lower() in wanted_exts - have_defaults
    )
    if not overrides and not defaults:
        return saved_types
    # The schema puts Defaults before Overrides: new Defaults go first, new Overrides last.
    start = re.search(rb"<(?:\w+:)?Types\b[^>]*>", saved_types)
    end = saved_types.rfind(b"</")
    if start is None or end < 0:
        return saved_types
    return (
        saved_types[: start.end()]
        + defaults
        + saved_types[start.end() : end]
        + overrides
        + saved_types[end:]
    )


# ---------------------------------------------------------------------------------------------
# Putting back what openpyxl drops from the sheets: formula results, Excel 2010+ extensions
# ---------------------------------------------------------------------------------------------
# Byte-level and regex-based on purpose: a 100,000-row sheet is tens of MB of XML, and only a
# few kinds of elements matter. Parts are matched by sheet name, never by part name.

_OFFICE_REL_NS = {
    b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    b"http://purl.oclc.org/ooxml/officeDocument/relationships",
}
_P = rb"(?:[\w.-]+:)?"  # an optional namespace prefix
_SHEET_DATA = re.compile(rb"<" + _P + rb"sheetData\b[^>]*?(/?)>")
_SHEET_DATA_END = re.compile(rb"</" + _P + rb"sheetData\s*>")
# A cell whose first child is a formula (the schema puts <f> first): prefix, attributes, body.
_FORMULA_CELL = re.compile(
    rb"<(" + _P + rb")c(\s[^>]*)?>(\s*<" + _P + rb"f[\s/>].*?)</\1c\s*>", re.DOTALL
)
_VALUE = re.compile(rb"<(" + _P + rb")v(?:\s[^>/]*)?(?:/>|>(.*?)</\1v\s*>)", re.DOTALL)
_REF_ATTR = re.compile(rb'\sr\s*=\s*"([^"]*)"')
_TYPE_ATTR = re.compile(rb'\st\s*=\s*"([^"]*)"')
# Cell types a formula result can have (t="s" would point into the old shared-strings table).
_RESULT_TYPES = frozenset({None, b"n", b"b", b"e", b"str", b"d"})
_ROOT_TAG = re.compile(rb"<" + _P + rb"(?:worksheet|workbook)\b[^>]*>")
_EXT_LST_TAG = re.compile(rb"<(/?)" + _P + rb"extLst\b[^>]*?(/?)>")
_EXT_TAG = re.compile(rb"<(/?)" + _P + rb"ext\b[^>]*?(/?)>")
_XMLNS = re.compile(rb'\sxmlns:([\w.-]+)\s*=\s*"([^"]*)"')
_USED_PREFIX = re.compile(rb"</?([\w.-]+):[\w.-]+|\s([\w.-]+):[\w.-]+\s*=")
_CF_BLOCK = re.compile(
    rb"<(" + _P + rb")conditionalFormatting\b([^>]*)>(.*?)</\1conditionalFormatting\s*>",
    re.DOTALL,
)
_CF_RULE = re.compile(rb"<(" + _P + rb")cfRule\b([^>]*?)(?:/>|>(.*?)</\1cfRule\s*>)", re.DOTALL)
_EXT_LST_START = re.compile(rb"<" + _P + rb"extLst\b")


def restore_sheet_content(original: bytes, saved: bytes) -> bytes:
    """`saved` (openpyxl's output) with what openpyxl dropped from `original` put back.

    - Formula results: openpyxl writes formulas without their calculated values, so a headless
      reader would see uncalculated formulas. Each formula cell of `saved` without a value gets
      the <v> (and type) its cell had in `original`, when that cell held a formula with a value.
    - Excel 2010+ extensions: the <extLst> of each sheet (x14 data validations with lists on
      other sheets, data bars, sparklines...) and of the workbook, and the x14 links of the
      conditional-format rules. Extensions that point at parts openpyxl dropped (slicers,
      timelines: anything with a relationship id) are left out, as Excel would call the file
      damaged.
    Sheets are matched by name. Returns `saved` itself when there is nothing to put back.
    """
    with (
        zipfile.ZipFile(io.BytesIO(original)) as src,
        zipfile.ZipFile(io.BytesIO(saved)) as dst,
    ):
        try:
            old_book, old_sheets = _sheet_parts(src)
            new_book, new_sheets = _sheet_parts(dst)
        except (KeyError, StopIteration, ET.ParseError, ValueError):
            return saved  # not a package we understand: leave openpyxl's output as it is
        pairs = [(old_sheets[name], new_sheets[name]) for name in old_sheets if name in new_sheets]
        changed: dict[str, bytes] = {}
        for old, new in pairs:
            before = dst.read(new)
            after = _restore_sheet(src.read(old), before)
            if after is not before:
                changed[new] = after
        before = dst.read(new_book)
        after = _restore_root_ext(src.read(old_book), before, 0)
        if after is not before:
            changed[new_book] = after
        if not changed:
            return saved
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as result:
            for info in dst.infolist():
                result.writestr(info, changed.get(info.filename) or dst.read(info))
    return out.getvalue()


def _sheet_parts(archive: zipfile.ZipFile) -> tuple[str, dict[str, str]]:
    """(workbook part, {sheet name: worksheet part}) of a package."""
    book = next(
        _part_name("", attrs.get(b"Target", b""))
        for _, attrs in _elements(archive.read(ROOT_RELS), b"Relationship")
        if attrs.get(b"Type", b"").endswith(b"/officeDocument")
    )
    folder, _, base = book.rpartition("/")
    rels_xml = archive.read(f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels")
    targets = {
        attrs.get(b"Id", b"").decode(): _part_name(folder, attrs.get(b"Target", b""))
        for _, attrs in _elements(rels_xml, b"Relationship")
        if attrs.get(b"Type", b"").endswith(b"/worksheet")
    }
    sheets: dict[str, str] = {}
    for sheet in ET.fromstring(archive.read(book)).iter():
        if _local(sheet.tag) != "sheet":
            continue
        rid = next((v for k, v in sheet.attrib.items() if _local(k) == "id"), "")
        if rid in targets:
            sheets[sheet.get("name", "")] = targets[rid]
    return book, sheets


def _part_name(folder: str, target: bytes) -> str:
    """A relationship target as a zip entry name."""
    text = target.decode()
    if text.startswith("/"):
        return text.lstrip("/")
    parts: list[str] = folder.split("/") if folder else []
    for piece in text.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _restore_sheet(original: bytes, saved: bytes) -> bytes:
    old_start, old_end = _sheet_data_span(original)
    results = _formula_results(original, old_start, old_end)
    xml = _put_results(saved, results) if results else saved
    xml = _restore_rule_links(original, old_end, xml, _sheet_data_span(xml)[1])
    return _restore_root_ext(original, xml, old_end)


def _sheet_data_span(xml: bytes) -> tuple[int, int]:
    """Where <sheetData> starts and ends; (0, 0) without one."""
    found = _SHEET_DATA.search(xml)
    if found is None:
        return 0, 0
    if found.group(1):  # <sheetData/>
        return found.start(), found.end()
    close = _SHEET_DATA_END.search(xml, found.end())
    return found.start(), close.end() if close else len(xml)


def _attr_type(attrs: bytes) -> bytes | None:
    found = _TYPE_ATTR.search(attrs)
    return found.group(1) if found else None


def _formula_results(xml: bytes, start: int, end: int) -> dict[bytes, tuple[bytes | None, bytes]]:
    """Cell reference -> (t, <v> text) of each formula cell holding a calculated value."""
    results: dict[bytes, tuple[bytes | None, bytes]] = {}
    for cell in _FORMULA_CELL.finditer(xml, start, end):
        attrs = cell.group(2) or b""
        ref = _REF_ATTR.search(attrs)
        value = _VALUE.search(cell.group(3))
        kind = _attr_type(attrs)
        if ref is None or value is None or kind not in _RESULT_TYPES:
            continue
        text = value.group(2) or b""
        if text or kind == b"str":  # a formula returning "" is t="str" with an empty <v>
            results[ref.group(1)] = (kind, text)
    return results


def _put_results(xml: bytes, results: dict[bytes, tuple[bytes | None, bytes]]) -> bytes:
    """Give each formula cell of `xml` without a value its value from `results`."""

    def fix(cell: re.Match[bytes]) -> bytes:
        prefix, attrs, body = cell.group(1), cell.group(2) or b"", cell.group(3)
        ref = _REF_ATTR.search(attrs)
        if ref is None or ref.group(1) not in results:
            return cell.group(0)
        value = _VALUE.search(body)
        if value is not None and (value.group(2) or _attr_type(attrs) == b"str"):
            return cell.group(0)  # it has a value of its own
        kind, text = results[ref.group(1)]
        attrs = _TYPE_ATTR.sub(b"", attrs) + (b' t="' + kind + b'"' if kind else b"")
        new_value = b"<" + prefix + b"v>" + text + b"</" + prefix + b"v>"
        if value is None:
            body += new_value
        else:
            body = body[: value.start()] + new_value + body[value.end() :]
        return b"<" + prefix + b"c" + attrs + b">" + body + b"</" + prefix + b"c>"

    start, end = _sheet_data_span(xml)
    return xml[:start] + _FORMULA_CELL.sub(fix, xml[start:end]) + xml[end:]


def _root_ext_span(xml: bytes, start: int) -> tuple[int, int] | None:
    """Where the root element's own <extLst> (its last child) is; None without one."""
    end = xml.rfind(b"</")
    while end > 0 and xml[end - 1 : end].isspace():
        end -= 1
    if end <= 0 or not xml.endswith(b"extLst>", 0, end):
        return None
    first, depth = None, 0
    for tag in _EXT_LST_TAG.finditer(xml, start, end):
        if tag.group(2):
            continue  # <extLst/>
        if tag.group(1):
            depth -= 1
        else:
            if depth == 0:
                first = tag.start()
            depth += 1
    return None if first is None else (first, end)


def _root_namespaces(xml: bytes) -> dict[bytes, bytes]:
    root = _ROOT_TAG.search(xml)
    return dict(_XMLNS.findall(root.group(0))) if root else {}


def _portable(snippet: bytes, namespaces: dict[bytes, bytes]) -> bytes:
    """`snippet` with the prefixes it uses but declares only on its old root declared on its
    first tag, so it means the same inside another root element."""
    declared = {prefix for prefix, _ in _XMLNS.findall(snippet)}
    used = {a or b for a, b in _USED_PREFIX.findall(snippet)} - {b"xmlns", b"xml"}
    missing = sorted(p for p in used - declared if p in namespaces)
    if not missing:
        return snippet
    declarations = b"".join(b" xmlns:" + p + b'="' + namespaces[p] + b'"' for p in missing)
    first_end = snippet.index(b">")
    if snippet[first_end - 1 : first_end] == b"/":
        first_end -= 1
    return snippet[:first_end] + declarations + snippet[first_end:]


def _refers_to_parts(ext: bytes, namespaces: dict[bytes, bytes]) -> bool:
    """True when an <ext> holds a relationship id (r:id...): its part is gone after openpyxl."""
    bound = {**namespaces, **dict(_XMLNS.findall(ext))}
    prefixes = [re.escape(p) for p, uri in bound.items() if uri in _OFFICE_REL_NS]
    return (
        bool(prefixes)
        and re.search(rb"\s(?:" + b"|".join(prefixes) + rb"):[\w.-]+\s*=", ext) is not None
    )


def _kept_extensions(block: bytes, namespaces: dict[bytes, bytes]) -> bytes | None:
    """An <extLst> without the <ext> children that point at other parts; None if none is left."""
    open_end = block.index(b">") + 1
    close = block.rindex(b"</")
    kept, first, depth = [], 0, 0
    for tag in _EXT_TAG.finditer(block, open_end, close):
        if tag.group(2):
            if depth == 0:
                kept.append(block[tag.start() : tag.end()])
            continue
        if tag.group(1):
            depth -= 1
            if depth == 0:
                kept.append(block[first : tag.end()])
        else:
            if depth == 0:
                first = tag.start()
            depth += 1
    kept = [ext for ext in kept if not _refers_to_parts(ext, namespaces)]
    if not kept:
        return None
    whole = block[:open_end] + b"".join(kept) + block[close:]
    return whole if len(whole) != len(block) else block  # unchanged: the very same bytes


def _restore_root_ext(original: bytes, saved: bytes, start: int) -> bytes:
    """Put the original root element's <extLst> back as the last child of the saved root."""
    span = _root_ext_span(original, start)
    if span is None or _root_ext_span(saved, 0) is not None:
        return saved  # nothing to bring, or the saved part has extensions of its own
    namespaces = _root_namespaces(original)
    block = _kept_extensions(original[span[0] : span[1]], namespaces)
    if block is None:
        return saved
    close = saved.rfind(b"</")
    return saved[:close] + _portable(block, namespaces) + saved[close:]


def _rule_key(attrs: bytes, sqref: bytes) -> tuple[bytes, bytes, bytes]:
    found = dict(_ATTR.findall(attrs))
    return (b" ".join(sqref.split()), found.get(b"type", b""), found.get(b"priority", b""))


def _rule_links(xml: bytes, start: int, end: int) -> dict[tuple[bytes, bytes, bytes], bytes]:
    """(sqref, type, priority) -> the <extLst> of each conditional-format rule that has one
    (the link of a data bar or icon set to its x14 part)."""
    links = {}
    for block in _CF_BLOCK.finditer(xml, start, end):
        sqref = dict(_ATTR.findall(block.group(2))).get(b"sqref", b"")
        for rule in _CF_RULE.finditer(block.group(3)):
            body = rule.group(3) or b""
            ext = _EXT_LST_START.search(body)
            if ext is not None:
                links[_rule_key(rule.group(2), sqref)] = body[ext.start() :].rstrip()
    return links


def _restore_rule_links(original: bytes, old_start: int, saved: bytes, start: int) -> bytes:
    span = _root_ext_span(original, old_start)
    links = _rule_links(original, old_start, span[0] if span else len(original))
    if not links:
        return saved
    namespaces = _root_namespaces(original)

    def fix_block(block: re.Match[bytes]) -> bytes:
        sqref = dict(_ATTR.findall(block.group(2))).get(b"sqref", b"")

        def fix_rule(rule: re.Match[bytes]) -> bytes:
            body = rule.group(3)
            link = links.get(_rule_key(rule.group(2), sqref))
            if link is None or (body and _EXT_LST_START.search(body)):
                return rule.group(0)
            prefix, attrs = rule.group(1), rule.group(2)
            link = _portable(link, namespaces)
            return b"".join(
                (b"<", prefix, b"cfRule", attrs, b">", body or b"", link, b"</", prefix, b"cfRule>")
            )

        whole, offset = block.group(0), block.start()
        inner = _CF_RULE.sub(fix_rule, block.group(3))
        return whole[: block.start(3) - offset] + inner + whole[block.end(3) - offset :]

    return saved[:start] + _CF_BLOCK.sub(fix_block, saved[start:])
