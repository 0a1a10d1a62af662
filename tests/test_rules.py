import datetime as dt
import time
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from addin import lookalikes
from addin.model import (
    COLUMNS,
    DEFAULT_STATUSES,
    ERROR,
    EXCEL_ERRORS,
    NOTE,
    WARNING,
    Finding,
    Report,
    Row,
    Table,
    Uncalculated,
    Unreadable,
    Update,
)
from addin.rules import validate_header, validate_rows, validate_table

TODAY = dt.date(2026, 11, 29)
NOV3 = dt.date(2026, 11, 3)
GOOD = ("ABC-1", "On Track", 0.5, NOV3, "Fine")


UNIQUE = object()


def row(number=2, external_id=UNIQUE, status="On Track", metric=0.5, as_of=NOV3, comment=""):
    """A good row unless told otherwise; its External ID is unique unless given."""
    external_id = f"ID-{number}" if external_id is UNIQUE else external_id
    return Row(number, (external_id, status, metric, as_of, comment))


def check(*rows, statuses=DEFAULT_STATUSES) -> Report:
    return validate_rows(rows, statuses=statuses, today=TODAY)


def flat(report: Report):
    return [(f.row, f.column, f.code) for f in report.findings]


def only(report: Report) -> Finding:
    assert len(report.findings) == 1, flat(report)
    return report.findings[0]


# --- header ----------------------------------------------------------------------------------

HEADER = list(COLUMNS)


@pytest.mark.parametrize(
    "header, header_row, expected",
    [
        (HEADER, 1, []),
        (HEADER + ["Issues", "Job ID", "anything"], 3, []),  # the tool's own columns
        (["\ufeffExternal ID", *HEADER[1:]], 1, []),  # Excel's CSV UTF-8 byte-order mark
        ([" external id ", "STATUS", "current  metric value", "as of date", "comment"], 1, []),
        (HEADER[:4], 1, []),  # Comment is optional in the article
        (HEADER[:4] + [None], 1, []),
        (HEADER[:4] + ["  "], 1, []),
        (
            ["External ID", "Status", "As Of Date", "Current Metric Value", "Comment"],
            2,
            ["bad-header"],
        ),
        (["External ID", "Staus", *HEADER[2:]], 1, ["bad-header"]),
        (["External ID", "Status", "Metric", "As Of Date", "Comment"], 1, ["bad-header"]),
        (["External ID", "Status", "As Of Date", "Comment"], 1, ["bad-header"]),
        (HEADER[:4] + ["Notes"], 1, ["bad-header"]),
        (["External ID"], 1, ["bad-header"]),
        ([], 1, ["bad-header"]),
        (HEADER, None, ["missing-header"]),
    ],
)
def test_header(header, header_row, expected):
    findings = validate_header(header, header_row)
    assert [f.code for f in findings] == expected
    assert all(f.severity == ERROR and f.column is None for f in findings)
    assert all(f.row == (header_row or 1) for f in findings)


def test_bad_header_message_names_expected_order_and_what_was_found():
    (finding,) = validate_header(["External ID", "Status", "As Of Date", "Metric"], 4)
    assert finding.message == (
        "The header row must read External ID | Status | Current Metric Value | As Of Date | "
        "Comment; found External ID | Status | As Of Date | Metric | (blank) "
        "(column C should be 'Current Metric Value')."
    )


def test_missing_header_message():
    (finding,) = validate_header((), None)
    assert "No row among the first 10 starts with 'External ID'" in finding.message
    assert "External ID | Status | Current Metric Value | As Of Date | Comment" in finding.message


