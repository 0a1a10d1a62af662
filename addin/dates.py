"""Read an As Of Date cell into a calendar date, or say plainly why it cannot be read.

Accepted: date/datetime objects (the date as written, never shifted between time zones), every
ISO-8601 form of a single day (calendar, week and ordinal dates, extended or basic, optionally
followed by a time and an offset), and US M/D/YYYY with an optional clock time. AchieveIt only
uses the date, so a time is checked (to catch garbage) and then dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from .lookalikes import explain, plain
from .model import EXCEL_ERRORS

BAD_DATE = "bad-date"
IMPOSSIBLE_DATE = "impossible-date"
INCOMPLETE_DATE = "incomplete-date"
DAY_MONTH_ORDER = "day-month-order"
FICTITIOUS_DATE = "fictitious-date"
NEGATIVE_DATE = "negative-date"

# Day 0 of Excel's two date systems. The 1900 one counts a 29 February 1900 that never was
# (serial 60), so from serial 61 on its day 0 is 1899-12-30; the 1904 one (old Mac files) has
# no such day.
EPOCH_1900 = dt.datetime(1899, 12, 30)
EPOCH_1904 = dt.datetime(1904, 1, 1)
_LAST_SERIAL_1900 = 2958465  # 9999-12-31
_MS_PER_DAY = 86_400_000

USE = "Use YYYY-MM-DD, e.g. 2026-11-03, or MM/DD/YYYY."

# English on purpose: calendar.month_name follows the process locale.
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class DateProblem(ValueError):
    """Why a value is not a usable As Of Date. `code` is stable, `message` is for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# re.ASCII: \d must not match other scripts' digits, which date() would happily accept.
_A = re.ASCII
_SPLIT = re.compile(r"(?P<date>[^Tt\s]+)(?:(?P<sep>[Tt]|\s+)(?P<rest>.*))?", _A | re.DOTALL)
_ISO_EXT = re.compile(r"(\d{4})-(\d{2})-(\d{2})", _A)
_ISO_BASIC = re.compile(r"(\d{4})(\d{2})(\d{2})", _A)
_WEEK = re.compile(r"(\d{4})(?:-[Ww](\d{2})-(\d)|[Ww](\d{2})(\d))", _A)
_ORDINAL = re.compile(r"(\d{4})-?(\d{3})", _A)
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", _A)
# Reduced precision: a month, a week or a year, not a day.
_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})", _A)
_YEAR_WEEK = re.compile(r"(\d{4})-?[Ww](\d{2})", _A)
_YEAR = re.compile(r"\d{4}", _A)
# Near misses that deserve a precise hint.
_US_SHORT_YEAR = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2})", _A)
_YMD_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})", _A)

_OFFSET = r"(?:\s*(?P<z>[Zz])|\s*(?P<oh>[+-]\d{2})(?::?(?P<om>\d{2}))?)?"
_FRAC = r"(?P<f>[.,]\d+)?"
_TIME_EXT = re.compile(r"(?P<h>\d{2})(?::(?P<m>\d{2})(?::(?P<s>\d{2}))?)?" + _FRAC + _OFFSET, _A)
_TIME_BASIC = re.compile(r"(?P<h>\d{2})(?:(?P<m>\d{2})(?P<s>\d{2})?)?" + _FRAC + _OFFSET, _A)
_CLOCK = re.compile(
    r"(?P<h>\d{1,2})(?::(?P<m>\d{2})(?::(?P<s>\d{2})(?P<f>[.,]\d+)?)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?",
    _A,
)


def from_serial(serial: float, *, date1904: bool = False) -> dt.datetime | dt.time:
    """The date and time an Excel serial number in a date-formatted cell shows.

    The day is the whole part, always: a time of 23:59:59.9995 or later stays on its own day
    (as Excel shows it) instead of rounding into the next one. Below 1 in the 1900 system
    there is only a time of day. Raises DateProblem for what Excel cannot show as a real date:
    negative serials (Excel shows ####), serial 60 (its fictitious 1900-02-29) and serials
    past 9999-12-31.
    """
    shown = plain_number(serial)
    if serial < 0:
        raise DateProblem(
            NEGATIVE_DATE,
            f"The cell holds {shown}, a negative date serial, which Excel shows as ####: "
            "type the date again, e.g. 11/03/2026.",
        )
    if not date1904 and 60 <= serial < 61:
        raise DateProblem(
            FICTITIOUS_DATE,
            "The cell shows 02/29/1900, a day that never was (Excel counts it for old Lotus "
            "1-2-3 files): type the real date, e.g. 11/03/2026.",
        )
    epoch = EPOCH_1904 if date1904 else EPOCH_1900
    last = _LAST_SERIAL_1900 - (1462 if date1904 else 0)
    if serial >= last + 1:
        raise DateProblem(
            BAD_DATE, f"The cell holds {shown}, which is past 9999-12-31: type the date again."
        )
    day = int(serial)
    ms = min(round((serial - day) * _MS_PER_DAY), _MS_PER_DAY - 1)  # the written day wins
    time = dt.timedelta(milliseconds=ms)
    if day == 0 and not date1904:
        return (dt.datetime.min + time).time()
    if day < 60 and not date1904:
        day += 1  # before the fictitious day the 1900 system's day 0 is 1899-12-31
    return epoch + dt.timedelta(days=day) + time


