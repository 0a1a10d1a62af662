"""The functions behind the Excel ribbon buttons: a thin xlwings adapter over the engine.

The workbook template's VBA calls `addin.ribbon.<button>()` for the eight buttons below; each
runs through `_button`, which shows expected failures (AddinError) as they are, and for anything
else shows a short alert and writes the traceback to a log file (`log_folder()`), with any API
key seen in this run redacted.

Each click starts a fresh Python (RunPython), so only xlwings and the small shared modules load
at import; the rules, CSV writer, HTTP client and key store load when a button needs them.
Reading and writing the sheets (a fixed number of Excel calls per press) is addin/excelbook.py;
alerts, the status bar and the Tk dialogs are addin/dialogs.py; the one-press-at-a-time marker
is addin/presslock.py. The VBA passes the template version of its buttons (`template=3`): a press
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
from pathlib import Path
from typing import Any

import xlwings as xw

from . import dialogs, model
from .atomicfile import write_bytes_atomically
from .errors import AddinError, ApiError, AuthError, ConfigError, WorkbookError
from .excelbook import ExcelSheets, UpdatesSheet, find_sheet, read_settings, select_first
from .presslock import one_press_at_a_time

PRODUCT = "AchieveIt Progress Updates"
MAX_SUBMIT_WAIT = 120.0  # Excel is frozen while Submit waits: never longer than this
STALE_LOCK_SECONDS = MAX_SUBMIT_WAIT + 180.0  # no press lasts longer: its marker is stale
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


def _require_header(port: ExcelSheets, report: model.Report | None = None) -> UpdatesSheet:
    """The Updates sheet as read, or the WorkbookError that says its header is missing."""
    updates = port.updates
    assert updates is not None
    if updates.table.header_row is None:
        found = report.findings[0].message if report and report.findings else None
        raise WorkbookError(
            found
            or "No header row starting with 'External ID' was found in the first "
            f"{model.HEADER_SEARCH_ROWS} rows of the Updates sheet."
        )
    return updates


# ---------------------------------------------------------------------------------------------
# The buttons
# ---------------------------------------------------------------------------------------------


@_button("Validate")
def validate(
    book: xw.Book, *, status: dialogs.StatusBar, now: Callable[[], dt.datetime] = dt.datetime.now
) -> None:
    """Check every row: mark bad cells red (errors) or amber (warnings), explain them in Issues,
    and note the rows edited since they were sent."""
    from . import submission
    from .results import summary
    from .sendstate import describe

    status.show("AchieveIt: checking the updates…")
    port = ExcelSheets(book)
    view = port.read(with_log=False)
    report = submission.check(view, now().date())
    updates = _require_header(port, report)
    submission.annotate(port, view, report)
    select_first(updates, report)
    text = summary(report.findings, report.rows)
    plan = submission.plan(view, report)
    if report.valid and not plan.first_time:
        text += f" {describe(plan)}"
    dialogs.alert(book, text, dialogs.window_title("Validate"))


@_button("Clear Results")
def clear_results(book: xw.Book, *, status: dialogs.StatusBar) -> None:
    """Empty the Issues column and remove the red/amber marks. Job results and the Log stay."""
    from . import submission

    port = ExcelSheets(book)
    view = port.read(with_log=False, with_settings=False)
    if port.updates is None or port.updates.table.header_row is None:
        raise WorkbookError(
            "No header row starting with 'External ID' was found in the first "
            f"{model.HEADER_SEARCH_ROWS} rows of the Updates sheet, so there is nothing to clear."
        )
    submission.clear(port, view)
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


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value) if value not in (None, "") else "an earlier date"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _opener(client_factory: Callable[[str, str], Any]) -> Callable[[str], Any]:
    """base URL -> client, with the key for its host (looked up only when a client is made)."""
    return lambda base_url: client_factory(base_url, _api_key(base_url)[1])


@_button("Submit", exclusive=True)
def submit(
    book: xw.Book,
    *,
    status: dialogs.StatusBar,
    client_factory: Callable[[str, str], Any] = _default_client,
    confirm: dialogs.Confirm = dialogs.confirm,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> None:
    """Validate, confirm, send the new and changed rows, record the job, wait briefly."""
    from . import submission
    from .results import summary
    from .sendstate import Standing

    title = dialogs.window_title("Submit")
    status.show("AchieveIt: checking the updates…")
    port = ExcelSheets(book)
    view = port.read()
    with submission.connection(_base_url(view.settings), _opener(client_factory)) as link:
        prepared = submission.prepare(
            port, view, link, today=now().date(), now=now, progress=status.show
        )
        report, plan = prepared.report, prepared.plan
        updates = _require_header(port, report)
        if not report.valid:
            submission.finish(port, prepared)
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
        earlier_jobs = "\n".join(prepared.settled.lines)
        heard = f"AchieveIt about earlier jobs:\n{earlier_jobs}\n\n" if earlier_jobs else ""
        if not plan.to_send:
            waiting = plan.held(Standing.IN_FLIGHT, Standing.UNSETTLED)
            if waiting:
                question = (
                    f"{heard}Nothing new to send. {prepared.summary}\n\nPress Refresh Status to "
                    "ask AchieveIt about the earlier jobs. To send the "
                    f"{_plural(waiting, 'waiting row')} again anyway, press OK: if the earlier "
                    "upload did reach AchieveIt, they are recorded twice. Cancel sends nothing."
                )
                options = {"resend_unsettled": True}
            else:
                question = (
                    f"{heard}Nothing new to send: {prepared.summary}\n\nTo send all "
                    f"{plan.rows} again on purpose, press OK: AchieveIt records each a second "
                    "time. Cancel sends nothing."
                )
                options = {"resend_all": True}
            if not confirm(book, question, title):
                submission.finish(port, prepared)
                dialogs.alert(book, "Nothing was sent.", title)
                return
            prepared = submission.replan(prepared, **options)
        else:
            count = len(plan.to_send)
            prompt = f"Send {_plural(count, 'update')} to {link.host}?"
            if not plan.first_time:
                prompt = f"{prepared.summary}\n\n{prompt}"
            earlier = prepared.earlier
            if earlier is not None:
                prompt = (
                    f"These exact updates were already sent on {_when(earlier.when)}, job "
                    f"{earlier.job_id or '(no Job ID)'}. Sending them again records them twice "
                    f"in AchieveIt.\n\n{prompt}"
                )
            if report.warnings:
                prompt += f"\n\n{summary(report.warnings, report.rows)}"
            if not confirm(book, heard + prompt, title):
                submission.finish(port, prepared)
                dialogs.alert(book, "Nothing was sent.", title)
                return

        count = len(prepared.plan.to_send)
        wait = min(max(view.settings.submit_wait_seconds, 0.0), MAX_SUBMIT_WAIT)
        try:
            result = submission.send(port, prepared, link, wait=wait, now=now, progress=status.show)
        except AuthError as exc:
            raise AuthError(
                f"{exc} Nothing was sent. Press Set API Key on the AchieveIt tab and paste a "
                "new key, then Submit again.",
                http_status=exc.http_status,
            ) from None
        except ApiError as exc:
            raise ApiError(f"{exc} Nothing was sent.", http_status=exc.http_status) from None
    dialogs.alert(book, _sent_text(result, count, link.host), title)


def _sent_text(result: Any, count: int, host: str) -> str:
    outcome = result.outcome
    if outcome.job_id is None:
        text = outcome.message
    else:
        head = f"Sent {_plural(count, 'update')} to {host}: job {outcome.job_id}."
        if outcome.state == "succeeded":
            text = f"{head} AchieveIt processed them: {outcome.message}"
        elif outcome.state == "failed":
            text = f"{head} AchieveIt could not process them: {outcome.message}"
        else:
            text = f"{head} {outcome.message}"
    if result.write_problem:
        text += (
            f"\n\nThe result could not be written into the sheet ({result.write_problem}). "
            "This computer keeps a note of the upload: the next Submit records it on the rows "
            "instead of sending them again."
        )
    for warning in result.warnings:
        text += f"\n\n{warning}"
    return text


@_button("Refresh Status", exclusive=True)
def refresh_status(
    book: xw.Book,
    *,
    status: dialogs.StatusBar,
    client_factory: Callable[[str, str], Any] = _default_client,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> None:
    """Ask AchieveIt once about every job still processing (Updates sheet and Log)."""
    from . import submission

    title = dialogs.window_title("Refresh Status")
    port = ExcelSheets(book)
    view = port.read()
    with submission.connection(_base_url(view.settings), _opener(client_factory)) as link:
        settled = submission.refresh(port, view, link, now=now, progress=status.show)
    if settled is None:
        dialogs.alert(book, "No job is waiting for an answer from AchieveIt.", title)
        return
    dialogs.alert(book, "\n".join(settled.lines), title)


@_button("Export CSV")
def export_csv(
    book: xw.Book,
    *,
    status: dialogs.StatusBar,
    ask_path: Callable[[Path], str | None] | None = None,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> None:
    """Save every valid row as AchieveIt's CSV, where the user chooses (Submit sends only the
    new and changed rows; this is the whole sheet, e.g. for an upload by hand)."""
    from . import submission
    from .csvfile import export_csv as csv_bytes

    title = dialogs.window_title("Export CSV")
    port = ExcelSheets(book)
    view = port.read(with_log=False)
    report = submission.check(view, now().date())
    updates = _require_header(port, report)
    submission.annotate(port, view, report)
    if not report.valid:
        select_first(updates, report)
    data = csv_bytes(report, view.settings)  # InvalidData while errors remain: shown as it is
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


@_button("Get Plan Items", exclusive=True)
def get_plan_items(
    book: xw.Book,
    *,
    status: dialogs.StatusBar,
    client_factory: Callable[[str, str], Any] = _default_client,
    confirm: dialogs.Confirm = dialogs.confirm,
) -> None:
    """Fill the Plan Items sheet with the items of the Settings sheet's plans; offer an Updates
    row for each item without one. The Updates sheet's inputs are never changed."""
    from . import submission
    from .api import DEFAULT_TAKE
    from .excelbook import append_external_ids, write_plan_items
    from .planitems import fetch_items, known_items, new_update_ids, sheet_rows
    from .rules import ID_ONLY_ROWS

    title = dialogs.window_title("Get Plan Items")
    settings = read_settings(book)
    if not settings.plan_ids:
        raise ConfigError(
            "No Plan ID is set. In AchieveIt, open the plan card's menu, choose 'Copy Plan ID', "
            "and paste it into the Value cell of 'Plan ID' on the Settings sheet (several "
            "plans: separate them with commas). No such row? Type Plan ID in column A of an "
            "empty row, or run `achieveit-updates workbook upgrade` on the closed workbook."
        )
    base_url = _base_url(settings)
    status.show("AchieveIt: reading the plan items…")
    client = client_factory(base_url, _api_key(base_url)[1])
    try:
        fetched = fetch_items(client, settings.plan_ids, take=DEFAULT_TAKE)
    finally:
        client.close()
    rows = sheet_rows(fetched.items)
    write_plan_items(book, rows)
    plans = ", ".join(fetched.plan_ids)
    text = f"The Plan Items sheet now lists {_plural(len(fetched.items), 'item')} of plan {plans}."
    note = f"\n\n{fetched.note}" if fetched.note else ""
    if find_sheet(book, model.UPDATES_SHEET) is None:
        dialogs.alert(book, text + note, title)
        return
    port = ExcelSheets(book)
    view = port.read(with_log=False, with_settings=False)
    view.items = known_items(rows) or {}
    updates = port.updates
    wanted: list[str] = []
    if updates is not None and updates.table.header_row is not None:
        wanted = new_update_ids(fetched.items, (row.values[0] for row in updates.table.rows))
    added: dict[int, str] = {}
    if wanted:
        question = (
            f"{text}\n\n{_plural(len(wanted), 'item')} of the plan have no row on the Updates "
            "sheet yet. Add a row for each, with its External ID filled in and the other cells "
            "blank? Nothing is sent."
        )
        if updates is not None and confirm(book, question, title):
            first = append_external_ids(updates, wanted)
            added = {first + n: external_id for n, external_id in enumerate(wanted)}
            text += f" Added {_plural(len(wanted), 'Updates row')} from row {first}. "
            text += ID_ONLY_ROWS
    submission.show_items(port, view, added)  # the Item column: one block
    dialogs.alert(book, text + note, title)


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
