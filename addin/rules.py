"""Check the Updates table and turn its rows into Updates: pure, no I/O.

Bad values are findings (data), never exceptions. Each finding names the sheet row the user
sees, the column, a stable code and a short message that says how to fix it (it is shown in a
cell). A row with any error is left out of `Report.updates`; warnings do not block a row.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .cells import is_blank, normal_label, percent_points
from .dates import MONTHS, DateProblem, parse_as_of, plain_number
from .lookalikes import LOOKALIKES, describe, explain, odd_characters, plain, visible, where
from .model import (
    AS_OF_DATE,
    COLUMNS,
    COMMENT,
    DEFAULT_STATUSES,
    ERROR,
    EXCEL_ERRORS,
    EXTERNAL_ID,
    HEADER_SEARCH_ROWS,
    METRIC,
    NOTE,
    STATUS,
    WARNING,
    Finding,
    Report,
    Row,
    Severity,
    Table,
    Uncalculated,
    Unreadable,
    Update,
)
from .planitems import KnownItem, finder

EXPECTED_HEADER = " | ".join(COLUMNS)
_COLUMN_ORDER = {name: i for i, name in enumerate(COLUMNS)}
_RE_PASTE = (
    "Format column A as Text and paste the IDs again from AchieveIt's 'Export External IDs'."
)

_A = re.ASCII
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[Ee][+-]\d+", _A)  # how Excel shows long numbers
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", _A)
_PERCENT = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*%", _A)
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?", _A)
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+", _A)
_ID_CHARACTERS = {",": "a comma", '"': "a quote", "'": "a quote", "\n": "a line break"}
_ID_CHARACTER = re.compile("[,\"'\r\n]")


# --- header --------------------------------------------------------------------------------


def validate_header(header: Sequence[Any], header_row: int | None) -> list[Finding]:
    """Findings about the header row: missing, or not the five columns in the article's order."""
    if header_row is None:
        return [
            Finding(
                1,
                None,
                ERROR,
                "missing-header",
                f"No row among the first {HEADER_SEARCH_ROWS} starts with 'External ID'. "
                f"Put this header row above the data: {EXPECTED_HEADER}.",
            )
        ]
    cells = [_header_key(c) for c in tuple(header)[: len(COLUMNS)]]
    cells += [""] * (len(COLUMNS) - len(cells))
    expected = [c.casefold() for c in COLUMNS]
    # The article makes Comment optional, so a missing or blank fifth header is fine.
    if cells == expected or (cells[:-1] == expected[:-1] and not cells[-1]):
        return []
    wrong = next(
        i for i, (got, want) in enumerate(zip(cells, expected, strict=True)) if got != want
    )
    found = " | ".join(_header_shown(c) for c in _padded(header))
    return [
        Finding(
            header_row,
            None,
            ERROR,
            "bad-header",
            f"The header row must read {EXPECTED_HEADER}; found {found} "
            f"(column {chr(ord('A') + wrong)} should be '{COLUMNS[wrong]}').",
            list(header)[: len(COLUMNS)],
        )
    ]


def _header_key(cell: Any) -> str:
    # Excel's "CSV UTF-8" puts a byte-order mark before the first header; a header typed with
    # a no-break or zero-width space is still the header.
    return "" if cell is None else normal_label(str(cell))


def _padded(header: Sequence[Any]) -> list[Any]:
    cells = list(header)[: len(COLUMNS)]
    return cells + [None] * (len(COLUMNS) - len(cells))


def _header_shown(cell: Any) -> str:
    text = "" if cell is None else str(cell).lstrip("\ufeff").strip()
    return text or "(blank)"


# --- rows ----------------------------------------------------------------------------------


def validate_rows(
    rows: Iterable[Row],
    *,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    today: dt.date,
    items: Mapping[str, KnownItem] | None = None,
    date1904: bool = False,
) -> Report:
    """Check every row; return the findings and the updates of the rows without errors.

    `items` (the Plan Items sheet's, by External ID): an External ID not among them is an
    error with the nearest known ID as its hint, and a metric item without a Current Metric
    Value a warning. None checks no ID against a plan. `date1904`: the rows come from a
    workbook in Excel's 1904 date system (for hints).
    """
    checker = _RowChecker(statuses, today, items, date1904)
    findings: list[Finding] = []
    updates: list[Update] = []
    count, waiting = 0, False
    blanks_since_data: list[int] = []  # blank rows count only when data follows them
    first_seen: dict[tuple[str, dt.date], int] = {}
    for row in rows:
        if row.is_blank():
            if count or waiting:
                blanks_since_data.append(row.number)
            continue
        findings.extend(_blank_row(n) for n in blanks_since_data)
        blanks_since_data.clear()
        if row.is_id_only():
            findings.append(_waiting_row(row.number))
            waiting = True
            continue
        count += 1
        row_findings, update, key = checker.check(row)
        if key is not None:
            if key in first_seen:
                row_findings.append(_duplicate(row, key, first_seen[key]))
            else:
                first_seen[key] = row.number
        findings.extend(row_findings)
        if update is not None:
            updates.append(update)
    findings.sort(key=_order)
    return Report(tuple(findings), tuple(updates), count)


