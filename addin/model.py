"""Plain data shared by every part of the engine: the sheet contract, findings, updates, settings.

Nothing here does I/O. Data flows one way:
sheet or file -> Table (raw rows) -> rules -> Report (findings + Updates) -> CSV -> client -> job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

# The five input columns, in the order the AchieveIt article requires.
EXTERNAL_ID = "External ID"
STATUS = "Status"
METRIC = "Current Metric Value"
AS_OF_DATE = "As Of Date"
COMMENT = "Comment"
COLUMNS: tuple[str, ...] = (EXTERNAL_ID, STATUS, METRIC, AS_OF_DATE, COMMENT)

# Columns right of Comment belong to the tool: it writes results there, never into the inputs.
ISSUES = "Issues"
JOB_ID = "Job ID"
JOB_STATUS = "Job Status"
CHECKED_AT = "Checked At"
RESULT_COLUMNS: tuple[str, ...] = (ISSUES, JOB_ID, JOB_STATUS, CHECKED_AT)

UPDATES_SHEET = "Updates"
SETTINGS_SHEET = "Settings"
LOG_SHEET = "Log"
HEADER_SEARCH_ROWS = 10  # the header row is looked for among the first 10 rows
NO_HEADER_ROW = 0  # Table.header_row of a CSV written without a header row (the article allows it)

LOG_COLUMNS: tuple[str, ...] = (
    "When",
    "File name",
    "Rows",
    "CSV SHA-256",
    "Job ID",
    "State",
    "Message",
)

# The seven statuses of the AchieveIt article, in its order. Organisations may rename them.
DEFAULT_STATUSES: tuple[str, ...] = (
    "On Track",
    "Off Track",
    "At Risk",
    "Achieved",
    "Not Achieved",
    "Canceled",
    "Not Started",
)

# Excel error values as openpyxl and xlwings (err_to_str) hand them over.
EXCEL_ERRORS = frozenset(
    {
        "#N/A",
        "#VALUE!",
        "#REF!",
        "#DIV/0!",
        "#NUM!",
        "#NAME?",
        "#NULL!",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
    }
)

Severity = Literal["error", "warning", "note"]
ERROR: Severity = "error"
WARNING: Severity = "warning"
NOTE: Severity = "note"  # for the user's information only: never stops a submission

DATE_ISO = "YYYY-MM-DD"
DATE_US = "MM/DD/YYYY"
DATE_FORMATS: tuple[str, ...] = (DATE_ISO, DATE_US)


def is_blank(value: Any) -> bool:
    """An empty cell: nothing, or only spaces. (Here, not in cells.py, which imports model.)"""
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True)
class Uncalculated:
    """A formula cell whose file holds no calculated value (written by a program that doesn't
    calculate). Readers put this in place of the value so the rules can say so."""

    formula: str

    def __str__(self) -> str:
        return self.formula


@dataclass(frozen=True)
class Unreadable:
    """A cell value the reader cannot hand over as it is (a date serial that is no real date,
    such as Excel's fictitious 1900-02-29): the rules report `message` as an error `code` in
    its column. `shown` is the cell's raw value as text."""

    shown: str
    code: str
    message: str

    def __str__(self) -> str:
        return self.shown


@dataclass(frozen=True)
class Row:
    """One data row as read, before any checking.

    `number` is the sheet row number the user sees (1-based). `values` holds the raw cell values
    of the five input columns in COLUMNS order (str, int, float, bool, date, datetime, None,
    an Excel error string such as "#N/A", Uncalculated or Unreadable).
    """

    number: int
    values: tuple[Any, ...]
    hidden: bool = False
    metric_percent: bool = False  # the metric cell is formatted as a percentage (0.2 -> 20%)

    def is_blank(self) -> bool:
        return all(is_blank(v) for v in self.values)

    def is_id_only(self) -> bool:
        """Only the External ID is filled in: a row waiting for its update (Get Plan Items'
        "add a row per item" makes these), not an update with four mistakes."""
        return (
            bool(self.values)
            and not is_blank(self.values[0])
            and all(is_blank(v) for v in self.values[1:])
        )


@dataclass(frozen=True)
class Finding:
    """One problem found, as data. `row` is the sheet row the user sees; `column` is a header
    name from COLUMNS, or None when the finding concerns the whole row."""

    row: int
    column: str | None
    severity: Severity
    code: str
    message: str
    value: Any = None

    def as_json(self) -> dict[str, Any]:
        value = _json_value(self.value)
        return {
            "row": self.row,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "value": value,
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass(frozen=True)
class Table:
    """The Updates table as read from a workbook or CSV.

    `header` is the header row's cells (as read, any length); `header_row` its sheet row number,
    None when no header row was found, or NO_HEADER_ROW for a CSV that has none on purpose.
    `findings` are problems the reader saw in the file itself (merged cells, hidden rows...),
    found before any rule runs.
    """

    source: str
    sheet: str
    header_row: int | None
    header: tuple[Any, ...]
    rows: tuple[Row, ...]
    findings: tuple[Finding, ...] = ()
    date1904: bool = False  # the workbook counts dates in Excel's 1904 date system


@dataclass(frozen=True)
class Update:
    """A checked, normalised progress update, ready to be written as a CSV record."""

    row: int
    external_id: str
    status: str  # canonical spelling from the configured list
    metric: float | int | None
    as_of: dt.date
    comment: str = ""


@dataclass(frozen=True)
class Report:
    """What validation found. `updates` holds the rows that can be sent, in sheet order."""

    findings: tuple[Finding, ...]
    updates: tuple[Update, ...]
    rows: int  # non-blank data rows

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "rows": self.rows,
            "issues": [f.as_json() for f in self.findings],
        }


@dataclass(frozen=True)
class Settings:
    """Everything a user can set (no secrets). The template's Settings sheet holds these."""

    subdomain: str = "api"
    base_url: str = ""  # full override, e.g. http://127.0.0.1:8765 for the stand-in server
    include_header: bool = True
    include_comment: bool = True
    date_format: str = DATE_ISO
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    submit_wait_seconds: float = 20.0
    plan_ids: tuple[str, ...] = ()  # the plans Get Plan Items reads ("Copy Plan ID")


# Labels of the Settings sheet (column A) -> Settings field. Statuses are a list of their own.
SETTINGS_LABELS: dict[str, str] = {
    "API subdomain": "subdomain",
    "Base URL override": "base_url",
    "Include header row": "include_header",
    "Include comments": "include_comment",
    "CSV date format": "date_format",
    "Submit waits (seconds)": "submit_wait_seconds",
    "Plan ID": "plan_ids",
}
STATUSES_LABEL = "Statuses"
STATUSES_NAME = "AchieveItStatuses"  # workbook-level defined name of the statuses list


@dataclass(frozen=True)
class JobOutcome:
    """Where a submission stands, for write-back, the Log sheet and `--json` output."""

    job_id: str | None
    state: str  # "succeeded", "failed", "processing", "not-submitted" or "unknown"
    http_status: int | None
    message: str
    checked_at: dt.datetime | None = None
    upload_name: str = ""  # the <name> in POST /api/progressupdates/<name>, for the Log

    def as_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "state": self.state,
            "http_status": self.http_status,
            "message": self.message,
        }


