"""Submitting a sheet, once, for the ribbon and the command line alike.

    read -> validate -> settle earlier jobs -> plan (only new and changed rows) -> CSV ->
    POST -> record the job on its rows -> wait -> record the outcome

The use case is written here once, as plain functions over a small sheet port (`SheetPort`):
the openpyxl file adapter (workbook.FileSheets) and the live-Excel adapter
(excelbook.ExcelSheets) implement it; cli.py and ribbon.py only parse flags or show dialogs,
call these functions and print or alert what they return.

The rules that keep each update going out exactly once:
- Only pending rows are sent (addin/sendstate.py): new, edited since sent, or whose last job
  failed or never confirmed. A row whose job is still processing is asked about first
  (`settle`), so a job that failed in the meantime makes its rows pending again.
- Before the POST, this computer's outbox (addin/ledger.py) notes the rows' fingerprints; the
  rows get their Job ID and fingerprint right after AchieveIt answers, before any waiting. If
  recording fails or the process stops, the next Submit of the workbook finds the outbox entry
  and records the rows instead of sending them again.
- A POST is never retried. When it may have arrived without an answer we can trust, its rows
  say "unknown" and wait until the user has checked (`resend_unsettled` sends them anyway).
- The whole-upload guard stays: the same CSV bytes already sent (this workbook's Log, or this
  computer's record of sends) are not sent again without the caller's say-so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from . import ledger, model, sendstate
from .csvfile import fingerprint, sha256_hex, write_csv
from .errors import ApiError, ConfigError, JobTimeout
from .gcpause import collector_paused
from .marks import row_codes
from .model import Finding, JobOutcome, LogEntry, LogRow, Report, Settings, Table, ToolCells
from .planitems import KnownItem, finder
from .results import cell_marks, issues_text_by_row, job_findings, job_status_text
from .sendstate import FAILED, PROCESSING, SUCCEEDED, UNKNOWN, SendPlan, job_state

QUEUED = "Queued by AchieveIt."
Progress = Callable[[str], None]
Clock = Callable[[], dt.datetime]


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------------------------------------
# The sheet port: what the workflow reads and writes
# ---------------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """One reading of a workbook (or a CSV), kept in step with what the workflow writes."""

    table: Table
    settings: Settings
    name: str  # the file name, e.g. "updates.xlsm": upload names and messages
    source: str  # the full path: the outbox's key ("" when read for a press that sends nothing)
    tools: dict[int, ToolCells] = field(default_factory=dict)  # every row below the header
    log: list[LogRow] = field(default_factory=list)
    next_log_row: int = 2
    stateful: bool = True  # False for a .csv input: there is no place to keep per-row state
    # The Plan Items sheet's items by External ID; None without one (no ID is checked then).
    items: dict[str, KnownItem] | None = None

    def apply(self, changes: SheetChanges) -> None:
        self.tools.update(changes.rows)
        by_row = {entry.row: entry for entry in self.log}
        for row, new in changes.log_new.items():
            by_row[row] = LogRow(
                row, new.job_id or "", new.state, new.sha256, new.message, new.when
            )
            self.next_log_row = max(self.next_log_row, row + 1)
        for row, (state, message) in changes.log_state.items():
            if row in by_row:
                by_row[row] = replace(by_row[row], state=state, message=message)
        self.log = sorted(by_row.values(), key=lambda entry: entry.row)


@dataclass
class SheetChanges:
    """What to write: whole F..L of some rows, new Log rows, new State/Message of Log rows."""

    rows: dict[int, ToolCells] = field(default_factory=dict)
    log_new: dict[int, LogEntry] = field(default_factory=dict)
    log_state: dict[int, tuple[str, str]] = field(default_factory=dict)
    # Findings on or above the header row (a file keeps them in a note on the header): None
    # leaves the note as it is.
    header_findings: tuple[Finding, ...] | None = None

    def __bool__(self) -> bool:
        return bool(self.rows or self.log_new or self.log_state) or self.header_findings is not None

    def update(self, other: SheetChanges) -> None:
        self.rows.update(other.rows)
        self.log_new.update(other.log_new)
        self.log_state.update(other.log_state)
        if other.header_findings is not None:
            self.header_findings = other.header_findings


class SheetPort(Protocol):
    # False when what is written goes nowhere (a .csv input, or --no-write-back): then the
    # outbox keeps every upload, so the next Submit that does record still knows of it.
    records: bool

    def read(self, *, with_log: bool = True) -> Snapshot: ...

    def check_writable(self) -> None:
        """Raise WorkbookError now if the results could not be recorded later."""

    def write(self, view: Snapshot, changes: SheetChanges) -> None:
        """Write `changes` (already applied to `view`). Excel writes at once; a file may wait
        for commit()."""

    def commit(self) -> None:
        """Make every write so far permanent (a file: one atomic save). Raises WorkbookError."""


def _write(port: SheetPort, view: Snapshot, changes: SheetChanges) -> None:
    view.apply(changes)
    if changes:
        port.write(view, changes)


# ---------------------------------------------------------------------------------------------
# The connection: opened only when AchieveIt must be asked
# ---------------------------------------------------------------------------------------------


class Client(Protocol):
    def submit(self, csv_bytes: bytes, name: str) -> Any: ...

    def status(self, job_id: str) -> Any: ...

    def wait(self, job_id: str, *, timeout: float, on_progress: Any = None) -> Any: ...

    def close(self) -> None: ...


class Connection:
    """The client for `base_url`, made on first use (a key is looked up only then)."""

    def __init__(self, base_url: str, open_client: Callable[[str], Client]) -> None:
        from .credentials import host_of

        self.base_url = base_url
        self.host = host_of(base_url)
        self._open = open_client
        self._client: Client | None = None

    def client(self) -> Client:
        if self._client is None:
            self._client = self._open(self.base_url)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


@contextmanager
def connection(base_url: str, open_client: Callable[[str], Client]) -> Iterator[Connection]:
    link = Connection(base_url, open_client)
    try:
        yield link
    finally:
        link.close()


# ---------------------------------------------------------------------------------------------
# Validate
# ---------------------------------------------------------------------------------------------


def check(view: Snapshot, today: dt.date | None = None) -> Report:
    from .rules import validate_table

    with collector_paused():  # rows, findings, updates: bulk and free of cycles (gcpause)
        return validate_table(
            view.table, statuses=view.settings.statuses, today=today, items=view.items
        )


def plan(view: Snapshot, report: Report, **options: bool) -> SendPlan:
    return sendstate.plan_send(report.updates, view.tools, **options)


def notes(view: Snapshot, report: Report) -> list[Finding]:
    """A note on each row edited since it was sent (it is pending again)."""
    return [
        Finding(row, None, model.NOTE, "changed-since-sent", text)
        for row, text in sendstate.changed_notes(report.updates, view.tools).items()
    ]


def findings_changes(view: Snapshot, findings: Sequence[Finding]) -> SheetChanges:
    """Issues and Marks of every row from `findings` (stale ones cleared), as changes."""
    header = view.table.header_row
    if not header:  # no header row: everything goes into the note (a file's A1)
        return SheetChanges(header_findings=tuple(findings))
    texts = issues_text_by_row(f for f in findings if f.row > header)
    codes = row_codes(cell_marks(f for f in findings if f.row > header))
    names = item_names(view)
    changes = SheetChanges(header_findings=tuple(f for f in findings if f.row <= header))
    for row in sorted({*view.tools, *texts, *codes, *(names or {})}):
        old = view.tools.get(row, ToolCells())
        new = replace(old, issues=texts.get(row), marks=codes.get(row))
        if names is not None:  # without a Plan Items sheet the Item column stays as it is
            new = replace(new, item=names.get(row))
        if new != old:
            changes.rows[row] = new
    return changes


def item_names(view: Snapshot, added: Mapping[int, str] | None = None) -> dict[int, str] | None:
    """Sheet row -> the name of its item on the Plan Items sheet, for the Item column; None
    without a Plan Items sheet. `added`: rows being added (row -> External ID) not in view."""
    if view.items is None or not view.table.header_row:
        return None
    find = finder(view.items)
    ids = {**_raw_ids(view.table), **(added or {})}
    names = {}
    for row, external_id in ids.items():
        item = find(external_id) if external_id else None
        if item is not None and item.name:
            names[row] = item.name
    return names


def item_changes(view: Snapshot, added: Mapping[int, str] | None = None) -> SheetChanges:
    """Get Plan Items' change on the Updates sheet: each row's item name in the Item column
    (`added` rows too: row -> External ID), nothing else."""
    names = item_names(view, added)
    changes = SheetChanges()
    if names is None:
        return changes
    for row in sorted({*view.tools, *names}):
        old = view.tools.get(row, ToolCells())
        new = replace(old, item=names.get(row))
        if new != old:
            changes.rows[row] = new
    return changes


def show_items(port: SheetPort, view: Snapshot, added: Mapping[int, str] | None = None) -> None:
    """Write item_changes (one block in Excel), then commit."""
    changes = item_changes(view, added)
    if changes:
        _write(port, view, changes)
    port.commit()


def annotate(port: SheetPort, view: Snapshot, report: Report) -> None:
    """Validate's write: the findings and the changed-since-sent notes, on their rows."""
    _write(port, view, findings_changes(view, [*report.findings, *notes(view, report)]))
    port.commit()


