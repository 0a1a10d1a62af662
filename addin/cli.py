"""The `achieveit-updates` command line: the same engine as the ribbon, for people and schedulers.

Exit codes: 0 ok; 1 invalid data or failed job; 2 usage or configuration; 3 API or network
error (a rejected key included); 4 still processing when --wait timed out (job ID printed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .errors import AddinError, ApiError, ConfigError, InvalidData, JobTimeout, WorkbookError
from .model import DATE_FORMATS, JobOutcome, Report, Settings

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_API, EXIT_PROCESSING = 0, 1, 2, 3, 4
BASE_URL_ENV = "ACHIEVEIT_BASE_URL"


def main(argv: Sequence[str] | None = None) -> int:
    # A scheduled task's redirected output may be cp1252: never crash on a status in Chinese.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except AddinError as exc:
        if getattr(args, "json", False) and args.command in ("submit", "status"):
            # Scripts reading --json get an answer even when we stopped before sending.
            outcome = JobOutcome(None, "not-submitted", None, str(exc))
            if args.command == "status":
                outcome = replace(outcome, job_id=args.job_id, state="unknown")
            print(json.dumps(outcome.as_json()))
        _err(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _err("Stopped.")
        return 130


# --- commands ---------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from . import submission

    if args.annotate:
        _require_workbook(args.file, "--annotate")
    port, view = _read(args.file, record=args.annotate)
    report = submission.check(view)
    plan = submission.plan(view, report)
    _end_progress()
    if args.json:
        result = report.as_json()
        if view.stateful:
            result["to_send"] = len(plan.to_send)
        print(json.dumps(result, indent=2))
    else:
        _print_report(report)
        if view.stateful and report.valid and not plan.first_time:
            print(_plan_line(plan))
            for note in submission.notes(view, report):
                print(f"  Row {note.row}: {note.message}")
    if args.annotate:
        _progress(f"Writing the findings into {Path(args.file).name}…", transient=True)
        submission.annotate(port, view, report)
        _end_progress()
        if not args.json:
            print(f"Findings written into {args.file}.")
    return EXIT_OK if report.valid else EXIT_INVALID


def cmd_export(args: argparse.Namespace) -> int:
    from . import submission
    from .atomicfile import write_bytes_atomically
    from .csvfile import export_csv

    _port, view = _read(args.file, args=args, record=False)
    report = submission.check(view)
    _end_progress()
    if not report.valid:
        _print_report(report, out=sys.stderr)
        raise InvalidData("Nothing was exported: fix the errors listed above, then export again.")
    data = export_csv(report, view.settings)
    target = Path(args.output)
    try:
        write_bytes_atomically(target, data)
    except OSError as exc:
        raise WorkbookError(f"Can't write {target}: {exc.strerror or exc}.") from exc
    print(f"Wrote {len(report.updates)} updates to {args.output} ({len(data)} bytes).")
    return EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    """Validate, send the new and changed rows, optionally wait, and record the outcome."""
    from . import submission, workbook

    path = Path(args.file)
    port, view = _read(path, args=args, record=not args.no_write_back)
    base_url = _base_url(args, view.settings)
    with submission.connection(base_url, _open_client) as link:
        prepared = submission.prepare(
            port,
            view,
            link,
            ask_server=not args.dry_run,
            resend_all=args.all,
            resend_unsettled=args.resend_unsettled,
            progress=_transient,
        )
        _end_progress()
        report, plan = prepared.report, prepared.plan
        if not report.valid:
            if not args.json:
                _print_report(report, out=sys.stderr)
            _keep(port, prepared, path, "The findings could not be marked in")
            return _not_sent(args, _report_summary(report) + " Nothing was sent.", EXIT_INVALID)
        if not report.updates:
            message = "There are no updates to send: the sheet has no data rows."
            return _not_sent(args, message, EXIT_INVALID)
        if not args.json:
            for line in prepared.settled.lines:
                print(line)
        if not plan.to_send:
            _keep(port, prepared, path, "What AchieveIt said could not be recorded in")
            return _not_sent(args, _nothing_to_send(prepared), EXIT_OK)
        if workbook.is_workbook(path):
            # Before anything is queued: a job that could not be recorded would invite a resend.
            port.check_writable()
        if args.dry_run:
            size = f"{len(plan.to_send)} updates ({len(prepared.data)} bytes)"
            message = f"Dry run: {size} would go to {base_url}. {_plan_line(plan)}"
            return _not_sent(args, message, EXIT_OK)
        on_purpose = args.allow_duplicate or args.all or args.resend_unsettled
        if prepared.earlier is not None and not on_purpose:
            _keep(port, prepared, path, "What AchieveIt said could not be recorded in")
            message = (
                f"{_earlier_words(prepared.earlier)} Nothing was sent. Use --allow-duplicate to "
                "send them again."
            )
            return _not_sent(args, message, EXIT_INVALID)
        if not args.json:
            print(_plan_line(plan))
        try:
            result = submission.send(
                port,
                prepared,
                link,
                wait=args.timeout if args.wait else None,
                progress=_transient,
            )
        except ApiError as exc:  # surely not queued
            outcome = JobOutcome(None, "not-submitted", exc.http_status, str(exc))
            return _finish(args, outcome, exc.exit_code)
        finally:
            _end_progress()
    for warning in result.warnings:
        _err(warning)
    code = _send_exit_code(result)
    if result.write_problem:
        _err(
            f"The results could not be written back into {path.name}: {result.write_problem} "
            "This computer keeps a note of the upload: the next submit of this workbook records "
            "it on the rows instead of sending them again."
        )
        code = code or EXIT_USAGE
    return _finish(args, result.outcome, code)


def _keep(port: Any, prepared: Any, path: Path, problem: str) -> None:
    """Save what was learnt without sending (findings, settled jobs); a locked file is said,
    not fatal: the refusal or the message that follows matters more."""
    from . import submission

    try:
        submission.finish(port, prepared)
    except WorkbookError as exc:
        _err(f"{problem} {path.name}: {exc}")


def _nothing_to_send(prepared: Any) -> str:
    from .sendstate import Standing

    plan = prepared.plan
    text = f"Nothing to send: {_plan_line(plan)}"
    if plan.held(Standing.UNSETTLED):
        text += (
            " Check in AchieveIt whether the waiting rows arrived; to send them again anyway, "
            "use --resend-unsettled."
        )
    elif plan.held(Standing.IN_FLIGHT):
        text += " Ask again later with: achieveit-updates refresh FILE."
    else:
        text += " Use --all to send them again on purpose."
    return text


def _plan_line(plan: Any) -> str:
    from .sendstate import describe

    return describe(plan)


def _earlier_words(earlier: Any) -> str:
    job = f", job {earlier.job_id}" if earlier.job_id else ""
    if earlier.in_workbook:
        return f"These exact updates were already sent from this workbook{job} (see its Log sheet)."
    return f"These exact updates were already sent to {earlier.host} on {earlier.when}{job}."


def _send_exit_code(result: Any) -> int:
    state = result.outcome.state
    if state == "unknown" or result.problem == "unchecked":
        return EXIT_API
    if result.problem == "timeout":
        return EXIT_PROCESSING
    return EXIT_INVALID if state == "failed" else EXIT_OK


def _not_sent(args: argparse.Namespace, message: str, code: int) -> int:
    return _finish(args, JobOutcome(None, "not-submitted", None, message), code)


def cmd_refresh(args: argparse.Namespace) -> int:
    """Refresh Status for a workbook: ask about every job still processing, record answers."""
    from . import submission

    _require_workbook(args.file, "refresh")
    port, view = _read(args.file, record=not args.no_write_back)
    with submission.connection(_base_url(args, view.settings), _open_client) as link:
        settled = submission.refresh(port, view, link, progress=_transient)
        _end_progress()
    if settled is None:
        print("No job is waiting for an answer from AchieveIt.")
        return EXIT_OK
    for line in settled.lines:
        print(line)
    if settled.unchecked:
        return EXIT_API
    return EXIT_INVALID if settled.failed else EXIT_OK


def cmd_items(args: argparse.Namespace) -> int:
    """Get Plan Items: print a plan's items, or fill a workbook's Plan Items sheet with them."""
    from .planitems import fetch_items, split_plan_ids

    settings = Settings()
    if args.file:
        from .workbook import read_settings

        _require_workbook(args.file, "items FILE")
        settings = read_settings(args.file) or Settings()
    elif args.add_rows:
        raise ConfigError("--add-rows needs a workbook: achieveit-updates items PLAN_ID FILE.")
    base_url = _base_url(args, settings)
    _progress(f"Reading the plan items from {base_url}…", transient=True)
    with _open_client(base_url) as client:
        try:
            fetched = fetch_items(client, split_plan_ids(args.plan_id), take=args.take)
        finally:
            _end_progress()
    result = fetched.as_json()
    if args.file:
        from .itemsheet import fill_workbook

        filled = fill_workbook(args.file, fetched.items, add_rows=args.add_rows)
        result["added_rows"] = [{"row": r, "external_id": i} for r, i in filled.added]
        if not args.json:
            name = Path(args.file).name
            print(f"Wrote {_count(filled.items, 'item')} into the Plan Items sheet of {name}.")
            if args.add_rows:
                print(
                    f"Added {_count(len(filled.added), 'Updates row')} for items without one"
                    + (
                        f" (rows {filled.added[0][0]}-{filled.added[-1][0]})."
                        if filled.added
                        else "."
                    )
                )
                if filled.added:
                    from .rules import ID_ONLY_ROWS

                    print(ID_ONLY_ROWS)
    elif not args.json:
        _print_items(fetched.items)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    elif fetched.note:
        print(fetched.note)
    return EXIT_OK


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _print_items(items: Sequence[Any]) -> None:
    columns = [
        ("External ID", [i.external_id for i in items]),
        ("Name", [i.name for i in items]),
        ("Status", [i.status for i in items]),
        ("Current Value", ["" if i.current_value is None else str(i.current_value) for i in items]),
    ]
    widths = [min(max([len(h), *map(len, v)]), 40) for h, v in columns]
    print("  ".join(h.ljust(w) for (h, _), w in zip(columns, widths, strict=True)).rstrip())
    for n in range(len(items)):
        cells = [v[n][:40].ljust(w) for (_, v), w in zip(columns, widths, strict=True)]
        print("  ".join(cells).rstrip())
    print(f"{_count(len(items), 'item')}.")


def cmd_status(args: argparse.Namespace) -> int:
    base_url = _base_url(args, Settings())
    with _open_client(base_url) as client:
        outcome, code = _poll(client, args.job_id, args.timeout if args.wait else None)
    if code == EXIT_API:
        outcome = replace(outcome, state="unknown")
    return _finish(args, outcome, code)


def cmd_login(args: argparse.Namespace) -> int:
    import getpass

    from .credentials import host_of, store_api_key

    host = host_of(_base_url(args, Settings()))
    if args.stdin:
        key = sys.stdin.readline().strip()
    else:
        key = getpass.getpass(f"API key for {host} (input is hidden): ")
    if not key.strip():
        raise ConfigError("No key was entered; nothing was stored.")
    store_api_key(host, key)
    print(f"The API key for {host} is stored in your system's credential store.")
    return EXIT_OK


def cmd_logout(args: argparse.Namespace) -> int:
    from .credentials import delete_api_key, host_of

    host = host_of(_base_url(args, Settings()))
    if delete_api_key(host):
        print(f"Removed the stored API key for {host}.")
    else:
        print(f"No API key was stored for {host}.")
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import serve_forever

    serve_forever(
        args.host,
        args.port,
        api_key=args.api_key,
        processing_delay=args.processing_delay,
        accept_any_id=args.accept_any_id,
        db_path=args.db,
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.dir))


# --- shared steps -----------------------------------------------------------------------------


def _read(
    path: str | Path, *, args: argparse.Namespace | None = None, record: bool = True
) -> tuple[Any, Any]:
    """The file's sheet port and its one reading (flags applied to the settings)."""
    from .workbook import FileSheets

    _progress(f"Reading {Path(path).name}…", transient=True)
    port = FileSheets(path, record=record)
    view = port.read()  # one open of the workbook
    if args is not None:
        view.settings = _apply_csv_flags(view.settings, args)
    _progress(f"Checking {len(view.table.rows):,} rows…", transient=True)
    return port, view


