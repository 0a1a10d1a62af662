"""Get Plan Items over real sockets: the client against the sandbox and odd servers, and the
`items` command filling a real workbook that Validate and Submit then use."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from faultserver import FaultServer, Received, Reply

from addin import marks, model, package
from addin.api import ProgressUpdatesClient
from addin.cli import main
from addin.errors import ApiError, AuthError, NetworkError
from addin.planitems import ITEM_HEADERS, PLAN_ITEMS_SHEET, PLAN_ITEMS_TABLE
from addin.sandbox import DEMO_ITEMS, DEMO_PLAN_ID, RESTRICTED_PLAN_ID, start_sandbox

DEMO_IDS = [item.external_id for item in DEMO_ITEMS]


@pytest.fixture
def sandbox():
    with start_sandbox(processing_delay=0.05) as server:
        yield server


def client_for(url: str, key: str = "k-1", **kwargs: Any) -> ProgressUpdatesClient:
    return ProgressUpdatesClient(url, key, sleep=lambda s: None, **kwargs)


# --- the client against the sandbox ---------------------------------------------------------


@pytest.mark.parametrize("take", [1, 5, 11, 12, 100])
def test_every_page_is_read_whatever_the_page_size(sandbox, take):
    with client_for(sandbox.url, sandbox.api_key) as client:
        items = client.get_plan_items(DEMO_PLAN_ID, take=take)
    assert [i.external_id for i in items] == DEMO_IDS
    assert [i.name for i in items] == [d.name for d in DEMO_ITEMS]
    assert [i.has_metric for i in items] == [d.has_metric for d in DEMO_ITEMS]
    assert {i.plan_id for i in items} == {DEMO_PLAN_ID}
    assert items[0].extra["unit"] == DEMO_ITEMS[0].unit  # unknown fields are kept


def test_sorting_is_passed_on(sandbox):
    with client_for(sandbox.url, sandbox.api_key) as client:
        items = client.get_plan_items(DEMO_PLAN_ID, take=5, sort_key="name", sort_direction="desc")
    assert [i.name for i in items] == sorted((d.name for d in DEMO_ITEMS), reverse=True)


def test_a_plan_the_key_may_not_read_is_403_with_what_to_do(sandbox):
    with client_for(sandbox.url, sandbox.api_key) as client, pytest.raises(AuthError) as raised:
        client.get_plan_items(RESTRICTED_PLAN_ID)
    assert raised.value.http_status == 403
    assert "may not read this plan" in str(raised.value) and "admin" in str(raised.value)


def test_an_unknown_plan_is_404_with_where_to_copy_the_id(sandbox):
    with client_for(sandbox.url, sandbox.api_key) as client, pytest.raises(ApiError) as raised:
        client.get_plan_items("0000-not-a-plan")
    assert raised.value.http_status == 404
    assert "doesn't know plan 0000-not-a-plan" in str(raised.value)
    assert "Copy Plan ID" in str(raised.value)


def test_a_wrong_key_is_401(sandbox):
    with client_for(sandbox.url, "wrong") as client, pytest.raises(AuthError, match="401"):
        client.get_plan_items(DEMO_PLAN_ID)


def test_the_export_address_serves_the_same_items(sandbox):
    import requests

    headers = {"Authorization": f"API-KEY {sandbox.api_key}"}
    items = requests.get(f"{sandbox.url}/plans/{DEMO_PLAN_ID}/items?take=1500", headers=headers)
    export = requests.get(f"{sandbox.url}/exports/plans/{DEMO_PLAN_ID}?take=1500", headers=headers)
    assert items.json() == export.json() and len(items.json()) == len(DEMO_ITEMS)
    too_many = requests.get(f"{sandbox.url}/plans/{DEMO_PLAN_ID}/items?take=1501", headers=headers)
    assert too_many.status_code == 400
    assert requests.get(f"{sandbox.url}/plans/{DEMO_PLAN_ID}/items").status_code == 401
    for query in ("sortKey=colour", "sortDirection=up", "skip=-1", "take=0"):
        bad = requests.get(f"{sandbox.url}/plans/{DEMO_PLAN_ID}/items?{query}", headers=headers)
        assert bad.status_code == 400, query
    page = requests.get(f"{sandbox.url}/").text
    assert f"/plans/{DEMO_PLAN_ID}/items" in page and "does not publish the real shape" in page


# --- the client against odd servers ---------------------------------------------------------


def paged(records: list[dict[str, Any]], wrap: Any = None) -> Any:
    """A responder that pages `records` by skip/take (wrapped by `wrap(page)` if given)."""

    def respond(request: Received) -> Reply:
        query = parse_qs(urlsplit(request.path).query)
        skip, take = int(query["skip"][0]), int(query["take"][0])
        page = records[skip : skip + take]
        return Reply(200, json.dumps(wrap(page) if wrap else page))

    return respond


RECORDS = [{"externalId": f"ID-{n}", "name": f"Item {n}", "currentValue": n} for n in range(7)]


@pytest.mark.parametrize(
    ("records", "wrap"),
    [
        (RECORDS, None),
        (RECORDS, lambda page: {"items": page}),
        (RECORDS, lambda page: {"Data": page, "TotalCount": len(RECORDS)}),
        ([{"EXTERNAL_ID": r["externalId"], "Name": r["name"]} for r in RECORDS], None),
        ([{"ExternalID": r["externalId"], "TITLE": r["name"]} for r in RECORDS], None),
    ],
    ids=["list", "wrapped", "wrapped-with-total", "odd-case", "other-names"],
)
def test_shapes_of_the_answer(records, wrap):
    with FaultServer() as server, client_for(server.url) as client:
        server.respond_with(paged(records, wrap))
        items = client.get_plan_items("plan-1", take=3)
        asked = [r.path for r in server.received]
    assert [i.external_id for i in items] == [f"ID-{n}" for n in range(7)]
    assert [i.name for i in items] == [f"Item {n}" for n in range(7)]
    assert asked[0] == "/plans/plan-1/items?skip=0&take=3"
    assert len(asked) == 3  # 3 + 3 + 1: the short page ends it (or the total does)
    assert {r.headers["authorization"] for r in server.received} == {"API-KEY k-1"}


def test_an_empty_plan_is_one_request_and_no_items():
    with FaultServer() as server, client_for(server.url) as client:
        server.script(Reply(200, "[]"))
        assert client.get_plan_items("plan-1") == []
        assert len(server.received) == 1


def test_items_without_external_ids_are_read_and_said_plainly(monkeypatch, tmp_path, capsys):
    with FaultServer() as server:
        server.respond_with(paged([{"name": "Only a name"}, {"name": "Another"}]))
        monkeypatch.setenv("ACHIEVEIT_API_KEY", "k-1")
        code = main(["items", "plan-1", "--base-url", server.url])
    out = capsys.readouterr().out
    assert code == 0
    assert "Only a name" in out and "carry no External ID field" in out


def test_a_server_that_returns_the_same_page_forever_is_stopped():
    with FaultServer() as server, client_for(server.url) as client:
        server.respond_with(lambda request: Reply(200, json.dumps(RECORDS[:3])))
        with pytest.raises(ApiError) as raised:
            client.get_plan_items("plan-1", take=3)
        asked = len(server.received)
    assert asked == 2  # the second page brought nothing new
    assert "sent the same 3 items again" in str(raised.value)
    assert "ignore paging" in str(raised.value) and "Nothing was written" in str(raised.value)


@pytest.mark.parametrize(
    ("reply", "error", "words"),
    [
        (Reply(403, "Forbidden"), AuthError, "may not read this plan"),
        (Reply(404, "Not found"), ApiError, "doesn't know plan plan-1"),
        (Reply(200, "<html>login</html>"), ApiError, "not JSON"),
        (Reply(200, '{"error": "bad"}'), ApiError, "not a list of plan items"),
        (Reply(418, "teapot"), ApiError, "unexpected 418: teapot"),
    ],
)
def test_refusals_and_odd_answers_say_what_to_do(reply, error, words):
    with FaultServer() as server, client_for(server.url) as client:
        server.script(reply)
        with pytest.raises(error, match=words):
            client.get_plan_items("plan-1")


def test_get_is_retried_like_a_status_check():
    with FaultServer() as server, client_for(server.url) as client:
        server.script(
            Reply(503, "busy", headers={"Retry-After": "1"}),
            Reply(drop=True),
            Reply(200, json.dumps(RECORDS[:2])),
        )
        items = client.get_plan_items("plan-1")
    assert len(items) == 2 and len(server.received) == 3


def test_a_dropped_connection_that_persists_says_what_was_being_read():
    with FaultServer() as server, client_for(server.url, status_retries=1) as client:
        server.script(Reply(drop=True), Reply(drop=True))
        with pytest.raises(NetworkError, match="while reading the items of plan plan-1"):
            client.get_plan_items("plan-1")


def test_the_key_never_follows_a_redirect_to_another_host():
    with FaultServer() as other, FaultServer() as server, client_for(server.url) as client:
        server.script(Reply(302, headers={"Location": other.url.replace("127.0.0.1", "localhost")}))
        with pytest.raises(ApiError, match="another host"):
            client.get_plan_items("plan-1")
        assert other.received == []


# --- the items command and the workbook ------------------------------------------------------


def new_book(tmp_path: Path, url: str, capsys) -> Path:
    path = tmp_path / "Team.xlsm"
    assert main(["workbook", "new", str(path)]) == 0
    wb = _load(path, keep_vba=True)
    ws = wb[model.SETTINGS_SHEET]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "Base URL override":
            row[1].value = url
    updates = wb[model.UPDATES_SHEET]
    updates.delete_rows(2, 3)
    rows = [
        ("ENG-0042", "On Track", 0.5, "2026-11-02", "fine"),
        ("OPS-0170", "At Risk", None, "2026-11-02", "mistyped"),  # OPS-0107
        ("00731", "On Track", None, "2026-11-02", "metric item, no metric"),
    ]
    for r, values in enumerate(rows, start=2):
        for c, value in enumerate(values, start=1):
            updates.cell(r, c, value)
    _save(wb, path)
    capsys.readouterr()
    return path


def _load(path: Path, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path, **kwargs)


def _save(wb: Any, path: Path) -> None:
    """Save as a user would: the ribbon and VBA kept (openpyxl drops the ribbon)."""
    original = path.read_bytes()
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(package.repair(original, buffer.getvalue()))


def inputs(path: Path) -> list[tuple[Any, ...]]:
    ws = _load(path)[model.UPDATES_SHEET]
    return [tuple(row) for row in ws.iter_rows(min_row=1, max_col=5, values_only=True)]


def test_items_fills_the_workbook_with_every_page_and_leaves_the_updates_alone(
    sandbox, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", sandbox.api_key)
    book = new_book(tmp_path, sandbox.url, capsys)
    before = inputs(book)
    assert main(["items", DEMO_PLAN_ID, str(book), "--take", "5"]) == 0
    out = capsys.readouterr().out
    assert f"Wrote {len(DEMO_ITEMS)} items into the Plan Items sheet of Team.xlsm." in out
    wb = _load(book, keep_vba=True)
    ws = wb[PLAN_ITEMS_SHEET]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0][: len(ITEM_HEADERS)] == list(ITEM_HEADERS)
    assert [r[0] for r in rows[1:]] == DEMO_IDS  # "00731" stays text
    assert ws.tables[PLAN_ITEMS_TABLE].ref == f"A1:{chr(64 + len(rows[0]))}{len(rows)}"
    assert inputs(book) == before
    # Each row's item name, in the Item tool column (OPS-0170 is not in the plan).
    updates = wb[model.UPDATES_SHEET]
    assert updates.cell(1, marks.ITEM_COL).value == marks.ITEM_HEADER
    names = [updates.cell(r, marks.ITEM_COL).value for r in (2, 3, 4)]
    assert names == ["Automate release checks", None, "Train all managers on feedback"]
    assert main(["workbook", "check", str(book)]) == 0  # ribbon, VBA and layout survived


def test_a_refresh_with_fewer_items_leaves_no_stale_rows(sandbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", sandbox.api_key)
    book = new_book(tmp_path, sandbox.url, capsys)
    assert main(["items", DEMO_PLAN_ID, str(book)]) == 0
    with FaultServer() as server:
        server.script(Reply(200, json.dumps([{"externalId": "ONLY-1", "name": "One"}])))
        assert main(["items", "plan-2", str(book), "--base-url", server.url]) == 0
    ws = _load(book)[PLAN_ITEMS_SHEET]
    rows = [r for r in ws.iter_rows(values_only=True) if any(v is not None for v in r)]
    assert [r[0] for r in rows] == ["External ID", "ONLY-1"]
    assert ws.tables[PLAN_ITEMS_TABLE].ref == "A1:F2"


def test_validate_flags_a_mistyped_id_with_the_right_hint(sandbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", sandbox.api_key)
    book = new_book(tmp_path, sandbox.url, capsys)
    assert main(["validate", str(book), "--json"]) == 0  # no Plan Items yet: nothing checked
    capsys.readouterr()
    assert main(["items", DEMO_PLAN_ID, str(book)]) == 0
    capsys.readouterr()
    assert main(["validate", str(book), "--json"]) == 1
    issues = json.loads(capsys.readouterr().out)["issues"]
    flat = [(i["row"], i["column"], i["severity"], i["code"]) for i in issues]
    assert flat == [
        (3, "External ID", "error", "unknown-id"),
        (4, "Current Metric Value", "warning", "metric-expected"),
    ]
    assert "did you mean 'OPS-0107' (Consolidate office leases)?" in issues[0]["message"]
    assert "Train all managers on feedback" in issues[1]["message"]


def test_submit_still_sends_only_the_pending_rows(sandbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", sandbox.api_key)
    book = new_book(tmp_path, sandbox.url, capsys)
    assert main(["items", DEMO_PLAN_ID, str(book)]) == 0
    wb = _load(book, keep_vba=True)
    wb[model.UPDATES_SHEET]["A3"] = "OPS-0107"  # the hint taken
    wb[model.UPDATES_SHEET]["C4"] = 12  # and the warning
    _save(wb, book)
    assert main(["submit", str(book), "--wait", "--timeout", "20"]) == 0
    assert len(sandbox.jobs()) == 1
    # Validate (inside Submit) named the corrected row's item; Sent holds what each row sent.
    ws = _load(book)[model.UPDATES_SHEET]
    assert ws.cell(3, marks.ITEM_COL).value == "Consolidate office leases"
    assert all(str(ws.cell(r, marks.SENT_COL).value).startswith("s1:") for r in (2, 3, 4))
    assert {u["external_id"] for u in sandbox.latest_updates()} == {"ENG-0042", "OPS-0107", "00731"}
    # Refreshing the items, even renamed ones, changes nothing that decides what goes.
    renamed = [{"externalId": i, "name": f"Renamed {i}", "currentValue": 1} for i in DEMO_IDS]
    with FaultServer() as server:
        server.script(Reply(200, json.dumps(renamed)))
        assert main(["items", "plan-x", str(book), "--base-url", server.url]) == 0
    assert _load(book)[model.UPDATES_SHEET].cell(2, marks.ITEM_COL).value == "Renamed ENG-0042"
    capsys.readouterr()
    assert main(["submit", str(book)]) == 0
    assert "Nothing to send" in capsys.readouterr().out
    assert len(sandbox.jobs()) == 1
    # One row edited: only it goes.
    wb = _load(book, keep_vba=True)
    wb[model.UPDATES_SHEET]["E2"] = "fine, and more"
    _save(wb, book)
    assert main(["submit", str(book), "--wait", "--timeout", "20"]) == 0
    assert len(sandbox.jobs()) == 2
    assert [u["external_id"] for u in sandbox.recent_updates()][:1] == ["ENG-0042"]
    assert len(sandbox.recent_updates()) == 4


def test_add_rows_adds_one_row_per_item_without_one(sandbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", sandbox.api_key)
    book = new_book(tmp_path, sandbox.url, capsys)
    before = inputs(book)
    assert main(["items", DEMO_PLAN_ID, str(book), "--add-rows", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    wanted = [i for i in DEMO_IDS if i not in ("ENG-0042", "00731")]
    assert [r["external_id"] for r in result["added_rows"]] == wanted
    assert [r["row"] for r in result["added_rows"]] == list(range(5, 5 + len(wanted)))
    after = inputs(book)
    assert after[: len(before)] == before  # the existing inputs as they were
    assert after[len(before) :] == [(i, None, None, None, None) for i in wanted]
    table = _load(book)[model.UPDATES_SHEET].tables["UpdatesTable"]
    assert table.ref.endswith(str(4 + len(wanted)))
    # A second run adds nothing.
    assert main(["items", DEMO_PLAN_ID, str(book), "--add-rows", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added_rows"] == []


def test_added_rows_wait_until_filled_in_and_never_block_the_others(
    sandbox, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", sandbox.api_key)
    book = new_book(tmp_path, sandbox.url, capsys)
    wb = _load(book, keep_vba=True)
    wb[model.UPDATES_SHEET]["A3"] = "OPS-0107"
    wb[model.UPDATES_SHEET]["C4"] = 12
    _save(wb, book)
    assert main(["items", DEMO_PLAN_ID, str(book), "--add-rows"]) == 0
    assert "a row with only its External ID waits and is not sent" in capsys.readouterr().out
    added = len(DEMO_IDS) - 3
    wb = _load(book, keep_vba=True)
    wb[model.UPDATES_SHEET]["B5"] = "At Risk"  # one added item gets its update this week
    wb[model.UPDATES_SHEET]["C5"] = 0.3
    wb[model.UPDATES_SHEET]["D5"] = "2026-11-02"
    _save(wb, book)

    assert main(["validate", str(book), "--json"]) == 0
    issues = json.loads(capsys.readouterr().out)["issues"]
    waiting = [(i["row"], i["severity"]) for i in issues if i["code"] == "id-only"]
    assert waiting == [(r, "note") for r in range(6, 5 + added)]
    assert main(["submit", str(book), "--wait", "--timeout", "20"]) == 0
    sent = [u["external_id"] for u in sandbox.latest_updates()]
    assert sorted(sent) == sorted(["ENG-0042", "OPS-0107", "00731", DEMO_IDS[0]])
    ws = _load(book)[model.UPDATES_SHEET]
    assert ws.cell(6, marks.SENT_COL).value is None  # still waiting, so it can go later
    assert "waits and is not sent" in str(ws.cell(6, marks.ISSUES_COL).value)


def test_items_without_a_file_prints_them(sandbox, monkeypatch, capsys):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", sandbox.api_key)
    assert main(["items", DEMO_PLAN_ID, "--base-url", sandbox.url, "--take", "4"]) == 0
    out = capsys.readouterr().out
    for item in DEMO_ITEMS:
        assert item.external_id in out and item.name in out
    assert out.rstrip().endswith(f"{len(DEMO_ITEMS)} items.")
    assert main(["items", DEMO_PLAN_ID, "--base-url", sandbox.url, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [i["external_id"] for i in data["items"]] == DEMO_IDS


@pytest.mark.parametrize(
    ("plan", "code", "words"),
    [
        (RESTRICTED_PLAN_ID, 3, "may not read this plan"),
        ("0000-unknown", 3, "doesn't know plan 0000-unknown"),
        ("not a plan", 2, "is not a Plan ID"),
    ],
)
def test_items_refusals_are_one_line_and_leave_the_workbook_alone(
    sandbox, tmp_path, monkeypatch, capsys, plan, code, words
):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", sandbox.api_key)
    book = new_book(tmp_path, sandbox.url, capsys)
    original = book.read_bytes()
    assert main(["items", plan, str(book)]) == code
    assert words in capsys.readouterr().err
    assert book.read_bytes() == original


def test_add_rows_needs_a_workbook(capsys):
    assert main(["items", "plan-1", "--add-rows"]) == 2
    assert "--add-rows needs a workbook" in capsys.readouterr().err
