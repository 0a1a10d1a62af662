"""How the sandbox reads an uploaded CSV: AchieveIt's documented rules, written from the article.

Deliberately independent of addin.rules: the sandbox plays AchieveIt, so the project's own
validator is tested against a second reading of the same article, not against itself.

A job is all or nothing: `process_csv` returns either updates (no problems) or problems.
Line numbers are the CSV's physical lines (1-based, the header line included).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass

# The seven statuses of the article. Capitalisation does not matter, spelling does.
STATUSES: tuple[str, ...] = (
    "On Track",
    "Off Track",
    "At Risk",
    "Achieved",
    "Not Achieved",
    "Canceled",
    "Not Started",
)
HEADER: tuple[str, ...] = ("External ID", "Status", "Current Metric Value", "As Of Date", "Comment")
MAX_PROBLEMS = 100  # one line per problem, but a 10,000-row disaster needs no 10,000 lines

_BOM = b"\xef\xbb\xbf"
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
# ISO-8601 complete dates, extended (with '-') and basic: calendar, week and ordinal.
_ISO_TAIL = r"(?:[T ](?P<time>.+))?"
_BASIC_TAIL = r"(?:T(?P<time>.+))?"
_ISO_DATE = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})" + _ISO_TAIL)
_BASIC_DATE = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})" + _BASIC_TAIL)
_ISO_WEEK = re.compile(r"(?P<y>\d{4})-W(?P<w>\d{2})-(?P<wd>\d)" + _ISO_TAIL)
_BASIC_WEEK = re.compile(r"(?P<y>\d{4})W(?P<w>\d{2})(?P<wd>\d)" + _BASIC_TAIL)
_ISO_ORDINAL = re.compile(r"(?P<y>\d{4})-(?P<o>\d{3})" + _ISO_TAIL)
_BASIC_ORDINAL = re.compile(r"(?P<y>\d{4})(?P<o>\d{3})" + _BASIC_TAIL)
_US_DATE = re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?: +(?P<time>.+))?")
_ISO_TIME = re.compile(
    r"\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?", re.IGNORECASE
)
_US_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?: ?[AP]M)?", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedUpdate:
    line: int
    external_id: str
    status: str  # canonical spelling
    metric: str | None  # the decimal text as sent; None when the item has no metric
    as_of: dt.date
    comment: str


@dataclass(frozen=True)
class Problem:
    line: int
    external_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"Row {self.line}"
        if self.external_id:
            where += f" (External ID {self.external_id})"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Outcome:
    updates: tuple[ParsedUpdate, ...]
    problems: tuple[Problem, ...]
    adhoc_ids: tuple[str, ...]  # unknown IDs let through by accept_any_id, first-seen order

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            lines = [str(p) for p in self.problems[:MAX_PROBLEMS]]
            if len(self.problems) > MAX_PROBLEMS:
                lines.append(f"... and {len(self.problems) - MAX_PROBLEMS} more problems.")
            return "\n".join(lines)
        n = len(self.updates)
        text = f"Processed {n} progress update{'' if n == 1 else 's'}."
        if self.adhoc_ids:
            text += (
                f" {len(self.adhoc_ids)} External ID(s) were not in the demo plan and were"
                " accepted because the sandbox runs with accept_any_id."
            )
        return text


class DateProblem(ValueError):
    pass


def parse_as_of(text: str) -> dt.date:
    """An As Of Date as AchieveIt reads it: any complete ISO-8601 date (calendar 2026-11-01 /
    20261101, week 2026-W44-7 / 2026W447, ordinal 2026-305 / 2026305; any time part ignored)
    or US MM/DD/YYYY. Raises DateProblem with a readable reason."""
    for pattern, time_shape in (
        (_ISO_DATE, _ISO_TIME),
        (_BASIC_DATE, _ISO_TIME),
        (_ISO_WEEK, _ISO_TIME),
        (_BASIC_WEEK, _ISO_TIME),
        (_ISO_ORDINAL, _ISO_TIME),
        (_BASIC_ORDINAL, _ISO_TIME),
        (_US_DATE, _US_TIME),
    ):
        match = pattern.fullmatch(text)
        if not match:
            continue
        time = match.group("time")
        if time is not None and not time_shape.fullmatch(time):
            raise DateProblem(f"As Of Date '{text}' has a time part AchieveIt cannot read.")
        parts = {k: int(v) for k, v in match.groupdict().items() if k != "time"}
        return _date_of(text, parts, us=pattern is _US_DATE)
    raise DateProblem(
        f"As Of Date '{text}' is not a date AchieveIt reads. Use YYYY-MM-DD or MM/DD/YYYY."
    )


def _date_of(text: str, parts: dict[str, int], *, us: bool) -> dt.date:
    """The date the matched parts name, or DateProblem saying why no such day exists."""
    year = parts["y"]
    if year < dt.MINYEAR:
        raise DateProblem(f"As Of Date '{text}' is not a real date: there is no year 0000.")
    if "w" in parts:
        week, weekday = parts["w"], parts["wd"]
        weeks = dt.date(year, 12, 28).isocalendar().week  # 28 December is always in the last week
        if 1 <= week <= weeks and 1 <= weekday <= 7:
            try:
                return dt.date.fromisocalendar(year, week, weekday)
            except (ValueError, OverflowError):  # only past 31 December 9999
                pass
        raise DateProblem(
            f"As Of Date '{text}' is not a real ISO week date: {year} has weeks 01 to {weeks},"
            " and days run from 1 (Monday) to 7 (Sunday)."
        )
    if "o" in parts:
        days = 366 if calendar.isleap(year) else 365
        if 1 <= parts["o"] <= days:
            return dt.date(year, 1, 1) + dt.timedelta(days=parts["o"] - 1)
        raise DateProblem(
            f"As Of Date '{text}' is not a real ordinal date: day {parts['o']:03d} of {year}"
            f" does not exist ({year} has {days} days)."
        )
    month, day = parts["m"], parts["d"]
    try:
        return dt.date(year, month, day)
    except ValueError:
        hint = ""
        if us and month > 12 and day <= 12:
            hint = f" Did you mean {day:02d}/{month:02d}/{year:04d}? (month first)"
        raise DateProblem(f"As Of Date '{text}' is not a real calendar date.{hint}") from None


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def _records(text: str) -> list[tuple[int, list[str]]]:
    """(first physical line, cells) per CSV record; a blank line is a record with no cells."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    line = 1
    for cells in reader:
        records.append((line, cells))
        line = reader.line_num + 1
    return records


