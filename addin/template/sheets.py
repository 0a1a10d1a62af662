"""The template's sheets, written with openpyxl (layouts: docs/ARCHITECTURE.md "Sheet layouts").

Other modules read these layouts (addin/workbook.py, addin/excelbook.py): keep them exact.
Every sheet gets an explicit codeName, so the VBA document modules have stable names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from addin import marks, model
from addin.itemsheet import CODE_NAME as PLAN_ITEMS_CODE_NAME
from addin.itemsheet import fill, lay_out
from addin.planitems import PLAN_ITEMS_SHEET, sheet_rows
from addin.template.version import TEMPLATE_VERSION, VERSION_NAME
from addin.workbook import DATETIME_FORMAT, mark_rules

READ_ME_SHEET = "Read Me"
CONF_SHEET = "xlwings.conf"  # the name xlwings' VBA looks for (PROJECT_NAME & ".conf")
SHEET_ORDER: tuple[str, ...] = (
    model.UPDATES_SHEET,
    model.SETTINGS_SHEET,
    model.LOG_SHEET,
    PLAN_ITEMS_SHEET,
    READ_ME_SHEET,
    CONF_SHEET,
)
WORKBOOK_CODE_NAME = "ThisWorkbook"
CODE_NAMES: dict[str, str] = {
    model.UPDATES_SHEET: "shtUpdates",
    model.SETTINGS_SHEET: "shtSettings",
    model.LOG_SHEET: "shtLog",
    PLAN_ITEMS_SHEET: PLAN_ITEMS_CODE_NAME,
    READ_ME_SHEET: "shtReadMe",
    CONF_SHEET: "shtConf",
}

UPDATES_TABLE = "UpdatesTable"
# The Status dropdown lists E2 down to the last filled row (blanks at the end would show as
# empty entries). COUNTA counts the filled cells, so the list must have no gaps. MAX(1, ...)
# keeps the height valid while the list is empty. Formulas in the file carry no leading "=".
MAX_STATUSES = 100
_FIRST_STATUS = f"{model.SETTINGS_SHEET}!$E$2"
_STATUS_AREA = f"{_FIRST_STATUS}:$E${1 + MAX_STATUSES}"
STATUSES_REF = f"OFFSET({_FIRST_STATUS},0,0,MAX(1,COUNTA({_STATUS_AREA})),1)"
CALC_ID = 191029  # the calculation engine id Excel 2019 and Microsoft 365 write
LAST_INPUT_ROW = 5000  # validations cover A2:E5000; number formats cover whole columns

# Fonts name their face and size: a font without them is drawn in whatever the reader picks
# (LibreOffice: a serif face). Calibri 11 is the workbook default openpyxl writes.
HEADER_FONT = Font(name="Calibri", family=2, size=11, scheme="minor", bold=True)
NOTE_FONT = Font(name="Calibri", family=2, size=11, scheme="minor", italic=True)
TITLE_FONT = Font(name="Calibri", family=2, size=14, scheme="minor", bold=True)
RESULT_FILL = PatternFill("solid", start_color="FFD9D9D9")  # grey: the tool writes these columns
HEADER_FILL = PatternFill("solid", start_color="FFDDEBF7")
UPDATES_HEADER: tuple[str, ...] = (*model.COLUMNS, *marks.TOOL_HEADERS)

EXAMPLE_ROWS: tuple[tuple[object, ...], ...] = (
    (
        "7f3c2a10-5b1e-4c2d-9a7e-1b2c3d4e5f60",
        "On Track",
        0.45,
        dt.date(2026, 11, 3),
        "Example row: replace or delete",
    ),
    (
        "0b9d5e21-3c4f-4a6b-8d7e-2f3a4b5c6d70",
        "At Risk",
        None,
        dt.date(2026, 11, 3),
        "Example row: replace or delete",
    ),
    (
        "c4e8f6a2-9d1b-4e3c-a5f7-3a4b5c6d7e81",
        "Achieved",
        1,
        dt.date(2026, 11, 3),
        "Example row: replace or delete",
    ),
)

# (label, what it means). Labels come from model.SETTINGS_LABELS, in its order.
SETTINGS_MEANINGS: tuple[tuple[str, str], ...] = (
    (
        "API subdomain",
        "Leave as api. Government tenants use gov-api (ask your AchieveIt administrator).",
    ),
    (
        "Base URL override",
        "Leave empty. Only for rehearsing with the local stand-in server started by "
        "'achieveit-updates sandbox', e.g. http://127.0.0.1:8765",
    ),
    (
        "Include header row",
        "TRUE sends the column names as the first CSV line. Leave TRUE unless AchieveIt asks.",
    ),
    (
        "Include comments",
        "TRUE sends the Comment column. FALSE leaves comments out of the upload.",
    ),
    (
        "CSV date format",
        "How dates are written in the upload: YYYY-MM-DD (recommended) or MM/DD/YYYY.",
    ),
    (
        "Submit waits (seconds)",
        "How long Submit waits for AchieveIt's answer before handing back Excel. "
        "If the job is still running, use Refresh Status later.",
    ),
    (
        "Plan ID",
        "The plan Get Plan Items reads into the Plan Items sheet: in AchieveIt, the plan card's "
        "menu > Copy Plan ID. Several plans: separate the IDs with commas.",
    ),
)


def settings_rows(settings: model.Settings) -> tuple[tuple[str, object, str], ...]:
    """(label, value, what it means) of each setting, as the Settings sheet shows them."""
    rows = []
    for label, meaning in SETTINGS_MEANINGS:
        value = getattr(settings, model.SETTINGS_LABELS[label])
        if label == "Submit waits (seconds)" and float(value).is_integer():
            value = int(value)
        if isinstance(value, tuple):
            value = ", ".join(value)
        rows.append((label, value if value != "" else None, meaning))
    return tuple(rows)


_DEFAULTS = model.Settings()

STATUSES_NOTE = (
    f"Your organization's status names, one per cell from E2 down, without empty cells in "
    f"between (up to {MAX_STATUSES}). The Status dropdown shows as many cells from E2 down as "
    "are filled: an empty cell in between would hide the last status."
)
# Log columns the tool writes text into (File name, CSV SHA-256, Job ID, State, Message) are
# Text; When is a date and time. Rows (C) stays a number.
LOG_FORMATS: dict[str, str] = {
    "A": DATETIME_FORMAT,
    "B": "@",
    "D": "@",
    "E": "@",
    "F": "@",
    "G": "@",
}
API_KEY_NOTE = (
    "The API key is never stored in this workbook. Use the Set API Key button on the "
    "AchieveIt tab: it keeps the key in your computer's credential store."
)

# Keys xlwings' VBA reads from this sheet (GetConfig). A key present here, even empty, stops
# xlwings looking further (xlwings.conf files), so the interpreters ship with working defaults:
# the standard python.org installs. GetConfig expands %VARIABLES% (WScript.Shell) on Windows.
INTERPRETER_WIN = r"%LOCALAPPDATA%\Programs\Python\Python312\pythonw.exe"
INTERPRETER_MAC = "/Library/Frameworks/Python.framework/Versions/3.12/bin/python3"


def xlwings_conf(
    win: str = INTERPRETER_WIN, mac: str = INTERPRETER_MAC
) -> tuple[tuple[str, str], ...]:
    """The xlwings.conf sheet's keys and values, naming these two interpreters."""
    return (
        ("INTERPRETER_WIN", win),
        ("INTERPRETER_MAC", mac),
        ("PYTHONPATH", ""),
        # Text, not a boolean: VBA joins it into a string that Python compares with "true".
        ("ADD_WORKBOOK_TO_PYTHONPATH", "true"),
    )