def clear(port: SheetPort, view: Snapshot) -> None:
    """Clear Results: Issues and Marks emptied; jobs, fingerprints and the Log stay."""
    _write(port, view, findings_changes(view, ()))
    port.commit()


# ---------------------------------------------------------------------------------------------
# Settle: ask AchieveIt about jobs still processing (Refresh Status, and before a Submit)
# ---------------------------------------------------------------------------------------------


def open_jobs(view: Snapshot) -> dict[str, tuple[list[int], list[int]]]:
    """Job ID -> (Updates rows, Log rows) of every job still 'processing', in sheet order."""
    jobs: dict[str, tuple[list[int], list[int]]] = {}
    for row in sorted(view.tools):
        cells = view.tools[row]
        job = str(cells.job_id or "").strip()
        if job and job_state(cells.job_status) == PROCESSING:
            jobs.setdefault(job, ([], []))[0].append(row)
    for entry in view.log:
        if entry.job_id and entry.state == PROCESSING:
            jobs.setdefault(entry.job_id, ([], []))[1].append(entry.row)
    return jobs


@dataclass
class Settled:
    lines: list[str] = field(default_factory=list)  # one per job asked about, for the user
    changed: int = 0  # jobs no longer processing
    failed: int = 0  # of those, jobs AchieveIt could not process
    unchecked: int = 0  # jobs whose status could not be checked