def _apply_csv_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    changes: dict[str, Any] = {}
    if getattr(args, "no_header", False):
        changes["include_header"] = False
    if getattr(args, "no_comment", False):
        changes["include_comment"] = False
    if getattr(args, "date_format", None):
        changes["date_format"] = args.date_format
    return replace(settings, **changes)


def _base_url(args: argparse.Namespace, settings: Settings) -> str:
    """Flags first, then ACHIEVEIT_BASE_URL (scheduled runs), then the workbook's Settings."""
    from .endpoints import resolve_base_url  # not .api: login/logout need no HTTP client

    if args.base_url or args.subdomain:
        return resolve_base_url(args.subdomain, args.base_url)
    if os.environ.get(BASE_URL_ENV, "").strip():
        return resolve_base_url(None, os.environ[BASE_URL_ENV].strip())
    return resolve_base_url(settings.subdomain, settings.base_url)  # "" counts as not set


def _open_client(base_url: str) -> Any:
    from .api import ProgressUpdatesClient
    from .credentials import get_api_key, host_of

    return ProgressUpdatesClient(base_url, get_api_key(host_of(base_url)))


def _poll(client: Any, job_id: str, timeout: float | None) -> tuple[JobOutcome, int]:
    """Ask once (timeout None) or until the job ends. The job ID survives every failure."""

    def show(status: Any, elapsed: float) -> None:
        _progress(f"Job {job_id}: {status.state.value} ({elapsed:.0f} s)", transient=True)

    now = dt.datetime.now().replace(microsecond=0)
    try:
        if timeout is None:
            return _outcome(client.status(job_id))
        return _outcome(client.wait(job_id, timeout=timeout, on_progress=show))
    except JobTimeout as exc:
        return JobOutcome(job_id, "processing", 202, str(exc), now), EXIT_PROCESSING
    except ApiError as exc:
        message = (
            f"The status of job {job_id} could not be checked: {exc} Check again later with: "
            f"achieveit-updates status {job_id}"
        )
        return JobOutcome(job_id, "processing", exc.http_status, message, now), EXIT_API
    finally:
        _end_progress()


