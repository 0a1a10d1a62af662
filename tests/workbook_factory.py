"""Real .xlsx/.xlsm files for tests, built with openpyxl (and pyOpenVBA for the VBA project).

`build_workbook` writes an Updates sheet laid out as the tests ask; `build_macro_workbook` writes
what the template looks like: a table with the hidden Marks column J and its two colour rules,
data validation, another conditional format, defined names, Settings and Log sheets, a real VBA
project and a customUI14 ribbon (part + relationship).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.formatting.rule import CellIsRule, DataBarRule, FormulaRule
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


def rewrite_part(path: Path, name: str, edit: Callable[[bytes], bytes]) -> Path:
    """Rewrite one zip part, as another program would have written it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, edit(data) if info.filename == name else data)
    path.write_bytes(buffer.getvalue())
    return path


# openpyxl writes a formula cell as <c r="C2" s="1"><f>1/4</f><v /></c>: no type, no value.
_OPENPYXL_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><f([^>]*)>(.*?)</f><v\s*/></c>')


def set_formula_results(
    path: Path,
    results: Mapping[str, tuple[str | None, str]],
    part: str = "xl/worksheets/sheet1.xml",
) -> Path:
    """Give formula cells the calculated values Excel saves: {cell: (t attribute, <v> text)}."""

    def cached(cell: re.Match[bytes]) -> bytes:
        ref, attrs, f_attrs, formula = cell.groups()
        if ref.decode() not in results:
            return cell.group(0)
        kind, text = results[ref.decode()]
        t = f' t="{kind}"'.encode() if kind else b""
        return (
            b'<c r="'
            + ref
            + b'"'
            + attrs
            + t
            + b"><f"
            + f_attrs
            + b">"
            + formula
            + b"</f><v>"
            + text.encode()
            + b"</v></c>"
        )

    return rewrite_part(path, part, lambda xml: _OPENPYXL_FORMULA_CELL.sub(cached, xml))