# --- External ID -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, findings, exported",
    [
        ("ABC-1", [], "ABC-1"),
        ("  2bf2dda7-2aa4-4345-b6a8-8070d6ceec39 \n", [], "2bf2dda7-2aa4-4345-b6a8-8070d6ceec39"),
        ("0012", [], "0012"),
        ("12E5", [], "12E5"),  # a customer ID, not Excel's scientific notation
        (1234, [("numeric-id", WARNING)], "1234"),
        (1234.0, [("numeric-id", WARNING)], "1234"),
        (12.5, [("numeric-id", WARNING)], "12.5"),
        ("1.23E+15", [("scientific-id", WARNING)], "1.23E+15"),
        ("1,23457E+15", [("scientific-id", WARNING)], "1,23457E+15"),
        ("5E-05", [("scientific-id", WARNING)], "5E-05"),
        (dt.datetime(2026, 1, 2), [("mangled-id", ERROR)], None),  # "1-2" turned into a date
        ("A,1", [("id-characters", WARNING)], "A,1"),
        ('A"1', [("id-characters", WARNING)], 'A"1'),
        ("A'1", [("id-characters", WARNING)], "A'1"),
        ("A\n1", [("id-characters", WARNING)], "A\n1"),
        (True, [("bad-id", ERROR)], None),
        (float("nan"), [("bad-id", ERROR)], None),
        (None, [("required", ERROR)], None),
        ("   ", [("required", ERROR)], None),
        ("#N/A", [("excel-error", ERROR)], None),
        (Uncalculated("=A1"), [("uncalculated-formula", ERROR)], None),
    ],
)
def test_external_id(raw, findings, exported):
    report = check(row(external_id=raw))
    assert [(f.code, f.severity) for f in report.findings] == findings
    assert all(f.column == "External ID" and f.value is raw for f in report.findings)
    assert [u.external_id for u in report.updates] == ([exported] if exported else [])


def test_numeric_id_message():
    message = only(check(row(external_id=1234.0))).message
    assert "1234" in message and "1234.0" not in message
    assert "leading zeros" in message and "rounded" in message
    assert "Format column A as Text" in message and "Export External IDs" in message


# --- Status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, code, exported",
    [
        ("On Track", None, "On Track"),
        ("on track", None, "On Track"),
        ("  NOT STARTED ", None, "Not Started"),
        ("Not\u00a0Achieved", None, "Not Achieved"),
        ("canceled", None, "Canceled"),
        ("Cancelled", "unknown-status", None),
        ("OnTrack", "unknown-status", None),
        ("Done", "unknown-status", None),
        (3, "unknown-status", None),
        (True, "unknown-status", None),
        (None, "required", None),
        ("", "required", None),
        ("#REF!", "excel-error", None),
        (Uncalculated("=B1"), "uncalculated-formula", None),
    ],
)
def test_status(raw, code, exported):
    report = check(row(status=raw))
    assert [(f.column, f.code, f.severity) for f in report.findings] == (
        [("Status", code, ERROR)] if code else []
    )
    assert [u.status for u in report.updates] == ([exported] if exported else [])


@pytest.mark.parametrize(
    "raw, message",
    [
        ("Cancelled", "'Cancelled' is not an AchieveIt status: did you mean 'Canceled'?"),
        ("on trak", "'on trak' is not an AchieveIt status: did you mean 'On Track'?"),
        (
            "Done",
            "'Done' is not an AchieveIt status: use one of: On Track, Off Track, At Risk, "
            "Achieved, Not Achieved, Canceled, Not Started.",
        ),
        (
            None,
            "Status is missing. Pick one of: On Track, Off Track, At Risk, Achieved, "
            "Not Achieved, Canceled, Not Started.",
        ),
    ],
)
def test_status_messages(raw, message):
    assert only(check(row(status=raw))).message == message


def test_custom_status_list_is_used_and_spelled_its_way():
    statuses = ("Green", "Amber ", "Red", "", "green")
    report = check(row(2, status="AMBER"), row(3, status="On Track"), statuses=statuses)
    assert [u.status for u in report.updates] == ["Amber"]
    assert (
        only(report).message
        == "'On Track' is not an AchieveIt status: use one of: Green, Amber, Red."
    )