def _outcome(status: Any) -> tuple[JobOutcome, int]:
    from .api import JobState

    now = dt.datetime.now().replace(microsecond=0)
    # A failed job's full text: every line may name a row's External ID.
    message = (status.body or status.message) if status.state is JobState.FAILED else status.message
    outcome = JobOutcome(status.job_id, status.state.value, status.http_status, message, now)
    code = {JobState.SUCCEEDED: EXIT_OK, JobState.FAILED: EXIT_INVALID}.get(status.state, EXIT_OK)
    return outcome, code


def _finish(args: argparse.Namespace, outcome: JobOutcome, code: int) -> int:
    if args.json:
        print(json.dumps(outcome.as_json()))
        return code
    out = sys.stdout if code == EXIT_OK else sys.stderr
    if outcome.job_id:
        print(f"Job ID: {outcome.job_id}", file=sys.stdout)
        print(f"State: {outcome.state}", file=sys.stdout)
    if outcome.message:
        print(outcome.message, file=out)
    if code == EXIT_PROCESSING:
        print(
            f"Still processing. Check later with: achieveit-updates status {outcome.job_id} --wait",
            file=sys.stderr,
        )
    return code


def _report_summary(report: Report) -> str:
    from .results import summary

    return summary(report.findings, report.rows)


