"""Real .xlsx/.xlsm files for tests, built with openpyxl (and pyOpenVBA for the VBA project).

`build_workbook` writes an Updates sheet laid out as the tests ask; `build_macro_workbook` writes
what the template looks like: a table with the hidden Marks column J and its two colour rules,
data validation, another conditional format, defined names, Settings and Log sheets, a real VBA
project and a customUI14 ribbon (part + relationship).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from addin import marks, model
from addin.results import ERROR_FILL, ERROR_FONT, WARNING_FILL, WARNING_FONT

HEADER = list(model.COLUMNS)

RIBBON14_TYPE = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
RIBBON14_PART = "customUI/customUI14.xml"
RIBBON14_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui">'
    b'<ribbon><tabs><tab id="achieveit" label="AchieveIt"><group id="updates" label="Updates">'
    b'<button id="validate" label="Validate" image="check" size="large" '
    b'onAction="Ribbon.Validate"/></group></tab></tabs></ribbon></customUI>'
)
RIBBON_IMAGE_PART = "customUI/images/check.png"
# A 1x1 PNG: enough for a part with its own content type (png is not a default of openpyxl).
RIBBON_IMAGE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
RIBBON_IMAGE_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="check" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/image" Target="images/check.png"/></Relationships>'
)
VBA_MODULE = (
    'Attribute VB_Name = "Ribbon"\r\n'
    "Option Explicit\r\n\r\n"
    "Public Sub Validate(control As IRibbonControl)\r\n"
    '    RunPython "import addin.ribbon; addin.ribbon.validate()"\r\n'
    "End Sub\r\n"
)
STATUSES_RANGE = "Settings!$E$2:$E$21"
MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PLAIN_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def build_workbook(
    path: Path,
    rows: Sequence[Sequence[Any]],
    *,
    header: Sequence[Any] | None = HEADER,
    header_row: int = 1,
    sheet: str = model.UPDATES_SHEET,
    sheets_before: Iterable[str] = (),
    above_header: Sequence[Sequence[Any]] = (),
    hidden: Iterable[int] = (),
    merged: Iterable[str] = (),
    number_formats: dict[str, str] | None = None,
) -> Path:
    """An Updates sheet: optional lines above the header, the header, then `rows` below it."""
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    for index, title in enumerate(sheets_before):
        ws = first if index == 0 else wb.create_sheet()
        ws.title = title
        ws["A1"] = "not the updates"
    ws = first if not list(sheets_before) else wb.create_sheet()
    ws.title = sheet
    for offset, line in enumerate(above_header):
        for col, value in enumerate(line, start=1):
            ws.cell(1 + offset, col, value)
    if header is not None:
        for col, value in enumerate(header, start=1):
            ws.cell(header_row, col, value)
    for offset, line in enumerate(rows, start=1):
        for col, value in enumerate(line, start=1):
            ws.cell(header_row + offset, col, value)
    for number in hidden:
        ws.row_dimensions[number].hidden = True
    for ref in merged:
        ws.merge_cells(ref)
    for ref, fmt in (number_formats or {}).items():
        ws[ref].number_format = fmt
    wb.save(path)
    return path


def sample_rows(count: int, *, start: int = 1) -> list[list[Any]]:
    """Plausible, valid update rows."""
    statuses = model.DEFAULT_STATUSES
    return [
        [
            f"ID-{n:06d}",
            statuses[n % len(statuses)],
            n * 1.5,
            dt.datetime(2026, 1, 1 + n % 28),
            f"comment {n}",
        ]
        for n in range(start, start + count)
    ]


def build_macro_workbook(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    """A template-like .xlsm: table, validation, conditional formats, names, VBA and ribbon."""
    from pyopenvba import ExcelFile

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = model.UPDATES_SHEET
    ws.append([*model.COLUMNS, *model.RESULT_COLUMNS, marks.MARKS_HEADER])
    for line in rows:
        ws.append(list(line))
    last = max(2, len(rows) + 1)
    table = Table(displayName="UpdatesTable", ref=f"A1:{marks.MARKS_COLUMN}{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    status_list = DataValidation(type="list", formula1=model.STATUSES_NAME, allow_blank=True)
    status_list.add(f"B2:B{last}")
    ws.add_data_validation(status_list)
    ws.conditional_formatting.add(
        f"C2:C{last}",
        CellIsRule(operator="lessThan", formula=["0"], fill=PatternFill("solid", "DDEBF7")),
    )
    ws.column_dimensions[marks.MARKS_COLUMN].hidden = True
    for rule in template_mark_rules():
        ws.conditional_formatting.add(marks.rule_range(1), rule)

    settings = wb.create_sheet(model.SETTINGS_SHEET)
    settings.append(["Setting", "Value", "What it means", None, model.STATUSES_LABEL])
    for status in model.DEFAULT_STATUSES:
        settings.append([None] * 4 + [status])
    for row, (label, value) in enumerate(
        [("API subdomain", "api"), ("CSV date format", model.DATE_ISO)], start=2
    ):
        settings.cell(row, 1, label)
        settings.cell(row, 2, value)
    wb.defined_names[model.STATUSES_NAME] = DefinedName(
        model.STATUSES_NAME, attr_text=STATUSES_RANGE
    )
    log = wb.create_sheet(model.LOG_SHEET)
    log.append(list(model.LOG_COLUMNS))
    wb.save(path)

    with ExcelFile(path) as book:
        project = book.add_vba_project()
        project.add_module("Ribbon", VBA_MODULE)
        book.save()
    path.write_bytes(_add_ribbon(path.read_bytes()))
    return path


def template_mark_rules() -> list[FormulaRule]:
    """The template's two colour rules, written here independently of addin/workbook.py."""
    return [
        FormulaRule(
            formula=[marks.ERROR_RULE_FORMULA],
            stopIfTrue=True,
            fill=PatternFill(bgColor="FF" + ERROR_FILL),
            font=Font(color="FF" + ERROR_FONT),
        ),
        FormulaRule(
            formula=[marks.WARNING_RULE_FORMULA],
            fill=PatternFill(bgColor="FF" + WARNING_FILL),
            font=Font(color="FF" + WARNING_FONT),
        ),
    ]


def _add_ribbon(package: bytes) -> bytes:
    """The macro content type, plus a customUI14 ribbon with an image of its own."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(package)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(PLAIN_MAIN.encode(), MACRO_MAIN.encode()).replace(
                    b"<Default ",
                    b'<Default Extension="png" ContentType="image/png"/><Default ',
                    1,
                )
            elif info.filename == "_rels/.rels":
                data = data.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rIdRibbon" Type="{RIBBON14_TYPE}" '
                    f'Target="{RIBBON14_PART}"/></Relationships>'.encode(),
                )
            dst.writestr(info, data)
        dst.writestr(RIBBON14_PART, RIBBON14_XML)
        dst.writestr("customUI/_rels/customUI14.xml.rels", RIBBON_IMAGE_RELS)
        dst.writestr(RIBBON_IMAGE_PART, RIBBON_IMAGE)
    return out.getvalue()


def zip_part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def ribbon_relationships(path: Path) -> list[str]:
    """Targets of the package's ribbon relationships (any Office version)."""
    from xml.etree import ElementTree as ET

    root = ET.fromstring(zip_part(path, "_rels/.rels"))
    return [
        rel.get("Target", "")
        for rel in root
        if rel.get("Type", "").endswith("/ui/extensibility")
        and rel.get("Type", "").startswith("http://schemas.microsoft.com/office/")
    ]
