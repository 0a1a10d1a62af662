import datetime as dt
import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addin.dates import FICTITIOUS_DATE, NEGATIVE_DATE, DateProblem, from_serial, parse_as_of

NOV3 = dt.date(2026, 11, 3)


def problem(value):
    with pytest.raises(DateProblem) as caught:
        parse_as_of(value)
    return caught.value


@pytest.mark.parametrize(
    "text, expected",
    [
        # ISO calendar dates, extended and basic
        ("2026-11-03", NOV3),
        ("20261103", NOV3),
        ("  2026-11-03\t", NOV3),
        ("\u00a02026-11-03\u00a0", NOV3),  # non-breaking spaces from web pages
        ("2024-02-29", dt.date(2024, 2, 29)),
        ("2000-02-29", dt.date(2000, 2, 29)),
        # ISO week dates: 2026-W45-2 is Tuesday 3 November 2026
        ("2026-W45-2", NOV3),
        ("2026W452", NOV3),
        ("2026-w45-2", NOV3),
        ("2026-W53-7", dt.date(2027, 1, 3)),  # 2026 has 53 ISO weeks
        ("2020-W53-1", dt.date(2020, 12, 28)),
        ("2027-W01-1", dt.date(2027, 1, 4)),
        # ISO ordinal dates
        ("2026-307", NOV3),
        ("2026307", NOV3),
        ("2024-366", dt.date(2024, 12, 31)),
        ("2026-001", dt.date(2026, 1, 1)),
        # with a time: only the written date counts, whatever the offset
        ("2026-11-03T14", NOV3),
        ("2026-11-03T14:30", NOV3),
        ("2026-11-03T14:30:59", NOV3),
        ("2026-11-03T14:30:60", NOV3),  # leap second
        ("2026-11-03T14:30:59.123", NOV3),
        ("2026-11-03T14:30:59,5", NOV3),
        ("2026-11-03T14.5", NOV3),
        ("2026-11-03T23:59:59Z", NOV3),
        ("2026-11-03T00:30+14", NOV3),
        ("2026-11-03T23:30-11:00", NOV3),
        ("2026-11-03T23:30-1100", NOV3),
        ("2026-11-03t23:30z", NOV3),
        ("20261103T1430", NOV3),
        ("20261103T143059.5+0100", NOV3),
        ("2026-W45-2T10:00Z", NOV3),
        ("2026-307T10:00", NOV3),
        ("2026-11-03T24:00", NOV3),
        ("2026-11-03T24:00:00", NOV3),
        ("2026-11-03T24:00:00.000", NOV3),
        ("2026-11-03 14:30:00", NOV3),  # RFC 3339 style
        ("2026-11-03 14:30:00+01:00", NOV3),  # str() of an aware datetime
        ("2026-11-03 14:30:00 +0100", NOV3),
        # US dates
        ("11/03/2026", NOV3),
        ("11/3/2026", NOV3),
        ("2/1/2026", dt.date(2026, 2, 1)),
        ("12/31/2026", dt.date(2026, 12, 31)),
        ("11/03/2026 14:30", NOV3),
        ("11/03/2026 2:30 PM", NOV3),
        ("11/03/2026 2:30pm", NOV3),
        ("11/03/2026 12:00:00 a.m.", NOV3),
        ("11/03/2026 9 AM", NOV3),
        ("11/03/2026   14:30:15", NOV3),
    ],
)
def test_accepted_text(text, expected):
    assert parse_as_of(text) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (NOV3, NOV3),
        (dt.datetime(2026, 11, 3), NOV3),
        (dt.datetime(2026, 11, 3, 23, 59, 59), NOV3),
        # aware datetimes keep their own wall-clock date, never converted to UTC or local time
        (dt.datetime(2026, 11, 3, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-10))), NOV3),
        (dt.datetime(2026, 11, 3, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=14))), NOV3),
    ],
)
def test_date_objects_keep_their_calendar_date(value, expected):
    assert parse_as_of(value) == expected
    assert type(parse_as_of(value)) is dt.date


