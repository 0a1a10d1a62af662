"""The Get Plan Items button, and Validate with a Plan Items sheet, on real xw.Book objects
(xlwings' remote engine: tests/xlbook.py) against the sandbox over real sockets."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import xlbook
from faultserver import FaultServer, Reply
from xlbook import UPDATES_HEADER, actions, alerts, make_book, sheet_after

from addin import marks, ribbon
from addin.planitems import ITEM_HEADERS, PLAN_ITEMS_SHEET, PLAN_ITEMS_TABLE
from addin.sandbox import DEMO_ITEMS, DEMO_PLAN_ID, RESTRICTED_PLAN_ID, start_sandbox

AS_OF = dt.date(2026, 11, 2)
DEMO_IDS = [item.external_id for item in DEMO_ITEMS]


def now() -> dt.datetime:
    return dt.datetime(2026, 11, 10, 9, 30)


@pytest.fixture(autouse=True)
def _crash_log_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setattr(ribbon, "log_folder", lambda: tmp_path / "logs")
    yield
    assert not (tmp_path / "logs").exists()  # every failure here is an expected one


@pytest.fixture
def keyed(monkeypatch):
    with start_sandbox(port=0, processing_delay=0.2) as server:
        monkeypatch.setenv("ACHIEVEIT_API_KEY", server.api_key)
        yield server


def settings(url: str, plan: str | None = DEMO_PLAN_ID) -> list[list[Any]]:
    values: dict[str, Any] = {"Base URL override": url}
    if plan is not None:
        values["Plan ID"] = plan
    return xlbook.settings_rows(**values)


def answer(yes: bool, prompts: list[str]):
    def confirm(book: Any, prompt: str, title: str) -> bool:
        prompts.append(prompt)
        return yes

    return confirm


def updates(n: int = 2) -> list[list[Any]]:
    rows = [[DEMO_IDS[i], "On Track", 1, AS_OF, f"row {i}"] for i in range(n)]
    return [UPDATES_HEADER, *rows]


def calls(book: Any, press: Any) -> tuple[int, list[str]]:
    with xlbook.counting_reads() as reads:
        press(book)
    return reads[0], [a["func"] for a in actions(book)]


def test_get_plan_items_fills_a_new_sheet_and_adds_the_missing_rows(keyed):
    book = make_book(updates(2), settings=settings(keyed.url))
    prompts: list[str] = []
    reads, funcs = calls(book, lambda b: ribbon.get_plan_items(b, confirm=answer(True, prompts)))
    grid = sheet_after(book, PLAN_ITEMS_SHEET)
    assert grid[0][: len(ITEM_HEADERS)] == list(ITEM_HEADERS)
    assert [r[0] for r in grid[1:]] == DEMO_IDS
    added = len(DEMO_IDS) - 2
    assert f"{added} items of the plan have no row on the Updates sheet yet" in prompts[0]
    text = alerts(book)[-1]
    assert f"now lists {len(DEMO_IDS)} items of plan {DEMO_PLAN_ID}" in text
    assert f"Added {added} Updates rows from row 4." in text
    after = sheet_after(book, "Updates")
    assert [r[:5] for r in after[:3]] == [r[:5] for r in _shown(updates(2))]
    assert [r[:5] for r in after[3:]] == [[i, None, None, None, None] for i in DEMO_IDS[2:]]
    # Settings and Updates read once each; a new sheet: add, Text format, values, table; the
    # new rows: Text format, IDs; the tool columns F..L (the items' names); the alert. Whatever
    # the number of items or rows.
    assert reads == 2
    assert funcs == [
        "addSheet",
        "setNumberFormat",
        "setValues",
        "addTable",
        "setNumberFormat",
        "setValues",
        "setValues",
        "alert",
    ]
    names = [r[marks.ITEM_COL - 1] for r in after[1:]]
    assert names == [d.name for d in DEMO_ITEMS]
    table = next(a for a in actions(book) if a["func"] == "addTable")
    assert table["args"][-1] == PLAN_ITEMS_TABLE and table["args"][1] is True
    assert keyed.jobs() == []  # nothing sent


def _shown(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows as the remote engine hands dates back."""
    return [[xlbook.iso(v) if isinstance(v, dt.date) else v for v in r] for r in rows]


def test_declining_the_rows_leaves_the_inputs_unwritten(keyed):
    book = make_book(updates(1), settings=settings(keyed.url))
    ribbon.get_plan_items(book, confirm=answer(False, []))
    # Only the tool columns F..L (header and row 2: the item's name), as one block.
    assert xlbook.written_ranges(book, "Updates") == [(1, marks.ISSUES_COL, 2, 7)]
    assert sheet_after(book, "Updates")[1][marks.ITEM_COL - 1] == DEMO_ITEMS[0].name
    assert "Added" not in alerts(book)[-1]


def test_a_refresh_clears_the_old_items_and_fits_the_table(keyed):
    stale = [list(ITEM_HEADERS)] + [[f"OLD-{n}", "gone"] for n in range(40)]
    book = make_book(
        updates(len(DEMO_IDS)), settings=settings(keyed.url), more={PLAN_ITEMS_SHEET: stale}
    )
    book.sheets[PLAN_ITEMS_SHEET].tables.add(
        source=book.sheets[PLAN_ITEMS_SHEET].range("A1:F41"),
        has_headers=True,
        name=PLAN_ITEMS_TABLE,
    )
    before = len(actions(book))
    prompts: list[str] = []
    ribbon.get_plan_items(book, confirm=answer(True, prompts))
    funcs = [a["func"] for a in actions(book)[before:]]
    assert funcs == ["sheetClearContents", "setValues", "resizeTable", "setValues", "alert"]
    assert prompts == []  # every item has its row: nothing to ask
    resize = next(a for a in actions(book) if a["func"] == "resizeTable")
    assert resize["args"][1].replace("$", "").endswith(f"A1:I{len(DEMO_IDS) + 1}")