def _looks_like_header(cells: list[str]) -> bool:
    names = {h.casefold() for h in HEADER}
    return any(c.strip().casefold() in names for c in cells)


def _header_problem(cells: list[str]) -> Problem | None:
    got = [c.strip().casefold() for c in cells]
    wanted = [h.casefold() for h in HEADER]
    if len(got) in (4, 5) and got == wanted[: len(got)]:
        return None
    return Problem(
        1,
        None,
        "the header row must be 'External ID, Status, Current Metric Value, As Of Date,"
        " Comment' in that order (Comment may be left out), but this file has"
        f" '{', '.join(c.strip() for c in cells)}'.",
    )


def _check_metric(text: str, required: bool) -> str | None:
    """The problem with a Current Metric Value, or None."""
    if not text:
        if required:
            return (
                "Current Metric Value is missing. This item has a metric, so every update"
                " needs a number."
            )
        return None
    if _DECIMAL.fullmatch(text):
        return None
    hint = ""
    if text.endswith("%"):
        hint = " Write percentages as decimals: 20% is 0.2."
    return f"Current Metric Value '{text}' is not a decimal number (like 12 or 0.2).{hint}"


def _zero_hint(external_id: str, known: Mapping[str, bool]) -> str:
    for candidate in known:
        if candidate != external_id and candidate.lstrip("0") == external_id.lstrip("0"):
            return f" Did leading zeros get lost? The plan has '{candidate}'."
    return ""