@pytest.mark.parametrize(
    "value, code, words",
    [
        # impossible dates say why
        ("02/30/2026", "impossible-date", "February 2026 has 28 days"),
        ("2026-02-29", "impossible-date", "February 2026 has 28 days"),
        ("1900-02-29", "impossible-date", "February 1900 has 28 days"),
        ("04/31/2026", "impossible-date", "April 2026 has 30 days"),
        ("2026-13-01", "impossible-date", "there is no month 13"),
        ("2026-00-10", "impossible-date", "there is no month 0"),
        ("2026-11-00", "impossible-date", "there is no day 0"),
        ("0000-01-01", "impossible-date", "there is no year 0"),
        ("2025-W53-1", "impossible-date", "2025 has ISO weeks 01 to 52"),
        ("2026-W54-1", "impossible-date", "2026 has ISO weeks 01 to 53"),
        ("2026-W00-1", "impossible-date", "ISO weeks 01 to 53"),
        ("2026-W44-8", "impossible-date", "1 (Monday) to 7 (Sunday)"),
        ("2026-W44-0", "impossible-date", "1 (Monday) to 7 (Sunday)"),
        ("2025W531", "impossible-date", "52"),
        ("2026-366", "impossible-date", "2026 has days 001 to 365"),
        ("2024-367", "impossible-date", "2024 has days 001 to 366"),
        ("2026-000", "impossible-date", "001"),
        ("31/02/2026", "impossible-date", "there is no month 31 (AchieveIt reads MM/DD/YYYY)"),
        ("13/13/2026", "impossible-date", "there is no month 13"),
        ("2025-W53", "impossible-date", "2025 has ISO weeks 01 to 52"),
        # day and month swapped
        (
            "13/01/2026",
            "day-month-order",
            "'13/01/2026' looks like DD/MM/YYYY; AchieveIt reads MM/DD/YYYY: "
            "did you mean 01/13/2026?",
        ),
        ("31/1/2026", "day-month-order", "did you mean 1/31/2026?"),
        ("25/12/2026 10:00", "day-month-order", "did you mean 12/25/2026?"),
        # reduced precision is not a single day
        ("2026-11", "incomplete-date", "a month, not a single day"),
        ("2026", "incomplete-date", "a year, not a single day"),
        ("2026-W44", "incomplete-date", "2026-W44-1 is Monday 2026-10-26"),
        ("2026W44", "incomplete-date", "a week, not a single day"),
        # everything else
        ("1/2/26", "bad-date", "two-digit year"),
        ("2026/11/03", "bad-date", "2026-11-03"),
        ("2026/02/30", "bad-date", "Use YYYY-MM-DD"),
        ("03.11.2026", "bad-date", "Use YYYY-MM-DD, e.g. 2026-11-03, or MM/DD/YYYY"),
        ("11-03-2026", "bad-date", "Use YYYY-MM-DD"),
        ("Nov 3, 2026", "bad-date", "Use YYYY-MM-DD"),
        ("tomorrow", "bad-date", "'tomorrow' is not a date"),
        ("202611", "bad-date", "Use YYYY-MM-DD"),
        ("26-11-03", "bad-date", "Use YYYY-MM-DD"),
        ("+002026-11-03", "bad-date", "Use YYYY-MM-DD"),
        ("2026-11-3", "bad-date", "Use YYYY-MM-DD"),
        ("2026-W44-7-1", "bad-date", "Use YYYY-MM-DD"),
        ("\u0662\u0660\u0662\u0666-11-03", "bad-date", "Use YYYY-MM-DD"),  # Arabic-Indic digits
        ("", "bad-date", "missing"),
        ("   ", "bad-date", "missing"),
        (None, "bad-date", "missing"),
        ("#N/A", "bad-date", "#N/A"),
        ("#VALUE!", "bad-date", "fix the formula"),
        (True, "bad-date", "TRUE is not a date"),
        (False, "bad-date", "FALSE is not a date"),
        (46329, "bad-date", "format the cell as a date"),
        (46329.0, "bad-date", "46329 is 2026-11-03"),
        (20261103, "bad-date", "is a number, not a date"),
        (12.5, "bad-date", "format the cell as a date"),
        (Decimal("1.5"), "bad-date", "format the cell as a date"),
        (float("nan"), "bad-date", "format the cell as a date"),
        (dt.time(14, 30), "bad-date", "a time of day"),
        (["2026-11-03"], "bad-date", "not a date"),
        # garbage after the date: the time part is checked too
        ("2026-11-03T", "bad-date", "not a valid time"),
        ("2026-11-03T25:00", "bad-date", "not a valid time ('25:00')"),
        ("2026-11-03T24:01", "bad-date", "not a valid time"),
        ("2026-11-03T24:00:01", "bad-date", "not a valid time"),
        ("2026-11-03T24:00:00.5", "bad-date", "not a valid time"),
        ("2026-11-03T14:60", "bad-date", "not a valid time"),
        ("2026-11-03T14:30:61", "bad-date", "not a valid time"),
        ("2026-11-03T14:30+24:00", "bad-date", "not a valid time"),
        ("2026-11-03T14:30+01:60", "bad-date", "not a valid time"),
        ("2026-11-03T14:3", "bad-date", "not a valid time"),
        ("2026-11-03T2:30 PM", "bad-date", "not a valid time"),  # clock times need a space
        ("2026-11-03 and more", "bad-date", "Write only the date, e.g. 2026-11-03"),
        ("2026-11-03Z", "bad-date", "Use YYYY-MM-DD"),
        ("11/03/2026 13:00 PM", "bad-date", "not a valid time"),
        ("11/03/2026 0:30 AM", "bad-date", "not a valid time"),
        ("11/03/2026 foo", "bad-date", "not a valid time ('foo')"),
    ],
)
def test_rejected(value, code, words):
    found = problem(value)
    assert (found.code, isinstance(found, ValueError)) == (code, True)
    assert words in found.message
    assert str(found) == found.message