def validate_table(
    table: Table,
    *,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    today: dt.date | None = None,
    items: Mapping[str, KnownItem] | None = None,
) -> Report:
    """Header findings, the reader's own findings and row findings, in sheet order.

    With a bad header no update is returned: the columns cannot be trusted. Rows are still
    checked so that every problem shows at once.
    """
    header_findings = validate_header(table.header, table.header_row)
    rows = validate_rows(
        table.rows,
        statuses=statuses,
        today=dt.date.today() if today is None else today,
        items=items,
        date1904=table.date1904,
    )
    findings = sorted([*header_findings, *table.findings, *rows.findings], key=_order)
    updates: tuple[Update, ...] = ()
    if not any(f.severity == ERROR for f in header_findings):
        reader_errors = {f.row for f in table.findings if f.severity == ERROR}
        updates = tuple(u for u in rows.updates if u.row not in reader_errors)
    return Report(tuple(findings), updates, rows.rows)


def _order(finding: Finding) -> tuple[int, int]:
    # Whole-row findings first, then the cells left to right; unknown columns last.
    if finding.column is None:
        return finding.row, -1
    return finding.row, _COLUMN_ORDER.get(finding.column, len(COLUMNS))


def _blank_row(number: int) -> Finding:
    return Finding(
        number,
        None,
        WARNING,
        "blank-row",
        f"Row {number} is blank and will be skipped (AchieveIt does not accept empty rows).",
    )


# Said where rows with only an External ID are added (Get Plan Items), and on each such row.
ID_ONLY_ROWS = (
    "Type the Status and As Of Date of the items you update: a row with only its External ID "
    "waits and is not sent."
)


def _waiting_row(number: int) -> Finding:
    return Finding(
        number,
        None,
        NOTE,
        "id-only",
        "Only the External ID is filled in, so this row waits and is not sent: type its "
        "Status and As Of Date to send an update for it, or delete the row.",
    )


def _duplicate(row: Row, key: tuple[str, dt.date], first: int) -> Finding:
    return Finding(
        row.number,
        None,
        WARNING,
        "duplicate-update",
        f"Row {row.number} repeats the update of row {first} (same External ID and As Of Date "
        f"{_long_date(key[1])}); keep only the one you mean.",
        row.values[0],
    )


def _long_date(day: dt.date) -> str:
    # Spelled out, so nobody wonders whether 03/11 is March or November.
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