def _print_report(report: Report, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if report.findings:
        width = max(len(f.column or "-") for f in report.findings)
        print(f"{'Row':>6}  {'Column':<{width}}  {'Severity':<8}  {'Code':<20}  Message", file=out)
        for f in report.findings:
            column = f.column or "-"
            message = f.message.replace("\n", " ")
            line = f"{f.row:>6}  {column:<{width}}  {f.severity:<8}  {f.code:<20}  {message}"
            print(line, file=out)
    print(_report_summary(report), file=out)


def _require_workbook(path: str | Path, option: str) -> None:
    from . import workbook

    if not workbook.is_workbook(path):
        raise ConfigError(f"{option} works on .xlsx/.xlsm workbooks; {path} is not one.")


_progress_shown = False  # a transient progress line is on the terminal


def _transient(message: str) -> None:
    _progress(message, transient=True)


def _progress(message: str, transient: bool = False) -> None:
    """Progress goes to stderr, and only for a person at a terminal."""
    global _progress_shown
    if not sys.stderr.isatty():
        return
    sys.stderr.write("\r" + message.ljust(70) + ("" if transient else "\n"))
    sys.stderr.flush()
    _progress_shown = transient


def _end_progress() -> None:
    """Clear a transient progress line, so what follows starts on a clean line."""
    global _progress_shown
    if _progress_shown:
        sys.stderr.write("\r" + " " * 70 + "\r")
        sys.stderr.flush()
        _progress_shown = False


def _err(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr)


# --- argument parsing -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="achieveit-updates",
        description="Validate, export and submit AchieveIt progress updates from a workbook "
        "or CSV.",
        epilog="Exit codes: 0 ok, 1 invalid data or failed job, 2 usage/configuration, "
        "3 API or network error, 4 still processing after --wait timed out.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a workbook or CSV and list what is wrong")
    p.add_argument("file", help=".xlsx, .xlsm or .csv")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--annotate", action="store_true", help="mark the findings in the workbook")
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("export", help="write the exact CSV that submit would send")
    p.add_argument("file")
    p.add_argument("-o", "--output", required=True, help="the CSV file to write")
    _csv_flags(p)
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("submit", help="validate, send to AchieveIt and record the job")
    p.add_argument("file")
    _target_flags(p)
    _wait_flags(p)
    p.add_argument("--dry-run", action="store_true", help="check and build the CSV, send nothing")
    p.add_argument("--no-write-back", action="store_true", help="leave the workbook unchanged")
    p.add_argument(
        "--allow-duplicate",
        action="store_true",
        help="send even if these exact updates were sent before (the workbook's Log sheet, "
        "or this computer's record of sends)",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="send every valid row, also those already sent unchanged (on purpose: AchieveIt "
        "records them twice; implies --allow-duplicate)",
    )
    p.add_argument(
        "--resend-unsettled",
        action="store_true",
        help="also send rows whose last job is still processing or whose last upload may not "
        "have arrived (check the plan in AchieveIt first; implies --allow-duplicate)",
    )
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    _csv_flags(p)
    p.set_defaults(run=cmd_submit)

    p = sub.add_parser(
        "refresh", help="ask AchieveIt about a workbook's jobs still processing, record answers"
    )
    p.add_argument("file", help=".xlsx or .xlsm")
    _target_flags(p)
    p.add_argument("--no-write-back", action="store_true", help="leave the workbook unchanged")
    p.set_defaults(run=cmd_refresh)

    p = sub.add_parser(
        "items",
        help="get a plan's items from AchieveIt: print them, or fill a workbook's Plan Items sheet",
    )
    p.add_argument("plan_id", metavar="PLAN_ID", help="from 'Copy Plan ID' (several: a,b)")
    p.add_argument("file", nargs="?", metavar="FILE", help=".xlsx or .xlsm to fill")
    _target_flags(p)
    p.add_argument(
        "--add-rows",
        action="store_true",
        help="add an Updates row (External ID filled, the rest blank) per item without one",
    )
    p.add_argument("--take", type=_whole, default=100, metavar="N", help="items per page")
    p.add_argument("--json", action="store_true", help="print the items as JSON")
    p.set_defaults(run=cmd_items)

    p = sub.add_parser("status", help="ask AchieveIt how a job is doing")
    p.add_argument("job_id")
    _target_flags(p)
    _wait_flags(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_status)

    p = sub.add_parser("login", help="store the API key in the system's credential store")
    _target_flags(p)
    p.add_argument("--stdin", action="store_true", help="read the key from standard input")
    p.set_defaults(run=cmd_login)

    p = sub.add_parser("logout", help="remove the stored API key")
    _target_flags(p)
    p.set_defaults(run=cmd_logout)

    p = sub.add_parser("sandbox", help="run a local AchieveIt stand-in to rehearse against")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--api-key", help="the key clients must send (default: a random one, printed)")
    p.add_argument("--processing-delay", type=float, default=2.0, metavar="SECONDS")
    p.add_argument("--accept-any-id", action="store_true", help="accept unknown External IDs")
    p.add_argument("--db", help="SQLite file to keep the demo plan and updates in")
    p.set_defaults(run=cmd_sandbox)

    from .workbookcli import register as register_workbook

    register_workbook(sub)

    p = sub.add_parser("demo", help="offline, end to end, against a built-in stand-in server")
    p.add_argument("--dir", default=".", help="where to create the sample workbooks")
    p.set_defaults(run=cmd_demo)
    return parser


def _target_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--base-url", help=f"full API address (or set {BASE_URL_ENV})")
    group.add_argument("--subdomain", help="API subdomain: api (default) or gov-api")


def _wait_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true", help="poll until the job ends")
    p.add_argument("--timeout", type=_positive, default=300.0, metavar="SECONDS")


def _csv_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-header", action="store_true", help="leave out the CSV header row")
    p.add_argument("--no-comment", action="store_true", help="leave out the Comment column")
    p.add_argument("--date-format", choices=DATE_FORMATS, help="date format in the CSV")


def _whole(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


if __name__ == "__main__":
    sys.exit(main())
