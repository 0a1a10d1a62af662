"""What to show where: the Issues text per row, cell colours, one-line summaries. Pure.

Shared by the openpyxl write-back (workbook.py), the xlwings ribbon and the command line, so a
file and a live workbook look the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from . import model
from .model import Finding, Severity

# Excel's built-in "Bad" and "Neutral" cell styles: users already read them as error / warning.
ERROR_FILL = "FFC7CE"
WARNING_FILL = "FFEB9C"
ERROR_FONT = "9C0006"
WARNING_FONT = "9C5700"

EXCEL_CELL_LIMIT = 32_767  # characters an Excel cell can hold
JOB_STATUS_LIMIT = 250  # a Job Status cell stays readable
ELLIPSIS = "…"

_LABEL = {model.ERROR: "Error", model.WARNING: "Warning", model.NOTE: "Note"}
_RANK = {model.ERROR: 0, model.WARNING: 1, model.NOTE: 2}


def issue_line(finding: Finding) -> str:
    """'Error – Status: …' or, for a whole-row finding, 'Warning – …'."""
    label = _LABEL.get(finding.severity, finding.severity.capitalize())
    if finding.column:
        return f"{label} – {finding.column}: {finding.message}"
    return f"{label} – {finding.message}"


def _clip(text: str, limit: int = EXCEL_CELL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def issues_text_by_row(findings: Iterable[Finding]) -> dict[int, str]:
    """Sheet row -> the text of its Issues cell: errors first, then warnings, one per line.

    Order within a severity is the order found; repeated identical lines are shown once.
    """
    by_row: dict[int, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_row[finding.row].append(finding)
    texts: dict[int, str] = {}
    for row, items in by_row.items():
        items.sort(key=lambda f: _RANK.get(f.severity, len(_RANK)))  # stable sort keeps order
        lines = list(dict.fromkeys(issue_line(f) for f in items))
        texts[row] = _clip("\n".join(lines))
    return texts


def cell_marks(findings: Iterable[Finding]) -> dict[tuple[int, int], Severity]:
    """(sheet row, 0-based index into model.COLUMNS) -> worst severity found in that cell.

    Whole-row findings (column None) and columns outside the five inputs mark no cell.
    """
    marks: dict[tuple[int, int], Severity] = {}
    for finding in findings:
        if finding.column not in model.COLUMNS or finding.severity == model.NOTE:
            continue
        key = (finding.row, model.COLUMNS.index(finding.column))
        if marks.get(key) != model.ERROR:
            marks[key] = finding.severity
    return marks


def job_status_text(state: str, message: str) -> str:
    """The Job Status cell: 'succeeded: Processed 12 progress updates.'"""
    return _clip(f"{state}: {message}" if message else state, JOB_STATUS_LIMIT)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary(findings: Iterable[Finding], rows: int) -> str:
    """One line for alerts and the CLI, e.g. '3 errors in 2 rows; first at row 7.'"""
    items = list(findings)
    errors = [f for f in items if f.severity == model.ERROR]
    warnings = [f for f in items if f.severity == model.WARNING]
    if errors:
        text = (
            f"{_plural(len(errors), 'error')} in {_plural(len({f.row for f in errors}), 'row')}; "
            f"first at row {min(f.row for f in errors)}."
        )
        if warnings:
            text += f" Also {_plural(len(warnings), 'warning')}."
        return text
    if warnings:
        return (
            f"No errors; {_plural(len(warnings), 'warning')} "
            f"(first at row {min(f.row for f in warnings)})."
        )
    if rows == 0:
        return "No rows to send: the table is empty."
    if rows == 1:
        return "The 1 row is ready to send."
    return f"All {rows} rows are ready to send."


def job_findings(message: str, sent: Iterable[tuple[int, str]]) -> list[Finding]:
    """A failed job's text, line by line, on the rows whose External ID the line names.

    `sent` holds (sheet row, External ID) of the rows the job carried. AchieveIt's failure text
    is undocumented; matching by ID (never by position) is the only safe way back to rows.
    Lines naming no sent ID go to no row (the caller shows the whole text).
    """
    rows_by_id: dict[str, list[int]] = defaultdict(list)
    for row, external_id in sent:
        rows_by_id[external_id].append(row)
    found: list[Finding] = []
    for line in (text.strip() for text in message.splitlines()):
        for external_id, rows in rows_by_id.items():
            if _names_id(line, external_id):
                found.extend(
                    Finding(row, None, model.ERROR, "job-failed", f"AchieveIt: {line}", external_id)
                    for row in rows
                )
    return found


def _names_id(line: str, external_id: str) -> bool:
    """True when `external_id` stands in `line` as a whole token (ENG-1 is not in ENG-12)."""
    start = line.find(external_id)
    while start != -1:
        end = start + len(external_id)
        before = line[start - 1] if start else " "
        after = line[end] if end < len(line) else " "
        if not (before.isalnum() or before in "-_") and not (after.isalnum() or after in "-_"):
            return True
        start = line.find(external_id, start + 1)
    return False
