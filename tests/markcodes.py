"""Reading Marks codes back the way the template's two rules do (tests only: the add-in writes
codes, it never reads them)."""

from __future__ import annotations

from collections.abc import Iterable

from addin import marks, model
from addin.model import Severity

_SEVERITIES: dict[str, Severity] = {
    marks.ERROR_CODE: model.ERROR,
    marks.WARNING_CODE: model.WARNING,
}


def code_severity(code: str | None, column: int) -> Severity | None:
    """What the rules show for input column `column` (0-based) of a row with Marks `code`."""
    return _SEVERITIES.get((code or "")[column : column + 1])


def marked_cells(codes: Iterable[tuple[int, str | None]]) -> dict[tuple[int, int], Severity]:
    """Inverse of marks.row_codes over (row, code) pairs: what the sheet shows in colour."""
    shown: dict[tuple[int, int], Severity] = {}
    for row, code in codes:
        for column in range(len(model.COLUMNS)):
            severity = code_severity(code, column)
            if severity is not None:
                shown[(row, column)] = severity
    return shown