class _RowChecker:
    """Checks one row at a time against a status list and a 'today'."""

    def __init__(
        self,
        statuses: Sequence[str],
        today: dt.date,
        items: Mapping[str, KnownItem] | None = None,
        date1904: bool = False,
    ) -> None:
        self.today = today
        self.items = _Plan(items) if items else None
        self.date1904 = date1904
        # Settings may hold blanks or the same status twice: the first spelling wins.
        self.by_key: dict[str, str] = {}
        for status in statuses:
            if isinstance(status, str) and status.strip():
                self.by_key.setdefault(_status_key(status), " ".join(status.split()))
        self.keys = list(self.by_key)
        self.allowed = ", ".join(self.by_key.values()) or (
            "(none: add the statuses on the Settings sheet)"
        )
        self.hints: dict[str, str] = {}

    def check(self, row: Row) -> tuple[list[Finding], Update | None, tuple[str, dt.date] | None]:
        """The row's findings, its Update (None when it has errors) and its duplicate key."""
        values = tuple(row.values[: len(COLUMNS)]) + (None,) * (len(COLUMNS) - len(row.values))
        cell = _Cells(row.number, values, row.metric_percent)
        if row.hidden:
            cell.add(
                None,
                WARNING,
                "hidden-row",
                f"Row {row.number} is hidden (filtered or hidden) but will be sent; "
                "unhide it or delete it if that is not what you want.",
            )
        external_id = self._external_id(cell)
        status = self._status(cell)
        metric = self._metric(cell)
        as_of = self._as_of(cell)
        comment = self._comment(cell)
        if self.items is not None and external_id is not None:
            self.items.check(cell, external_id, metric is None and not cell.has_errors)
        key = None
        if external_id is not None and as_of is not None:
            key = (external_id.casefold(), as_of)
        if cell.has_errors or external_id is None or status is None or as_of is None:
            return cell.findings, None, key
        update = Update(row.number, external_id, status, metric, as_of, comment)
        return cell.findings, update, key

    def _external_id(self, cell: _Cells) -> str | None:
        raw = cell.value(EXTERNAL_ID)
        if cell.unusable(EXTERNAL_ID, "Copy the ID from AchieveIt's 'Export External IDs'."):
            return None
        if isinstance(raw, bool) or (isinstance(raw, float) and not math.isfinite(raw)):
            cell.error(EXTERNAL_ID, "bad-id", f"{_shown(raw)} is not an External ID. {_RE_PASTE}")
            return None
        if isinstance(raw, int | float):
            text = plain_number(raw)
            cell.warn(
                EXTERNAL_ID,
                "numeric-id",
                f"External ID {text} is stored as a number: leading zeros may have been lost "
                f"and long numbers rounded. {_RE_PASTE}",
            )
            return text
        if isinstance(raw, dt.date | dt.datetime):
            cell.error(
                EXTERNAL_ID,
                "mangled-id",
                f"Excel turned this External ID into a date ({raw.isoformat()}). {_RE_PASTE}",
            )
            return None
        if not isinstance(raw, str):
            cell.error(EXTERNAL_ID, "bad-id", f"'{_shown(raw)}' is not an External ID. {_RE_PASTE}")
            return None
        text = raw.strip()
        if _SCIENTIFIC.fullmatch(text):
            # A warning, not an error: a few customer-defined IDs really look like this.
            cell.warn(
                EXTERNAL_ID,
                "scientific-id",
                f"External ID '{text}' looks like Excel's scientific notation: digits may "
                f"already be lost. {_RE_PASTE}",
            )
            return text
        if not _plain_id(cell, text):
            return None
        if _ID_CHARACTER.search(text):
            text_lf = text.replace("\r", "\n")
            found = sorted({name for ch, name in _ID_CHARACTERS.items() if ch in text_lf})
            cell.warn(
                EXTERNAL_ID,
                "id-characters",
                f"External ID '{text}' contains {' and '.join(found)}; older AchieveIt versions "
                "reject these. Check it against 'Export External IDs'.",
            )
        return text

    def _status(self, cell: _Cells) -> str | None:
        raw = cell.value(STATUS)
        if cell.unusable(STATUS, f"Pick one of: {self.allowed}."):
            return None
        if isinstance(raw, str):
            canonical = self.by_key.get(_status_key(raw))
            if canonical is not None:
                return canonical
        shown = _shown(raw).strip()
        hint = self._hint(shown) if isinstance(raw, str) else f"use one of: {self.allowed}."
        cell.error(
            STATUS, "unknown-status", f"'{shown}' is not an AchieveIt status: {hint}{_odd(shown)}"
        )
        return None

    def _hint(self, text: str) -> str:
        # difflib is slow and a misspelling tends to repeat down a column: remember the answers.
        key = _status_key(text)
        if key not in self.hints:
            close = difflib.get_close_matches(key, self.keys, n=1, cutoff=0.6)
            self.hints[key] = (
                f"did you mean '{self.by_key[close[0]]}'?"
                if close
                else f"use one of: {self.allowed}."
            )
        return self.hints[key]

    def _metric(self, cell: _Cells) -> int | float | None:
        raw = cell.value(METRIC)
        if cell.special(METRIC) or is_blank(raw):
            return None
        if isinstance(raw, bool):
            cell.error(METRIC, "bad-metric", f"{_shown(raw)} is not a number. {_METRIC_HINT}")
            return None
        if isinstance(raw, int):
            _percent_points(cell, raw)
            return raw
        if isinstance(raw, float | Decimal):
            if math.isfinite(raw):
                _percent_points(cell, raw)
                return float(raw)
            cell.error(METRIC, "bad-metric", f"'{raw}' is not a usable number. {_METRIC_HINT}")
            return None
        if isinstance(raw, dt.date | dt.datetime | dt.time):
            cell.error(
                METRIC,
                "bad-metric",
                f"{raw.isoformat()} is a date or time, not a number: format the cell as Number "
                "and type the metric value.",
            )
            return None
        # Look-alikes (U+2212 MINUS SIGN, a no-break space) read as what they look like.
        text = plain(str(raw)).strip()
        if _PLAIN_NUMBER.fullmatch(text):
            return _number_text(cell, text)
        if match := _PERCENT.fullmatch(text):
            value = float(Decimal(match[1]) / 100)
            cell.warn(
                METRIC,
                "percent-text",
                f"'{text}' is text; it will be sent as {value} "
                "(AchieveIt wants percentages as decimals).",
            )
            return value
        if _THOUSANDS.fullmatch(text):
            hint = f"Remove the thousands separators: {text.replace(',', '')}."
        elif _DECIMAL_COMMA.fullmatch(text):
            hint = f"Use a dot for decimals: {text.replace(',', '.')}."
        else:
            hint = _METRIC_HINT
        cell.error(METRIC, "bad-metric", f"'{text}' is not a number. {hint}{_odd(str(raw))}")
        return None

    def _as_of(self, cell: _Cells) -> dt.date | None:
        raw = cell.value(AS_OF_DATE)
        if cell.unusable(AS_OF_DATE, "Type the date of the update, e.g. 11/03/2026."):
            return None
        try:
            day = parse_as_of(raw, date1904=self.date1904)
        except DateProblem as problem:
            cell.error(AS_OF_DATE, problem.code, problem.message)
            return None
        _implausible_year(cell, day)
        if day > self.today:
            cell.warn(
                AS_OF_DATE,
                "future-date",
                f"{_long_date(day)} is in the future (today is {_long_date(self.today)}): "
                "check the date, especially the year.",
            )
        return day

    def _comment(self, cell: _Cells) -> str:
        raw = cell.value(COMMENT)
        if cell.special(COMMENT) or is_blank(raw):
            return ""
        if isinstance(raw, str):
            _invisible_in_comment(cell, raw)
            return raw  # kept exactly as typed: commas, quotes, line breaks, any script
        return _shown(raw)


