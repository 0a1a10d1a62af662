import pytest

from addin import model
from addin.cells import (
    find_header,
    is_blank,
    is_percent_format,
    log_columns,
    log_hash,
    normal_label,
    result_header_clash,
    result_header_message,
    sheet_index,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("External ID", "external id"),
        ("\ufeffExternal ID", "external id"),
        ("  External \u00a0 ID ", "external id"),
        ("Current\nMetric Value", "current metric value"),
        (42, ""),
        (None, ""),
    ],
)
def test_normal_label(value, expected):
    assert normal_label(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("", True), ("  \t\n", True), ("x", False), (0, False), (False, False)],
)
def test_is_blank(value, expected):
    assert is_blank(value) is expected


@pytest.mark.parametrize(
    ("names", "wanted", "expected"),
    [
        (["Read Me", "Updates"], "Updates", 1),
        (["updates ", "Updates"], "Updates", 1),  # the exact name wins
        (["Sheet1", " UPDATES"], "Updates", 1),
        (["Sheet1"], "Updates", None),
        ([], "Updates", None),
    ],
)
def test_sheet_index(names, wanted, expected):
    assert sheet_index(names, wanted) == expected


ID = "External ID"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([[ID, "Status"]], 0),
        ([["Title"], [], [None], ["\ufeff external  id ", 5]], 3),
        ([["x"]] * 9 + [["EXTERNAL ID"]], 9),  # the 10th row is still searched
        ([["x"]] * 10 + [[ID]], None),  # the 11th is not
        ([["Status", ID]], None),  # only the first cell counts
        ([[42], [None, ID]], None),
        ([], None),
        ((("a",), (ID,), (ID,)), 1),  # the first wins; tuples work as well as lists
    ],
)
def test_find_header(rows, expected):
    assert find_header(rows) == expected


def test_find_header_reads_no_further_than_it_must():
    rows = iter([["x"], [ID]])
    assert find_header(rows) == 1
    endless = ([f"row {n}"] for n in range(10**9))
    assert find_header(endless) is None  # stops after HEADER_SEARCH_ROWS rows


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([], None),
        ([None, "  ", None, None, None], None),
        (["Issues", "job id", " JOB  STATUS ", "Checked At", "Marks", "sent"], None),
        (["Owner"], (0, "Owner")),
        ([None, None, "job status", None, 7], (4, 7)),
        (["Issues", "Marks"], (1, "Marks")),  # the right names in the wrong place
        ([None] * 5 + ["Anything"], (5, "Anything")),  # K holds the Sent fingerprints
        ([None] * 6 + ["Anything"], (6, "Anything")),  # L holds the items' names
        ([None] * 7 + ["Anything"], None),  # M and beyond are the user's
    ],
)
def test_result_header_clash(cells, expected):
    assert result_header_clash(cells) == expected


@pytest.mark.parametrize(
    ("place", "row", "index", "value", "start"),
    [
        ("In u.xlsx", 1, 0, "Owner", "In u.xlsx, cell F1 holds 'Owner'; the tool needs columns"),
        ("On the Updates sheet", 3, 4, 7, "On the Updates sheet, cell J3 holds 7; the tool"),
    ],
)
def test_result_header_message(place, row, index, value, start):
    message = result_header_message(place, row, index, value)
    assert message.startswith(start)
    assert "Issues, Job ID, Job Status, Checked At, Marks" in message
    assert "Move that column to the right of L (or clear the cell)" in message


LOG = list(model.LOG_COLUMNS)


@pytest.mark.parametrize(
    ("header", "positions", "missing"),
    [
        (LOG, {name: i for i, name in enumerate(LOG)}, ()),
        ([], {name: i for i, name in enumerate(LOG)}, tuple(LOG)),
        ([None] * 9, {name: i for i, name in enumerate(LOG)}, tuple(LOG)),
        (  # reordered, any case: found where they are
            ["message", "STATE", *LOG[:5]],
            {**{name: i + 2 for i, name in enumerate(LOG[:5])}, "State": 1, "Message": 0},
            (),
        ),
        (  # missing ones go after the last filled cell, in LOG_COLUMNS order
            ["When", None, "Job ID", None, 5],
            {
                "When": 0,
                "Job ID": 2,
                "File name": 3,
                "Rows": 4,
                "CSV SHA-256": 5,
                "State": 6,
                "Message": 7,
            },
            ("File name", "Rows", "CSV SHA-256", "State", "Message"),
        ),
    ],
)
def test_log_columns(header, positions, missing):
    assert log_columns(header) == (positions, missing)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("", ""), ("  ", ""), (" AB12 \n", "ab12"), ("ab" * 32, "ab" * 32), (12, "12")],
)
def test_log_hash(value, expected):
    assert log_hash(value) == expected


@pytest.mark.parametrize(
    ("number_format", "percent"),
    [
        ("0%", True),
        ("0.00%", True),
        ("#,##0.0%;[Red]-#,##0.0%", True),
        ("General", False),
        ("0.00", False),
        ('0.0"%"', False),  # a literal % sign in quotes: the number is not multiplied
        ("0.0\\%", False),  # an escaped % sign
        ('"pct "0%', True),
        ("", False),
        (None, False),
    ],
)
def test_is_percent_format(number_format, percent):
    assert is_percent_format(number_format) is percent