def process_csv(
    data: bytes,
    items: Mapping[str, bool],
    *,
    accept_any_id: bool = False,
    statuses: tuple[str, ...] = STATUSES,
) -> Outcome:
    """Read an uploaded CSV against the plan. `items` maps External ID -> has a metric."""
    if data.startswith(_BOM):
        return _fail(
            Problem(
                1,
                None,
                "the file starts with a byte-order mark (BOM, an invisible character that Excel's"
                " 'CSV UTF-8' adds), so the first column header is not exactly 'External ID'."
                " Save the file as UTF-8 without a BOM.",
            )
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _fail(
            Problem(
                _line_of(data, exc.start),
                None,
                "the file is not UTF-8 text. Save it as CSV with UTF-8 encoding.",
            )
        )
    if not text.strip():
        return _fail(Problem(1, None, "the file is empty. It needs at least one progress update."))
    try:
        records = _records(text)
    except csv.Error as exc:
        return _fail(Problem(1, None, f"the file is not a CSV AchieveIt can read ({exc})."))

    columns: tuple[int, ...] = (4, 5)
    like_row: int | None = None  # without a header, the first well-formed row sets the count
    first_cells = records[0][1]
    if first_cells and first_cells[0].strip().casefold() == "external id":
        problem = _header_problem(first_cells)
        if problem:
            return _fail(problem)
        columns = (len(first_cells),)
        records = records[1:]
    elif first_cells and _looks_like_header(first_cells):
        return _fail(
            _header_problem(first_cells)
            or Problem(1, None, "the first column header must be 'External ID'.")
        )
    if not records:
        return _fail(Problem(1, None, "the file has a header row but no progress updates."))
    if len(columns) > 1:
        for line, cells in records:
            if len(cells) in columns and any(c.strip() for c in cells):
                columns, like_row = (len(cells),), line
                break

    canonical = {s.casefold(): s for s in statuses}
    updates: list[ParsedUpdate] = []
    problems: list[Problem] = []
    adhoc: dict[str, None] = {}
    for line, cells in records:
        if not any(c.strip() for c in cells):
            problems.append(
                Problem(line, None, "the row is empty. The file must not contain empty rows.")
            )
            continue
        external_id = cells[0].strip()
        row_problems: list[str] = []
        if len(cells) not in columns:
            wanted = " or ".join(str(n) for n in columns)
            why = (
                f" Without a header row every row needs as many columns as row {like_row}:"
                " send Comment on all rows or on none."
                if like_row is not None
                else ""
            )
            problems.append(
                Problem(
                    line,
                    external_id or None,
                    f"the row has {len(cells)} columns but needs {wanted}: External ID, Status,"
                    " Current Metric Value, As Of Date, Comment (Comment may be left out)." + why,
                )
            )
            continue
        status_text, metric_text, date_text = (c.strip() for c in cells[1:4])
        comment = cells[4] if len(cells) == 5 else ""

        has_metric: bool | None = None  # None: an ad-hoc item, metric optional
        if not external_id:
            row_problems.append("External ID is missing.")
        elif external_id in items:
            has_metric = items[external_id]
        elif accept_any_id:
            adhoc.setdefault(external_id)
        else:
            row_problems.append(
                f"External ID '{external_id}' is not in this plan."
                f"{_zero_hint(external_id, items)} Export the External IDs from the plan again"
                " and copy them exactly."
            )

        status = canonical.get(status_text.casefold())
        if not status_text:
            row_problems.append("Status is missing.")
        elif status is None:
            row_problems.append(
                f"status '{status_text}' is not a valid status. Use one of: "
                + ", ".join(statuses)
                + "."
            )

        metric_problem = _check_metric(metric_text, required=bool(has_metric))
        if has_metric is False:
            metric_problem = None  # no metric on this item: whatever was sent is ignored
        if metric_problem:
            row_problems.append(metric_problem)

        as_of: dt.date | None = None
        if not date_text:
            row_problems.append("As Of Date is missing.")
        else:
            try:
                as_of = parse_as_of(date_text)
            except DateProblem as exc:
                row_problems.append(str(exc))

        problems.extend(Problem(line, external_id or None, p) for p in row_problems)
        if not row_problems and status is not None and as_of is not None:
            updates.append(
                ParsedUpdate(
                    line=line,
                    external_id=external_id,
                    status=status,
                    metric=(metric_text or None) if has_metric is not False else None,
                    as_of=as_of,
                    comment=comment,
                )
            )
    if problems:
        return Outcome((), tuple(problems), ())
    return Outcome(tuple(updates), (), tuple(adhoc))


def _fail(problem: Problem) -> Outcome:
    return Outcome((), (problem,), ())