# --- Current Metric Value --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, findings, exported",
    [
        (None, [], None),
        ("  ", [], None),
        (0, [], 0),
        (15, [], 15),
        (0.2, [], 0.2),
        (-3.0, [], -3.0),
        ("0.25", [], 0.25),
        (" .5 ", [], 0.5),
        ("-3", [], -3),
        ("+7", [], 7),
        ("5.", [], 5.0),
        ("007", [], 7),
        ("20%", [("percent-text", WARNING)], 0.2),
        ("12.5 %", [("percent-text", WARNING)], 0.125),
        ("0.1%", [("percent-text", WARNING)], 0.001),
        ("1,234.5", [("bad-metric", ERROR)], None),
        ("1,234", [("bad-metric", ERROR)], None),
        ("0,25", [("bad-metric", ERROR)], None),
        ("1e3", [("bad-metric", ERROR)], None),
        ("nan", [("bad-metric", ERROR)], None),
        ("inf", [("bad-metric", ERROR)], None),
        ("$10", [("bad-metric", ERROR)], None),
        ("twenty", [("bad-metric", ERROR)], None),
        ("٣", [("bad-metric", ERROR)], None),  # not an ASCII digit
        (True, [("bad-metric", ERROR)], None),
        (False, [("bad-metric", ERROR)], None),
        (float("nan"), [("bad-metric", ERROR)], None),
        (float("inf"), [("bad-metric", ERROR)], None),
        (NOV3, [("bad-metric", ERROR)], None),
        ("#DIV/0!", [("excel-error", ERROR)], None),
        ("#N/A", [("excel-error", ERROR)], None),
        (Uncalculated("=C1*2"), [("uncalculated-formula", ERROR)], None),
    ],
)
def test_metric(raw, findings, exported):
    report = check(row(metric=raw))
    assert [(f.code, f.severity) for f in report.findings] == findings
    assert all(f.column == "Current Metric Value" for f in report.findings)
    if findings and findings[0][1] == ERROR:
        assert report.updates == ()
    else:
        (update,) = report.updates
        assert update.metric == exported
        assert type(update.metric) is type(exported)


@pytest.mark.parametrize(
    "raw, words",
    [
        ("1,234.5", "'1,234.5' is not a number. Remove the thousands separators: 1234.5."),
        ("0,25", "Use a dot for decimals: 0.25"),
        ("20%", "'20%' is text; it will be sent as 0.2 (AchieveIt wants percentages as decimals)."),
        ("#N/A", "The cell shows #N/A: fix the formula or type the value."),
        (True, "TRUE is not a number"),
        (
            Uncalculated("=1+1"),
            "This cell's formula has no saved result; open the file in Excel, let it calculate, "
            "save, and try again.",
        ),
    ],
)
def test_metric_messages(raw, words):
    assert words in only(check(row(metric=raw))).message


# --- As Of Date ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, findings, exported",
    [
        (NOV3, [], NOV3),
        (dt.datetime(2026, 11, 3, 16, 45), [], NOV3),
        ("2026-11-03", [], NOV3),
        ("11/03/2026 2:30 PM", [], NOV3),
        ("2026-W45-2", [], NOV3),
        (TODAY, [], TODAY),
        (TODAY + dt.timedelta(days=1), [("future-date", WARNING)], TODAY + dt.timedelta(days=1)),
        ("11/03/2062", [("future-date", WARNING)], dt.date(2062, 11, 3)),
        ("13/01/2026", [("day-month-order", ERROR)], None),
        ("02/30/2026", [("impossible-date", ERROR)], None),
        ("2026-11", [("incomplete-date", ERROR)], None),
        ("1/2/26", [("bad-date", ERROR)], None),
        (46329, [("bad-date", ERROR)], None),
        (True, [("bad-date", ERROR)], None),
        (None, [("required", ERROR)], None),
        (" ", [("required", ERROR)], None),
        ("#N/A", [("excel-error", ERROR)], None),
        (Uncalculated("=TODAY()"), [("uncalculated-formula", ERROR)], None),
    ],
)
def test_as_of_date(raw, findings, exported):
    report = check(row(as_of=raw))
    assert [(f.code, f.severity) for f in report.findings] == findings
    assert all(f.column == "As Of Date" and f.value is raw for f in report.findings)
    assert [u.as_of for u in report.updates] == ([exported] if exported else [])


