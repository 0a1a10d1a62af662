"""The openpyxl adapter, on real .xlsx/.xlsm/.csv files built in tmp_path."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import markcodes
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from workbook_factory import (
    DATA_BAR_LINK,
    HEADER,
    RIBBON14_PART,
    RIBBON_IMAGE_PART,
    STATUSES_RANGE,
    X14_DATA_BAR,
    X14_DATA_VALIDATION,
    X14_SLICERS,
    X15_WORKBOOK,
    build_extended_workbook,
    build_macro_workbook,
    build_workbook,
    rewrite_part,
    ribbon_relationships,
    root_extensions,
    sample_rows,
    set_formula_results,
    zip_part,
)

from addin import marks, model, submission, workbook, xlsxfile
from addin.csvfile import read_csv_table
from addin.errors import WorkbookError
from addin.model import Finding, JobOutcome, LogEntry, Settings, Uncalculated
from addin.results import ERROR_FILL, ERROR_FONT, WARNING_FILL, WARNING_FONT, cell_marks
from addin.sheetxml import local_name

MARKS_COL = marks.MARKS_INDEX + 1  # J, 1-based
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# The two colour rules as the sheet must carry them, in priority order:
# (range, formula, stopIfTrue, fill, font).
MARK_RULES = [
    ("A2:E1048576", marks.ERROR_RULE_FORMULA, True, f"FF{ERROR_FILL}", f"FF{ERROR_FONT}"),
    ("A2:E1048576", marks.WARNING_RULE_FORMULA, False, f"FF{WARNING_FILL}", f"FF{WARNING_FONT}"),
]

ROWS = [
    ["A-1", "On Track", 10, dt.datetime(2026, 1, 5), "fine"],
    ["A-2", "At Risk", None, dt.datetime(2026, 1, 6), None],
    ["A-3", "Off Track", 2.5, "2026-01-07", "text date"],
]


def values_of(table: model.Table) -> list[tuple[int, tuple[Any, ...]]]:
    return [(r.number, r.values) for r in table.rows]


def input_cells(path: Path) -> dict[str, Any]:
    """Every A..E value (formulas as formulas) of every sheet."""
    wb = openpyxl.load_workbook(path, data_only=False)
    return {
        f"{ws.title}!{c.coordinate}": c.value
        for ws in wb.worksheets
        for row in ws.iter_rows(max_col=5)
        for c in row
        if c.value is not None
    }


def input_formats(path: Path) -> dict[str, tuple[Any, ...]]:
    """Fill, font and number format of every A..E cell of the Updates sheet."""
    ws = openpyxl.load_workbook(path)["Updates"]
    return {
        c.coordinate: (fill_of(c), c.font.color and c.font.color.rgb, c.number_format)
        for row in ws.iter_rows(max_col=5)
        for c in row
    }


def mark_rules(ws: Any) -> list[tuple[str, str, bool, str, str]]:
    """The sheet's Marks colour rules, by priority: (range, formula, stopIfTrue, fill, font)."""
    ours = {marks.ERROR_RULE_FORMULA, marks.WARNING_RULE_FORMULA}
    found = [
        (
            rule.priority,
            str(cf.sqref),
            rule.formula[0],
            bool(rule.stopIfTrue),
            rule.dxf.fill.bgColor.rgb,
            rule.dxf.font.color.rgb,
        )
        for cf in ws.conditional_formatting
        for rule in cf.rules
        if rule.formula and rule.formula[0] in ours
    ]
    return [item[1:] for item in sorted(found)]


def codes(ws: Any, rows: Any) -> list[Any]:
    """The Marks codes (column J) of the given rows."""
    return [ws.cell(n, MARKS_COL).value for n in rows]


def fill_of(cell: Any) -> str | None:
    if cell.fill is None or cell.fill.fill_type != "solid":
        return None
    return str(cell.fill.fgColor.rgb)[-6:].upper()


# ---------------------------------------------------------------------------------------------
# read_table
# ---------------------------------------------------------------------------------------------


def test_reads_a_normal_sheet(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    table = workbook.read_table(path)
    assert (table.source, table.sheet, table.header_row) == (str(path), "Updates", 1)
    assert table.header == tuple(HEADER)
    assert values_of(table) == [(n, tuple(r)) for n, r in enumerate(ROWS, start=2)]
    assert table.findings == ()
    assert not any(r.hidden for r in table.rows)


def test_header_on_row_3_with_a_title_above(tmp_path: Path) -> None:
    path = build_workbook(
        tmp_path / "u.xlsx", ROWS[:1], header_row=3, above_header=[["Q1 updates"], []]
    )
    table = workbook.read_table(path)
    assert table.header_row == 3
    assert values_of(table) == [(4, tuple(ROWS[0]))]


@pytest.mark.parametrize(
    "header_a1",
    ["External ID", " external id ", "\ufeffExternal ID", "EXTERNAL  ID"],
)
def test_header_cell_is_matched_loosely(tmp_path: Path, header_a1: str) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS[:1], header=[header_a1, *HEADER[1:]])
    assert workbook.read_table(path).header_row == 1


def test_no_header_gives_an_empty_table(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS, header=["ID", *HEADER[1:]])
    table = workbook.read_table(path)
    assert (table.header_row, table.header, table.rows) == (None, (), ())


def test_header_below_row_10_is_not_found(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS, header_row=11)
    assert workbook.read_table(path).header_row is None


@pytest.mark.parametrize(
    ("sheets_before", "sheet", "expected"),
    [
        ((), "Data", "Data"),  # no Updates sheet: the first sheet
        (("Read Me", "Settings"), "Updates", "Updates"),  # Updates wherever it is
        (("Read Me",), "updates", "updates"),  # any case
    ],
)
def test_sheet_choice(tmp_path: Path, sheets_before: tuple[str, ...], sheet: str, expected: str):
    path = build_workbook(tmp_path / "u.xlsx", ROWS, sheet=sheet, sheets_before=sheets_before)
    table = workbook.read_table(path)
    assert table.sheet == expected
    assert len(table.rows) == len(ROWS)


def test_first_sheet_when_no_updates_sheet(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS, sheets_before=("Notes",), sheet="Data")
    table = workbook.read_table(path)
    assert table.sheet == "Notes"
    assert table.header_row is None  # 'Notes' has no header: the rules will say so


def test_dates_come_as_datetimes(tmp_path: Path) -> None:
    path = build_workbook(
        tmp_path / "u.xlsx",
        [["A-1", "On Track", 1, dt.date(2026, 2, 3), None]],
        number_formats={"D2": "mm/dd/yyyy"},
    )
    assert workbook.read_table(path).rows[0].values[3] == dt.datetime(2026, 2, 3)


@pytest.mark.parametrize("error", ["#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NAME?"])
def test_error_values_stay_error_strings(tmp_path: Path, error: str) -> None:
    path = build_workbook(tmp_path / "u.xlsx", [["A-1", "On Track", error, error, None]])
    values = workbook.read_table(path).rows[0].values
    assert values[2:4] == (error, error)
    assert error in model.EXCEL_ERRORS


