"""The functions behind the Excel ribbon buttons: a thin xlwings adapter over the engine.

Each click starts a fresh Python (RunPython), so only xlwings and the small shared modules load
at import; the rules, CSV writer, HTTP client and key store load when a button needs them.

Excel round trips are slow (COM on Windows, AppleScript on Mac), so a press makes a fixed number
of them whatever the row count: each sheet is read in one call, each result column is written as
one block, and the red/amber cells come from two conditional-format rules of the template driven
by the hidden Marks column (see addin/marks.py), itself written as one block. Nothing in the
input columns A..E is ever written.

Expected failures (AddinError) are shown as they are; anything else shows a short alert and
writes the traceback to a log file (`log_folder()`), with any API key seen in this run redacted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import xlwings as xw

from . import marks, model
from .cells import is_blank as _blank
from .cells import normal_label as _label
from .cells import sheet_index
from .errors import AddinError, ApiError, AuthError, ConfigError, JobTimeout, WorkbookError
from .results import job_status_text

PRODUCT = "AchieveIt Progress Updates"
INPUT_WIDTH = len(model.COLUMNS)  # A..E
ISSUES_COL = INPUT_WIDTH + 1  # F (1-based)
JOB_ID_COL = ISSUES_COL + 1  # G
READ_WIDTH = marks.MARKS_INDEX + 1  # A..J
RESULT_HEADERS = (*model.RESULT_COLUMNS, marks.MARKS_HEADER)  # F..J
MAX_SUBMIT_WAIT = 120.0  # Excel is frozen while Submit waits: never longer than this
STALE_LOCK_SECONDS = MAX_SUBMIT_WAIT + 180.0  # no press lasts longer: its marker is stale
BLOAT_ROWS = 5_000  # past this, check the used range isn't just formatting (one call per column)
PENDING = "processing"
LOG_FILE = "achieveit-updates.log"

Confirm = Callable[[Any, str, str], bool]  # (book, prompt, title) -> go ahead?

_SECRETS: set[str] = set()  # API keys seen in this run, kept out of the crash log


def _title(action: str) -> str:
    return f"AchieveIt – {action}"


# ---------------------------------------------------------------------------------------------
# Failures: one decorator for every button
# ---------------------------------------------------------------------------------------------


def log_folder() -> Path:
    """Where crash details go: the usual per-user log folder of each platform."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / PRODUCT / "Logs"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / PRODUCT
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "achieveit-progress-updates" / "logs"


def _redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "[API key removed]")
    return text


def _write_crash_log(action: str, details: str) -> Path:
    folder = log_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"--- {stamp} {action}\n{_redact(details)}\n")
    return path