def test_date_messages_come_from_the_date_parser():
    assert only(check(row(as_of="13/01/2026"))).message == (
        "'13/01/2026' looks like DD/MM/YYYY; AchieveIt reads MM/DD/YYYY: did you mean 01/13/2026?"
    )
    assert only(check(row(as_of="11/03/2062"))).message == (
        "November 3, 2062 is in the future (today is November 29, 2026): "
        "check the date, especially the year."
    )


# --- Comment ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, findings, exported",
    [
        (None, [], ""),
        ("", [], ""),
        ("   ", [], ""),
        ('On plan, "mostly".\nNext: Q3', [], 'On plan, "mostly".\nNext: Q3'),
        ("  leading and trailing spaces kept  ", [], "  leading and trailing spaces kept  "),
        ("進捗は順調です 🚀", [], "進捗は順調です 🚀"),
        ("=not a formula", [], "=not a formula"),
        (42, [], "42"),
        (42.0, [], "42"),
        (0.25, [], "0.25"),
        (False, [], "FALSE"),
        (NOV3, [], "2026-11-03"),
        (dt.datetime(2026, 11, 3), [], "2026-11-03"),
        (dt.datetime(2026, 11, 3, 9, 30), [], "2026-11-03 09:30:00"),
        ("#NAME?", [("excel-error", ERROR)], None),
        (Uncalculated("=D2"), [("uncalculated-formula", ERROR)], None),
    ],
)
def test_comment(raw, findings, exported):
    report = check(row(comment=raw))
    assert [(f.column, f.code, f.severity) for f in report.findings] == [
        ("Comment", code, severity) for code, severity in findings
    ]
    assert [u.comment for u in report.updates] == ([] if exported is None else [exported])


@given(st.text().filter(lambda s: s.strip()))
def test_any_comment_text_survives_unchanged(text):
    assume(text.strip().upper() not in EXCEL_ERRORS)  # those are reported, by design
    report = check(row(comment=text))
    # Sent as typed; only a control character or a BOM is pointed out (a warning).
    invisible = any(lookalikes.is_control(ch) or ch == "\ufeff" for ch in text)
    assert [f.code for f in report.findings] == (["invisible-character"] if invisible else [])
    assert report.updates[0].comment == text


_ODD_SAMPLE = "".join(lookalikes.LOOKALIKES) + "".join(map(chr, range(0xA0))) + "aé€\u2028"


@given(st.text(alphabet=st.sampled_from(_ODD_SAMPLE) | st.characters()), st.booleans())
def test_odd_characters_are_the_lookalikes_and_controls_in_order(text, with_lookalikes):
    # The regex implementation against the definition: each character by its category.
    def control(ch: str) -> bool:
        return unicodedata.category(ch) == "Cc" and ch not in "\t\n\r"

    expected = list(
        dict.fromkeys(
            ch for ch in text if (with_lookalikes and ch in lookalikes.LOOKALIKES) or control(ch)
        )
    )
    assert lookalikes.odd_characters(text, lookalikes=with_lookalikes) == expected
    assert [lookalikes.is_control(ch) for ch in text] == [control(ch) for ch in text]
    shown = "".join(ch for ch in lookalikes.plain(text) if not control(ch))
    assert lookalikes.visible(text) == shown


# --- whole rows ------------------------------------------------------------------------------


def test_good_row_becomes_an_update():
    report = check(Row(7, (" ABC-1 ", "on track", "0.5", "11/03/2026", "Fine")))
    assert report == Report((), (Update(7, "ABC-1", "On Track", 0.5, NOV3, "Fine"),), 1)
    assert report.valid


def test_comment_only_row_gets_one_required_error_per_required_column():
    report = check(Row(5, (None, None, None, None, "just a note")))
    assert flat(report) == [
        (5, "External ID", "required"),
        (5, "Status", "required"),
        (5, "As Of Date", "required"),
    ]
    assert report.updates == ()
    assert report.rows == 1