def parse_as_of(value: Any, *, date1904: bool = False) -> dt.date:
    """The calendar date `value` stands for; raises DateProblem when there is none.

    `date1904`: the workbook uses Excel's 1904 date system (only the hint for a number that
    looks like a date serial depends on it).
    """
    # datetime before date: datetime is a subclass. A tz-aware value keeps its own wall date.
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
        raise DateProblem(BAD_DATE, f"{text} is not a date. {USE}")
    if isinstance(value, int | float | Decimal):
        raise DateProblem(BAD_DATE, _number_message(value, date1904))
    if isinstance(value, dt.time):
        raise DateProblem(BAD_DATE, f"{value.isoformat()} is a time of day, not a date. {USE}")
    if value is None:
        raise DateProblem(BAD_DATE, f"The date is missing. {USE}")
    if not isinstance(value, str):
        raise DateProblem(BAD_DATE, f"'{value}' is not a date. {USE}")
    # A look-alike means what it looks like (U+2011 NON-BREAKING HYPHEN is '-', U+00A0 is a
    # space, U+2212 MINUS SIGN in an offset is ISO 8601's own); only the date is sent.
    try:
        return _parse_text(plain(value).strip())
    except DateProblem as problem:
        odd = explain(value)
        if not odd:
            raise
        raise DateProblem(problem.code, f"{problem.message} The cell also holds {odd}.") from None


def _number_message(value: int | float | Decimal, date1904: bool = False) -> str:
    shown = plain_number(value)
    message = (
        f"{shown} is a number, not a date: format the cell as a date (Short Date) "
        f"and type the date again, e.g. 11/03/2026"
    )
    # Excel shows a date as its serial number when the cell's format was lost.
    if 20000 <= value < 80000:
        day = from_serial(float(value), date1904=date1904)
        assert isinstance(day, dt.datetime)
        system = " in this workbook's 1904 date system" if date1904 else ""
        message += f" (as an Excel date serial{system}, {shown} is {day.date().isoformat()})"
    return message + "."