def test_formulas_without_cached_values_are_uncalculated(tmp_path: Path) -> None:
    # openpyxl writes formulas and no calculated values: exactly the case to detect.
    path = build_workbook(tmp_path / "u.xlsx", [['="A-"&1', "On Track", "=1+1", "=TODAY()", "ok"]])
    values = workbook.read_table(path).rows[0].values
    assert values[:4] == (
        Uncalculated('="A-"&1'),
        "On Track",
        Uncalculated("=1+1"),
        Uncalculated("=TODAY()"),
    )


def test_formulas_with_cached_values_read_their_values(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", [["A-1", "On Track", "=1+1", None, '=""']])
    # As Excel saves them: a cached number, and a formula returning "" (t="str", empty <v>).
    rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: (
            xml.replace(b"<f>1+1</f><v />", b"<f>1+1</f><v>2</v>")
            .replace(b'<c r="E2"', b'<c r="E2" t="str"')
            .replace(b'<f>""</f><v />', b'<f>""</f><v></v>')
        ),
    )
    values = workbook.read_table(path).rows[0].values
    assert values[2] == 2
    assert not isinstance(values[4], Uncalculated)


def test_shared_formulas_are_translated_per_cell(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", [["A-1", "On Track", "=F2*2"]] * 2)
    rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(
            b"<f>F2*2</f><v />", b'<f t="shared" ref="C2:C3" si="0">F2*2</f><v />', 1
        ).replace(b"<f>F2*2</f><v />", b'<f t="shared" si="0"/><v />', 1),
    )
    rows = workbook.read_table(path).rows
    assert [r.values[2] for r in rows] == [Uncalculated("=F2*2"), Uncalculated("=F3*2")]


def test_merged_cells_in_the_data_area_are_findings(tmp_path: Path) -> None:
    path = build_workbook(
        tmp_path / "u.xlsx",
        sample_rows(6),
        header_row=2,
        above_header=[["Title"]],
        merged=["A1:E1", "B4:B7", "D8:E9", "F3:G5"],  # title, two in data, one in tool columns
    )
    table = workbook.read_table(path)
    assert [(f.row, f.column, f.severity, f.code, f.value) for f in table.findings] == [
        (4, model.STATUS, "error", "merged-cells", "B4:B7"),
        (8, model.AS_OF_DATE, "error", "merged-cells", "D8:E9"),
    ]
    assert table.findings[0].message == (
        "Cells B4:B7 are merged: unmerge them and fill in each row "
        "(AchieveIt needs one value per row)."
    )