def test_errors_in_several_cells_are_all_reported_in_column_order():
    report = check(Row(4, ("1.2E+10", "Cancelled", "abc", "13/01/2026", "#N/A"), hidden=True))
    assert flat(report) == [
        (4, None, "hidden-row"),
        (4, "External ID", "scientific-id"),
        (4, "Status", "unknown-status"),
        (4, "Current Metric Value", "bad-metric"),
        (4, "As Of Date", "day-month-order"),
        (4, "Comment", "excel-error"),
    ]


def test_blank_rows_between_data_warn_and_trailing_or_leading_ones_do_not():
    blank = (None, "  ", None, "", None)
    rows = [
        Row(2, blank),  # before any data
        row(3),
        Row(4, blank),
        Row(5, blank, hidden=True),
        row(6, external_id="ABC-2"),
        Row(7, blank),  # trailing
        Row(8, blank),
    ]
    report = check(*rows)
    assert flat(report) == [(4, None, "blank-row"), (5, None, "blank-row")]
    assert all(f.severity == WARNING for f in report.findings)
    assert report.findings[0].message == (
        "Row 4 is blank and will be skipped (AchieveIt does not accept empty rows)."
    )
    assert [u.row for u in report.updates] == [3, 6]
    assert report.rows == 2


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Only the External ID: the row waits (a note), it is neither an update nor an error.
        (("ABC-9", None, None, None, None), [(2, None, "id-only")]),
        (("ABC-9", " ", "", None, "  "), [(2, None, "id-only")]),
        # Anything more and it is an update with its own findings.
        (("ABC-9", "On Track", None, None, None), [(2, "As Of Date", "required")]),
        (("ABC-9", None, None, None, "a comment"),
         [(2, "Status", "required"), (2, "As Of Date", "required")]),
        ((None, None, None, NOV3, None),
         [(2, "External ID", "required"), (2, "Status", "required")]),
    ],
)  # fmt: skip
def test_a_row_with_only_its_external_id_waits(values, expected):
    report = check(Row(2, values), row(3))
    assert flat(report) == expected
    assert report.valid == (expected == [(2, None, "id-only")])
    if report.valid:
        assert report.findings[0].severity == NOTE
        assert [u.row for u in report.updates] == [3] and report.rows == 1


def test_blank_rows_after_waiting_rows_still_warn():
    blank = (None, None, None, None, None)
    report = check(Row(2, ("ABC-9", None, None, None, None)), Row(3, blank), row(4))
    assert flat(report) == [(2, None, "id-only"), (3, None, "blank-row")]


def test_hidden_row_warns_but_is_sent():
    report = check(Row(7, GOOD, hidden=True))
    assert flat(report) == [(7, None, "hidden-row")]
    assert report.findings[0].message == (
        "Row 7 is hidden (filtered or hidden) but will be sent; unhide it or delete it if that "
        "is not what you want."
    )
    assert [u.row for u in report.updates] == [7]


def test_duplicates_warn_on_later_rows_naming_the_first():
    report = check(
        row(2, external_id="A", as_of=NOV3),
        row(3, external_id="B", as_of=NOV3),
        row(4, external_id="a", as_of="11/03/2026"),  # same ID (any case), same day
        row(5, external_id="A", as_of=dt.date(2026, 11, 4)),  # another day: fine
        row(6, external_id=" A ", as_of=dt.datetime(2026, 11, 3, 12)),
        row(7, external_id="A", status="Bogus", as_of=NOV3),  # flagged even with other errors
    )
    assert flat(report) == [
        (4, None, "duplicate-update"),
        (6, None, "duplicate-update"),
        (7, None, "duplicate-update"),
        (7, "Status", "unknown-status"),
    ]
    assert "repeats the update of row 2" in report.findings[0].message
    assert "November 3, 2026" in report.findings[0].message
    assert [u.row for u in report.updates] == [2, 3, 4, 5, 6]  # warnings do not block


def test_numeric_id_and_text_id_count_as_duplicates():
    report = check(row(2, external_id=1234.0), row(3, external_id="1234"))
    assert flat(report) == [(2, "External ID", "numeric-id"), (3, None, "duplicate-update")]