@dataclass(frozen=True)
class ToolCells:
    """One Updates row's tool cells F..L, in marks.TOOL_HEADERS order: as read, or to write.

    Values are as the sheet holds them (text, a datetime for Checked At, None when empty).
    """

    issues: Any = None
    job_id: Any = None
    job_status: Any = None
    checked_at: Any = None
    marks: Any = None
    sent: Any = None  # the fingerprint of what the row last sent (addin/sendstate.py)
    item: Any = None  # the name of the row's item on the Plan Items sheet (not sent, not hashed)

    def values(self) -> tuple[Any, ...]:
        return (
            self.issues,
            self.job_id,
            self.job_status,
            self.checked_at,
            self.marks,
            self.sent,
            self.item,
        )

    @classmethod
    def of(cls, values: Sequence[Any]) -> ToolCells:
        """From the cells F.. of a row as read (short rows are padded, blanks become None)."""
        width = len(fields(cls))
        cells = [None if is_blank(v) else v for v in list(values)[:width]]
        return cls(*(cells + [None] * (width - len(cells))))


@dataclass(frozen=True)
class LogRow:
    """A Log sheet row as read: where it is and what the tool needs from it."""

    row: int  # sheet row
    job_id: str
    state: str  # lower case, e.g. "processing"
    sha256: str  # lower case
    message: str = ""
    when: Any = None  # as the cell holds it (a datetime, or text)


@dataclass(frozen=True)
class LogEntry:
    """One row of the Log sheet: one submission."""

    when: dt.datetime
    file_name: str
    rows: int
    sha256: str
    job_id: str | None
    state: str
    message: str

    def cells(self) -> list[Any]:
        return [
            self.when,
            self.file_name,
            self.rows,
            self.sha256,
            self.job_id or "",
            self.state,
            self.message,
        ]
