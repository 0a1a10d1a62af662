"""Plan items, pure: reading the answer's shapes, the sheet's rows, and the rules that use them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addin import rules
from addin.errors import ApiError, ConfigError
from addin.model import Row
from addin.planitems import (
    ITEM_HEADERS,
    MAX_EXTRA_COLUMNS,
    KnownItem,
    PlanItem,
    check_plan_id,
    extra_headers,
    fetch_items,
    item_from_record,
    known_items,
    missing_ids_note,
    new_update_ids,
    read_page,
    sheet_rows,
    split_plan_ids,
)

TODAY = dt.date(2026, 11, 10)
ITEM = {"externalId": "ENG-0042", "name": "Automate release checks"}


# --- the shapes of an answer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "count", "total"),
    [
        ([ITEM, ITEM], 2, None),  # a plain list
        ([], 0, None),  # an empty plan
        ({"items": [ITEM]}, 1, None),
        ({"Data": [ITEM], "TotalCount": 7}, 1, 7),  # wrapper and total in any case
        ({"results": [ITEM], "count": 3, "next": None}, 1, 3),
        ({"planItems": [ITEM, ITEM, ITEM]}, 3, None),
        ({"whatever": [ITEM], "page": 1}, 1, None),  # the only list in the object
        (ITEM, 1, None),  # a plan of one item, sent as the item itself
        ({"value": [], "total": 0}, 0, 0),
    ],
)
def test_a_page_is_a_list_or_an_object_holding_one(data: Any, count: int, total: int | None):
    page = read_page(data, "the items of plan P")
    assert len(page.records) == count
    assert page.total == total


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("not a list", "is str"),
        (42, "is int"),
        ({"error": "nope"}, "an object without a list (keys: error)"),
        ({"a": [ITEM], "b": [ITEM]}, "an object without a list"),  # two lists: which one?
        ([ITEM, "x"], "1 entries that are not items"),
    ],
)
def test_an_answer_without_items_says_so(data: Any, words: str):
    with pytest.raises(ApiError, match="not documented publicly") as raised:
        read_page(data, "the items of plan P")
    assert words in str(raised.value)
    assert "the items of plan P" in str(raised.value)


@pytest.mark.parametrize(
    "record",
    [
        {"externalId": "X-1", "name": "N", "status": "On Track", "currentValue": 3},
        {"externalID": "X-1", "Name": "N", "Status": "On Track", "CurrentValue": 3},
        {"external_id": "X-1", "NAME": "N", "status_name": "On Track", "current_value": 3},
        {"External ID": "X-1", "title": "N", "status": {"name": "On Track"}, "value": 3},
        {"EXTERNALID": " X-1 ", "name": "N", "currentStatus": "On Track", "metricValue": 3},
    ],
    ids=["camel", "upper-ID", "snake", "words-and-objects", "shouting"],
)
def test_keys_are_matched_whatever_their_case_or_separators(record: dict[str, Any]):
    item = item_from_record(record, "P")
    assert (item.external_id, item.name, item.status, item.current_value) == (
        "X-1",
        "N",
        "On Track",
        3,
    )
    assert item.plan_id == "P" and item.extra == {}


def test_unknown_fields_are_kept_and_numbers_stay_numbers():
    item = item_from_record(
        {"externalId": 731.0, "name": "Train", "owner": {"id": 5}, "tags": ["a"], "unit": "%"}
    )
    assert item.external_id == "731"  # a JSON number: no '.0'
    assert item.extra == {"owner": {"id": 5}, "tags": ["a"], "unit": "%"}
    assert item.current_value is None and not item.has_metric


@pytest.mark.parametrize(
    ("ids", "words"),
    [
        (["A", "B"], ""),
        (["", ""], "carry no External ID field"),
        (["A", ""], "1 of the 2 items of plan P carry no External ID"),
    ],
)
def test_items_without_external_ids_are_said_plainly(ids: list[str], words: str):
    note = missing_ids_note([PlanItem(i, name="n") for i in ids], ["P"])
    assert (note == "") == (words == "")
    assert words in note


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (None, ()),
        ("  ", ()),
        ("abc", ("abc",)),
        ("a, b;c\nd ;a", ("a", "b", "c", "d")),  # repeats dropped, order kept
        ("two words", ("two words",)),  # refused later as one bad ID, not read as two plans
    ],
)
def test_the_plan_id_setting_holds_one_or_several(cell: Any, expected: tuple[str, ...]):
    assert split_plan_ids(cell) == expected


@pytest.mark.parametrize("bad", ["", "  ", "two words", "a/b", "x" * 201, "?q=1"])
def test_a_plan_id_that_cannot_be_one_is_refused_with_where_to_copy_it(bad: str):
    with pytest.raises(ConfigError, match="Copy Plan ID"):
        check_plan_id(bad)


def test_fetch_needs_a_plan_id_and_reads_each_plan_once():
    asked: list[str] = []

    class Client:
        def get_plan_items(self, plan_id: str, *, take: int = 100) -> list[PlanItem]:
            asked.append(plan_id)
            return [PlanItem(f"{plan_id}-1", plan_id=plan_id)]

    with pytest.raises(ConfigError, match="No Plan ID is set"):
        fetch_items(Client(), [], take=10)
    fetched = fetch_items(Client(), ["p1", "p2", "p1"], take=10)
    assert asked == ["p1", "p2"]
    assert [i.external_id for i in fetched.items] == ["p1-1", "p2-1"]
    assert fetched.note == ""


# --- the sheet ----------------------------------------------------------------------------------


def test_sheet_rows_put_the_known_fields_first_then_the_others_once():
    items = [
        PlanItem("A", "Alpha", "On Track", 0.5, "2026-11-01", "P", {"unit": "%", "Owner": "x"}),
        PlanItem("B", "Beta", extra={"owner": "dup by case", "name": "dup of Name", "z": [1]}),
    ]
    rows = sheet_rows(items)
    assert rows[0] == [*ITEM_HEADERS, "unit", "Owner", "z"]
    assert rows[1] == ["A", "Alpha", "On Track", 0.5, "2026-11-01", "P", "%", "x", None]
    assert rows[2] == ["B", "Beta", None, None, None, None, None, None, "[1]"]


def test_extra_columns_are_bounded():
    item = PlanItem("A", extra={f"f{n}": n for n in range(MAX_EXTRA_COLUMNS + 10)})
    assert len(extra_headers([item])) == MAX_EXTRA_COLUMNS


def test_an_empty_plan_is_a_header_row_only():
    assert sheet_rows([]) == [list(ITEM_HEADERS)]
    assert known_items(sheet_rows([])) is None  # nothing to check against


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1).filter(lambda t: t.strip() == t and t.strip()),
            st.text(),
            st.one_of(st.none(), st.integers(), st.floats(allow_nan=False)),
        ),
        max_size=20,
        unique_by=lambda t: t[0],
    )
)
def test_the_sheet_gives_back_every_item_it_lists(triples: list[tuple[str, str, Any]]):
    items = [PlanItem(i, name=n.strip(), current_value=v) for i, n, v in triples]
    known = known_items(sheet_rows(items))
    if not items:
        assert known is None
        return
    assert known == {
        i.external_id: KnownItem(i.external_id, i.name, i.current_value is not None) for i in items
    }


def test_known_items_need_an_external_id_column():
    assert known_items([["Name"], ["Alpha"]]) is None
    assert known_items([]) is None
    assert known_items([["external id", "NAME"], ["A", "Alpha"], [None, "x"]]) == {
        "A": KnownItem("A", "Alpha", False)
    }


def test_new_update_ids_are_the_items_without_a_row_in_plan_order():
    items = [PlanItem("A"), PlanItem(""), PlanItem("00731"), PlanItem("b"), PlanItem("C")]
    assert new_update_ids(items, ["a", None, "C ", 731]) == ["00731", "b"]


# --- the rules, given the known items -----------------------------------------------------------

PLAN = {
    "7f3c2a10-4b8e-4d2a-9c61-2f0e8a1b3c01": KnownItem(
        "7f3c2a10-4b8e-4d2a-9c61-2f0e8a1b3c01", "Reduce onboarding time", True
    ),
    "ENG-0042": KnownItem("ENG-0042", "Automate release checks", True),
    "OPS-0107": KnownItem("OPS-0107", "Consolidate office leases", False),
}


def flat(values: list[Any], items: dict[str, KnownItem] | None = PLAN) -> list[tuple[Any, ...]]:
    report = rules.validate_rows([Row(2, tuple(values))], today=TODAY, items=items)
    return [(f.row, f.column, f.severity, f.code) for f in report.findings]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["OPS-0107", "On Track", None, TODAY, ""], []),
        (["ops-0107", "On Track", None, TODAY, ""], [(2, "External ID", "warning", "id-case")]),
        (["ENG-0042", "On Track", 0.5, TODAY, ""], []),
        (
            ["ENG-0042", "On Track", None, TODAY, ""],
            [(2, "Current Metric Value", "warning", "metric-expected")],
        ),
        (["OPS-0170", "On Track", None, TODAY, ""], [(2, "External ID", "error", "unknown-id")]),
        (["ENG-0042", "Bogus", None, TODAY, ""], [(2, "Status", "error", "unknown-status")]),
    ],
)
def test_ids_are_checked_against_the_plan_items(values: list[Any], expected: list[Any]):
    assert flat(values) == expected


def test_without_plan_items_no_id_is_checked():
    assert flat(["OPS-0170", "On Track", None, TODAY, ""], items=None) == []


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("OPS-0170", "did you mean 'OPS-0107' (Consolidate office leases)?"),
        ("ENG-042", "did you mean 'ENG-0042' (Automate release checks)?"),
        (
            "7f3c2a10-4b8e-4d2a-9c61-2f0e8a1b3c0l",
            "did you mean '7f3c2a10-4b8e-4d2a-9c61-2f0e8a1b3c01' (Reduce onboarding time)?",
        ),
        ("zzz", "no known ID is close"),
    ],
)
def test_an_unknown_id_gets_the_nearest_known_one_as_its_hint(typed: str, hint: str):
    report = rules.validate_rows(
        [Row(2, (typed, "On Track", None, TODAY, ""))], today=TODAY, items=PLAN
    )
    (finding,) = report.findings
    assert finding.code == "unknown-id" and hint in finding.message
    assert f"'{typed}' is not an item of the plan" in finding.message
    assert report.updates == ()  # an error: the row does not go


def test_the_metric_warning_names_the_item_and_does_not_stop_the_row():
    report = rules.validate_rows(
        [Row(2, ("ENG-0042", "On Track", None, TODAY, ""))], today=TODAY, items=PLAN
    )
    (finding,) = report.findings
    assert "('Automate release checks') has a metric" in finding.message
    assert len(report.updates) == 1
