"""The functions behind the Excel ribbon buttons: a thin xlwings adapter over the engine.

The workbook template's VBA calls `addin.ribbon.<button>()` for the seven buttons below; each
runs through `_button`, which shows expected failures (AddinError) as they are, and for anything
else shows a short alert and writes the traceback to a log file (`log_folder()`), with any API
key seen in this run redacted.

Each click starts a fresh Python (RunPython), so only xlwings and the small shared modules load
at import; the rules, CSV writer, HTTP client and key store load when a button needs them.
Reading and writing the sheets (a fixed number of Excel calls per press) is addin/excelbook.py;
alerts, the status bar and the Tk dialogs are addin/dialogs.py; the one-press-at-a-time marker
is addin/presslock.py. The VBA passes the template version of its buttons (`template=2`): a press
from an older (or newer) workbook says once, in its own message, what to do
(addin/upgradenotice.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import xlwings as xw

from . import dialogs, model
from .atomicfile import write_bytes_atomically
from .cells import is_blank as _blank
from .cells import log_hash
from .cells import normal_label as _label
from .errors import AddinError, ApiError, AuthError, ConfigError, JobTimeout, WorkbookError
from .excelbook import (
    LogSheet,
    UpdatesSheet,
    append_log,
    clear_findings,
    find_sheet,
    read_log,
    read_settings,
    read_updates,
    select_first,
    show_findings,
    update_log_rows,
    write_column,
    write_jobs,
)
from .ledger import find_sent
from .marks import ISSUES_COL, JOB_ID_COL
from .presslock import one_press_at_a_time
from .results import job_status_text

PRODUCT = "AchieveIt Progress Updates"
MAX_SUBMIT_WAIT = 120.0  # Excel is frozen while Submit waits: never longer than this
STALE_LOCK_SECONDS = MAX_SUBMIT_WAIT + 180.0  # no press lasts longer: its marker is stale
PENDING = "processing"
LOG_FILE = "achieveit-updates.log"

_SECRETS: set[str] = set()  # API keys seen in this run, kept out of the crash log


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


def _button(
    action: str, *, exclusive: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Run a button: resolve the calling book, show expected failures, log unexpected ones.

    `exclusive` buttons (those that talk to AchieveIt) never run twice at once for one workbook.
    """

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(func)
        def run(
            book: xw.Book | None = None, *, template: int | None = None, **options: Any
        ) -> None:
            from_excel = book is None
            book = book if book is not None else xw.Book.caller()
            status = dialogs.StatusBar(book)
            footnote = dialogs.set_footnote(_upgrade_notice(book, template, from_excel))
            try:
                guard = (
                    one_press_at_a_time(book, action, stale_after=STALE_LOCK_SECONDS)
                    if exclusive
                    else contextlib.nullcontext()
                )
                with guard:
                    func(book, status=status, **options)
            except AddinError as exc:
                dialogs.alert(book, _redact(str(exc)), dialogs.window_title(action))
            except Exception:
                try:
                    where: str = str(_write_crash_log(action, traceback.format_exc()))
                except OSError:
                    where = "no log file (the log folder could not be written)"
                dialogs.alert(
                    book,
                    f"Something unexpected went wrong; details were written to {where}. "
                    "Your updates were not changed.",
                    dialogs.window_title(action),
                )
            finally:
                status.reset()
                _SECRETS.clear()
                dialogs.reset_footnote(footnote)

        return run

    return decorate


def _upgrade_notice(
    book: xw.Book, template: int | None, from_excel: bool
) -> dialogs.Footnote | None:
    """ "Run workbook upgrade", said once when the buttons are of another template version.

    `template` is what the workbook's VBA passes (addin/upgradenotice.py). A press from Excel
    without one comes from a workbook made before versions; a call from code without one (a
    test, a script) is taken as current. Costs no Excel call unless the versions differ.
    """
    from . import upgradenotice

    if (template is None and not from_excel) or template == upgradenotice.TEMPLATE_VERSION:
        return None
    try:
        fullname = str(book.fullname)  # the one Excel call the notice costs
    except Exception:  # never worth failing a press for
        return None
    text = upgradenotice.due(template, fullname)
    if text is None:
        return None
    return dialogs.Footnote(text, lambda: upgradenotice.said(template, fullname))


