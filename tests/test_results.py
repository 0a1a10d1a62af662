from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addin import model, results
from addin.model import Finding
from addin.results import (
    ERROR_FILL,
    ERROR_FONT,
    EXCEL_CELL_LIMIT,
    WARNING_FILL,
    WARNING_FONT,
    cell_marks,
    issues_text_by_row,
    summary,
)


def err(row, column, message="bad", code="x"):
    return Finding(row, column, "error", code, message)


def warn(row, column, message="odd", code="y"):
    return Finding(row, column, "warning", code, message)


@pytest.mark.parametrize("colour", [ERROR_FILL, WARNING_FILL, ERROR_FONT, WARNING_FONT])
def test_colours_are_six_hex_digits(colour):
    assert re.fullmatch(r"[0-9A-F]{6}", colour)


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        ([], {}),
        (
            [err(7, model.STATUS, "'Cancelled' is not a status; use 'Canceled'.")],
            {7: "Error – Status: 'Cancelled' is not a status; use 'Canceled'."},
        ),
        (
            [warn(4, model.AS_OF_DATE, "is in the future."), err(4, None, "row is hidden.")],
            {4: "Error – row is hidden.\nWarning – As Of Date: is in the future."},
        ),
        (
            [
                warn(3, None, "w1"),
                err(3, model.METRIC, "e1"),
                warn(3, None, "w2"),
                err(3, model.STATUS, "e2"),
            ],
            {3: "Error – Current Metric Value: e1\nError – Status: e2\nWarning – w1\nWarning – w2"},
        ),
        (
            [err(2, model.STATUS, "a"), err(5, model.STATUS, "b")],
            {2: "Error – Status: a", 5: "Error – Status: b"},
        ),
        # The same finding twice (e.g. reader and rules) shows once.
        ([err(2, model.STATUS, "a"), err(2, model.STATUS, "a")], {2: "Error – Status: a"}),
    ],
)
def test_issues_text_by_row(findings, expected):
    assert issues_text_by_row(findings) == expected


def test_issues_text_fits_an_excel_cell():
    findings = [err(2, model.COMMENT, f"{i}: " + "x" * 1000) for i in range(40)]
    text = issues_text_by_row(findings)[2]
    assert len(text) == EXCEL_CELL_LIMIT
    assert text.endswith("…")
    assert text.startswith("Error – Comment: 0: xxx")


def test_issues_text_at_the_limit_is_not_clipped():
    message = "x" * (EXCEL_CELL_LIMIT - len("Error – "))
    assert issues_text_by_row([err(2, None, message)])[2] == "Error – " + message


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        ([], {}),
        ([err(2, model.EXTERNAL_ID)], {(2, 0): "error"}),
        ([warn(2, model.COMMENT)], {(2, 4): "warning"}),
        ([warn(2, model.STATUS), err(2, model.STATUS), warn(2, model.STATUS)], {(2, 1): "error"}),
        ([err(3, model.METRIC), warn(3, model.AS_OF_DATE)], {(3, 2): "error", (3, 3): "warning"}),
        ([err(3, None), warn(4, model.ISSUES)], {}),
    ],
)
def test_cell_marks(findings, expected):
    assert cell_marks(findings) == expected


findings_strategy = st.lists(
    st.builds(
        Finding,
        row=st.integers(1, 30),
        column=st.sampled_from((None, *model.COLUMNS)),
        severity=st.sampled_from(("error", "warning")),
        code=st.just("c"),
        message=st.text(st.characters(exclude_characters="\r\n"), max_size=20),
    )
)


@given(findings_strategy)
def test_cell_marks_are_the_worst_severity_of_each_cell(findings):
    marks = cell_marks(findings)
    for finding in findings:
        if finding.column is None:
            continue
        key = (finding.row, model.COLUMNS.index(finding.column))
        assert marks[key] == "error" or finding.severity == "warning"
    cells = {(f.row, f.column) for f in findings if f.column}
    assert len(marks) == len(cells)


@given(findings_strategy)
def test_every_row_with_findings_gets_text_and_errors_come_first(findings):
    texts = issues_text_by_row(findings)
    assert set(texts) == {f.row for f in findings}
    for text in texts.values():
        kinds = [
            line.split(" – ")[0]
            for line in text.split("\n")
            if line.startswith(("Error – ", "Warning – "))
        ]
        assert kinds == sorted(kinds)  # "Error" < "Warning"


@pytest.mark.parametrize(
    ("findings", "rows", "expected"),
    [
        (
            [err(7, model.STATUS), err(7, model.METRIC), err(9, None)],
            5,
            "3 errors in 2 rows; first at row 7.",
        ),
        ([err(12, model.STATUS)], 5, "1 error in 1 row; first at row 12."),
        (
            [warn(3, None), err(8, model.STATUS), warn(4, None)],
            5,
            "1 error in 1 row; first at row 8. Also 2 warnings.",
        ),
        ([warn(6, None), warn(4, model.AS_OF_DATE)], 5, "No errors; 2 warnings (first at row 4)."),
        ([warn(6, None)], 5, "No errors; 1 warning (first at row 6)."),
        ([], 12, "All 12 rows are ready to send."),
        ([], 1, "The 1 row is ready to send."),
        ([], 0, "No rows to send: the table is empty."),
    ],
)
def test_summary(findings, rows, expected):
    assert summary(findings, rows) == expected


def test_summary_accepts_a_generator():
    assert summary((f for f in [err(2, None)]), 1) == "1 error in 1 row; first at row 2."


# --- a failed job's text goes back to rows by External ID, never by position ---------------------

_SENT = (
    model.Update(
        row=4, external_id="ENG-1", status="On Track", metric=None, as_of=dt.date(2026, 11, 3)
    ),
    model.Update(
        row=5, external_id="ENG-12", status="On Track", metric=None, as_of=dt.date(2026, 11, 3)
    ),
    model.Update(
        row=9, external_id="ENG-1", status="At Risk", metric=None, as_of=dt.date(2026, 11, 4)
    ),
)


@pytest.mark.parametrize(
    ("message", "expected_rows"),
    [
        ("Row 3 (External ID ENG-12): status 'Cancelled' is not a valid status.", [5]),
        ("Row 2 (External ID ENG-1): unknown External ID.", [4, 9]),
        ("ENG-1 and ENG-12 both failed", [4, 9, 5]),
        ("Row 2: the file starts with a byte-order mark.", []),
        ("ENG-123 is unknown", []),
        ("Line one names nothing\n'ENG-12' is bad", [5]),
    ],
)
def test_job_findings_match_rows_by_external_id(message, expected_rows):
    found = results.job_findings(message, [(u.row, u.external_id) for u in _SENT])
    assert [f.row for f in found] == expected_rows
    assert all(f.severity == model.ERROR and f.code == "job-failed" for f in found)
    assert all(f.message.startswith("AchieveIt: ") for f in found)