XLWINGS_CONF = xlwings_conf()
CONF_NOTES: tuple[str, ...] = (
    "xlwings settings, edited once by the team that installs this tool (see README).",
    "Keys in column A from A1 with no gaps, values in column B.",
    "INTERPRETER_WIN / INTERPRETER_MAC: full path of the Python that has the add-in installed. "
    "'achieveit-updates workbook new' names the Python it runs in; the template names the "
    "standard python.org installs of Python 3.12 (Windows: for the current user; %LOCALAPPDATA% "
    "is filled in by Excel). Change them if your Python is elsewhere. Do not leave them empty: "
    "xlwings would then try plain 'python'.",
    "PYTHONPATH: extra folders holding the addin package, separated by ';'. "
    "ADD_WORKBOOK_TO_PYTHONPATH true: the workbook's own folder is searched first.",
)


def read_me_lines(conf: Sequence[tuple[str, str]] = XLWINGS_CONF) -> tuple[str, ...]:
    """The Read Me sheet's lines; the installing team's part names the interpreters of `conf`."""
    interpreters = dict(conf)
    return (
        "AchieveIt Progress Updates",
        "",
        "This workbook checks your progress updates and sends them to AchieveIt.",
        "",
        "Once, before the first use",
        "1. Install the tool as your IT team or the README explains (Python and the add-in).",
        "2. AchieveIt tab > Set API Key: paste the key your AchieveIt administrator gave you. "
        "It is kept in your computer's credential store, never in this workbook.",
        "",
        "Every time",
        "3. Updates sheet: paste your updates under the headings (External ID, Status, "
        "Current Metric Value, As Of Date, Comment). Delete the three example rows.",
        "4. AchieveIt tab > Validate. Nothing is sent yet.",
        "5. Red cells are errors: read the Issues column, fix the value, Validate again. "
        "Amber cells are warnings: check them; they do not stop sending.",
        "6. AchieveIt tab > Submit. Only new and changed rows are sent: a row already sent "
        "unchanged stays home. The Job ID and Job Status columns show what AchieveIt said.",
        "To send a row again on purpose, clear its Job Status cell, then Submit.",
        "7. If the job is still processing, use Refresh Status a little later.",
        "8. The Log sheet keeps one line per submission (when, rows, job ID, result).",
        "Get Plan Items (AchieveIt tab) fills the Plan Items sheet with the items of the plan "
        "named on the Settings sheet (Plan ID: the plan card's menu > Copy Plan ID). Validate "
        "then flags an External ID that is not in the plan, with the nearest known ID. It can "
        "also add an Updates row for each item that has none yet.",
        "",
        "If Office blocks the macros",
        "A workbook downloaded from email or the internet is blocked: close it, right-click the "
        "file > Properties > tick Unblock > OK, then open it again. Or save it in a folder your "
        "IT team has made a Trusted Location.",
        "",
        "For the team that installs the tool",
        "The hidden sheet xlwings.conf tells Excel which Python to use: on Windows "
        + interpreters["INTERPRETER_WIN"]
        + ", on a Mac "
        + interpreters["INTERPRETER_MAC"]
        + ". 'achieveit-updates workbook new' writes a copy set for the Python it runs in. If "
        "Python is elsewhere, edit these paths (Home > Format > Hide & Unhide > Unhide Sheet), "
        "then hide the sheet again. 'achieveit-updates workbook check' says whether they exist.",
        "On a Mac, run 'xlwings runpython install' once in Terminal, with that same Python. The "
        "first time a button is used, macOS asks once to let Python control Excel: allow it.",
        "After installing a newer version of the tool, close this workbook and run "
        "'achieveit-updates workbook upgrade' on it: it renews the buttons and their macros "
        "and keeps every update, result, setting and Log line (and a .bak copy).",
        "Column L (Item) shows the name of each row's item on the Plan Items sheet; it is "
        "filled by Get Plan Items and Validate. "
        "The hidden columns J (Marks) and K (Sent) of the Updates table are the tool's own: "
        "Marks tells Excel which cells to colour red or amber, Sent remembers what each row "
        "last sent, so Submit sends only new and changed rows. Leave them hidden and do not "
        "edit them.",
        "Settings sheet: defaults suit most people. Statuses (column E) must match your "
        "AchieveIt organization's status names, listed from E2 down without empty cells (up to "
        f"{MAX_STATUSES}).",
    )