def lock_path(book: xw.Book) -> Path:
    """The marker that a sending press is running for this workbook (one per workbook path)."""
    digest = hashlib.sha256(str(book.fullname).encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"achieveit-updates-{digest}.lock"


@contextlib.contextmanager
def _one_press_at_a_time(book: xw.Book, action: str) -> Iterator[None]:
    """Refuse a second Submit/Refresh while one runs for the same workbook.

    On Windows Excel waits for Python, but on a Mac RunPython returns at once: a second click
    could otherwise send the same updates twice. A marker older than any press can last is stale.
    """
    path = lock_path(book)
    for _attempt in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                age = time.time() - path.stat().st_mtime
                running = path.read_text(encoding="utf-8").strip() or "Another button"
            except OSError:
                continue  # it just went away: try again
            if age < STALE_LOCK_SECONDS:
                raise AddinError(
                    f"{running} is still running for this workbook. Wait until it has "
                    f"finished (its message appears), then press {action} again."
                ) from None
            path.unlink(missing_ok=True)
    else:
        raise AddinError(f"{action} could not start; please press it again.")
    try:
        os.write(fd, action.encode("utf-8"))
        os.close(fd)
        yield
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def _any_number_of_presses(book: xw.Book, action: str) -> Iterator[None]:
    yield


def _button(
    action: str, *, exclusive: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Run a button: resolve the calling book, show expected failures, log unexpected ones.

    `exclusive` buttons (those that talk to AchieveIt) never run twice at once for one workbook.
    """

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(func)
        def run(book: xw.Book | None = None, **options: Any) -> None:
            book = book if book is not None else xw.Book.caller()
            status = _StatusBar(book)
            try:
                guard = (
                    _one_press_at_a_time(book, action) if exclusive else contextlib.nullcontext()
                )
                with guard:
                    func(book, status=status, **options)
            except AddinError as exc:
                _alert(book, _redact(str(exc)), _title(action))
            except Exception:
                try:
                    where: str = str(_write_crash_log(action, traceback.format_exc()))
                except OSError:
                    where = "no log file (the log folder could not be written)"
                _alert(
                    book,
                    f"Something unexpected went wrong; details were written to {where}. "
                    "Your updates were not changed.",
                    _title(action),
                )
            finally:
                status.reset()
                _SECRETS.clear()

        return run

    return decorate


def _alert(book: xw.Book, prompt: str, title: str) -> None:
    book.app.alert(prompt, title=title)


def _confirm(book: xw.Book, prompt: str, title: str) -> bool:
    return book.app.alert(prompt, title=title, buttons="ok_cancel") == "ok"


class _StatusBar:
    """Excel's status bar, where there is one (the remote engine has none: then it's a no-op)."""

    def __init__(self, book: xw.Book) -> None:
        self._book = book
        self._usable = True
        self._used = False

    def show(self, text: str) -> None:
        if not self._usable:
            return
        try:
            self._book.app.status_bar = text
            self._used = True
        except Exception:  # NotImplementedError on the remote engine; never worth failing for
            self._usable = False

    def reset(self) -> None:
        if self._used:
            with contextlib.suppress(Exception):
                self._book.app.status_bar = False  # False gives the bar back to Excel


# ---------------------------------------------------------------------------------------------
# Reading: one call per sheet
# ---------------------------------------------------------------------------------------------


def _find_sheet(book: xw.Book, name: str) -> xw.Sheet | None:
    sheets = list(book.sheets)
    index = sheet_index([s.name for s in sheets], name)
    return None if index is None else sheets[index]


def _last_row(sheet: xw.Sheet, width: int) -> int:
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
    nrows = _last_row(sheet, width)
    values = sheet.range((1, 1), (nrows, width)).options(ndim=2, err_to_str=True).value
    return [list(row) + [None] * (width - len(row)) for row in values]


def table_from_cells(cells: Sequence[Sequence[Any]], source: str, sheet: str) -> model.Table:
    """The Updates sheet's cells (anchored at A1) -> model.Table. Pure.

    The header row is the first of the first 10 rows whose A cell reads 'External ID'. Rows run
    from below it to the last row with anything in A..E. Hidden rows can't be seen in one read,
    so none are reported hidden.
    """
    header_row = next(
        (
            i + 1
            for i, row in enumerate(cells[: model.HEADER_SEARCH_ROWS])
            if row and _label(row[0]) == model.EXTERNAL_ID.casefold()
        ),
        None,
    )
    if header_row is None:
        return model.Table(source=source, sheet=sheet, header_row=None, header=(), rows=())
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


@dataclass
class _Updates:
    """What one read of the Updates sheet gives: its cells A..J and the Table built from them."""

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


def _read_updates(book: xw.Book) -> _Updates:
    sheet = _find_sheet(book, model.UPDATES_SHEET)
    if sheet is None:
        raise WorkbookError(
            f"This workbook has no '{model.UPDATES_SHEET}' sheet. Rename the sheet that holds "
            f"your updates to '{model.UPDATES_SHEET}', then try again."
        )
    cells = _read_block(sheet, READ_WIDTH)
    table = table_from_cells(cells, source=book.name, sheet=sheet.name)
    updates = _Updates(sheet, cells, table)
    if table.header_row is not None:
        _check_result_headers(updates)
    return updates


def _check_result_headers(updates: _Updates) -> None:
    """F..J of the header row must be empty or the tool's own headers: the tool writes there."""
    for offset, name in enumerate(RESULT_HEADERS):
        value = updates.cell(updates.header_row, ISSUES_COL + offset)
        if not _blank(value) and _label(value) != name.casefold():
            letter = chr(ord("A") + ISSUES_COL - 1 + offset)
            raise WorkbookError(
                f"Cell {letter}{updates.header_row} of the Updates sheet holds '{value}', but "
                f"the tool writes its results in columns F to J ({', '.join(RESULT_HEADERS)}). "
                "Move that column to the right of J (or clear the cell), then try again."
            )


def _read_settings(book: xw.Book) -> model.Settings:
    sheet = _find_sheet(book, model.SETTINGS_SHEET)
    if sheet is None:
        return model.Settings()
    from .settings import parse_settings  # one parser for files and live workbooks

    return parse_settings(_read_block(sheet, 0, min_width=INPUT_WIDTH))


@dataclass
class _Log:
    sheet: xw.Sheet
    cells: list[list[Any]]
    columns: dict[str, int]  # LOG_COLUMNS name -> 0-based column index

    def rows(self) -> range:
        """Sheet rows below the header that hold anything."""
        last = len(self.cells)
        while last > 1 and all(_blank(v) for v in self.cells[last - 1]):
            last -= 1
        return range(2, last + 1)

    def value(self, row: int, name: str) -> Any:
        return self.cells[row - 1][self.columns[name]]


def _read_log(book: xw.Book) -> _Log:
    sheet = _find_sheet(book, model.LOG_SHEET)
    if sheet is None:
        sheet = book.sheets.add(model.LOG_SHEET, after=book.sheets[-1])
    cells = _read_block(sheet, 0, min_width=len(model.LOG_COLUMNS))
    header = [_label(v) for v in cells[0]]
    columns: dict[str, int] = {}
    missing: list[str] = []
    for name in model.LOG_COLUMNS:  # by header name, like workbook.py: a reordered Log works
        if name.casefold() in header:
            columns[name] = header.index(name.casefold())
        else:
            missing.append(name)
    if missing:
        start = max([i + 1 for i, h in enumerate(header) if h] or [0])
        for offset, name in enumerate(missing):
            columns[name] = start + offset
        sheet.range((1, start + 1)).value = [missing]
        width = start + len(missing)
        cells = [row + [None] * (width - len(row)) for row in cells]
        for offset, name in enumerate(missing):
            cells[0][start + offset] = name
    return _Log(sheet, cells, columns)


# ---------------------------------------------------------------------------------------------
# Writing: one block per column
# ---------------------------------------------------------------------------------------------


def _write_column(updates: _Updates, col: int, header: str, values: Sequence[Any]) -> None:
    """Header plus one value per data row, as one block starting at the header row."""
    block = [[header], *([v] for v in values)]
    updates.sheet.range((updates.header_row, col)).value = block


def _show_findings(updates: _Updates, report: model.Report) -> None:
    """Issues text in F, Marks codes in J (the template's rules colour A..E from them)."""
    from .results import cell_marks, issues_text_by_row

    texts = issues_text_by_row(report.findings)
    codes = marks.row_codes(cell_marks(report.findings))
    rows = updates.data_rows
    _write_column(updates, ISSUES_COL, model.ISSUES, [texts.get(r) for r in rows])
    _write_column(updates, marks.MARKS_INDEX + 1, marks.MARKS_HEADER, [codes.get(r) for r in rows])


def _select_first(updates: _Updates, report: model.Report) -> None:
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


def _write_jobs(updates: _Updates, changes: dict[int, tuple[Any, str, dt.datetime]]) -> None:
    """Job ID, Job Status, Checked At of the given rows; other rows keep what they hold."""
    rows = updates.data_rows
    block: list[list[Any]] = [list(model.RESULT_COLUMNS[1:])]
    for r in rows:
        old = [updates.cell(r, JOB_ID_COL + i) for i in range(3)]
        block.append(list(changes[r]) if r in changes else old)
    updates.sheet.range((updates.header_row, JOB_ID_COL)).value = block
    for r, values in changes.items():  # keep the in-memory copy in step with the sheet
        for i, value in enumerate(values):
            updates.cells[r - 1][JOB_ID_COL - 1 + i] = value


def _validated(
    book: xw.Book, updates: _Updates, settings: model.Settings, today: dt.date
) -> model.Report:
    """Check the rows and show the outcome on the sheet (Issues, Marks, cursor)."""
    from .rules import validate_table

    report = validate_table(updates.table, statuses=settings.statuses, today=today)
    if updates.table.header_row is None:
        raise WorkbookError(report.findings[0].message if report.findings else "No header row.")
    _show_findings(updates, report)
    return report


# ---------------------------------------------------------------------------------------------
# The buttons
# ---------------------------------------------------------------------------------------------


@_button("Validate")
def validate(
    book: xw.Book, *, status: _StatusBar, now: Callable[[], dt.datetime] = dt.datetime.now
) -> None:
    """Check every row: mark bad cells red (errors) or amber (warnings), explain them in Issues."""
    from .results import summary

    status.show("AchieveIt: checking the updates…")
    updates = _read_updates(book)
    settings = _read_settings(book)
    report = _validated(book, updates, settings, now().date())
    _select_first(updates, report)
    _alert(book, summary(report.findings, report.rows), _title("Validate"))


@_button("Clear Results")
def clear_results(book: xw.Book, *, status: _StatusBar) -> None:
    """Empty the Issues column and remove the red/amber marks. Job results and the Log stay."""
    updates = _read_updates(book)
    if updates.table.header_row is None:
        raise WorkbookError(
            "No header row starting with 'External ID' was found in the first "
            f"{model.HEADER_SEARCH_ROWS} rows of the Updates sheet, so there is nothing to clear."
        )
    blanks = [None] * len(updates.data_rows)
    _write_column(updates, ISSUES_COL, model.ISSUES, blanks)
    _write_column(updates, marks.MARKS_INDEX + 1, marks.MARKS_HEADER, blanks)
    _alert(
        book,
        "The Issues column and the red and amber marks were cleared. Job ID, Job Status, "
        "Checked At and the Log sheet were kept, so you can still follow what was sent.",
        _title("Clear Results"),
    )


def _api_key(base_url: str) -> tuple[str, str]:
    """(host, key) for the base URL, or a ConfigError that says to press Set API Key."""
    from .credentials import get_api_key, host_of

    host = host_of(base_url)
    try:
        key = get_api_key(host)
    except ConfigError as exc:
        raise ConfigError(
            f"{exc} In Excel: press Set API Key on the AchieveIt tab and paste your key."
        ) from None
    _SECRETS.add(key)
    return host, key


def _base_url(settings: model.Settings) -> str:
    from .api import resolve_base_url

    return resolve_base_url(settings.subdomain or None, settings.base_url or None)


def _default_client(base_url: str, api_key: str) -> Any:
    from .api import ProgressUpdatesClient

    return ProgressUpdatesClient(base_url, api_key)


def _previous_send(log: _Log, digest: str) -> tuple[Any, Any] | None:
    """(when, job id) of the latest Log row that sent these exact bytes, if any."""
    found = None
    for r in log.rows():
        sha = log.value(r, model.LOG_COLUMNS[3])
        if isinstance(sha, str) and sha.strip().lower() == digest:
            found = (log.value(r, "When"), log.value(r, "Job ID"))
    return found


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value) if value not in (None, "") else "an earlier date"


