"""Workbooks made with XlsxWriter, whose files match Excel's own output (shared strings, the
parts' layout), laid out as the template lays out Updates: headers A..L in an Excel table,
J and K hidden, the two colour rules. `extras=True` adds another sheet with a chart, an image,
a comment and a form control (button): parts openpyxl drops or rewrites."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from workbook_factory import RIBBON_IMAGE

from addin import marks, model
from addin.results import ERROR_FILL, ERROR_FONT, WARNING_FILL, WARNING_FONT

HEADERS = [*model.COLUMNS, *marks.TOOL_HEADERS]


def build_xlsxwriter_workbook(
    path: Path,
    rows: Sequence[Sequence[Any]],
    *,
    extras: bool = False,
    date1904: bool = False,
    log_rows: Sequence[Sequence[Any]] = (),
    tool_cells: dict[str, Any] | None = None,
) -> Path:
    options: dict[str, Any] = {"date_1904": date1904}
    wb = xlsxwriter.Workbook(str(path), options)
    ws = wb.add_worksheet(model.UPDATES_SHEET)
    date = wb.add_format({"num_format": "mm/dd/yyyy"})
    for index, line in enumerate(rows, start=1):
        for col, value in enumerate(line):
            if isinstance(value, dt.datetime | dt.date):
                ws.write_datetime(index, col, value, date)
            elif value is not None:
                ws.write(index, col, value)
    for ref, value in (tool_cells or {}).items():
        ws.write(ref, value)
    ws.add_table(
        0,
        0,
        max(len(rows), 1),
        len(HEADERS) - 1,
        {"name": "UpdatesTable", "columns": [{"header": h} for h in HEADERS]},
    )
    for letter in marks.HIDDEN_COLUMNS:
        ws.set_column(f"{letter}:{letter}", None, None, {"hidden": True})
    for formula, fill, font, stop in (
        (marks.ERROR_RULE_FORMULA, ERROR_FILL, ERROR_FONT, True),
        (marks.WARNING_RULE_FORMULA, WARNING_FILL, WARNING_FONT, False),
    ):
        style = wb.add_format({"bg_color": "#" + fill, "font_color": "#" + font})
        rule: dict[str, Any] = {"type": "formula", "criteria": "=" + formula, "format": style}
        if stop:
            rule["stop_if_true"] = True
        ws.conditional_format(marks.rule_range(), rule)
    wb.add_worksheet(model.SETTINGS_SHEET).write_row(0, 0, ["Setting", "Value", "What it means"])
    log = wb.add_worksheet(model.LOG_SHEET)
    log.write_row(0, 0, list(model.LOG_COLUMNS))
    for index, line in enumerate(log_rows, start=1):
        log.write_row(index, 0, list(line))
    if log_rows:
        log.add_table(
            0,
            0,
            len(log_rows),
            len(model.LOG_COLUMNS) - 1,
            {"name": "LogTable", "columns": [{"header": h} for h in model.LOG_COLUMNS]},
        )
    if extras:
        _add_extras(wb, path)
    wb.close()
    return path


def _add_extras(wb: Any, path: Path) -> None:
    sheet = wb.add_worksheet("Dashboard")
    sheet.write_column("A1", ["Q1", "Q2", "Q3"])
    sheet.write_column("B1", [3, 5, 8])
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"categories": "=Dashboard!$A$1:$A$3", "values": "=Dashboard!$B$1:$B$3"})
    sheet.insert_chart("D2", chart)
    image = path.with_name("pixel.png")
    image.write_bytes(RIBBON_IMAGE)
    sheet.insert_image("D20", str(image))
    sheet.write_comment("A1", "A comment with **formatting** kept", {"author": "Someone"})
    sheet.insert_button("B6", {"macro": "say_hello", "caption": "Press me"})


def sample(count: int) -> list[list[Any]]:
    statuses = model.DEFAULT_STATUSES
    return [
        [
            f"ID-{n:04d}",
            statuses[n % len(statuses)],
            n * 1.5,
            dt.datetime(2026, 1, 1 + n % 28),
            f"comment {n} & <more>",
        ]
        for n in range(1, count + 1)
    ]