def test_short_rows_are_padded():
    report = check(Row(2, ("ABC-1", "On Track", None, NOV3)))
    assert report.updates == (Update(2, "ABC-1", "On Track", None, NOV3, ""),)


# --- table -----------------------------------------------------------------------------------


def table(header=tuple(COLUMNS), header_row=1, rows=(), findings=()):
    return Table("t.xlsx", "Updates", header_row, tuple(header), tuple(rows), tuple(findings))


def test_table_merges_header_reader_and_row_findings_in_sheet_order():
    reader = (
        Finding(3, "Status", WARNING, "merged-cells", "merged"),
        Finding(2, None, ERROR, "reader-said-so", "bad"),
    )
    report = validate_table(
        table(rows=[row(2), row(3, status="Bogus"), row(4)], findings=reader), today=TODAY
    )
    assert flat(report) == [
        (2, None, "reader-said-so"),
        (3, "Status", "merged-cells"),
        (3, "Status", "unknown-status"),
    ]
    assert report.findings[0] is reader[1]  # kept as-is
    assert [u.row for u in report.updates] == [4]  # the reader's error blocks row 2 too
    assert report.rows == 3


@pytest.mark.parametrize(
    "header, header_row, code",
    [
        (
            ["External ID", "Status", "As Of Date", "Current Metric Value", "Comment"],
            1,
            "bad-header",
        ),
        ((), None, "missing-header"),
    ],
)
def test_table_with_bad_header_returns_no_updates(header, header_row, code):
    report = validate_table(table(header, header_row, rows=[row(2)]), today=TODAY)
    assert flat(report) == [(1, None, code)]
    assert report.updates == ()
    assert not report.valid


def test_table_today_defaults_to_the_real_today():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    report = validate_table(table(rows=[row(2, as_of=tomorrow), row(3, as_of=dt.date.today())]))
    assert flat(report) == [(2, "As Of Date", "future-date")]


def test_bom_header_table_is_valid():
    report = validate_table(table(["\ufeffExternal ID", *COLUMNS[1:]], rows=[row(2)]), today=TODAY)
    assert report.valid and len(report.updates) == 1


# --- speed -----------------------------------------------------------------------------------


def test_hundred_thousand_rows_validate_quickly():
    def values(n):  # unique IDs; half the rows have an error, some have warnings
        return [
            (f"ID-{n}", "on track", 0.5, NOV3, "Fine, thanks"),
            (f"ID-{n}", "Off Track", "0.25", "11/03/2026", ""),
            (float(n), "Cancelled", "20%", "2026-11-03T14:30Z", None),
            ("", "At Risk", None, "13/01/2026", "note"),
        ][n % 4]

    rows = [Row(n + 2, values(n)) for n in range(100_000)]
    started = time.perf_counter()
    report = validate_rows(rows, today=TODAY)
    elapsed = time.perf_counter() - started
    assert report.rows == 100_000
    assert len(report.updates) == 50_000
    assert elapsed < 10, f"100,000 rows took {elapsed:.2f} s"


# --- look-alike, invisible and control characters (issue 10) -------------------------------


@pytest.mark.parametrize(
    ("external_id", "words"),
    [
        ("A\u200b1", ["U+200B ZERO WIDTH SPACE", "invisible", "between 'A' and '1'", "as 'A1'"]),
        ("\ufeffA1", ["U+FEFF ZERO WIDTH NO-BREAK SPACE", "before 'A1'", "as 'A1'"]),
        ("A\u20111", ["U+2011 NON-BREAKING HYPHEN", "looks like '-'", "as 'A-1'"]),
        ("A\u20131", ["U+2013 EN DASH", "as 'A-1'"]),
        ("A\u00a01", ["U+00A0 NO-BREAK SPACE", "looks like a space", "as 'A 1'"]),
        ("A1\x07", ["U+0007 (a control character)", "after 'A1'", "as 'A1'"]),
        ("A\x1b1", ["U+001B (a control character)", "between 'A' and '1'"]),
    ],
)
def test_an_id_with_a_lookalike_is_an_error_naming_the_code_point(external_id, words):
    report = check(row(external_id=external_id))
    finding = only(report)
    assert (finding.column, finding.code, finding.severity) == (
        "External ID",
        "id-lookalike",
        ERROR,
    )
    for word in words:
        assert word in finding.message
    assert report.updates == ()