_METRIC_HINT = "Type a number such as 0.2 or 15, or leave the cell blank."


class _Plan:
    """The Plan Items sheet's IDs, and the nearest one to an unknown ID (remembered)."""

    def __init__(self, items: Mapping[str, KnownItem]) -> None:
        self.find = finder(items)
        self.folded = {key.casefold(): item for key, item in items.items()}
        self.keys = list(self.folded)
        self.hints: dict[str, str] = {}

    def check(self, cell: _Cells, external_id: str, metric_blank: bool) -> None:
        item = self.find(external_id)
        if item is None:
            cell.error(
                EXTERNAL_ID,
                "unknown-id",
                f"'{external_id}' is not an item of the plan on the Plan Items sheet: "
                f"{self._hint(external_id)}",
            )
            return
        if item.external_id != external_id:
            cell.warn(
                EXTERNAL_ID,
                "id-case",
                f"The plan writes this External ID '{item.external_id}': type it as the plan "
                "has it (whether AchieveIt tells IDs apart by case is not documented).",
            )
        if item.has_metric and metric_blank:
            name = f" ('{item.name}')" if item.name else ""
            cell.warn(
                METRIC,
                "metric-expected",
                f"This item{name} has a metric, but Current Metric Value is blank: type its "
                "current value (AchieveIt may refuse an update of a metric item without one).",
            )

    def _hint(self, external_id: str) -> str:
        key = external_id.casefold()
        if key not in self.hints:
            close = difflib.get_close_matches(key, self.keys, n=1, cutoff=0.6)
            if close:
                item = self.folded[close[0]]
                name = f" ({item.name})" if item.name else ""
                self.hints[key] = f"did you mean '{item.external_id}'{name}?"
            else:
                self.hints[key] = (
                    "no known ID is close. Check it against 'Export External IDs', or press Get "
                    "Plan Items if the item is new."
                )
        return self.hints[key]


class _Cells:
    """One row's raw values and the findings about them."""

    def __init__(self, number: int, values: tuple[Any, ...], metric_percent: bool = False) -> None:
        self.number = number
        self.values = values
        self.metric_percent = metric_percent
        self.findings: list[Finding] = []
        self.has_errors = False

    def value(self, column: str) -> Any:
        return self.values[_COLUMN_ORDER[column]]

    def add(self, column: str | None, severity: Severity, code: str, message: str) -> None:
        value = None if column is None else self.value(column)
        self.findings.append(Finding(self.number, column, severity, code, message, value))
        self.has_errors = self.has_errors or severity == ERROR

    def error(self, column: str, code: str, message: str) -> None:
        self.add(column, ERROR, code, message)

    def warn(self, column: str, code: str, message: str) -> None:
        self.add(column, WARNING, code, message)

    def special(self, column: str) -> bool:
        """Report an unsaved formula or an Excel error value; True when there was one."""
        raw = self.value(column)
        if isinstance(raw, Unreadable):
            self.error(column, raw.code, raw.message)
            return True
        if isinstance(raw, Uncalculated):
            self.error(
                column,
                "uncalculated-formula",
                "This cell's formula has no saved result; open the file in Excel, let it "
                "calculate, save, and try again.",
            )
            return True
        # Every error value starts with '#': the cheap test first, on every cell of every row.
        if isinstance(raw, str) and "#" in raw and raw.strip().upper() in EXCEL_ERRORS:
            self.error(
                column,
                "excel-error",
                f"The cell shows {raw.strip().upper()}: fix the formula or type the value.",
            )
            return True
        return False

    def unusable(self, column: str, fix: str) -> bool:
        """For a required column: report special values and blanks; True when there is no value."""
        if self.special(column):
            return True
        if is_blank(self.value(column)):
            self.error(column, "required", f"{column} is missing. {fix}")
            return True
        return False


