"""`achieveit-updates demo`: the whole job, end to end, offline, against the built-in stand-in.

It writes two sample workbooks into a folder, validates the one with mistakes, submits the
corrected one through the very same command-line code path a scheduled run uses, and shows what
came back.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .ledger import STATE_DIR_ENV
from .model import COLUMNS, RESULT_COLUMNS, UPDATES_SHEET

DEMO_FOLDER = "achieveit-demo"


def run_demo(where: Path) -> int:
    from .cli import main
    from .sandbox import DEMO_ITEMS, start_sandbox

    started = time.monotonic()
    folder = where / DEMO_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    today = dt.date.today()
    good = folder / "progress-updates.xlsx"
    bad = folder / "progress-updates-with-mistakes.xlsx"
    write_sample_workbook(good, sample_rows(DEMO_ITEMS, today))
    write_sample_workbook(bad, rows_with_mistakes(DEMO_ITEMS, today))

    _step(f"1. Sample workbooks written to {folder}")
    _step(f"2. Validating {bad.name} (it has mistakes on purpose):")
    main(["validate", str(bad)])

    with (
        start_sandbox(processing_delay=1.0) as sandbox,
        _env("ACHIEVEIT_API_KEY", sandbox.api_key),
        tempfile.TemporaryDirectory() as scratch,
        _env(STATE_DIR_ENV, scratch),  # rehearsals stay out of the record of real sends
    ):
        _step(f"3. Submitting {good.name} to the local AchieveIt stand-in at {sandbox.url}:")
        code = main(["submit", str(good), "--base-url", sandbox.url, "--wait", "--timeout", "10"])
        stored = len(sandbox.latest_updates())

    _step("4. What the workbook now says (columns F..L were written by the tool):")
    for line in _result_lines(good):
        print("   " + line)
    print(
        f"\nThe stand-in server stored {stored} updates. Open {good} to see the Job ID and"
        f" status next to each row.\nDone in {time.monotonic() - started:.1f} s."
    )
    return code


def sample_rows(items: Any, today: dt.date) -> list[list[Any]]:
    """One clean update for each demo plan item; metric items get a value."""
    statuses = ["On Track", "At Risk", "Off Track", "Achieved", "Not Started", "On Track"]
    rows = []
    for i, item in enumerate(items):
        metric = round(0.1 * (i % 9) + 0.05, 2) if item.has_metric else None
        when = dt.datetime.combine(today - dt.timedelta(days=i % 5), dt.time())
        comment = f'Weekly check-in: {item.name.lower()}, on schedule, "no blockers".'
        rows.append([item.external_id, statuses[i % len(statuses)], metric, when, comment])
    return rows


def rows_with_mistakes(items: Any, today: dt.date) -> list[list[Any]]:
    """The same rows with the mistakes people make most often."""
    rows = [list(r) for r in sample_rows(items, today)]
    rows[0][1] = "Cancelled"  # British spelling; AchieveIt says "Canceled"
    rows[1][3] = "13/01/2026"  # day/month order
    rows[2][2] = "20%"  # percent typed as text
    rows[3][3] = None  # missing date
    rows[4][0] = 731.0  # an ID Excel turned into a number (leading zeros lost)
    rows.insert(6, [None, None, None, None, "A note with no update"])
    return rows


def write_sample_workbook(path: Path, rows: list[list[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = UPDATES_SHEET
    ws.append(list(COLUMNS + RESULT_COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    for row in ws.iter_rows(min_row=2, min_col=1, max_col=1):
        row[0].number_format = "@"
    for row in ws.iter_rows(min_row=2, min_col=4, max_col=4):
        row[0].number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDEFGHI", (40, 12, 12, 12, 50, 40, 40, 12, 18), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    wb.save(path)


def _result_lines(path: Path) -> Iterator[str]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        for row in wb[UPDATES_SHEET].iter_rows(min_row=2, max_col=9, values_only=True):
            ext_id, status, job_id, job_status = row[0], row[1], row[6], row[7]
            if ext_id is not None:
                state = str(job_status or "").split(":")[0]
                yield f"{str(ext_id):<38} {status:<12} {state:<11} job {job_id or '-'}"
    finally:
        wb.close()


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _step(text: str) -> None:
    print(f"\n{text}", flush=True)