def _validated(
    book: xw.Book, updates: UpdatesSheet, settings: model.Settings, today: dt.date
) -> model.Report:
    """Check the rows and show the outcome on the sheet (Issues, Marks, cursor)."""
    from .rules import validate_table

    report = validate_table(updates.table, statuses=settings.statuses, today=today)
    if updates.table.header_row is None:
        raise WorkbookError(report.findings[0].message if report.findings else "No header row.")
    show_findings(updates, report)
    return report


# ---------------------------------------------------------------------------------------------
# The buttons
# ---------------------------------------------------------------------------------------------


@_button("Validate")
def validate(
    book: xw.Book, *, status: dialogs.StatusBar, now: Callable[[], dt.datetime] = dt.datetime.now
) -> None:
    """Check every row: mark bad cells red (errors) or amber (warnings), explain them in Issues."""
    from .results import summary

    status.show("AchieveIt: checking the updates…")
    updates = read_updates(book)
    settings = read_settings(book)
    report = _validated(book, updates, settings, now().date())
    select_first(updates, report)
    dialogs.alert(book, summary(report.findings, report.rows), dialogs.window_title("Validate"))


@_button("Clear Results")
def clear_results(book: xw.Book, *, status: dialogs.StatusBar) -> None:
    """Empty the Issues column and remove the red/amber marks. Job results and the Log stay."""
    updates = read_updates(book)
    if updates.table.header_row is None:
        raise WorkbookError(
            "No header row starting with 'External ID' was found in the first "
            f"{model.HEADER_SEARCH_ROWS} rows of the Updates sheet, so there is nothing to clear."
        )
    clear_findings(updates)
    dialogs.alert(
        book,
        "The Issues column and the red and amber marks were cleared. Job ID, Job Status, "
        "Checked At and the Log sheet were kept, so you can still follow what was sent.",
        dialogs.window_title("Clear Results"),
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
    from .endpoints import resolve_base_url  # not .api: Set API Key needs no HTTP client

    return resolve_base_url(settings.subdomain, settings.base_url)  # "" counts as not set


def _default_client(base_url: str, api_key: str) -> Any:
    from .api import ProgressUpdatesClient

    return ProgressUpdatesClient(base_url, api_key)


def _previous_send(log: LogSheet, digest: str) -> tuple[Any, Any] | None:
    """(when, job id) of the latest Log row that sent these exact bytes, if any."""
    found = None
    for r in log.rows():
        if log_hash(log.value(r, model.LOG_COLUMNS[3])) == digest:
            found = (log.value(r, "When"), log.value(r, "Job ID"))
    return found


def _sent_from_this_computer(host: str, digest: str) -> tuple[Any, Any] | None:
    """(when, job id) from this computer's record of sends: it also covers copies of the book."""
    sent = find_sent(host, digest)
    return None if sent is None else (sent.when, sent.job_id)


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value) if value not in (None, "") else "an earlier date"