# Excel 2010+ extensions as Excel writes them (namespaces declared on the <ext> elements).
X14_NS = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM_NS = "http://schemas.microsoft.com/office/excel/2006/main"
DATA_BAR_ID = "{8D3A1B2C-0000-4000-8000-000000000001}"
X14_DATA_VALIDATION = (
    f'<ext uri="{{CCE6A557-97BC-4b89-ADB6-D9C93CAAF3DF}}" xmlns:x14="{X14_NS}">'
    f'<x14:dataValidations count="1" xmlns:xm="{XM_NS}">'
    '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
    "<x14:formula1><xm:f>Lists!$A$1:$A$7</xm:f></x14:formula1><xm:sqref>B2:B100</xm:sqref>"
    "</x14:dataValidation></x14:dataValidations></ext>"
).encode()
X14_DATA_BAR = (
    f'<ext uri="{{78C0D931-6437-407d-A8EE-F0AAD7539E65}}" xmlns:x14="{X14_NS}">'
    f'<x14:conditionalFormattings><x14:conditionalFormatting xmlns:xm="{XM_NS}">'
    f'<x14:cfRule type="dataBar" id="{DATA_BAR_ID}"><x14:dataBar minLength="0" '
    'maxLength="100" border="1" negativeBarBorderColorSameAsPositive="0">'
    '<x14:cfvo type="autoMin"/><x14:cfvo type="autoMax"/><x14:borderColor rgb="FF638EC6"/>'
    '<x14:negativeFillColor rgb="FFFF0000"/><x14:axisColor rgb="FF000000"/></x14:dataBar>'
    "</x14:cfRule><xm:sqref>C2:C10</xm:sqref></x14:conditionalFormatting>"
    "</x14:conditionalFormattings></ext>"
).encode()
# The main part's data bar rule points at its x14 twin through this link.
DATA_BAR_LINK = (
    f'<extLst><ext uri="{{B025F937-C7B1-47D3-B67F-A62EFF666E3E}}" xmlns:x14="{X14_NS}">'
    f"<x14:id>{DATA_BAR_ID}</x14:id></ext></extLst>"
).encode()
# A slicer list refers to a slicer part by relationship id: openpyxl drops that part.
X14_SLICERS = (
    f'<ext uri="{{A8765BA9-456A-4dab-B4F3-ACF838C121DE}}" xmlns:x14="{X14_NS}">'
    '<x14:slicerList><x14:slicer r:id="rId9"/></x14:slicerList></ext>'
).encode()
X15_WORKBOOK = (
    b'<ext uri="{140A7094-0E35-4892-8432-C4D2E57EDEB5}" '
    b'xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main">'
    b'<x15:workbookPr chartTrackingRefBase="1"/></ext>'
)
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def build_extended_workbook(
    path: Path, rows: Sequence[Sequence[Any]], *, root_namespaces: bool = False
) -> Path:
    """Updates (with a data bar on C and an x14 list validation on B pointing at the Lists
    sheet), Lists, Settings and Log sheets, each with Excel 2010+ extensions openpyxl drops.

    `root_namespaces` declares x14/xm on each <worksheet> instead of on the <ext> elements, as
    some programs do.
    """
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = model.UPDATES_SHEET
    ws.append(HEADER)
    for line in rows:
        ws.append(list(line))
    local = DataValidation(type="list", formula1='"On Track,Off Track"', allow_blank=True)
    local.add("E2:E100")
    ws.add_data_validation(local)
    ws.conditional_formatting.add(
        "C2:C10", DataBarRule(start_type="min", end_type="max", color="FF638EC6")
    )
    lists = wb.create_sheet("Lists")
    for status in model.DEFAULT_STATUSES:
        lists.append([status])
    settings = wb.create_sheet(model.SETTINGS_SHEET)
    settings.append(["Setting", "Value", "What it means"])
    wb.create_sheet(model.LOG_SHEET).append(list(model.LOG_COLUMNS))
    wb.save(path)

    def strip(ext: bytes) -> bytes:
        return ext.replace(f' xmlns:x14="{X14_NS}"'.encode(), b"").replace(
            f' xmlns:xm="{XM_NS}"'.encode(), b""
        )

    def extend(sheet_exts: bytes, link: bool) -> Callable[[bytes], bytes]:
        def edit(xml: bytes) -> bytes:
            exts = strip(sheet_exts) if root_namespaces else sheet_exts
            rule_link = strip(DATA_BAR_LINK) if root_namespaces else DATA_BAR_LINK
            declarations = f' xmlns:r="{REL_NS}"'
            if root_namespaces:
                declarations += f' xmlns:x14="{X14_NS}" xmlns:xm="{XM_NS}"'
            xml = xml.replace(b"<worksheet ", b"<worksheet" + declarations.encode() + b" ", 1)
            if link:
                xml = xml.replace(b"</dataBar></cfRule>", b"</dataBar>" + rule_link + b"</cfRule>")
            return xml.replace(b"</worksheet>", b"<extLst>" + exts + b"</extLst></worksheet>")

        return edit

    sheet_exts = X14_DATA_VALIDATION + X14_DATA_BAR + X14_SLICERS
    rewrite_part(path, "xl/worksheets/sheet1.xml", extend(sheet_exts, link=True))
    for part in ("sheet2", "sheet3", "sheet4"):
        rewrite_part(path, f"xl/worksheets/{part}.xml", extend(X14_DATA_VALIDATION, link=False))
    rewrite_part(
        path,
        "xl/workbook.xml",
        lambda xml: xml.replace(
            b"</workbook>", b"<extLst>" + X15_WORKBOOK + b"</extLst></workbook>"
        ),
    )
    return path


def root_extensions(xml: bytes) -> bytes | None:
    """The raw <extLst>...</extLst> that closes a part, as the bytes stand."""
    found = re.search(
        rb"<extLst>(?:(?!<extLst>).)*</extLst>\s*</(?:worksheet|workbook)>\s*$", xml, re.S
    )
    return found.group(0).rsplit(b"</", 1)[0].rstrip() if found else None