def _header(ws: Worksheet, values: tuple[str, ...], fill: PatternFill = HEADER_FILL) -> None:
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=1, column=col, value=value)
        cell.font = HEADER_FONT
        cell.fill = fill


def _widths(ws: Worksheet, widths: dict[str, float]) -> None:
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width


def _updates(ws: Worksheet) -> None:
    _header(ws, UPDATES_HEADER)
    for col in range(len(model.COLUMNS) + 1, len(UPDATES_HEADER) + 1):
        ws.cell(row=1, column=col).fill = RESULT_FILL
    for row_number, values in enumerate(EXAMPLE_ROWS, start=2):
        for col, value in enumerate(values, start=1):
            ws.cell(row=row_number, column=col, value=value)
        ws.cell(row=row_number, column=1).number_format = "@"
        ws.cell(row=row_number, column=4).number_format = "yyyy-mm-dd"
        ws.cell(row=row_number, column=5).alignment = Alignment(wrap_text=True)
    # Whole-column formats: Excel applies them to cells typed later, without 5000 empty cells.
    ws.column_dimensions["A"].number_format = "@"  # IDs stay text: no 1.2E+15, no lost zeros
    ws.column_dimensions["D"].number_format = "yyyy-mm-dd"
    # Excel reads a string written from Python as if typed: Text keeps a numeric-looking Job ID
    # whole and a status starting with "=" from turning into a formula.
    ws.column_dimensions["G"].number_format = "@"
    ws.column_dimensions["H"].number_format = "@"
    ws.column_dimensions["I"].number_format = DATETIME_FORMAT
    ws.column_dimensions["E"].alignment = Alignment(wrap_text=True)
    ws.column_dimensions["F"].alignment = Alignment(wrap_text=True)
    _widths(ws, {"A": 40, "B": 14, "C": 22, "D": 14, "E": 50, "F": 60, "G": 38, "H": 14, "I": 20})
    # Marks (one code per row for the colour rules) and Sent (the fingerprint of what the row
    # last sent): inside the table, so a sort moves them with their row; hidden, because nobody
    # needs to read them. Sent is Text, so a fingerprint never turns into a number.
    for letter in marks.HIDDEN_COLUMNS:
        ws.column_dimensions[letter].width = 8
        ws.column_dimensions[letter].hidden = True
    ws.column_dimensions[marks.SENT_COLUMN].number_format = "@"
    # Item: the name of the row's item on the Plan Items sheet, written by the tool.
    ws.column_dimensions[marks.ITEM_COLUMN].width = 40
    ws.column_dimensions[marks.ITEM_COLUMN].number_format = "@"
    for rule in mark_rules():
        ws.conditional_formatting.add(marks.rule_range(1), rule)

    last = 1 + len(EXAMPLE_ROWS)
    table = Table(displayName=UPDATES_TABLE, ref=f"A1:{marks.LAST_TOOL_COLUMN}{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)

    status = DataValidation(
        type="list",
        formula1=model.STATUSES_NAME,  # no leading "=": Excel drops the validation
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="stop",
        errorTitle="Status",
        error="Pick a status from the list. The allowed statuses are on the Settings sheet, "
        "column E.",
        showInputMessage=True,
        promptTitle="Status",
        prompt="Pick one of your organization's statuses from the list.",
    )
    metric = DataValidation(
        allow_blank=True,
        showInputMessage=True,
        promptTitle="Metric",
        prompt="20% is entered as 0.2",
    )
    as_of = DataValidation(
        allow_blank=True,
        showInputMessage=True,
        promptTitle="As Of Date",
        prompt="Date of the update, e.g. 2026-11-03",
    )
    for validation, column in ((status, "B"), (metric, "C"), (as_of, "D")):
        validation.add(f"{column}2:{column}{LAST_INPUT_ROW}")
        ws.add_data_validation(validation)
    ws.freeze_panes = "A2"


def _settings(ws: Worksheet, settings: model.Settings) -> None:
    rows = settings_rows(settings)
    assert tuple(label for label, _, _ in rows) == tuple(model.SETTINGS_LABELS)
    if len(settings.statuses) > MAX_STATUSES:
        raise ValueError(f"at most {MAX_STATUSES} statuses fit the Status dropdown")
    _header(ws, ("Setting", "Value", "What it means"))
    for row_number, (label, value, meaning) in enumerate(rows, start=2):
        ws.cell(row=row_number, column=1, value=label)
        ws.cell(row=row_number, column=2, value=value)
        ws.cell(row=row_number, column=3, value=meaning).alignment = Alignment(wrap_text=True)
    note_row = 2 + len(rows) + 1
    ws.cell(row=note_row, column=1, value=API_KEY_NOTE).font = NOTE_FONT

    date_row = 2 + list(model.SETTINGS_LABELS).index("CSV date format")
    formats = DataValidation(
        type="list",
        formula1='"' + ",".join(model.DATE_FORMATS) + '"',
        allow_blank=False,
        showErrorMessage=True,
        errorTitle="CSV date format",
        error="Pick " + " or ".join(model.DATE_FORMATS) + " from the list.",
    )
    formats.add(f"B{date_row}")
    ws.add_data_validation(formats)
    flags = DataValidation(
        type="list",
        formula1='"TRUE,FALSE"',
        allow_blank=False,
        showErrorMessage=True,
        errorTitle="TRUE or FALSE",
        error="Pick TRUE or FALSE from the list.",
    )
    for label in ("Include header row", "Include comments"):
        flags.add(f"B{2 + list(model.SETTINGS_LABELS).index(label)}")
    ws.add_data_validation(flags)

    status_header = ws.cell(row=1, column=5, value=model.STATUSES_LABEL)
    status_header.font = HEADER_FONT
    status_header.fill = HEADER_FILL
    for row_number, status in enumerate(settings.statuses, start=2):
        ws.cell(row=row_number, column=5, value=status)
    ws.cell(row=1, column=6, value=STATUSES_NOTE)
    _widths(ws, {"A": 26, "B": 18, "C": 90, "D": 4, "E": 18, "F": 50})
    ws.freeze_panes = "A2"


def _log(ws: Worksheet) -> None:
    _header(ws, model.LOG_COLUMNS)
    # Whole-column formats, for the rows the tool appends (see _updates: text stays text).
    for letter, number_format in LOG_FORMATS.items():
        ws.column_dimensions[letter].number_format = number_format
    _widths(ws, {"A": 20, "B": 34, "C": 8, "D": 66, "E": 38, "F": 14, "G": 60})
    ws.freeze_panes = "A2"


def _plan_items(wb: Workbook, ws: Worksheet) -> None:
    """The Plan Items sheet: the table Get Plan Items fills (addin/itemsheet.py), empty."""
    lay_out(ws)
    fill(wb, ws, sheet_rows([]))


def _read_me(ws: Worksheet, conf: Sequence[tuple[str, str]]) -> None:
    for row_number, line in enumerate(read_me_lines(conf), start=1):
        cell = ws.cell(row=row_number, column=1, value=line or None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if row_number == 1:
            cell.font = TITLE_FONT
        elif line and not line[0].isdigit() and len(line) < 40:
            cell.font = HEADER_FONT  # section headings
    _widths(ws, {"A": 110})


def _conf(ws: Worksheet, conf: Sequence[tuple[str, str]]) -> None:
    for row_number, (key, value) in enumerate(conf, start=1):
        ws.cell(row=row_number, column=1, value=key)
        ws.cell(row=row_number, column=2, value=value or None)
    for row_number, note in enumerate(CONF_NOTES, start=1):
        ws.cell(row=row_number, column=4, value=note)
    _widths(ws, {"A": 30, "B": 60, "D": 100})
    ws.sheet_state = "hidden"


def build_workbook(
    settings: model.Settings = _DEFAULTS, conf: Sequence[tuple[str, str]] = XLWINGS_CONF
) -> Workbook:
    """The template's workbook: sheets, formats, validations, table and defined names.

    `settings` fill the Settings sheet and `conf` the xlwings.conf sheet (keys as in
    XLWINGS_CONF); the defaults make the committed template.
    """
    wb = Workbook()
    wb.code_name = WORKBOOK_CODE_NAME
    builders: dict[str, Callable[[Worksheet], None]] = {
        model.UPDATES_SHEET: _updates,
        model.SETTINGS_SHEET: lambda ws: _settings(ws, settings),
        model.LOG_SHEET: _log,
        PLAN_ITEMS_SHEET: lambda ws: _plan_items(wb, ws),
        READ_ME_SHEET: lambda ws: _read_me(ws, conf),
        CONF_SHEET: lambda ws: _conf(ws, conf),
    }
    first = wb.active
    assert first is not None
    wb.remove(first)
    for title in SHEET_ORDER:
        ws = wb.create_sheet(title)
        ws.sheet_properties.codeName = CODE_NAMES[title]
        builders[title](ws)
    wb.defined_names[model.STATUSES_NAME] = DefinedName(model.STATUSES_NAME, attr_text=STATUSES_REF)
    # The template's version, hidden from Name Manager (see addin/template/version.py).
    wb.defined_names[VERSION_NAME] = DefinedName(
        VERSION_NAME, attr_text=str(TEMPLATE_VERSION), hidden=True
    )
    wb.active = 0
    # openpyxl asks for a full recalculation on load by default, and its calcId (Excel 2007's
    # engine) makes Excel recalculate anyway: either marks the untouched template changed, so
    # closing it asks "Save changes?". No flag, and the engine id of Excel 2019 / Microsoft 365
    # (an Excel with a newer engine would recalculate once; the template has no cell formulas).
    wb.calculation.fullCalcOnLoad = None
    wb.calculation.calcId = CALC_ID
    return wb
