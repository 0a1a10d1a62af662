"""Cell colours without one Excel call per cell: a hidden 'Marks' column plus two rules. Pure.

Colouring cells one by one costs one Excel round trip per cell (COM on Windows, AppleScript on
Mac), and Excel has no call that fills many scattered cells at once. Instead the ribbon writes one
short code per row into column J (one letter per input column A..E: E = error, W = warning,
. = fine; blank = nothing to show) as a single block, and two conditional-format rules on the
input cells turn the letters into the red and amber fills. The rules live in the template (file
format, so they work in every Excel language); the template builder takes them from here.
"""

from __future__ import annotations

from collections.abc import Mapping

from .model import COLUMNS, ERROR, RESULT_COLUMNS, WARNING, Severity

MARKS_HEADER = "Marks"
MARKS_COLUMN = "J"
MARKS_INDEX = 9  # 0-based: A..E inputs, F..I results, J marks, K sent, L item
EXCEL_MAX_ROWS = 1_048_576
# What each row last sent (addin/sendstate.py): hidden like Marks, inside the table so a sort
# moves it with its row.
SENT_HEADER = "Sent"
SENT_COLUMN = "K"
# The name of the row's item on the Plan Items sheet (Get Plan Items), shown beside the inputs'
# results: visible, and last, so that copies made before it keep F..K where they were.
ITEM_HEADER = "Item"
ITEM_COLUMN = "L"

# The Updates sheet's layout, for every reader and writer: columns are 1-based, as in Excel.
INPUT_WIDTH = len(COLUMNS)  # A..E, the user's
ISSUES_COL = INPUT_WIDTH + 1  # F
JOB_ID_COL = ISSUES_COL + 1  # G, then Job Status (H) and Checked At (I)
MARKS_COL = MARKS_INDEX + 1  # J
SENT_COL = MARKS_COL + 1  # K
ITEM_COL = SENT_COL + 1  # L
# F..L: the tool's columns, in model.ToolCells order.
TOOL_HEADERS: tuple[str, ...] = (*RESULT_COLUMNS, MARKS_HEADER, SENT_HEADER, ITEM_HEADER)
HIDDEN_COLUMNS: tuple[str, ...] = (MARKS_COLUMN, SENT_COLUMN)  # for the rules and the tool only
LAST_TOOL_COLUMN = ITEM_COLUMN
LAST_TOOL_COL = ITEM_COL

ERROR_CODE = "E"
WARNING_CODE = "W"
CLEAN_CODE = "."
_CODES: dict[str, str] = {ERROR: ERROR_CODE, WARNING: WARNING_CODE}

# Conditional-format formulas (without the leading '=', as openpyxl's FormulaRule takes them).
# ROW() and COLUMN() make them independent of the active cell and of the rule's first row; they
# rely on the five inputs being A..E, so COLUMN() is the position in the code.
ERROR_RULE_FORMULA = f'MID(INDEX(${MARKS_COLUMN}:${MARKS_COLUMN},ROW()),COLUMN(),1)="{ERROR_CODE}"'
WARNING_RULE_FORMULA = (
    f'MID(INDEX(${MARKS_COLUMN}:${MARKS_COLUMN},ROW()),COLUMN(),1)="{WARNING_CODE}"'
)


def rule_range(header_row: int = 1) -> str:
    """The cells the two rules apply to: the inputs below the header, to the bottom of the sheet."""
    return f"A{header_row + 1}:E{EXCEL_MAX_ROWS}"


def row_codes(marks: Mapping[tuple[int, int], Severity]) -> dict[int, str]:
    """results.cell_marks(...) -> sheet row -> its Marks code, e.g. {7: '.E..W'}."""
    rows: dict[int, list[str]] = {}
    for (row, column), severity in marks.items():
        if 0 <= column < len(COLUMNS) and severity in _CODES:
            rows.setdefault(row, [CLEAN_CODE] * len(COLUMNS))[column] = _CODES[severity]
    return {row: "".join(code) for row, code in rows.items()}