def _append_log(log: _Log, entry: model.LogEntry) -> int:
    """Write the entry below the last Log row (one call); return its sheet row."""
    row = log.rows().stop  # first empty row after the data
    width = max(log.columns.values()) + 1
    values: list[Any] = [None] * width
    for name, value in zip(model.LOG_COLUMNS, entry.cells(), strict=True):
        values[log.columns[name]] = value
    log.sheet.range((row, 1)).value = [values]
    while len(log.cells) < row:
        log.cells.append([None] * width)
    log.cells[row - 1] = values + [None] * (len(log.cells[0]) - width)
    return row


def _update_log_rows(log: _Log, changes: dict[int, tuple[str, str]]) -> None:
    """New State and Message of some Log rows, as one block over State..Message."""
    if not changes:
        return
    state_col, message_col = log.columns["State"], log.columns["Message"]
    first, last = min(changes), max(changes)
    left, right = min(state_col, message_col), max(state_col, message_col)
    block = []
    for r in range(first, last + 1):
        row = [
            log.cells[r - 1][c] if c < len(log.cells[r - 1]) else None
            for c in range(left, right + 1)
        ]
        if r in changes:
            row[state_col - left], row[message_col - left] = changes[r]
        block.append(row)
    log.sheet.range((first, left + 1)).value = block