def test_hidden_rows_are_flagged(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", sample_rows(4), hidden=[3, 5])
    assert [(r.number, r.hidden) for r in workbook.read_table(path).rows] == [
        (2, False),
        (3, True),
        (4, False),
        (5, True),
    ]


@pytest.mark.parametrize(
    ("value", "number_format", "expected"),
    [
        ("00123", "@", "00123"),  # stored as text
        (123, "00000", "00123"),  # a number shown with leading zeros: what the user sees
        (123, "General", 123),
        (12.5, "00000", 12.5),  # not a whole number: left for the rules
    ],
)
def test_leading_zero_ids(tmp_path: Path, value: Any, number_format: str, expected: Any) -> None:
    path = build_workbook(
        tmp_path / "u.xlsx",
        [[value, "On Track", 1, dt.datetime(2026, 1, 1)]],
        number_formats={"A2": number_format},
    )
    assert workbook.read_table(path).rows[0].values[0] == expected


def test_trailing_blank_rows_and_tool_columns_are_ignored(tmp_path: Path) -> None:
    rows = [ROWS[0], [None] * 5, ROWS[1], ["  ", None], [None] * 5 + ["old issue", "job-1"]]
    path = build_workbook(tmp_path / "u.xlsx", rows)
    table = workbook.read_table(path)
    assert [r.number for r in table.rows] == [2, 3, 4]  # the blank row inside stays
    assert table.rows[1].is_blank()


def test_a_wrong_dimension_does_not_cut_the_table(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', xml),
    )
    table = workbook.read_table(path)
    assert table.header == tuple(HEADER)
    assert values_of(table) == [(n, tuple(r)) for n, r in enumerate(ROWS, start=2)]


def test_csv_is_read_by_the_csv_reader(tmp_path: Path) -> None:
    data = b"External ID,Status,Current Metric Value,As Of Date,Comment\r\n007,On Track,1,,\r\n"
    path = tmp_path / "u.csv"
    path.write_bytes(data)
    assert workbook.read_table(path) == read_csv_table(data, source=str(path))


def test_100000_rows_read_in_bounded_time(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Updates")
    ws.append(HEADER)
    for line in sample_rows(100_000):
        ws.append(line)
    wb.save(path)
    start = time.perf_counter()
    table = workbook.read_table(path)
    elapsed = time.perf_counter() - start
    assert len(table.rows) == 100_000
    assert table.rows[-1].number == 100_001
    assert table.rows[-1].values[0] == "ID-100000"
    assert elapsed < 60, f"reading 100,000 rows took {elapsed:.1f} s"  # ~7-10 s measured here


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a zip", "is not a readable Excel workbook"),
        (b"PK\x03\x04 truncated", "is not a readable Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "is password-protected"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "u.xlsx"
    path.write_bytes(content)
    readers = (
        workbook.read_table,
        workbook.read_settings,
        workbook.read_log_hashes,
        lambda p: workbook.FileSheets(p).read(),
    )
    for read in readers:
        with pytest.raises(WorkbookError, match=message):
            read(path)


def test_a_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "u.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(WorkbookError, match="may be damaged"):
        workbook.read_table(path)


def test_password_message_says_how_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "u.xlsm"
    path.write_bytes(xlsxfile.OLE_MAGIC + b"\0" * 100)
    with pytest.raises(WorkbookError) as caught:
        workbook.read_table(path)
    assert "remove the password (File > Info > Protect Workbook)" in str(caught.value)


@pytest.mark.parametrize("name", ["gone.xlsx", "gone.xlsm", "gone.csv"])
def test_missing_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(WorkbookError, match=r"Can't find .*gone"):
        workbook.read_table(tmp_path / name)


@pytest.mark.parametrize("suffix", [".xls", ".xlsb", ".ods", ".numbers", ""])
def test_unsupported_formats_say_save_as(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"u{suffix}"
    path.write_bytes(b"whatever")
    with pytest.raises(WorkbookError, match=r"Save As.*\.xlsx.*CSV"):
        workbook.read_table(path)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_permission_denied(tmp_path: Path, monkeypatch, suffix: str) -> None:
    path = build_workbook(tmp_path / f"u{suffix}", ROWS)
    real_open = Path.open

    def guarded(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)  # as for a file we may not read (tests run as root)
    with pytest.raises(WorkbookError, match="permission denied"):
        workbook.read_table(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.xlsx", True), ("a.XLSM", True), ("a.csv", False), ("a.xls", False)],
)
def test_is_workbook(name: str, expected: bool) -> None:
    assert workbook.is_workbook(name) is expected


# ---------------------------------------------------------------------------------------------
# read_settings / read_log_hashes
# ---------------------------------------------------------------------------------------------


def test_read_settings_from_files(tmp_path: Path) -> None:
    macro = build_macro_workbook(tmp_path / "t.xlsm", sample_rows(2))
    assert workbook.read_settings(macro) == Settings()
    assert workbook.read_settings(build_workbook(tmp_path / "u.xlsx", ROWS)) is None
    csv = tmp_path / "u.csv"
    csv.write_bytes(b"External ID\r\n")
    assert workbook.read_settings(csv) is None


def test_read_log_hashes(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    assert workbook.read_log_hashes(path) == set()
    wb = openpyxl.load_workbook(path)
    log = wb.create_sheet("Log")
    log.append(["When", "CSV SHA-256", "File name"])  # found by header, not position
    log.append([dt.datetime(2026, 1, 1), "AB12", "x"])
    log.append([None, None, "y"])
    log.append([None, " cd34 ", "z"])
    wb.save(path)
    assert workbook.read_log_hashes(path) == {"ab12", "cd34"}


@pytest.mark.parametrize("kind", ["plain", "macro", "with log", "csv", "no header"])
def test_the_file_port_reads_what_the_three_readers_give(tmp_path: Path, kind: str) -> None:
    if kind == "macro":
        path = build_macro_workbook(tmp_path / "t.xlsm", sample_rows(3))
    elif kind == "csv":
        path = tmp_path / "u.csv"
        path.write_bytes(b"External ID,Status\r\nA-1,On Track\r\n")
    elif kind == "no header":
        path = build_workbook(tmp_path / "u.xlsx", ROWS, header=None)
    else:
        path = build_workbook(tmp_path / "u.xlsx", ROWS)
    if kind == "with log":
        wb = openpyxl.load_workbook(path)
        wb.create_sheet("Log").append(["CSV SHA-256"])
        wb["Log"].append(["Ab12"])
        wb.save(path)
    view = workbook.FileSheets(path).read()
    hashes = {entry.sha256 for entry in view.log if entry.sha256}
    assert view.table == workbook.read_table(path)
    assert view.settings == (workbook.read_settings(path) or Settings())
    assert hashes == workbook.read_log_hashes(path)
    assert (workbook.read_settings(path) is None) == (kind != "macro")
    assert hashes == ({"ab12"} if kind == "with log" else set())
    assert view.stateful == (kind != "csv")


def test_the_file_port_opens_the_workbook_once(tmp_path: Path, monkeypatch) -> None:
    path = build_macro_workbook(tmp_path / "t.xlsm", sample_rows(3))
    opened: list[Any] = []
    load = openpyxl.load_workbook

    def counting_load(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return load(*args, **kwargs)

    monkeypatch.setattr(xlsxfile.openpyxl, "load_workbook", counting_load)
    view = workbook.FileSheets(path).read()
    assert len(opened) == 1
    assert len(view.table.rows) == 3 and view.settings == Settings()


# ---------------------------------------------------------------------------------------------
# write_back
# ---------------------------------------------------------------------------------------------

FINDINGS = (
    Finding(3, model.STATUS, "error", "unknown-status", "bad status"),
    Finding(3, model.AS_OF_DATE, "warning", "future-date", "in the future"),
    Finding(4, model.METRIC, "warning", "x", "odd number"),
    Finding(4, None, "error", "duplicate", "same ID twice"),
)


def test_write_back_writes_marks_codes_and_issues(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    before = input_formats(path)
    table = workbook.read_table(path)
    workbook.write_back(path, table=table, findings=FINDINGS)
    ws = openpyxl.load_workbook(path)["Updates"]
    assert [ws.cell(1, c).value for c in range(1, 11)] == [
        *HEADER,
        *model.RESULT_COLUMNS,
        marks.MARKS_HEADER,
    ]
    assert ws.column_dimensions[marks.MARKS_COLUMN].hidden
    # Row 3: Status error, As Of Date warning; row 4: Metric warning (its whole-row error
    # colours no cell). The rules turn exactly these letters into red and amber.
    assert codes(ws, (2, 3, 4)) == [None, ".E.W.", "..W.."]
    assert markcodes.marked_cells([(3, ".E.W."), (4, "..W..")]) == cell_marks(FINDINGS)
    assert mark_rules(ws) == MARK_RULES
    assert input_formats(path) == before  # no direct fills: A..E keep their formatting
    assert ws["F2"].value is None
    assert ws["F3"].value == "Error – Status: bad status\nWarning – As Of Date: in the future"
    assert ws["F4"].value == "Error – same ID twice\nWarning – Current Metric Value: odd number"
    assert ws["F3"].alignment.wrap_text


def test_second_run_replaces_codes_and_keeps_one_copy_of_the_rules(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    table = workbook.read_table(path)
    workbook.write_back(path, table=table, findings=FINDINGS)
    later = (Finding(2, model.COMMENT, "warning", "long", "long comment"),)
    workbook.write_back(path, table=table, findings=later)
    ws = openpyxl.load_workbook(path)["Updates"]
    assert codes(ws, (2, 3, 4)) == ["....W", None, None]
    assert [ws[f"F{n}"].value for n in (2, 3, 4)] == ["Warning – Comment: long comment", None, None]
    assert mark_rules(ws) == MARK_RULES
    assert len(list(ws.conditional_formatting)) == 1  # one range holding the two rules
    workbook.write_back(path, table=table, findings=())
    ws = openpyxl.load_workbook(path)["Updates"]
    assert codes(ws, (2, 3, 4)) == [None, None, None]
    assert ws.cell(1, MARKS_COL).value == marks.MARKS_HEADER


def test_users_own_fill_survives_an_error_on_its_cell(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    wb = openpyxl.load_workbook(path)
    wb["Updates"]["B3"].fill = PatternFill("solid", start_color="FFFF00")  # the user's own
    wb["Updates"]["A2"].fill = PatternFill("solid", start_color=ERROR_FILL)  # even in our red
    wb.save(path)
    before = input_formats(path)
    table = workbook.read_table(path)
    workbook.write_back(path, table=table, findings=FINDINGS)  # B3 has an error
    workbook.write_back(path, table=table, findings=())  # and it is fixed again
    ws = openpyxl.load_workbook(path)["Updates"]
    assert (fill_of(ws["B3"]), fill_of(ws["A2"])) == ("FFFF00", ERROR_FILL)
    assert input_formats(path) == before


@pytest.mark.parametrize(("header_row", "first"), [(1, "A2"), (3, "A4")])
def test_a_plain_workbook_gets_the_rules_below_its_header(
    tmp_path: Path, header_row: int, first: str
) -> None:
    above = [["Q1 updates"], []][: header_row - 1]
    path = build_workbook(tmp_path / "u.xlsx", ROWS, header_row=header_row, above_header=above)
    workbook.write_back(path, table=workbook.read_table(path), findings=())
    ws = openpyxl.load_workbook(path)["Updates"]
    rules = mark_rules(ws)
    assert [r[0] for r in rules] == [f"{first}:E1048576"] * 2
    assert [r[1:] for r in rules] == [r[1:] for r in MARK_RULES]
    assert ws.cell(header_row, MARKS_COL).value == marks.MARKS_HEADER


def test_template_rules_are_not_duplicated(tmp_path: Path) -> None:
    path = build_macro_workbook(tmp_path / "t.xlsm", sample_rows(3))
    table = workbook.read_table(path)
    for findings in (FINDINGS, ()):
        workbook.write_back(path, table=table, findings=findings)
    ws = openpyxl.load_workbook(path, keep_vba=True)["Updates"]
    assert mark_rules(ws) == MARK_RULES
    priorities = [rule.priority for cf in ws.conditional_formatting for rule in cf.rules]
    assert len(priorities) == 3 and len(set(priorities)) == 3  # C's rule plus our two, once


def test_only_a_missing_rule_is_added_after_the_others(tmp_path: Path) -> None:
    # Someone deleted the warning rule, and Excel saved the others with gaps in priority.
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    wb = openpyxl.load_workbook(path)
    ws = wb["Updates"]
    error_rule = FormulaRule(
        formula=[marks.ERROR_RULE_FORMULA],
        stopIfTrue=True,
        fill=PatternFill(bgColor=f"FF{ERROR_FILL}"),
        font=Font(color=f"FF{ERROR_FONT}"),
    )
    error_rule.priority = 7
    ws.conditional_formatting.add("A2:E1048576", error_rule)
    wb.save(path)
    workbook.write_back(path, table=workbook.read_table(path), findings=FINDINGS)
    ws = openpyxl.load_workbook(path)["Updates"]
    assert mark_rules(ws) == MARK_RULES
    assert [rule.priority for cf in ws.conditional_formatting for rule in cf.rules] == [7, 8]


@pytest.mark.parametrize(
    ("cols", "expected"),
    [
        ([], [(10, 10, True), (11, 11, True)]),
        ([("J", "J", 8.0)], [(10, 10, True), (11, 11, True)]),  # the template's own J
        # split around J and K
        ([("H", "L", 30.0)], [(8, 9, False), (10, 10, True), (11, 11, True), (12, 12, False)]),
        ([("J", "M", 30.0)], [(10, 10, True), (11, 11, True), (12, 13, False)]),
        ([("A", "J", 12.0)], [(1, 9, False), (10, 10, True), (11, 11, True)]),
    ],
)
def test_marks_and_sent_columns_are_hidden_without_overlapping_column_ranges(
    tmp_path: Path, cols: list[tuple[str, str, float]], expected: list[tuple[int, int, bool]]
) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    wb = openpyxl.load_workbook(path)
    for first, last, width in cols:
        wb["Updates"].column_dimensions.group(first, last, outline_level=0)
        wb["Updates"].column_dimensions[first].width = width
    wb.save(path)
    workbook.write_back(path, table=workbook.read_table(path), findings=FINDINGS)
    root = ET.fromstring(zip_part(path, "xl/worksheets/sheet1.xml"))
    cols_xml = [c.attrib for c in root.iter(f"{{{SHEET_NS}}}col")]
    spans = [(int(c["min"]), int(c["max"]), c.get("hidden") == "1") for c in cols_xml]
    assert spans == expected  # sorted, disjoint, J and K alone and hidden
    user_widths = {f"{w:g}" for _, _, w in cols}
    assert all(c["width"] in user_widths for c in cols_xml if c.get("hidden") != "1")


def test_header_findings_go_into_a_note(tmp_path: Path) -> None:
    header = ["External ID", "State", *HEADER[2:]]
    path = build_workbook(tmp_path / "u.xlsx", ROWS, header=header)
    table = workbook.read_table(path)
    bad = Finding(1, None, "error", "bad-header", "The header row must read …")
    workbook.write_back(path, table=table, findings=[bad, FINDINGS[0]])
    ws = openpyxl.load_workbook(path)["Updates"]
    assert ws["A1"].comment.text == "Error – The header row must read …"
    assert ws["F1"].value == model.ISSUES  # the header cell keeps its word
    assert ws["J1"].value == marks.MARKS_HEADER  # and the header row gets no code
    assert [fill_of(c) for c in ws[1][:10]] == [None] * 10
    workbook.write_back(path, table=table, findings=[])
    ws = openpyxl.load_workbook(path)["Updates"]
    assert ws["A1"].comment is None


def test_no_header_note_on_a1(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS, header=["ID", *HEADER[1:]])
    table = workbook.read_table(path)
    missing = Finding(1, None, "error", "missing-header", "No row starts with 'External ID'.")
    workbook.write_back(path, table=table, findings=[missing])
    ws = openpyxl.load_workbook(path)["Updates"]
    assert "missing" not in str(ws["F1"].value)
    assert ws["A1"].comment.text == "Error – No row starts with 'External ID'."


def test_users_own_note_is_left_alone(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    wb = openpyxl.load_workbook(path)
    wb["Updates"]["A1"].comment = Comment("my note", "Pat")
    wb.save(path)
    bad = Finding(1, None, "error", "bad-header", "wrong header")
    workbook.write_back(path, table=workbook.read_table(path), findings=[bad])
    assert openpyxl.load_workbook(path)["Updates"]["A1"].comment.text == "my note"


@pytest.mark.parametrize(
    ("extra", "cell"),
    [
        (["Owner"], "F1"),
        ([None, None, "job status", None, "Owner"], "J1"),  # known headers pass, any case
        ([None] * 4 + [3], "J1"),
    ],
)
def test_a_foreign_tool_column_is_refused(tmp_path: Path, extra: list[Any], cell: str) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS, header=[*HEADER, *extra])
    before = path.read_bytes()
    with pytest.raises(WorkbookError, match=f"{cell} holds .*; the tool needs columns F..L"):
        workbook.write_back(path, table=workbook.read_table(path), findings=FINDINGS)
    assert path.read_bytes() == before


@pytest.mark.parametrize("marks_header", ["Marks", " marks ", None])
def test_marks_header_may_be_there_or_empty(tmp_path: Path, marks_header: str | None) -> None:
    header = [*HEADER, *model.RESULT_COLUMNS, marks_header]
    path = build_workbook(tmp_path / "u.xlsx", ROWS, header=header)
    workbook.write_back(path, table=workbook.read_table(path), findings=FINDINGS)
    ws = openpyxl.load_workbook(path)["Updates"]
    assert ws["J1"].value == (marks_header or marks.MARKS_HEADER)
    assert codes(ws, (3,)) == [".E.W."]


def test_job_columns(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    checked = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.UTC)
    outcome = JobOutcome("job-42", "processing", 200, "still working", checked)
    workbook.write_back(
        path, table=workbook.read_table(path), findings=(), outcome=outcome, submitted_rows=[2, 4]
    )
    ws = openpyxl.load_workbook(path)["Updates"]
    got = {n: tuple(ws.cell(n, c).value for c in (7, 8)) for n in (2, 3, 4)}
    assert got == {
        2: ("job-42", "processing: still working"),
        3: (None, None),
        4: ("job-42", "processing: still working"),
    }
    assert ws["I2"].value == checked.astimezone().replace(tzinfo=None)
    assert ws["I2"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["I3"].value is None


def test_control_characters_are_written_as_question_marks(tmp_path: Path) -> None:
    # Findings quote the user's values, and server replies are shown as they come.
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    finding = Finding(2, model.COMMENT, "error", "x", "'a\x1fb' has a control character")
    outcome = JobOutcome("job\x00", "failed", 400, "bad\x07reply", None)
    entry = LogEntry(dt.datetime(2026, 1, 1), "u.xlsx", 1, "ab", None, "failed", "bad\x07reply")
    workbook.write_back(
        path,
        table=workbook.read_table(path),
        findings=[finding],
        outcome=outcome,
        submitted_rows=[2],
        log=entry,
    )
    wb = openpyxl.load_workbook(path)
    ws = wb["Updates"]
    assert ws["F2"].value == "Error – Comment: 'a?b' has a control character"
    assert (ws["G2"].value, ws["H2"].value) == ("job?", "failed: bad?reply")
    assert wb["Log"]["G2"].value == "bad?reply"


def test_log_is_created_then_appended(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    table = workbook.read_table(path)
    entries = [
        LogEntry(dt.datetime(2026, 1, n), "u.xlsx", 3, f"{n:064x}", f"job-{n}", "succeeded", "ok")
        for n in (1, 2)
    ]
    for entry in entries:
        workbook.write_back(path, table=table, findings=(), log=entry)
    ws = openpyxl.load_workbook(path)["Log"]
    assert [tuple(r) for r in ws.iter_rows(values_only=True)] == [
        model.LOG_COLUMNS,
        *(tuple(e.cells()) for e in entries),
    ]
    assert workbook.read_log_hashes(path) == {e.sha256 for e in entries}


def test_log_table_grows(tmp_path: Path) -> None:
    path = build_macro_workbook(tmp_path / "t.xlsm", sample_rows(2))
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb["Log"].add_table(openpyxl.worksheet.table.Table(displayName="LogTable", ref="A1:G2"))
    wb.save(path)
    entry = LogEntry(dt.datetime(2026, 1, 1), "t.xlsm", 2, "ab" * 32, None, "failed", "no")
    for _ in range(2):
        workbook.write_back(path, table=workbook.read_table(path), findings=(), log=entry)
    ws = openpyxl.load_workbook(path)["Log"]
    assert ws.tables["LogTable"].ref == "A1:G3"
    assert ws["E3"].value is None and ws["F3"].value == "failed"


def test_input_values_are_never_changed(tmp_path: Path) -> None:
    rows = [*ROWS, ['="A-"&9', "#N/A", "=1/0", dt.datetime(2026, 5, 6, 7, 8), "x\ny"]]
    path = build_workbook(tmp_path / "u.xlsx", rows, header_row=2, above_header=[["Title"]])
    before = input_cells(path)
    findings = [Finding(n, c, "error", "x", "y") for n in range(3, 8) for c in model.COLUMNS]
    outcome = JobOutcome("j", "succeeded", 200, "", dt.datetime(2026, 1, 1))
    table = workbook.read_table(path)
    workbook.write_back(
        path, table=table, findings=findings, outcome=outcome, submitted_rows=[3, 4]
    )
    workbook.write_back(path, table=table, findings=[])
    assert input_cells(path) == before


def test_failed_save_leaves_the_file_untouched(tmp_path: Path, monkeypatch) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    before = path.read_bytes()

    def broken_save(self: Any, filename: str) -> None:
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        workbook.write_back(path, table=workbook.read_table(path), findings=FINDINGS)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.xlsx"]


def test_replace_refused_means_open_elsewhere(tmp_path: Path, monkeypatch) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    before = path.read_bytes()

    def refuse(src: Any, dst: Any) -> None:
        raise PermissionError(13, "in use")

    monkeypatch.setattr(xlsxfile.os, "replace", refuse)
    with pytest.raises(WorkbookError, match="is open in Excel .*close it, then try again"):
        workbook.write_back(path, table=workbook.read_table(path), findings=FINDINGS)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.xlsx"]


def test_lock_file_refuses_before_anything(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    (tmp_path / "~$u.xlsx").write_bytes(b"owner")
    before = path.read_bytes()
    with pytest.raises(WorkbookError, match=r"u\.xlsx is open in Excel"):
        workbook.write_back(path, table=workbook.read_table(path), findings=FINDINGS)
    assert path.read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_file_permissions_are_kept(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS)
    path.chmod(0o640)
    workbook.write_back(path, table=workbook.read_table(path), findings=FINDINGS)
    assert path.stat().st_mode & 0o777 == 0o640


def test_csv_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"External ID\r\nA\r\n")
    with pytest.raises(WorkbookError, match="only be written into an .xlsx or .xlsm"):
        workbook.write_back(path, table=workbook.read_table(path), findings=())
    assert path.read_bytes() == b"External ID\r\nA\r\n"


# ---------------------------------------------------------------------------------------------
# .xlsm: VBA project, ribbon and the rest of the template survive
# ---------------------------------------------------------------------------------------------


def test_macro_workbook_keeps_vba_ribbon_and_features(tmp_path: Path) -> None:
    path = build_macro_workbook(tmp_path / "t.xlsm", sample_rows(5))
    parts = {
        n: zip_part(path, n)
        for n in (
            "xl/vbaProject.bin",
            RIBBON14_PART,
            RIBBON_IMAGE_PART,
            "customUI/_rels/customUI14.xml.rels",
        )
    }
    before = input_cells(path)
    table = workbook.read_table(path)
    outcome = JobOutcome("job-1", "succeeded", 200, "", dt.datetime(2026, 1, 1))
    entry = LogEntry(dt.datetime(2026, 1, 1), "t.xlsm", 5, "0" * 64, "job-1", "succeeded", "")
    for _ in range(2):  # a second save must not lose what the first kept
        workbook.write_back(
            path,
            table=table,
            findings=[*FINDINGS, Finding(1, None, "warning", "x", "header note")],
            outcome=outcome,
            submitted_rows=[2, 3],
            log=entry,
        )
    assert {n: zip_part(path, n) for n in parts} == parts
    assert ribbon_relationships(path) == [RIBBON14_PART]
    types = zip_part(path, "[Content_Types].xml").decode()
    assert "sheet.macroEnabled.main+xml" in types
    assert re.search(r'<Default Extension="png" ContentType="image/png"\s*/>', types)

    def not_log(cells: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in cells.items() if not k.startswith("Log!")}

    assert not_log(input_cells(path)) == not_log(before)

    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb["Updates"]
    # The table grew to take the Sent column K and the Item column L, named in the table too.
    assert ws.tables["UpdatesTable"].ref == "A1:L6"
    names = [c.name for c in ws.tables["UpdatesTable"].tableColumns][-3:]
    assert names == ["Marks", "Sent", "Item"]
    assert [(str(dv.sqref), dv.formula1) for dv in ws.data_validations.dataValidation] == [
        ("B2:B6", model.STATUSES_NAME)
    ]
    assert [str(cf.sqref) for cf in ws.conditional_formatting] == ["C2:C6", "A2:E1048576"]
    assert mark_rules(ws) == MARK_RULES
    assert codes(ws, range(2, 7)) == [None, ".E.W.", "..W..", None, None]
    assert wb.defined_names[model.STATUSES_NAME].attr_text == STATUSES_RANGE
    assert ws["G2"].value == "job-1"
    assert ws["A1"].comment.text == "Warning – header note"
    assert workbook.read_log_hashes(path) == {"0" * 64}


# ---------------------------------------------------------------------------------------------
# Property: after any two runs, the colours the file shows are exactly those of the last run
# ---------------------------------------------------------------------------------------------

finding_strategy = st.builds(
    Finding,
    row=st.integers(2, 6),
    column=st.sampled_from([*model.COLUMNS, None]),
    severity=st.sampled_from(["error", "warning"]),
    code=st.just("x"),
    message=st.text(min_size=1, max_size=20),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.lists(finding_strategy, max_size=8), second=st.lists(finding_strategy, max_size=8))
def test_marks_match_the_last_run(first: list[Finding], second: list[Finding]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = build_workbook(Path(folder) / "u.xlsx", sample_rows(5))
        table = workbook.read_table(path)
        workbook.write_back(path, table=table, findings=first)
        workbook.write_back(path, table=table, findings=second)
        ws = openpyxl.load_workbook(path)["Updates"]
        shown = markcodes.marked_cells((n, ws.cell(n, MARKS_COL).value) for n in range(2, 7))
        assert shown == cell_marks(second)
        assert not any(fill_of(c) for row in ws["A1:E6"] for c in row)
        assert mark_rules(ws) == MARK_RULES
        with_text = {n for n in range(2, 7) if ws.cell(n, 6).value}
        assert with_text == {f.row for f in second}


# ---------------------------------------------------------------------------------------------
# Formula results survive write-back (a headless read afterwards must not see uncalculated)
# ---------------------------------------------------------------------------------------------

# (cell, formula, t attribute, <v> text) as Excel saves them, and the value read_table gives.
FORMULA_CASES = [
    ("A2", '="A-"&1', "str", "A-1", "A-1"),
    ("C2", "=1/4", None, "0.25", 0.25),
    ("E2", "=1=1", "b", "1", True),
    ("A3", '=""', "str", "", None),  # a formula returning "": t="str" with an empty value
    ("C3", "=1/0", "e", "#DIV/0!", "#DIV/0!"),
    ("E3", "=2*3", "n", "6", 6),
]


def formula_workbook(path: Path) -> Path:
    rows: list[list[Any]] = [["x", "On Track", None, dt.datetime(2026, 1, 5), None] for _ in "ab"]
    for cell, formula, *_ in FORMULA_CASES:
        rows[int(cell[1]) - 2]["ACE".index(cell[0]) * 2] = formula
    build_workbook(path, rows)
    return set_formula_results(path, {c: (t, v) for c, _, t, v, _ in FORMULA_CASES})


def test_formula_fixture_reads_as_excel_saved_it(tmp_path: Path) -> None:
    table = workbook.read_table(formula_workbook(tmp_path / "u.xlsx"))
    got = {f"{'ACE'[i // 2]}{r.number}": r.values[i] for r in table.rows for i in (0, 2, 4)}
    assert got == {cell: value for cell, _, _, _, value in FORMULA_CASES}


def test_write_back_keeps_formula_results(tmp_path: Path) -> None:
    path = formula_workbook(tmp_path / "u.xlsx")
    before = workbook.read_table(path)
    formulas = input_cells(path)
    outcome = JobOutcome("job-1", "succeeded", 200, "", dt.datetime(2026, 1, 1))
    entry = LogEntry(dt.datetime(2026, 1, 1), "u.xlsx", 2, "ab" * 32, "job-1", "succeeded", "")
    for _ in range(2):  # annotate, then record the job: the values survive both saves
        workbook.write_back(
            path, table=before, findings=FINDINGS, outcome=outcome, submitted_rows=[2], log=entry
        )
    after = workbook.read_table(path)
    assert values_of(after) == values_of(before)
    assert not any(isinstance(v, Uncalculated) for r in after.rows for v in r.values)
    assert {k: v for k, v in input_cells(path).items() if k.startswith("Updates!")} == formulas
    assert openpyxl.load_workbook(path)["Updates"]["F3"].value.startswith("Error")


def test_shared_formulas_keep_their_results(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", [["A-1", "On Track", "=F2*2"]] * 2)
    rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(
            b"<f>F2*2</f><v />", b'<f t="shared" ref="C2:C3" si="0">F2*2</f><v>4</v>', 1
        ).replace(b"<f>F2*2</f><v />", b'<f t="shared" si="0"/><v>6</v>', 1),
    )
    assert [r.values[2] for r in workbook.read_table(path).rows] == [4, 6]
    workbook.write_back(path, table=workbook.read_table(path), findings=())
    assert [r.values[2] for r in workbook.read_table(path).rows] == [4, 6]
    assert input_cells(path)["Updates!C3"] == "=F3*2"


def test_100000_formula_rows_write_back_in_bounded_time(tmp_path: Path) -> None:
    def result(n: int) -> float:  # what Excel would have calculated for row n
        return n * 1.5 + n % 7

    path = tmp_path / "big.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Updates")
    ws.append(HEADER)
    for line in sample_rows(100_000):
        ws.append([line[0], line[1], "=ROW()*1.5+MOD(ROW(),7)", line[3], line[4]])
    wb.save(path)
    set_formula_results(path, {f"C{n}": (None, repr(result(n))) for n in range(2, 100_002)})
    port = workbook.FileSheets(path)
    view = port.read()  # as `validate --annotate` does: one read, then one save
    start = time.perf_counter()
    port.write(view, submission.findings_changes(view, FINDINGS))
    port.commit()
    elapsed = time.perf_counter() - start
    metrics = [r.values[2] for r in workbook.read_table(path).rows]
    assert metrics == [result(n) for n in range(2, 100_002)]
    # ~15 s measured here, ~12 s of it openpyxl's load and save
    assert elapsed < 40, f"writing back 100,000 formula rows took {elapsed:.1f} s"


# ---------------------------------------------------------------------------------------------
# Excel 2010+ extensions survive write-back, and reading them raises no warning
# ---------------------------------------------------------------------------------------------


def ext_tree(element: ET.Element) -> tuple[Any, ...]:
    """An element as comparable data, namespaces resolved (prefixes don't matter)."""
    return (
        element.tag,
        sorted(element.attrib.items()),
        (element.text or "").strip(),
        [ext_tree(child) for child in element],
    )


def sheet_part(path: Path, n: int) -> bytes:
    return zip_part(path, f"xl/worksheets/sheet{n}.xml")


def write_all(path: Path) -> None:
    entry = LogEntry(dt.datetime(2026, 1, 1), "x.xlsx", 1, "cd" * 32, "job-1", "succeeded", "")
    workbook.write_back(path, table=workbook.read_table(path), findings=FINDINGS, log=entry)


def test_sheet_and_workbook_extensions_survive_write_back(tmp_path: Path) -> None:
    path = build_extended_workbook(tmp_path / "x.xlsx", sample_rows(5))
    before = {n: sheet_part(path, n) for n in (1, 2, 3, 4)}
    assert X14_SLICERS in before[1]
    for _ in range(2):
        write_all(path)
    updates = sheet_part(path, 1)
    # Byte-identical, except the slicer list whose slicer part openpyxl dropped.
    assert (
        root_extensions(updates) == b"<extLst>" + X14_DATA_VALIDATION + X14_DATA_BAR + b"</extLst>"
    )
    assert X14_SLICERS not in updates
    for n in (2, 3, 4):  # untouched sheets, and the Log the tool wrote into
        assert (
            root_extensions(sheet_part(path, n)) == b"<extLst>" + X14_DATA_VALIDATION + b"</extLst>"
        )
    assert root_extensions(zip_part(path, "xl/workbook.xml")) == (
        b"<extLst>" + X15_WORKBOOK + b"</extLst>"
    )
    root = ET.fromstring(updates)
    assert local_name(root[-1].tag) == "extLst"  # the last child, where the schema wants it
    # The main part's data bar keeps its link to the x14 data bar; the rest is intact.
    data_bar = re.search(rb'<cfRule type="dataBar".*?</cfRule>', updates, re.S)
    assert data_bar is not None and data_bar.group(0).endswith(DATA_BAR_LINK + b"</cfRule>")
    with pytest.warns(UserWarning, match="extension is not supported"):  # openpyxl sees them
        ws = openpyxl.load_workbook(path)["Updates"]
    assert [(str(dv.sqref), dv.formula1) for dv in ws.data_validations.dataValidation] == [
        ("E2:E100", '"On Track,Off Track"')
    ]
    assert [str(cf.sqref) for cf in ws.conditional_formatting] == ["C2:C10", "A2:E1048576"]
    assert [r.type for cf in ws.conditional_formatting for r in cf.rules][0] == "dataBar"
    assert mark_rules(ws) == MARK_RULES
    assert codes(ws, (3, 4)) == [".E.W.", "..W.."]
    assert workbook.read_log_hashes(path) == {"cd" * 32}


def test_extensions_with_namespaces_on_the_root_stay_well_formed(tmp_path: Path) -> None:
    path = build_extended_workbook(tmp_path / "x.xlsx", sample_rows(3), root_namespaces=True)
    before = ET.fromstring(sheet_part(path, 1))
    write_all(path)
    after = ET.fromstring(sheet_part(path, 1))  # no unbound prefix: it parses
    kept = [ext for ext in before[-1] if "slicerList" not in ET.tostring(ext, "unicode")]
    assert [ext_tree(e) for e in after[-1]] == [ext_tree(e) for e in kept]
    links = [ext_tree(e) for e in before.iter() if local_name(e.tag) == "cfRule"]
    assert [ext_tree(e) for e in after.iter() if local_name(e.tag) == "cfRule"][0] == links[0]


@pytest.mark.filterwarnings("error")
def test_reading_a_workbook_with_extensions_raises_no_warning(tmp_path: Path) -> None:
    # openpyxl warns "... extension is not supported and will be removed" while it parses a
    # sheet; read-only sheets parse lazily, inside iter_rows.
    path = build_extended_workbook(tmp_path / "x.xlsx", sample_rows(3))
    table = workbook.read_table(path)
    assert [r.values[0] for r in table.rows] == ["ID-000001", "ID-000002", "ID-000003"]
    assert workbook.read_settings(path) == Settings()
    assert workbook.read_log_hashes(path) == set()


# ---------------------------------------------------------------------------------------------
# check_writable: the pre-flight check, and write_back refuses exactly the same
# ---------------------------------------------------------------------------------------------


def _csv_file(path: Path) -> None:
    path.with_suffix(".csv").write_bytes(b"External ID\r\nA\r\n")


def _refuse_writing(monkeypatch: Any, path: Path) -> None:
    real_open = Path.open

    def guarded(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if self == path and ("+" in mode or "w" in mode):
            raise PermissionError(13, "Permission denied")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("csv", r"only be written into an \.xlsx or \.xlsm workbook, not into u\.csv"),
        ("lock file", r"u\.xlsx is open in Excel \(or another program\): close it"),
        ("read-only", r"permission denied\. If it is open in another program, close it"),
        ("folder", r"Can't save into .*: you may not create files in that folder"),
        ("foreign F1", r"cell F1 holds 'Owner'; the tool needs columns F\.\.L"),
        ("foreign J3", r"cell J3 holds 7; the tool needs columns F\.\.L"),
        ("not a zip", r"is not a readable Excel workbook"),
        ("password", r"is password-protected"),
    ],
)
def test_check_writable_refuses_what_write_back_refuses(
    tmp_path: Path, monkeypatch: Any, case: str, message: str
) -> None:
    header: list[Any] = list(HEADER)
    header_row = 1
    if case == "foreign F1":
        header += ["Owner"]
    elif case == "foreign J3":
        header += [None, "Job ID", None, None, 7]
        header_row = 3
    path = build_workbook(tmp_path / "u.xlsx", ROWS, header=header, header_row=header_row)
    table = workbook.read_table(path)
    if case == "csv":
        _csv_file(path)
        path = path.with_suffix(".csv")
        table = workbook.read_table(path)
    elif case == "lock file":
        (tmp_path / "~$u.xlsx").write_bytes(b"owner")
    elif case == "read-only":
        _refuse_writing(monkeypatch, path)
    elif case == "folder":
        monkeypatch.setattr(workbook.os, "access", lambda p, mode: Path(p) != tmp_path)
    elif case == "not a zip":
        path.write_bytes(b"not a zip at all")
    elif case == "password":
        path.write_bytes(xlsxfile.OLE_MAGIC + b"\0" * 100)
    before = path.read_bytes()
    for call in (
        lambda: workbook.check_writable(path, table),
        lambda: workbook.write_back(path, table=table, findings=FINDINGS),
    ):
        with pytest.raises(WorkbookError, match=message):
            call()
    assert path.read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".u-")]


@pytest.mark.parametrize(
    "extra",
    [[], list(model.RESULT_COLUMNS), [None, None, None, None, " MARKS "], ["issues"]],
)
def test_check_writable_passes_a_file_the_tool_can_write(tmp_path: Path, extra: list[Any]) -> None:
    path = build_workbook(tmp_path / "u.xlsx", ROWS, header=[*HEADER, *extra])
    before = path.read_bytes()
    table = workbook.read_table(path)
    assert workbook.check_writable(path, table) is None
    assert path.read_bytes() == before  # a check changes nothing
    workbook.write_back(path, table=table, findings=FINDINGS)


# --- Excel's _xHHHH_ escapes are decoded (issue 10) ------------------------------------------


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("A1_x000D_", "A1\r"),  # a carriage return, as Excel stores it
        ("bell_x0007_here", "bell\x07here"),
        ("two_x000D_\nlines", "two\r\nlines"),
        ("_x005F_x000D_", "_x000D_"),  # a typed '_x000D_' is stored with its '_' escaped
        ("_x005f_x0007_ and _x0041_", "_x0007_ and A"),
        ("_x00_ and _xZZZZ_ and x000D", "_x00_ and _xZZZZ_ and x000D"),  # not escapes
    ],
)
def test_excel_escapes_in_text_cells_are_decoded(tmp_path: Path, stored: str, typed: str):
    path = build_workbook(tmp_path / "u.xlsx", [[stored, "On Track", 1, "2026-11-03", stored]])
    (row,) = workbook.read_table(path).rows
    assert (row.values[0], row.values[4]) == (typed, typed)


def test_an_escaped_control_character_in_an_id_is_reported_not_sent(tmp_path: Path) -> None:
    from addin.rules import validate_table

    path = build_workbook(tmp_path / "u.xlsx", [["A1_x0007_", "On Track", 1, "2026-11-03", ""]])
    report = validate_table(workbook.read_table(path), today=dt.date(2026, 11, 29))
    assert [(f.row, f.code) for f in report.findings] == [(2, "id-lookalike")]
    assert "U+0007" in report.findings[0].message
    assert report.updates == ()


def test_an_escaped_carriage_return_ending_an_id_is_trimmed_like_any_line_end(tmp_path: Path):
    from addin.rules import validate_table

    path = build_workbook(tmp_path / "u.xlsx", [["A1_x000D_", "On Track", 1, "2026-11-03", ""]])
    report = validate_table(workbook.read_table(path), today=dt.date(2026, 11, 29))
    assert (report.findings, [u.external_id for u in report.updates]) == ((), ["A1"])


# --- date serials read exactly (issue 10) ----------------------------------------------------


def _serial_book(path: Path, serial: float, fmt: str = "mm/dd/yyyy hh:mm", **kw: Any) -> Path:
    build_workbook(path, [["A-1", "On Track", 1, serial, None]], number_formats={"D2": fmt}, **kw)
    return path


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (46329.25, dt.datetime(2026, 11, 3, 6)),
        (46329.99999999, dt.datetime(2026, 11, 3, 23, 59, 59, 999000)),  # 23:59:59.99914
        (46329.9999999999, dt.datetime(2026, 11, 3, 23, 59, 59, 999000)),
        (61, dt.datetime(1900, 3, 1)),
        (59, dt.datetime(1900, 2, 28)),
    ],
)
def test_a_date_serial_keeps_its_written_day(tmp_path: Path, serial: float, expected: Any):
    table = workbook.read_table(_serial_book(tmp_path / "u.xlsx", serial))
    assert table.rows[0].values[3] == expected


@pytest.mark.parametrize(
    ("serial", "code"), [(60, "fictitious-date"), (60.5, "fictitious-date"), (-3, "negative-date")]
)
def test_a_date_serial_that_is_no_real_date_is_an_error(tmp_path: Path, serial: float, code: str):
    from addin.rules import validate_table

    table = workbook.read_table(_serial_book(tmp_path / "u.xlsx", serial))
    report = validate_table(table, today=dt.date(2026, 11, 29))
    assert [(f.row, f.column, f.code) for f in report.findings] == [(2, "As Of Date", code)]
    assert report.updates == ()


def test_a_1904_workbook_is_read_in_its_date_system(tmp_path: Path) -> None:
    from addin.rules import validate_table

    path = tmp_path / "mac.xlsx"
    build_workbook(path, [["A-1", "On Track", 1, 44867.5, None], ["A-2", "On Track", 1, 44867]])
    wb = openpyxl.load_workbook(path)
    wb.epoch = CALENDAR_MAC_1904
    wb.active["D2"].number_format = "mm/dd/yyyy"
    wb.save(path)
    table = workbook.read_table(path)
    assert table.date1904 is True
    assert table.rows[0].values[3] == dt.datetime(2026, 11, 3, 12)
    report = validate_table(table, today=dt.date(2026, 11, 29))
    (finding,) = report.findings  # D3 is a plain number: the hint is in the 1904 system
    assert "1904 date system, 44867 is 2026-11-03" in finding.message


def test_durations_and_tool_column_times_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "u.xlsx"
    build_workbook(path, [["A-1", "On Track", 1.5, "2026-11-03", None]])
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws["C2"].number_format = "[h]:mm"
    ws["I1"], ws["I2"] = "Checked At", dt.datetime(2026, 11, 3, 9, 30)
    ws["I2"].number_format = "yyyy-mm-dd hh:mm"
    wb.save(path)
    view = workbook.FileSheets(path).read()
    assert view.table.rows[0].values[2] == dt.timedelta(days=1.5)
    assert view.tools[2].checked_at == dt.datetime(2026, 11, 3, 9, 30)


# --- %-formatted metric cells (issue 10) -----------------------------------------------------


@pytest.mark.parametrize(
    ("number_format", "metric", "codes"),
    [
        ("0%", 20, ["percent-format"]),
        ("0.0%", 75, ["percent-format"]),
        ("0%", 0.2, []),
        ("General", 20, []),
        ('0"%"', 20, []),  # a literal % sign: the cell shows 20%
    ],
)
def test_a_percent_formatted_metric_cell_typed_as_a_whole_number_is_warned(
    tmp_path: Path, number_format: str, metric: Any, codes: list[str]
) -> None:
    from addin.rules import validate_table

    path = build_workbook(
        tmp_path / "u.xlsx",
        [["A-1", "On Track", metric, "2026-11-03", None]],
        number_formats={"C2": number_format},
    )
    report = validate_table(workbook.read_table(path), today=dt.date(2026, 11, 29))
    assert [f.code for f in report.findings] == codes
    assert [u.metric for u in report.updates] == [metric]