def settle(
    view: Snapshot, link: Connection, *, now: Clock, progress: Progress = _quiet
) -> tuple[SheetChanges, Settled]:
    """Ask once about each job still processing; the rows and Log rows get the answers.

    A job that failed puts AchieveIt's reasons on the rows whose External ID they name (never
    by position). A job that cannot be checked stays processing (its line says why); a
    rejected key stops everything (AuthError).
    """
    from .errors import AuthError

    changes = SheetChanges()
    settled = Settled()
    jobs = open_jobs(view)
    ids = _raw_ids(view.table)
    for number, (job, (rows, log_rows)) in enumerate(jobs.items(), start=1):
        progress(f"Checking job {number} of {len(jobs)}…")
        try:
            current = link.client().status(job)
        except AuthError:
            raise
        except (ApiError, ConfigError) as exc:
            settled.lines.append(f"Job {job}: could not be checked. {exc}")
            settled.unchecked += 1
            continue
        state, message = current.state.value, current.message
        checked = now().replace(microsecond=0)
        settled.lines.append(f"Job {job}: {state}. {message}")
        reasons: dict[int, str] = {}
        if state == FAILED:
            sent = [(row, ids.get(row, "")) for row in rows]
            reasons = issues_text_by_row(job_findings(current.body or message, sent))
        for row in rows:
            cells = view.tools.get(row, ToolCells())
            changes.rows[row] = replace(
                cells,
                job_status=job_status_text(state, message),
                checked_at=checked,
                issues=reasons.get(row, cells.issues),
            )
        if state != PROCESSING:
            settled.changed += 1
            settled.failed += state == FAILED
            for row in log_rows:
                changes.log_state[row] = (state, message)
            _remember_outcome(view, link.host, job, state, log_rows)
    return changes, settled