@_button("Submit", exclusive=True)
def submit(
    book: xw.Book,
    *,
    status: _StatusBar,
    client_factory: Callable[[str, str], Any] = _default_client,
    confirm: Confirm = _confirm,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> None:
    """Validate, confirm, send the CSV, record the job, wait briefly for AchieveIt's answer."""
    from .api import JobState, upload_name
    from .csvfile import export_csv, sha256_hex
    from .results import job_findings, summary

    title = _title("Submit")
    status.show("AchieveIt: checking the updates…")
    updates = _read_updates(book)
    settings = _read_settings(book)
    report = _validated(book, updates, settings, now().date())
    if not report.valid:
        _select_first(updates, report)
        _alert(
            book,
            f"{summary(report.findings, report.rows)} Nothing was sent: fix the red cells "
            "(the Issues column says how), then press Submit again.",
            title,
        )
        return
    if not report.updates:
        _alert(book, "There are no rows to send: the Updates sheet is empty.", title)
        return
    data = export_csv(report, settings)
    digest = sha256_hex(data)
    base_url = _base_url(settings)
    host, key = _api_key(base_url)
    log = _read_log(book)

    count = len(report.updates)
    prompt = f"Send {count} update{'s' if count != 1 else ''} to {host}?"
    previous = _previous_send(log, digest)
    if previous is not None:
        when, job = previous
        prompt = (
            f"These exact updates were already sent on {_when(when)}, job {job or '(no Job ID)'}. "
            f"Sending them again records them twice in AchieveIt.\n\n{prompt}"
        )
    if report.warnings:
        prompt += f"\n\n{summary(report.warnings, report.rows)}"
    if not confirm(book, prompt, title):
        _alert(book, "Nothing was sent.", title)
        return

    sent_at = now().replace(microsecond=0)
    name = upload_name(book.name, sent_at)
    rows = [u.row for u in report.updates]
    status.show(f"AchieveIt: sending {count} updates to {host}…")
    with client_factory(base_url, key) as client:
        try:
            submission = client.submit(data, name)
        except AuthError as exc:
            raise AuthError(
                f"{exc} Nothing was sent. Press Set API Key on the AchieveIt tab and paste a "
                "new key, then Submit again.",
                http_status=exc.http_status,
            ) from None
        except ApiError as exc:
            if not exc.maybe_queued:
                raise ApiError(f"{exc} Nothing was sent.", http_status=exc.http_status) from None
            message = (
                f"{exc} The updates may have reached AchieveIt: check the plan in AchieveIt "
                "before sending them again."
            )
            unknown = job_status_text("unknown", message)
            _write_jobs(updates, {r: ("", unknown, sent_at) for r in rows})
            entry = model.LogEntry(sent_at, name, count, digest, None, "unknown", message)
            _append_log(log, entry)
            _alert(book, message, title)
            return

        job_id = submission.job_id
        queued = "Queued by AchieveIt."
        _write_jobs(updates, {r: (job_id, job_status_text(PENDING, queued), sent_at) for r in rows})
        entry = model.LogEntry(sent_at, name, count, digest, job_id, PENDING, queued)
        log_row = _append_log(log, entry)

        wait = min(max(settings.submit_wait_seconds, 0.0), MAX_SUBMIT_WAIT)

        def progress(current: Any, elapsed: float) -> None:
            status.show(f"AchieveIt: job {job_id} {current.state.value} ({elapsed:.0f} s)…")

        try:
            final = client.wait(job_id, timeout=wait, on_progress=progress)
            state, message, details = final.state.value, final.message, final.body
        except JobTimeout:
            state, details = PENDING, ""
            message = (
                f"Still processing after {wait:g} seconds. Nothing is lost: press Refresh Status "
                "later to see the result. Do not send these updates again."
            )
        except ApiError as exc:
            state, details = PENDING, ""
            message = f"Sent, but the status check failed: {exc} Press Refresh Status later."
    checked = now().replace(microsecond=0)
    _write_jobs(updates, {r: (job_id, job_status_text(state, message), checked) for r in rows})
    _update_log_rows(log, {log_row: (state, message)})
    if state == JobState.FAILED.value:
        # AchieveIt's reasons, on the rows whose External ID they name (never by position).
        failed = tuple(job_findings(details or message, report.updates))
        if failed:
            _show_findings(updates, replace(report, findings=report.findings + failed))

    head = f"Sent {count} update{'s' if count != 1 else ''} to {host}: job {job_id}."
    if state == JobState.SUCCEEDED.value:
        text = f"{head} AchieveIt processed them: {message}"
    elif state == JobState.FAILED.value:
        text = f"{head} AchieveIt could not process them: {message}"
    else:
        text = f"{head} {message}"
    _alert(book, text, title)


def _job_state(value: Any) -> str:
    """'processing: Queued by AchieveIt.' -> 'processing'."""
    return _label(value).split(":", 1)[0].strip() if isinstance(value, str) else ""


@_button("Refresh Status", exclusive=True)
def refresh_status(
    book: xw.Book,
    *,
    status: _StatusBar,
    client_factory: Callable[[str, str], Any] = _default_client,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> None:
    """Ask AchieveIt once about every job still processing (Updates sheet and Log)."""
    title = _title("Refresh Status")
    updates = _read_updates(book)
    has_header = updates.table.header_row is not None
    log = _read_log(book)
    pending_rows: dict[str, list[int]] = {}
    if has_header:
        for r in updates.data_rows:
            job = updates.cell(r, JOB_ID_COL)
            if not _blank(job) and _job_state(updates.cell(r, JOB_ID_COL + 1)) == PENDING:
                pending_rows.setdefault(str(job).strip(), []).append(r)
    pending_log: dict[str, list[int]] = {}
    for r in log.rows():
        job = log.value(r, "Job ID")
        if not _blank(job) and _label(log.value(r, "State")) == PENDING:
            pending_log.setdefault(str(job).strip(), []).append(r)
    jobs = list(dict.fromkeys([*pending_rows, *pending_log]))
    if not jobs:
        _alert(book, "No job is waiting for an answer from AchieveIt.", title)
        return

    settings = _read_settings(book)
    base_url = _base_url(settings)
    host, key = _api_key(base_url)
    lines: list[str] = []
    row_changes: dict[int, tuple[Any, str, dt.datetime]] = {}
    log_changes: dict[int, tuple[str, str]] = {}
    with client_factory(base_url, key) as client:
        for number, job in enumerate(jobs, start=1):
            status.show(f"AchieveIt: checking job {number} of {len(jobs)}…")
            try:
                current = client.status(job)
            except AuthError:
                raise
            except (ApiError, ConfigError) as exc:
                lines.append(f"Job {job}: could not be checked. {exc}")
                continue
            state, message = current.state.value, current.message
            checked = now().replace(microsecond=0)
            lines.append(f"Job {job}: {state}. {message}")
            for r in pending_rows.get(job, []):
                row_changes[r] = (
                    updates.cell(r, JOB_ID_COL),
                    job_status_text(state, message),
                    checked,
                )
            if state != PENDING:
                for r in pending_log.get(job, []):
                    log_changes[r] = (state, message)
    if row_changes:
        _write_jobs(updates, row_changes)
    _update_log_rows(log, log_changes)
    _alert(book, "\n".join(lines), title)


def _ask_path_dialog(suggested: Path) -> str | None:
    """A Save As dialog (tkinter ships with python.org Pythons); None when cancelled."""
    import tkinter
    from tkinter import filedialog

    root = tkinter.Tk()
    root.withdraw()
    root.attributes("-topmost", True)
    try:
        chosen = filedialog.asksaveasfilename(
            parent=root,
            title="Save the AchieveIt upload as",
            initialdir=str(suggested.parent),
            initialfile=suggested.name,
            defaultextension=".csv",
            filetypes=[("CSV file", "*.csv")],
        )
    finally:
        root.destroy()
    return chosen or None


def _unused_name(suggested: Path, when: dt.datetime) -> Path:
    """`suggested`, or the same name with a time stamp when that file exists: never overwrite."""
    if not suggested.exists():
        return suggested
    return suggested.with_name(f"{suggested.stem}-{when:%Y%m%d-%H%M%S}{suggested.suffix}")


def _book_folder(book: xw.Book) -> Path:
    full = Path(book.fullname)
    return full.parent if full.is_absolute() else Path.home()


def _write_bytes_atomically(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WorkbookError(
            f"The CSV could not be written to {target}: {exc.strerror or exc}. Pick another "
            "folder, or close the file if another program has it open."
        ) from None


@_button("Export CSV")
def export_csv(
    book: xw.Book,
    *,
    status: _StatusBar,
    ask_path: Callable[[Path], str | None] | None = None,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> None:
    """Save the exact bytes Submit would send, where the user chooses."""
    from .csvfile import export_csv as csv_bytes

    title = _title("Export CSV")
    updates = _read_updates(book)
    settings = _read_settings(book)
    report = _validated(book, updates, settings, now().date())
    if not report.valid:
        _select_first(updates, report)
    data = csv_bytes(report, settings)  # InvalidData while errors remain: shown as it is
    suggested = _book_folder(book) / f"{Path(book.name).stem}-updates.csv"
    if ask_path is None:
        try:
            chosen = _ask_path_dialog(suggested)
        except Exception:  # no Tk on this Python, or no display: beside the workbook, new name
            chosen = str(_unused_name(suggested, now()))
    else:
        chosen = ask_path(suggested)
    if not chosen:
        _alert(book, "Nothing was saved.", title)
        return
    target = Path(chosen)
    _write_bytes_atomically(target, data)
    count = len(report.updates)
    _alert(book, f"Saved {count} update{'s' if count != 1 else ''} to {target}.", title)


def _ask_secret_dialog(prompt: str) -> str | None:
    import tkinter
    from tkinter import simpledialog

    root = tkinter.Tk()
    root.withdraw()
    root.attributes("-topmost", True)
    try:
        return simpledialog.askstring(_title("Set API Key"), prompt, show="*", parent=root)
    finally:
        root.destroy()


@_button("Set API Key")
def set_api_key(
    book: xw.Book,
    *,
    status: _StatusBar,
    ask_secret: Callable[[str], str | None] | None = None,
) -> None:
    """Ask for the key (masked) and keep it in the OS credential store, never in the workbook."""
    from .credentials import ENV_VAR, host_of, store_api_key

    title = _title("Set API Key")
    host = host_of(_base_url(_read_settings(book)))
    prompt = f"Paste your AchieveIt API key for {host}:"
    if ask_secret is None:
        try:
            key = _ask_secret_dialog(prompt)
        except Exception:
            raise ConfigError(
                "This Python cannot show the key prompt. Store the key from a terminal with "
                "`achieveit-updates login` instead."
            ) from None
    else:
        key = ask_secret(prompt)
    if key is None or not key.strip():
        _alert(book, "No key was entered; nothing was stored.", title)
        return
    _SECRETS.add(key.strip())
    store_api_key(host, key)
    text = (
        f"The API key for {host} is stored in this computer's credential store. It is not "
        "saved in the workbook."
    )
    if os.environ.get(ENV_VAR, "").strip():
        text += (
            f" Note: the {ENV_VAR} environment variable is set on this computer, and it is "
            "used instead of the stored key until it is removed."
        )
    _alert(book, text, title)


@_button("Settings")
def open_settings(book: xw.Book, *, status: _StatusBar) -> None:
    """Show the Settings sheet with the first value selected."""
    sheet = _find_sheet(book, model.SETTINGS_SHEET)
    if sheet is None:
        raise WorkbookError(
            f"This workbook has no '{model.SETTINGS_SHEET}' sheet. Start from a fresh copy of "
            "the template, or add a sheet named Settings."
        )
    sheet.activate()
    sheet.range("B2").select()