def _status_key(text: str) -> str:
    # Capitalisation does not matter to AchieveIt; stray, non-breaking or zero-width spaces
    # shouldn't either: the canonical spelling is what is sent.
    return " ".join(plain(text).split()).casefold()


def _number_text(cell: _Cells, text: str) -> int | float:
    """A metric typed as text ('0.2', '15'; every metric of a CSV file). A float holds about
    17 digits: more are rounded away, which the user is told rather than left to find out."""
    if "." not in text:
        return int(text)
    value = float(text)
    if Decimal(text) != Decimal(repr(value)):
        cell.warn(
            METRIC,
            "metric-precision",
            f"'{text}' has more digits than a number can hold: it will be sent as "
            f"{plain_number(value)}.",
        )
    return value


def _percent_points(cell: _Cells, value: int | float | Decimal) -> None:
    """A whole number above 1 in a %-formatted metric cell (20, shown as 2000%) was almost
    surely meant as 20%: it is sent as typed, with a warning saying how to send 0.2."""
    number = float(value)
    if not cell.metric_percent or not percent_points(number):
        return
    shown = plain_number(number)
    cell.warn(
        METRIC,
        "percent-format",
        f"The cell is formatted as a percentage and shows {shown}00%, so {shown} will be "
        f"sent. If you meant {shown}%, type {shown}% in the cell (Excel then keeps "
        f"{plain_number(Decimal(shown) / 100)}); if you meant {shown}, format it as Number.",
    )


def _implausible_year(cell: _Cells, day: dt.date) -> None:
    """A date before 1900 is a real date but hardly a progress update: most often a year
    typed with two digits into a four-digit place (0026 for 2026). A warning, naming it."""
    if day.year >= 1900:
        return
    # 2000 + yy is a leap year exactly when yy is, so the guess is always a real date.
    fix = f"did you mean {day.replace(year=2000 + day.year).isoformat()}?"
    cell.warn(
        AS_OF_DATE,
        "implausible-date",
        f"{_long_date(day)} ({day.isoformat()}) is before 1900: "
        + (fix if day.year < 100 else "check the year."),
    )


def _odd(text: str) -> str:
    """' It contains U+200B ZERO WIDTH SPACE (invisible) after 'x'.', or '' for plain text."""
    odd = explain(text)
    return f" It contains {odd}." if odd else ""


def _plain_id(cell: _Cells, text: str) -> bool:
    """An External ID with a look-alike, invisible or control character is an error naming it:
    AchieveIt compares IDs exactly, and the message would otherwise look right. False then."""
    if not odd_characters(text):
        return True
    fix = visible(text).strip()
    cell.error(
        EXTERNAL_ID,
        "id-lookalike",
        f"External ID '{fix}' contains {explain(text)}: AchieveIt would not recognise it. "
        f"Retype it as '{fix}', or paste it again from 'Export External IDs'.",
    )
    return False


_COMMENT_INVISIBLE = "\ufeff"  # a byte-order mark pasted inside a text; not part of any script


def _invisible_in_comment(cell: _Cells, text: str) -> None:
    """A comment is sent as typed; a control character or a BOM in it is shown by name."""
    odd = [ch for ch in odd_characters(text) if ch in _COMMENT_INVISIBLE or ch not in LOOKALIKES]
    if odd:
        shown = "; ".join(f"{describe(ch)} (invisible) {where(text, ch)}" for ch in odd)
        cell.warn(
            COMMENT,
            "invisible-character",
            f"The comment contains {shown}; it will be sent as it is. Delete it unless you "
            "mean it.",
        )


def _shown(value: Any) -> str:
    """A cell value as text, the way a user would recognise it."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return plain_number(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