def test_day_month_hint_is_exact():
    assert problem("13/01/2026").message == (
        "'13/01/2026' looks like DD/MM/YYYY; AchieveIt reads MM/DD/YYYY: did you mean 01/13/2026?"
    )


def test_impossible_message_is_exact():
    assert problem("02/30/2026").message == (
        "'02/30/2026' is not a real date: February 2026 has 28 days."
    )


# --- properties ------------------------------------------------------------------------------

DAYS = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))


def _week(day: dt.date, sep: str) -> str:
    year, week, weekday = day.isocalendar()
    return f"{year}{sep}W{week:02d}{sep}{weekday}"


def _ordinal(day: dt.date, sep: str) -> str:
    return f"{day.year}{sep}{day.timetuple().tm_yday:03d}"


FORMS = {
    "extended": lambda d: d.isoformat(),
    "basic": lambda d: d.strftime("%Y%m%d"),
    "week extended": lambda d: _week(d, "-"),
    "week basic": lambda d: _week(d, ""),
    "ordinal extended": lambda d: _ordinal(d, "-"),
    "ordinal basic": lambda d: _ordinal(d, ""),
    "US padded": lambda d: d.strftime("%m/%d/%Y"),
    "US short": lambda d: f"{d.month}/{d.day}/{d.year}",
}
ISO_TIMES = st.sampled_from(
    ["", "T00", "T14:30", "T23:59:59", "T24:00", "T08:15:30.25Z", "T0815+05:30", " 12:00-0800"]
)
US_TIMES = st.sampled_from(["", " 14:30", " 2:30 PM", " 12:00:01 am", " 23:59:59"])


@pytest.mark.parametrize("form", FORMS)
@given(day=DAYS, iso_time=ISO_TIMES, us_time=US_TIMES)
def test_every_form_parses_back_to_its_date(form, day, iso_time, us_time):
    text = FORMS[form](day)
    assert parse_as_of(text) == day
    suffix = us_time if form.startswith("US") else iso_time
    assert parse_as_of(text + suffix) == day


@given(
    moment=st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2100, 12, 31),
        timezones=st.none() | st.timezones(),
    )
)
def test_datetimes_keep_their_wall_clock_date(moment):
    day = dt.date(moment.year, moment.month, moment.day)
    assert parse_as_of(moment) == day
    offset = moment.utcoffset()
    # Python writes historical offsets with seconds (+02:35:20), which ISO 8601 has no form for.
    if offset is None or offset.seconds % 60 == 0:
        assert parse_as_of(str(moment)) == day
        assert parse_as_of(moment.isoformat()) == day


@given(day=DAYS.filter(lambda d: d.day > 12))
def test_day_first_dates_get_the_swap_hint(day):
    found = problem(day.strftime("%d/%m/%Y"))
    assert found.code == "day-month-order"
    assert found.message.endswith(f"did you mean {day.strftime('%m/%d/%Y')}?")


# --- Excel serials (issue 10) ----------------------------------------------------------------

MS = 1 / 86_400_000  # one millisecond, in days