@pytest.mark.parametrize(
    "external_id",
    # Outer spaces, a no-break space and a line break pasted at the end are trimmed, as before.
    ["A1 ", " A1", "\u00a0A1\u00a0", "A1\r\n", "A1\t"],
)
def test_outer_whitespace_of_an_id_is_trimmed_without_a_finding(external_id):
    report = check(row(external_id=external_id))
    assert (report.findings, report.updates[0].external_id) == ((), "A1")


@pytest.mark.parametrize(
    ("status", "sent"),
    [
        ("On\u00a0Track", "On Track"),
        ("On\u202fTrack", "On Track"),
        ("\ufeffAt Risk", "At Risk"),
        ("At Risk\u200b", "At Risk"),
        ("Off\u2060 Track", "Off Track"),
    ],
)
def test_a_status_with_lookalike_spaces_or_invisibles_is_the_status(status, sent):
    report = check(row(status=status))
    assert (report.findings, report.updates[0].status) == ((), sent)


def test_an_unknown_status_names_the_invisible_character_it_holds():
    finding = only(check(row(status="Bogus\u200b")))
    assert finding.code == "unknown-status"
    assert "U+200B ZERO WIDTH SPACE (invisible) after 'Bogus'" in finding.message


@pytest.mark.parametrize(
    ("metric", "sent", "codes"),
    [
        ("\u22125", -5, []),  # U+2212 MINUS SIGN means minus
        ("\u20130.5", -0.5, []),
        ("15\u00a0", 15, []),
        ("\u200b0.2", 0.2, []),
        ("20\u00a0%", 0.2, ["percent-text"]),
        ("20\u202f%", 0.2, ["percent-text"]),
    ],
)
def test_a_metric_with_lookalikes_reads_as_it_looks(metric, sent, codes):
    report = check(row(metric=metric))
    assert [f.code for f in report.findings] == codes
    assert report.updates[0].metric == sent


def test_a_bad_metric_names_the_lookalike_it_holds():
    finding = only(check(row(metric="5x\u00a0y")))
    assert finding.code == "bad-metric"
    assert "U+00A0 NO-BREAK SPACE (looks like a space) between '5x' and 'y'" in finding.message


@pytest.mark.parametrize(
    ("as_of", "sent"),
    [
        ("11/03/2026\u00a014:00", NOV3),
        ("2026\u201111\u201103", NOV3),
        ("2026\u201311\u201303", NOV3),
        ("\ufeff2026-11-03", NOV3),
        ("2026-11-03T10:00\u221205:00", NOV3),
        ("2026-11-03\u200b", NOV3),
    ],
)
def test_a_date_with_lookalikes_is_the_date_it_shows(as_of, sent):
    report = check(row(as_of=as_of))
    assert (report.findings, report.updates[0].as_of) == ((), sent)


@pytest.mark.parametrize(
    ("comment", "words"),
    [
        ("bell\x07here", ["U+0007 (a control character) (invisible) between 'bell' and 'here'"]),
        ("a\ufeffb", ["U+FEFF ZERO WIDTH NO-BREAK SPACE (invisible) between 'a' and 'b'"]),
    ],
)
def test_a_control_character_in_a_comment_is_a_warning_and_is_kept(comment, words):
    report = check(row(comment=comment))
    finding = only(report)
    assert (finding.code, finding.severity) == ("invisible-character", WARNING)
    for word in words:
        assert word in finding.message
    assert report.updates[0].comment == comment


@pytest.mark.parametrize(
    "comment", ["late \u2013 but fine", "a\u00a0b", "emoji \U0001f469\u200d\U0001f4bb", "x\ty"]
)
def test_dashes_spaces_and_joiners_in_a_comment_are_text(comment):
    report = check(row(comment=comment))
    assert (report.findings, report.updates[0].comment) == ((), comment)