def _raw_ids(table: Table) -> dict[int, str]:
    """Sheet row -> the External ID as the CSV carried it (a number without '.0')."""
    from .dates import plain_number

    ids = {}
    for row in table.rows:
        value = row.values[0]
        if isinstance(value, int | float) and not isinstance(value, bool):
            ids[row.number] = plain_number(value)
        else:
            ids[row.number] = str(value or "").strip()
    return ids


def _remember_outcome(
    view: Snapshot, host: str, job: str, state: str, log_rows: Sequence[int]
) -> None:
    """This computer's record of sends learns how the job ended (a failed upload may go again)."""
    for entry in view.log:
        if entry.row in log_rows and entry.sha256:
            ledger.remember(host, entry.sha256, job, state, view.source)


# ---------------------------------------------------------------------------------------------
# Recovering uploads the workbook never recorded (from this computer's outbox)
# ---------------------------------------------------------------------------------------------


def recover(view: Snapshot, entries: Sequence[ledger.Unrecorded], now: Clock) -> SheetChanges:
    """Rows whose content went out in an upload the workbook did not record get that job (and
    the Log its row), so they are not sent again."""
    changes = SheetChanges()
    if not entries or not view.table.header_row:
        return changes
    from .rules import validate_rows  # the rows' canonical content, as it was sent

    updates = validate_rows(
        view.table.rows, statuses=view.settings.statuses, today=now().date()
    ).updates
    logged = {(entry.job_id, entry.sha256) for entry in view.log}
    next_row = view.next_log_row
    checked = now().replace(microsecond=0)
    for entry in entries:
        state = UNKNOWN if entry.state == "sending" else entry.state
        message = entry.message or (
            "The upload may have reached AchieveIt: check the plan before sending it again."
        )
        note = f"Recorded from this computer's record of sends. {message}"
        prints = set(entry.fingerprints)
        for update in updates:
            print_ = fingerprint(update)
            cells = changes.rows.get(update.row) or view.tools.get(update.row, ToolCells())
            already = cells.sent == print_ and (cells.job_id or None) == entry.job_id
            if print_ in prints and not already:
                changes.rows[update.row] = replace(
                    cells,
                    job_id=entry.job_id or "",
                    job_status=job_status_text(state, note),
                    checked_at=checked,
                    sent=print_,
                )
        if (entry.job_id or "", entry.sha256) not in logged:
            when = _parse_when(entry.when) or checked
            changes.log_new[next_row] = LogEntry(
                when,
                entry.upload_name,
                len(entry.fingerprints),
                entry.sha256,
                entry.job_id,
                state,
                note,
            )
            next_row += 1
    return changes


