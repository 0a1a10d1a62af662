"""The Marks codes that drive the template's red/amber conditional formats."""

from __future__ import annotations

import re

import markcodes
import pytest
from hypothesis import given
from hypothesis import strategies as st

from addin import marks, model, results
from addin.model import ERROR, WARNING, Finding


def _f(row: int, column: str | None, severity: str) -> Finding:
    return Finding(row, column, severity, "code", "message")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("findings", "codes"),
    [
        ([], {}),
        ([_f(3, "Status", ERROR)], {3: ".E..."}),
        ([_f(3, "Comment", WARNING), _f(3, "External ID", ERROR)], {3: "E...W"}),
        ([_f(4, "As Of Date", WARNING), _f(4, "As Of Date", ERROR)], {4: "...E."}),  # worst wins
        ([_f(5, None, WARNING)], {}),  # whole-row findings colour no cell: Issues says it
        (
            [_f(2, "Status", ERROR), _f(9, "Current Metric Value", WARNING)],
            {2: ".E...", 9: "..W.."},
        ),
    ],
)
def test_row_codes_put_one_letter_per_input_column(findings, codes):
    assert marks.row_codes(results.cell_marks(findings)) == codes


@pytest.mark.parametrize(
    ("code", "column", "expected"),
    [
        (".E..W", 1, ERROR),
        (".E..W", 4, WARNING),
        (".E..W", 0, None),
        (None, 2, None),
        ("", 0, None),
    ],
)
def test_code_severity_reads_the_letter_like_the_rule_does(code, column, expected):
    assert markcodes.code_severity(code, column) == expected


_cells = st.dictionaries(
    st.tuples(st.integers(2, 10_000), st.integers(0, len(model.COLUMNS) - 1)),
    st.sampled_from([ERROR, WARNING]),
)


@given(_cells)
def test_what_the_rules_show_is_exactly_what_was_marked(cell_marks):
    codes = marks.row_codes(cell_marks)
    assert all(len(code) == len(model.COLUMNS) for code in codes.values())
    assert markcodes.marked_cells(codes.items()) == cell_marks


def test_rule_formulas_need_no_active_cell_and_read_column_j():
    for formula, letter in ((marks.ERROR_RULE_FORMULA, "E"), (marks.WARNING_RULE_FORMULA, "W")):
        assert formula == f'MID(INDEX($J:$J,ROW()),COLUMN(),1)="{letter}"'
        assert not re.search(r"(?<![$A-Z])[A-Z]+\d", formula)  # no relative A1 reference
    assert marks.rule_range() == "A2:E1048576"
    assert marks.rule_range(3) == "A4:E1048576"