@pytest.mark.parametrize(
    ("as_of", "words"),
    [
        ("0026-11-03", ["before 1900", "did you mean 2026-11-03?"]),
        ("11/03/0026", ["before 1900", "did you mean 2026-11-03?"]),
        (dt.date(26, 11, 3), ["did you mean 2026-11-03?"]),
        ("0099-01-01", ["did you mean 2099-01-01?"]),
        ("1899-12-31", ["before 1900", "check the year"]),
        ("0100-01-01", ["check the year"]),
        ("0004-02-29", ["did you mean 2004-02-29?"]),
    ],
)
def test_a_date_before_1900_is_a_warning(as_of, words):
    report = check(row(as_of=as_of))
    finding = only(report)
    assert (finding.column, finding.code, finding.severity) == (
        "As Of Date",
        "implausible-date",
        WARNING,
    )
    for word in words:
        assert word in finding.message
    assert len(report.updates) == 1  # a warning: the user decides


@pytest.mark.parametrize("as_of", ["1900-01-01", "2026-11-03", dt.date(1900, 3, 1)])
def test_dates_from_1900_on_are_plausible(as_of):
    assert check(row(as_of=as_of)).findings == ()


@pytest.mark.parametrize("column", COLUMNS)
def test_an_unreadable_cell_is_an_error_with_its_own_message(column):
    values = dict(zip(COLUMNS, GOOD, strict=True))
    values[column] = Unreadable("60", "fictitious-date", "The cell shows 02/29/1900 ...")
    report = check(Row(2, tuple(values.values())))
    assert [(f.column, f.code, f.message) for f in report.findings] == [
        (column, "fictitious-date", "The cell shows 02/29/1900 ...")
    ]
    assert report.updates == ()


def test_the_serial_hint_uses_the_tables_date_system():
    table = Table("u.xlsx", "Updates", 1, COLUMNS, (row(as_of=44867),), date1904=True)
    (finding,) = validate_table(table, today=TODAY).findings
    assert "1904 date system, 44867 is 2026-11-03" in finding.message


@pytest.mark.parametrize(
    ("metric", "percent", "codes"),
    [
        (20, True, ["percent-format"]),  # typed 20, Excel shows 2000%
        (20.0, True, ["percent-format"]),
        (-35, True, ["percent-format"]),
        (100, True, ["percent-format"]),
        (0.2, True, []),  # 20%: what the article asks for
        (1, True, []),  # 100%
        (1.5, True, []),  # 150%: a plausible percentage
        (20, False, []),  # a plain number cell: 20 is 20
        ("20", True, []),  # text is not shown by the number format
    ],
)
def test_a_whole_number_in_a_percent_formatted_metric_cell_is_warned(metric, percent, codes):
    report = check(Row(2, ("ID-2", "On Track", metric, NOV3, ""), metric_percent=percent))
    assert [f.code for f in report.findings] == codes
    assert report.updates[0].metric == float(metric)  # as typed: a warning, the user decides


def test_the_percent_format_warning_says_how_to_send_the_decimal():
    finding = only(check(Row(2, ("ID-2", "On Track", 20, NOV3, ""), metric_percent=True)))
    assert finding.message == (
        "The cell is formatted as a percentage and shows 2000%, so 20 will be sent. If you "
        "meant 20%, type 20% in the cell (Excel then keeps 0.2); if you meant 20, format it "
        "as Number."
    )


@pytest.mark.parametrize(
    ("metric", "sent", "codes"),
    [
        ("0.50", 0.5, []),  # a trailing zero is no lost digit
        ("123456789012345678901", 123456789012345678901, []),  # whole numbers stay exact
        ("0.1", 0.1, []),
        ("12345678901234567.5", 12345678901234568.0, ["metric-precision"]),
        ("0.12345678901234567891", 0.12345678901234568, ["metric-precision"]),
    ],
)
def test_a_metric_typed_with_more_digits_than_a_float_holds_is_warned(metric, sent, codes):
    report = check(row(metric=metric))
    assert [f.code for f in report.findings] == codes
    assert report.updates[0].metric == sent