@_button("Submit", exclusive=True)
def submit(
    book: xw.Book,
    *,
    status: dialogs.StatusBar,
    client_factory: Callable[[str, str], Any] = _default_client,
    confirm: dialogs.Confirm = dialogs.confirm,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> None:
    """Validate, confirm, send the CSV, record the job, wait briefly for AchieveIt's answer."""
    from .api import JobState, upload_name
    from .csvfile import export_csv, sha256_hex
    from .ledger import remember
    from .results import job_findings, summary

    title = dialogs.window_title("Submit")
    status.show("AchieveIt: checking the updates…")
    updates = read_updates(book)
    settings = read_settings(book)
    report = _validated(book, updates, settings, now().date())
    if not report.valid:
        select_first(updates, report)
        dialogs.alert(
            book,
            f"{summary(report.findings, report.rows)} Nothing was sent: fix the red cells "
            "(the Issues column says how), then press Submit again.",
            title,
        )
        return
    if not report.updates:
        dialogs.alert(book, "There are no rows to send: the Updates sheet is empty.", title)
        return
    data = export_csv(report, settings)
    digest = sha256_hex(data)
    base_url = _base_url(settings)
    host, key = _api_key(base_url)
    log = read_log(book)

    count = len(report.updates)
    prompt = f"Send {count} update{'s' if count != 1 else ''} to {host}?"
    previous = _previous_send(log, digest) or _sent_from_this_computer(host, digest)
    if previous is not None:
        when, job = previous
        prompt = (
            f"These exact updates were already sent on {_when(when)}, job {job or '(no Job ID)'}. "
            f"Sending them again records them twice in AchieveIt.\n\n{prompt}"
        )
    if report.warnings:
        prompt += f"\n\n{summary(report.warnings, report.rows)}"
    if not confirm(book, prompt, title):
        dialogs.alert(book, "Nothing was sent.", title)
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
            remember(host, digest, None, "unknown", book.fullname)
            unknown = job_status_text("unknown", message)
            write_jobs(updates, {r: ("", unknown, sent_at) for r in rows})
            entry = model.LogEntry(sent_at, name, count, digest, None, "unknown", message)
            append_log(log, entry)
            dialogs.alert(book, message, title)
            return

        job_id = submission.job_id
        remember(host, digest, job_id, PENDING, book.fullname)
        queued = "Queued by AchieveIt."
        write_jobs(updates, {r: (job_id, job_status_text(PENDING, queued), sent_at) for r in rows})
        entry = model.LogEntry(sent_at, name, count, digest, job_id, PENDING, queued)
        log_row = append_log(log, entry)

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
    write_jobs(updates, {r: (job_id, job_status_text(state, message), checked) for r in rows})
    update_log_rows(log, {log_row: (state, message)})
    if state == JobState.FAILED.value:
        # AchieveIt's reasons, on the rows whose External ID they name (never by position).
        sent = [(u.row, u.external_id) for u in report.updates]
        failed = tuple(job_findings(details or message, sent))
        if failed:
            show_findings(updates, replace(report, findings=report.findings + failed))

    head = f"Sent {count} update{'s' if count != 1 else ''} to {host}: job {job_id}."
    if state == JobState.SUCCEEDED.value:
        text = f"{head} AchieveIt processed them: {message}"
    elif state == JobState.FAILED.value:
        text = f"{head} AchieveIt could not process them: {message}"
    else:
        text = f"{head} {message}"
    dialogs.alert(book, text, title)


def _sent_id(value: Any) -> str:
    """An External ID cell as the CSV carried it (a number Excel made of it, without '.0')."""
    from .dates import plain_number

    if isinstance(value, int | float) and not isinstance(value, bool):
        return plain_number(value)
    return str(value or "").strip()


def _job_state(value: Any) -> str:
    """'processing: Queued by AchieveIt.' -> 'processing'."""
    return _label(value).split(":", 1)[0].strip() if isinstance(value, str) else ""


@_button("Refresh Status", exclusive=True)
def refresh_status(
    book: xw.Book,
    *,
    status: dialogs.StatusBar,
    client_factory: Callable[[str, str], Any] = _default_client,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> None:
    """Ask AchieveIt once about every job still processing (Updates sheet and Log)."""
    from .api import JobState
    from .results import issues_text_by_row, job_findings

    title = dialogs.window_title("Refresh Status")
    updates = read_updates(book)
    has_header = updates.table.header_row is not None
    log = read_log(book)
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
        dialogs.alert(book, "No job is waiting for an answer from AchieveIt.", title)
        return

    settings = read_settings(book)
    base_url = _base_url(settings)
    host, key = _api_key(base_url)
    lines: list[str] = []
    row_changes: dict[int, tuple[Any, str, dt.datetime]] = {}
    log_changes: dict[int, tuple[str, str]] = {}
    reasons: list[model.Finding] = []  # a failed job's lines, on the rows they name
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
            if current.state is JobState.FAILED:
                sent = [(r, _sent_id(updates.cell(r, 1))) for r in pending_rows.get(job, [])]
                reasons += job_findings(current.body or message, sent)
    if row_changes:
        write_jobs(updates, row_changes)
    if reasons:
        texts = issues_text_by_row(reasons)
        keep = [texts.get(r, updates.cell(r, ISSUES_COL)) for r in updates.data_rows]
        write_column(updates, ISSUES_COL, model.ISSUES, keep)
    update_log_rows(log, log_changes)
    dialogs.alert(book, "\n".join(lines), title)


@_button("Export CSV")
def export_csv(
    book: xw.Book,
    *,
    status: dialogs.StatusBar,
    ask_path: Callable[[Path], str | None] | None = None,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> None:
    """Save the exact bytes Submit would send, where the user chooses."""
    from .csvfile import export_csv as csv_bytes

    title = dialogs.window_title("Export CSV")
    updates = read_updates(book)
    settings = read_settings(book)
    report = _validated(book, updates, settings, now().date())
    if not report.valid:
        select_first(updates, report)
    data = csv_bytes(report, settings)  # InvalidData while errors remain: shown as it is
    suggested = dialogs.book_folder(book) / f"{Path(book.name).stem}-updates.csv"
    if ask_path is None:
        try:
            chosen = dialogs.ask_path_dialog(suggested)
        except Exception:  # no Tk on this Python, or no display: beside the workbook, new name
            chosen = str(dialogs.unused_name(suggested, now()))
    else:
        chosen = ask_path(suggested)
    if not chosen:
        dialogs.alert(book, "Nothing was saved.", title)
        return
    target = Path(chosen)
    try:
        write_bytes_atomically(target, data)
    except OSError as exc:
        raise WorkbookError(
            f"The CSV could not be written to {target}: {exc.strerror or exc}. Pick another "
            "folder, or close the file if another program has it open."
        ) from None
    count = len(report.updates)
    dialogs.alert(book, f"Saved {count} update{'s' if count != 1 else ''} to {target}.", title)


@_button("Set API Key")
def set_api_key(
    book: xw.Book,
    *,
    status: dialogs.StatusBar,
    ask_secret: Callable[[str], str | None] | None = None,
) -> None:
    """Ask for the key (masked) and keep it in the OS credential store, never in the workbook."""
    from .credentials import ENV_VAR, host_of, store_api_key

    title = dialogs.window_title("Set API Key")
    host = host_of(_base_url(read_settings(book)))
    prompt = f"Paste your AchieveIt API key for {host}:"
    if ask_secret is None:
        try:
            key = dialogs.ask_secret_dialog(prompt)
        except Exception:
            raise ConfigError(
                "This Python cannot show the key prompt. Store the key from a terminal with "
                "`achieveit-updates login` instead."
            ) from None
    else:
        key = ask_secret(prompt)
    if key is None or not key.strip():
        dialogs.alert(book, "No key was entered; nothing was stored.", title)
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
    dialogs.alert(book, text, title)


@_button("Settings")
def open_settings(book: xw.Book, *, status: dialogs.StatusBar) -> None:
    """Show the Settings sheet with the first value selected."""
    sheet = find_sheet(book, model.SETTINGS_SHEET)
    if sheet is None:
        raise WorkbookError(
            f"This workbook has no '{model.SETTINGS_SHEET}' sheet. Start from a fresh copy of "
            "the template, or add a sheet named Settings."
        )
    sheet.activate()
    sheet.range("B2").select()