@pytest.mark.parametrize(
    ("serial", "date1904", "expected"),
    [
        (46329, False, dt.datetime(2026, 11, 3)),
        (46329.5, False, dt.datetime(2026, 11, 3, 12)),
        # At or after 23:59:59.9995 the written day wins (openpyxl rounded into the next day).
        (46329 + 1 - 0.5 * MS, False, dt.datetime(2026, 11, 3, 23, 59, 59, 999000)),
        (46329 + 1 - 0.1 * MS, False, dt.datetime(2026, 11, 3, 23, 59, 59, 999000)),
        (46329 + 1 - 1e-10, False, dt.datetime(2026, 11, 3, 23, 59, 59, 999000)),
        (46329 + 1 - 1.5 * MS, False, dt.datetime(2026, 11, 3, 23, 59, 59, 999000)),
        (46329 + 1 - 2 * MS, False, dt.datetime(2026, 11, 3, 23, 59, 59, 998000)),
        # The 1900 system around its fictitious 29 February
        (1, False, dt.datetime(1900, 1, 1)),
        (59, False, dt.datetime(1900, 2, 28)),
        (61, False, dt.datetime(1900, 3, 1)),
        (0.25, False, dt.time(6)),  # a time of day only
        (2958465, False, dt.datetime(9999, 12, 31)),
        # The 1904 system: 1,462 days later, no fictitious day
        (0, True, dt.datetime(1904, 1, 1)),
        (60, True, dt.datetime(1904, 3, 1)),
        (46329 - 1462, True, dt.datetime(2026, 11, 3)),
        (46329 - 1462 + 1 - 0.2 * MS, True, dt.datetime(2026, 11, 3, 23, 59, 59, 999000)),
    ],
)
def test_from_serial(serial, date1904, expected):
    assert from_serial(serial, date1904=date1904) == expected


@pytest.mark.parametrize(
    ("serial", "date1904", "code", "words"),
    [
        (60, False, FICTITIOUS_DATE, ["02/29/1900", "never was"]),
        (60.5, False, FICTITIOUS_DATE, ["02/29/1900"]),
        (-1, False, NEGATIVE_DATE, ["-1", "####"]),
        (-0.5, True, NEGATIVE_DATE, ["-0.5", "####"]),
        (2958466, False, "bad-date", ["9999-12-31"]),
        (2958466 - 1462, True, "bad-date", ["9999-12-31"]),
    ],
)
def test_serials_that_are_no_real_date(serial, date1904, code, words):
    with pytest.raises(DateProblem) as caught:
        from_serial(serial, date1904=date1904)
    assert caught.value.code == code
    for word in words:
        assert word in caught.value.message


@given(st.integers(min_value=61, max_value=2958465), st.floats(min_value=0, max_value=1))
def test_a_serial_is_always_on_its_written_day(day, fraction):
    # day + 1 - 1e-12 rounds up to day + 1 near 9999-12-31: take the float just below instead.
    serial = min(day + fraction, math.nextafter(day + 1, 0))
    assert from_serial(serial).date() == dt.date(1899, 12, 30) + dt.timedelta(days=int(serial))


@pytest.mark.parametrize(
    ("value", "date1904", "hint"),
    [
        (46329, False, "as an Excel date serial, 46329 is 2026-11-03"),
        (46329, True, "in this workbook's 1904 date system, 46329 is 2030-11-04"),
        (44867, True, "1904 date system, 44867 is 2026-11-03"),
    ],
)
def test_the_serial_hint_follows_the_date_system(value, date1904, hint):
    with pytest.raises(DateProblem) as caught:
        parse_as_of(value, date1904=date1904)
    assert hint in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11/03/2026\u00a014:00", NOV3),  # U+00A0 NO-BREAK SPACE between date and time
        ("2026\u201111\u201103", NOV3),  # U+2011 NON-BREAKING HYPHEN
        ("2026\u201311\u201303", NOV3),  # U+2013 EN DASH
        ("2026-11-03T10:00\u221205:00", NOV3),  # ISO 8601's own U+2212 MINUS SIGN
        ("2026-11-03T10:00:00\u221205", NOV3),
        ("\ufeff2026-11-03", NOV3),
        ("2026-11\u200b-03", NOV3),
    ],
)
def test_lookalike_characters_read_as_they_look(text, expected):
    assert parse_as_of(text) == expected


def test_a_bad_date_names_the_lookalike_it_holds():
    found = problem("2026-13-03\u00a014:00")
    assert found.code == "impossible-date"
    assert "U+00A0 NO-BREAK SPACE (looks like a space) between '2026-13-03' and '14:00'" in (
        found.message
    )