def _parse_when(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Submit, step 1: what would go, and what the sheet says now
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EarlierSend:
    """These exact CSV bytes went before (from this workbook's Log, or from this computer)."""

    when: Any
    job_id: str | None
    host: str
    in_workbook: bool


@dataclass
class Prepared:
    view: Snapshot
    report: Report
    plan: SendPlan
    data: bytes  # the CSV of plan.to_send (b"" when nothing goes)
    digest: str
    host: str
    earlier: EarlierSend | None
    settled: Settled
    recovered: list[ledger.Unrecorded]
    summary: str  # sendstate.describe(plan)


def prepare(
    port: SheetPort,
    view: Snapshot,
    link: Connection,
    *,
    today: dt.date | None = None,
    now: Clock = dt.datetime.now,
    ask_server: bool = True,
    resend_all: bool = False,
    resend_unsettled: bool = False,
    progress: Progress = _quiet,
) -> Prepared:
    """Validate, take in what this computer knows and AchieveIt says about earlier uploads, and
    plan the upload. The findings are written (Excel shows them now; a file on commit).

    `ask_server` False (a dry run) leaves jobs still processing unasked.
    """
    report = check(view, today)
    recovered: list[ledger.Unrecorded] = []
    changes = SheetChanges()
    if view.stateful:
        recovered = ledger.unrecorded(link.host, view.source)
        changes.update(recover(view, recovered, now))
        view.apply(changes)
    settled = Settled()
    if ask_server and report.valid and report.updates and open_jobs(view):
        answers, settled = settle(view, link, now=now, progress=progress)
        view.apply(answers)
        changes.update(answers)
    chosen = plan(view, report, resend_all=resend_all, resend_unsettled=resend_unsettled)
    changes.update(findings_changes(view, [*report.findings, *notes(view, report)]))
    _write(port, view, changes)
    prepared = Prepared(view, report, chosen, b"", "", link.host, None, settled, recovered, "")
    return _with_plan(prepared, chosen)


def replan(
    prepared: Prepared, *, resend_all: bool = False, resend_unsettled: bool = False
) -> Prepared:
    """The same reading, planned again: e.g. every row once more, because the user said so."""
    chosen = plan(
        prepared.view, prepared.report, resend_all=resend_all, resend_unsettled=resend_unsettled
    )
    return _with_plan(prepared, chosen)


def _with_plan(prepared: Prepared, chosen: SendPlan) -> Prepared:
    data = b""
    if prepared.report.valid and chosen.to_send:
        data = write_csv(chosen.to_send, prepared.view.settings)
    digest = sha256_hex(data) if data else ""
    earlier = _earlier_send(prepared.view, prepared.host, digest) if data else None
    summary = sendstate.describe(chosen)
    return replace(
        prepared, plan=chosen, data=data, digest=digest, earlier=earlier, summary=summary
    )


def _earlier_send(view: Snapshot, host: str, digest: str) -> EarlierSend | None:
    """The latest upload of these exact bytes that did not fail: Log first, then this
    computer's record (which also covers copies of the workbook and .csv inputs)."""
    for entry in reversed(view.log):
        if entry.sha256 == digest and entry.state != FAILED:
            return EarlierSend(entry.when, entry.job_id or None, host, True)
    sent = ledger.find_sent(host, digest)
    if sent is None or sent.state == FAILED:
        return None
    return EarlierSend(sent.when, sent.job_id, sent.host, False)


def finish(port: SheetPort, prepared: Prepared) -> None:
    """End a Submit that sends nothing: keep what was learnt (findings, settled and recovered
    rows), then let go of the outbox entries now recorded. Raises WorkbookError."""
    port.commit()
    if port.records:
        ledger.forget_unrecorded(prepared.recovered)


# ---------------------------------------------------------------------------------------------
# Submit, step 2: send once, record at once, wait, record again
# ---------------------------------------------------------------------------------------------


@dataclass
class SendResult:
    outcome: JobOutcome
    rows: int  # rows sent
    problem: str = ""  # "", "timeout" (still processing), "unchecked" (status check failed)
    write_problem: str = ""  # why the results are not (all) in the workbook, if they are not
    warnings: list[str] = field(default_factory=list)


def send(
    port: SheetPort,
    prepared: Prepared,
    link: Connection,
    *,
    wait: float | None,
    now: Clock = dt.datetime.now,
    progress: Progress = _quiet,
) -> SendResult:
    """POST the planned rows once and record the job on them.

    Raises ApiError only when nothing was queued for sure. Every later failure is reported in
    the result, with the job ID kept: a failed write leaves this computer's outbox entry, so
    the next Submit records the rows instead of sending them again.
    """
    from .endpoints import upload_name

    view, updates = prepared.view, prepared.plan.to_send
    prints = {u.row: fingerprint(u) for u in updates}
    sent_at = now().replace(microsecond=0)
    name = upload_name(view.name, sent_at)
    entry = ledger.Unrecorded(
        link.host,
        ledger.same_source(view.source),
        name,
        prepared.digest,
        tuple(prints.values()),
    )
    result = SendResult(JobOutcome(None, "not-submitted", None, "", sent_at, name), len(updates))
    _warn(result, view.stateful and ledger.note_unrecorded(entry))

    progress(f"Sending {len(updates)} updates to {link.host}…")
    try:
        submission = link.client().submit(prepared.data, name)
    except ApiError as exc:
        if not exc.maybe_queued:
            ledger.forget_unrecorded([entry])
            raise
        message = (
            f"{exc} The updates may have reached AchieveIt: check the plan in AchieveIt "
            "before sending them again."
        )
        result.outcome = JobOutcome(None, UNKNOWN, exc.http_status, message, sent_at, name)
        _record_send(port, prepared, result, entry, prints)
        return result

    job_id = submission.job_id
    result.outcome = JobOutcome(job_id, PROCESSING, submission.http_status, QUEUED, sent_at, name)
    log_row = _record_send(port, prepared, result, entry, prints)
    if wait is not None:
        _wait(link, result, wait, now, progress)
        _record_outcome(port, prepared, result, entry, log_row)
    _commit(port, prepared, result, entry)
    return result


def _warn(result: SendResult, warning: str | None | bool) -> None:
    if isinstance(warning, str) and warning:
        result.warnings.append(warning)


def _record_send(
    port: SheetPort,
    prepared: Prepared,
    result: SendResult,
    entry: ledger.Unrecorded,
    prints: Mapping[int, str],
) -> int:
    """Right after the POST: the rows get the job and their fingerprints, the Log its row."""
    view, outcome = prepared.view, result.outcome
    entry = replace(entry, job_id=outcome.job_id, state=outcome.state, message=outcome.message)
    _warn(result, view.stateful and ledger.note_unrecorded(entry))
    _warn(
        result,
        ledger.remember(prepared.host, prepared.digest, outcome.job_id, outcome.state, view.source),
    )
    # Issues of the sent rows lose their changed-since-sent note: they are sent now.
    texts = issues_text_by_row(prepared.report.findings)
    status = job_status_text(outcome.state, outcome.message)
    changes = SheetChanges()
    for row, print_ in prints.items():
        cells = view.tools.get(row, ToolCells())
        changes.rows[row] = replace(
            cells,
            issues=texts.get(row),
            job_id=outcome.job_id or "",
            job_status=status,
            checked_at=outcome.checked_at,
            sent=print_,
        )
    log_row = view.next_log_row
    changes.log_new[log_row] = LogEntry(
        outcome.checked_at or dt.datetime.now(),
        outcome.upload_name,
        len(prints),
        prepared.digest,
        outcome.job_id,
        outcome.state,
        outcome.message,
    )
    _guarded_write(port, view, changes, result)
    if outcome.state == UNKNOWN:
        _commit(port, prepared, result, entry)
    return log_row


def _wait(
    link: Connection, result: SendResult, wait: float, now: Clock, progress: Progress
) -> None:
    outcome = result.outcome
    job_id = outcome.job_id or ""

    def show(current: Any, elapsed: float) -> None:
        progress(f"Job {job_id}: {current.state.value} ({elapsed:.0f} s)…")

    try:
        final = link.client().wait(job_id, timeout=wait, on_progress=show)
    except JobTimeout as exc:
        result.problem = "timeout"
        result.outcome = replace(outcome, message=str(exc), checked_at=_now(now))
        return
    except ApiError as exc:
        result.problem = "unchecked"
        message = (
            f"Sent, but the status check failed: {exc} Nothing is lost: check it later with "
            f"Refresh Status (or `achieveit-updates status {job_id}`). Do not send it again."
        )
        result.outcome = replace(
            outcome, http_status=exc.http_status, message=message, checked_at=_now(now)
        )
        return
    state = final.state.value
    # A failed job's full text: every line may name a row's External ID.
    message = (final.body or final.message) if state == FAILED else final.message
    result.outcome = replace(
        outcome, state=state, http_status=final.http_status, message=message, checked_at=_now(now)
    )


def _now(now: Clock) -> dt.datetime:
    return now().replace(microsecond=0)


def _record_outcome(
    port: SheetPort,
    prepared: Prepared,
    result: SendResult,
    entry: ledger.Unrecorded,
    log_row: int,
) -> None:
    view, outcome = prepared.view, result.outcome
    if outcome.state != PROCESSING:
        _warn(
            result,
            ledger.remember(
                prepared.host, prepared.digest, outcome.job_id, outcome.state, view.source
            ),
        )
    reasons: dict[int, str] = {}
    if outcome.state == FAILED:
        # AchieveIt's reasons, on the rows whose External ID they name (never by position).
        sent = [(u.row, u.external_id) for u in prepared.plan.to_send]
        found = job_findings(outcome.message, sent)
        reasons = issues_text_by_row([*prepared.report.findings, *found]) if found else {}
    status = job_status_text(outcome.state, outcome.message)
    changes = SheetChanges(log_state={log_row: (outcome.state, outcome.message)})
    for update in prepared.plan.to_send:
        cells = view.tools.get(update.row, ToolCells())
        changes.rows[update.row] = replace(
            cells,
            job_status=status,
            checked_at=outcome.checked_at,
            issues=reasons.get(update.row, cells.issues),
        )
    _guarded_write(port, view, changes, result)


def _guarded_write(
    port: SheetPort, view: Snapshot, changes: SheetChanges, result: SendResult
) -> None:
    """After a POST nothing may hide the job ID: a write that fails is reported, not raised."""
    if result.write_problem:
        view.apply(changes)
        return
    try:
        _write(port, view, changes)
    except Exception as exc:  # noqa: BLE001 - COM errors, locked files: the job ID comes first
        result.write_problem = str(exc) or type(exc).__name__


def _commit(
    port: SheetPort, prepared: Prepared, result: SendResult, entry: ledger.Unrecorded
) -> None:
    outcome = result.outcome
    entry = replace(entry, job_id=outcome.job_id, state=outcome.state, message=outcome.message)
    if not result.write_problem:
        try:
            port.commit()
        except Exception as exc:  # noqa: BLE001 - as in _guarded_write
            result.write_problem = str(exc) or type(exc).__name__
    if not prepared.view.stateful:
        return  # a .csv input: the record of sends guards it, there are no rows to match
    if result.write_problem or not port.records:
        _warn(result, ledger.note_unrecorded(entry))
        return
    ledger.forget_unrecorded([entry, *prepared.recovered])


# ---------------------------------------------------------------------------------------------
# Refresh Status
# ---------------------------------------------------------------------------------------------


def refresh(
    port: SheetPort,
    view: Snapshot,
    link: Connection,
    *,
    now: Clock = dt.datetime.now,
    progress: Progress = _quiet,
) -> Settled | None:
    """Ask AchieveIt about every job still processing and record the answers. None when no
    job is waiting (nothing is asked, nothing written). Raises WorkbookError on a failed save."""
    changes = SheetChanges()
    recovered: list[ledger.Unrecorded] = []
    if view.stateful:
        recovered = ledger.unrecorded(link.host, view.source)
        changes.update(recover(view, recovered, now))
        view.apply(changes)
    settled = None
    if open_jobs(view):
        answers, settled = settle(view, link, now=now, progress=progress)
        changes.update(answers)
    if changes:
        _write(port, view, changes)
        port.commit()
        if port.records:
            ledger.forget_unrecorded(recovered)
    return settled


__all__ = [
    "SUCCEEDED",
    "Connection",
    "Prepared",
    "SendResult",
    "SheetChanges",
    "SheetPort",
    "Snapshot",
    "annotate",
    "check",
    "clear",
    "connection",
    "finish",
    "prepare",
    "refresh",
    "send",
    "settle",
]