def plain_number(value: int | float | Decimal) -> str:
    """A number as a user would type it: 3.0 -> '3', 2.5 -> '2.5'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_text(text: str) -> dt.date:
    if not text:
        raise DateProblem(BAD_DATE, f"The date is missing. {USE}")
    if text.upper() in EXCEL_ERRORS:
        raise DateProblem(
            BAD_DATE, f"The cell shows {text}, not a date: fix the formula or type the date."
        )
    split = _SPLIT.fullmatch(text)
    if split is None:
        raise DateProblem(BAD_DATE, f"'{text}' is not a date AchieveIt can read. {USE}")
    part, sep, rest = split["date"], split["sep"], split["rest"]
    day = _parse_day(part, text)
    if sep is not None and not _is_time(rest, clock_ok=not sep.lower() == "t"):
        raise DateProblem(
            BAD_DATE,
            f"'{text}' has something after the date that is not a valid time ('{rest}'). "
            f"Write only the date, e.g. {part}.",
        )
    return day


def _parse_day(part: str, text: str) -> dt.date:
    """The day a date (without time) names, or the DateProblem that explains why not."""
    if m := _ISO_EXT.fullmatch(part) or _ISO_BASIC.fullmatch(part):
        return _calendar_date(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _WEEK.fullmatch(part):
        week, weekday = (m[2], m[3]) if m[2] else (m[4], m[5])
        return _week_date(int(m[1]), int(week), int(weekday), text)
    if m := _ORDINAL.fullmatch(part):
        return _ordinal_date(int(m[1]), int(m[2]), text)
    if m := _US.fullmatch(part):
        return _us_date(m[1], m[2], m[3], text)
    _explain_near_miss(part, text)
    raise DateProblem(BAD_DATE, f"'{text}' is not a date AchieveIt can read. {USE}")


def _impossible(text: str, why: str) -> DateProblem:
    return DateProblem(IMPOSSIBLE_DATE, f"'{text}' is not a real date: {why}.")


def _check_year(year: int, text: str) -> None:
    if year == 0:
        raise _impossible(text, "there is no year 0")


def _calendar_date(year: int, month: int, day: int, text: str) -> dt.date:
    _check_year(year, text)
    if not 1 <= month <= 12:
        raise _impossible(text, f"there is no month {month}")
    last = _days_in_month(year, month)
    if day == 0:
        raise _impossible(text, "there is no day 0")
    if day > last:
        raise _impossible(text, f"{MONTHS[month - 1]} {year} has {last} days")
    return dt.date(year, month, day)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _weeks_in_year(year: int) -> int:
    # 28 December always lies in the last ISO week of its year.
    return dt.date(year, 12, 28).isocalendar().week


def _week_date(year: int, week: int, weekday: int, text: str) -> dt.date:
    _check_year(year, text)
    weeks = _weeks_in_year(year)
    if not 1 <= week <= weeks:
        raise _impossible(text, f"{year} has ISO weeks 01 to {weeks}")
    if not 1 <= weekday <= 7:
        raise _impossible(text, "ISO weekdays run from 1 (Monday) to 7 (Sunday)")
    try:
        return dt.date.fromisocalendar(year, week, weekday)
    except ValueError:  # only at the very ends of the supported range (years 1 and 9999)
        raise _impossible(text, "it is outside the years 0001 to 9999") from None


def _ordinal_date(year: int, ordinal: int, text: str) -> dt.date:
    _check_year(year, text)
    days = 366 if _is_leap(year) else 365
    if not 1 <= ordinal <= days:
        raise _impossible(text, f"{year} has days 001 to {days}")
    return dt.date(year, 1, 1) + dt.timedelta(days=ordinal - 1)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _us_date(first: str, second: str, year_text: str, text: str) -> dt.date:
    month, day, year = int(first), int(second), int(year_text)
    if month > 12 and 1 <= day <= 12 and month <= _days_in_month(year, day):
        raise DateProblem(
            DAY_MONTH_ORDER,
            f"'{text}' looks like DD/MM/YYYY; AchieveIt reads MM/DD/YYYY: "
            f"did you mean {second}/{first}/{year_text}?",
        )
    if month > 12:
        raise _impossible(text, f"there is no month {month} (AchieveIt reads MM/DD/YYYY)")
    return _calendar_date(year, month, day, text)


def _explain_near_miss(part: str, text: str) -> None:
    """Raise a precise DateProblem for forms that are almost right; return if none applies."""
    if m := _YEAR_MONTH.fullmatch(part):
        month = int(m[2])
        if 1 <= month <= 12:
            raise DateProblem(
                INCOMPLETE_DATE,
                f"'{text}' is a month, not a single day: add the day, e.g. {part}-03.",
            )
    if m := _YEAR_WEEK.fullmatch(part):
        year, week = int(m[1]), int(m[2])
        _check_year(year, text)
        if not 1 <= week <= _weeks_in_year(year):
            raise _impossible(text, f"{year} has ISO weeks 01 to {_weeks_in_year(year)}")
        monday = dt.date.fromisocalendar(year, week, 1)
        raise DateProblem(
            INCOMPLETE_DATE,
            f"'{text}' is a week, not a single day: add the weekday "
            f"({year}-W{week:02d}-1 is Monday {monday.isoformat()}) or use YYYY-MM-DD.",
        )
    if _YEAR.fullmatch(part):
        raise DateProblem(
            INCOMPLETE_DATE,
            f"'{text}' is a year, not a single day: write the whole date, e.g. {part}-11-03.",
        )
    if m := _US_SHORT_YEAR.fullmatch(part):
        raise DateProblem(
            BAD_DATE,
            f"'{text}' has a two-digit year: write all four digits, e.g. {m[1]}/{m[2]}/20{m[3]}.",
        )
    if m := _YMD_SLASH.fullmatch(part):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        if year and 1 <= month <= 12 and 1 <= day <= _days_in_month(year, month):
            raise DateProblem(
                BAD_DATE,
                f"'{text}' is not a form AchieveIt reads: write it with dashes, "
                f"{year:04d}-{month:02d}-{day:02d}.",
            )


def _is_time(rest: str, *, clock_ok: bool) -> bool:
    """Whether `rest` (what follows the date) is a valid time of day."""
    for pattern in (_TIME_EXT, _TIME_BASIC):
        match = pattern.fullmatch(rest)
        if match and _valid_iso_time(match):
            return True
    clock = _CLOCK.fullmatch(rest) if clock_ok else None
    return clock is not None and _valid_clock(clock)


def _valid_iso_time(m: re.Match[str]) -> bool:
    if not _valid_hms(int(m["h"]), m["m"], m["s"], m["f"]):
        return False
    if m["oh"] is not None:
        return int(m["oh"][1:]) <= 23 and (m["om"] is None or int(m["om"]) <= 59)
    return True


def _valid_clock(m: re.Match[str]) -> bool:
    hour = int(m["h"])
    if m["ampm"]:
        return 1 <= hour <= 12 and _valid_hms(hour, m["m"], m["s"], m["f"])
    # Without AM/PM a lone hour ("11/03/2026 14") is not a clock time.
    return m["m"] is not None and _valid_hms(hour, m["m"], m["s"], m["f"])


def _valid_hms(hour: int, minute: str | None, second: str | None, fraction: str | None) -> bool:
    mins = int(minute) if minute else 0
    secs = int(second) if second else 0
    frac = int(fraction[1:]) if fraction else 0
    if hour == 24:  # 24:00 is the end of the day; nothing may follow it
        return mins == secs == frac == 0
    return hour <= 23 and mins <= 59 and secs <= 60