@pytest.mark.parametrize("rows", [10, 2_000])
def test_calls_do_not_grow_with_the_rows(keyed, rows):
    ids = [f"ID-{n:05d}" for n in range(rows)]
    book = make_book(
        [UPDATES_HEADER, *([i, "On Track", None, AS_OF, ""] for i in ids)],
        settings=settings(keyed.url),
    )
    reads, funcs = calls(book, lambda b: ribbon.get_plan_items(b, confirm=answer(True, [])))
    assert reads == 2 and len(funcs) == 8


def test_without_a_plan_id_nothing_is_asked_and_the_alert_says_where_to_put_it(keyed):
    opened: list[str] = []
    book = make_book(updates(1), settings=settings(keyed.url, plan=None))
    ribbon.get_plan_items(book, client_factory=lambda url, key: opened.append(url))
    assert opened == []
    text = alerts(book)[-1]
    assert "No Plan ID is set" in text and "Copy Plan ID" in text and "Settings sheet" in text
    assert [a["func"] for a in actions(book)] == ["alert"]


@pytest.mark.parametrize(
    ("plan", "words"),
    [
        (RESTRICTED_PLAN_ID, "may not read this plan"),
        ("0000-unknown", "doesn't know plan 0000-unknown"),
        ("not a plan", "is not a Plan ID"),
    ],
)
def test_refusals_are_shown_and_nothing_is_written(keyed, plan, words):
    book = make_book(updates(1), settings=settings(keyed.url, plan=plan))
    ribbon.get_plan_items(book)
    assert words in alerts(book)[-1]
    assert [a["func"] for a in actions(book)] == ["alert"]


def test_a_server_that_ignores_paging_writes_nothing(monkeypatch):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", "k-1")
    page = [{"externalId": f"X-{n}", "name": "n"} for n in range(100)]
    with FaultServer() as server:
        server.respond_with(lambda request: Reply(200, json.dumps(page)))
        book = make_book(updates(1), settings=settings(server.url, plan="p-1"))
        ribbon.get_plan_items(book)
    assert "ignore paging" in alerts(book)[-1]
    assert [a["func"] for a in actions(book)] == ["alert"]


# --- Validate, given a Plan Items sheet ------------------------------------------------------


def plan_sheet() -> list[list[Any]]:
    return [list(ITEM_HEADERS)] + [
        [d.external_id, d.name, "On Track", 1 if d.has_metric else None, None, DEMO_PLAN_ID]
        for d in DEMO_ITEMS
    ]


def test_validate_checks_ids_against_the_plan_items_sheet_in_one_more_read():
    rows = [
        [UPDATES_HEADER, ["OPS-0170", "On Track", None, AS_OF, ""]],
        [UPDATES_HEADER, ["OPS-0107", "On Track", None, AS_OF, ""]],
    ]
    mistyped = make_book(rows[0], more={PLAN_ITEMS_SHEET: plan_sheet()})
    reads, _ = calls(mistyped, lambda b: ribbon.validate(b, now=now))
    assert reads == 3  # Updates, Settings, Plan Items
    issues = sheet_after(mistyped, "Updates")[1][5]
    assert "did you mean 'OPS-0107' (Consolidate office leases)?" in issues
    right = make_book(rows[1], more={PLAN_ITEMS_SHEET: plan_sheet()})
    ribbon.validate(right, now=now)
    assert alerts(right) == ["The 1 row is ready to send."]
    without = make_book(rows[0])
    reads, _ = calls(without, lambda b: ribbon.validate(b, now=now))
    assert reads == 2 and alerts(without) == ["The 1 row is ready to send."]


@pytest.mark.parametrize("rows", [10, 2_000])
def test_submit_with_a_plan_items_sheet_reads_it_once_and_names_the_items(keyed, rows):
    ids = [DEMO_IDS[n % len(DEMO_IDS)] for n in range(rows)]
    dates = [AS_OF - dt.timedelta(days=n // len(DEMO_IDS)) for n in range(rows)]
    book = make_book(
        [UPDATES_HEADER, *([i, "On Track", 1, d, ""] for i, d in zip(ids, dates, strict=True))],
        settings=xlbook.settings_rows(
            **{"Base URL override": keyed.url, "Submit waits (seconds)": 5}
        ),
        more={PLAN_ITEMS_SHEET: plan_sheet()},
    )
    reads, funcs = calls(book, lambda b: ribbon.submit(b, confirm=lambda *a: True, now=now))
    assert f"Sent {rows} updates" in alerts(book)[-1] and "processed them" in alerts(book)[-1]
    assert reads == 4  # Updates, Settings, Plan Items, Log
    assert len(funcs) <= 8
    after = sheet_after(book, "Updates")
    names = {d.external_id: d.name for d in DEMO_ITEMS}
    assert [r[marks.ITEM_COL - 1] for r in after[1:]] == [names[i] for i in ids]
