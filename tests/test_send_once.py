"""Each update reaches AchieveIt once: only new and changed rows go out, from the command line
(real .xlsx/.xlsm files) and from the ribbon (xlwings books), proved by counting what the
stand-in server stored, over real sockets."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlbook
from faultserver import FaultServer, Reply
from xlbook import alerts, cell, make_book, sheet_after

from addin import ledger, ribbon, workbook
from addin.cli import main
from addin.demo import sample_rows, write_sample_workbook
from addin.sandbox import DEMO_ITEMS, start_sandbox
from addin.workbook import FileSheets

KEY = "test-key-0000"  # a sandbox key; not shaped like a real AchieveIt key
TODAY = dt.date.today()
JOB_ID, JOB_STATUS, SENT = 7, 8, 11  # 1-based columns G, H, K


@pytest.fixture
def sandbox(monkeypatch):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", KEY)
    with start_sandbox(api_key=KEY, processing_delay=0.05) as server:
        yield server


def run(capsys, *argv: Any) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def twelve_rows() -> list[list[Any]]:
    return sample_rows(DEMO_ITEMS, TODAY - dt.timedelta(days=1))


def one_more_row() -> list[Any]:
    """A new update for the first item: a later As Of Date, so no duplicate-date warning."""
    item = DEMO_ITEMS[0]
    return [item.external_id, "At Risk", 0.7, dt.datetime.combine(TODAY, dt.time()), "new week"]


def rows_of_last_job(server: Any) -> int:
    """How many updates the newest job carried (the stand-in's own store)."""
    newest = server.jobs()[0].id
    return sum(1 for u in server.recent_updates(1000) if u["job_id"] == newest)


def edit_sheet(path: Path, change: Any) -> None:
    """Edit the Updates sheet as a user would in Excel (openpyxl keeps the macro project)."""
    wb = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    change(wb["Updates"])
    wb.save(path)


def tool_cells(path: Path, col: int) -> list[Any]:
    wb = openpyxl.load_workbook(path)
    ws = wb["Updates"]
    return [ws.cell(r, col).value for r in range(2, ws.max_row + 1)]


# --- the command line ---------------------------------------------------------------------


@pytest.fixture(params=[".xlsx", ".xlsm"])
def book(request, tmp_path) -> Path:
    if request.param == ".xlsx":
        path = tmp_path / "plan updates.xlsx"
        write_sample_workbook(path, twelve_rows())
        return path
    path = tmp_path / "plan updates.xlsm"
    path.write_bytes(Path("workbook_template.xlsm").read_bytes())
    rows = twelve_rows()

    def fill(ws: Any) -> None:
        ws.delete_rows(2, ws.max_row)
        for n, row in enumerate(rows, start=2):
            for c, value in enumerate(row, start=1):
                ws.cell(n, c).value = value

    edit_sheet(path, fill)
    return path


def test_submit_add_a_row_submit_sends_exactly_the_new_row(capsys, sandbox, book):
    code, out, _ = run(capsys, "submit", book, "--base-url", sandbox.url, "--wait")
    assert code == 0 and sandbox.stats()["updates"] == 12
    assert "12 rows: 12 to send." in out
    assert all(str(s).startswith("s1:") for s in tool_cells(book, SENT))

    edit_sheet(book, lambda ws: ws.append(one_more_row()))
    code, out, _ = run(capsys, "submit", book, "--base-url", sandbox.url, "--wait")
    assert code == 0, out
    assert "13 rows: 1 to send, 12 already sent unchanged." in out
    assert rows_of_last_job(sandbox) == 1
    assert (sandbox.stats()["updates"], sandbox.stats()["duplicates"]) == (13, 0)

    def edit_status(ws: Any) -> None:
        ws["B5"] = "Off Track" if ws["B5"].value != "Off Track" else "On Track"

    edit_sheet(book, edit_status)
    code, out, _ = run(capsys, "validate", book)
    assert "13 rows: 1 to send, 12 already sent unchanged." in out
    assert "  Row 5: Changed since it was sent in job " in out
    code, out, _ = run(capsys, "submit", book, "--base-url", sandbox.url, "--wait")
    assert code == 0 and rows_of_last_job(sandbox) == 1
    assert sandbox.stats()["updates"] == 14 and len(sandbox.jobs()) == 3

    code, out, _ = run(capsys, "submit", book, "--base-url", sandbox.url, "--json")
    outcome = json.loads(out)
    assert code == 0 and outcome["state"] == "not-submitted"
    assert outcome["message"].startswith("Nothing to send: 13 rows: none to send, 13 already")
    assert len(sandbox.jobs()) == 3 and sandbox.stats()["updates"] == 14
    assert sandbox.stats()["identical"] == 0  # nothing reached AchieveIt twice


def test_sorted_rows_are_not_sent_again(capsys, sandbox, tmp_path):
    path = tmp_path / "u.xlsx"
    write_sample_workbook(path, twelve_rows())
    assert run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")[0] == 0

    def reverse(ws: Any) -> None:  # a sort moves whole rows, the tool's cells with them
        rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_col=11)]
        for n, values in enumerate(reversed(rows), start=2):
            for c, value in enumerate(values, start=1):
                ws.cell(n, c).value = value

    edit_sheet(path, reverse)
    code, out, _ = run(capsys, "submit", path, "--base-url", sandbox.url)
    assert code == 0 and "none to send, 12 already sent unchanged" in out
    assert len(sandbox.jobs()) == 1


def test_rows_inserted_and_deleted_between_sends(capsys, sandbox, tmp_path):
    path = tmp_path / "u.xlsx"
    write_sample_workbook(path, twelve_rows())
    assert run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")[0] == 0

    def insert_and_delete(ws: Any) -> None:  # as Excel does: whole rows move, A..K together
        ws.delete_rows(3)
        ws.insert_rows(6)
        for c, value in enumerate(one_more_row(), start=1):
            ws.cell(6, c).value = value

    edit_sheet(path, insert_and_delete)
    code, out, _ = run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")
    assert code == 0 and "12 rows: 1 to send, 11 already sent unchanged." in out
    assert rows_of_last_job(sandbox) == 1 and sandbox.stats()["identical"] == 0


def test_two_rows_with_the_same_id_and_date_each_go_once(capsys, sandbox, tmp_path):
    path = tmp_path / "u.xlsx"
    rows = twelve_rows()[:2]
    write_sample_workbook(path, [*rows, list(rows[0])])  # row 4 repeats row 2: a warning
    code, out, _ = run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")
    assert code == 0 and sandbox.stats()["updates"] == 3
    code, out, _ = run(capsys, "submit", path, "--base-url", sandbox.url)
    assert code == 0 and "none to send, 3 already sent unchanged" in out
    assert sandbox.stats()["updates"] == 3


def test_a_fingerprint_edited_or_deleted_by_hand_makes_the_row_pending(capsys, sandbox, tmp_path):
    path = tmp_path / "u.xlsx"
    write_sample_workbook(path, twelve_rows())
    assert run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")[0] == 0

    def tamper(ws: Any) -> None:
        ws["K2"] = None
        ws["K3"] = "whatever"
        ws["K4"] = 42

    edit_sheet(path, tamper)
    code, out, _ = run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")
    assert code == 0 and "12 rows: 3 to send, 9 already sent unchanged." in out
    assert rows_of_last_job(sandbox) == 3


def test_a_workbook_from_before_sends_every_row_once_and_the_log_still_guards(
    capsys, sandbox, tmp_path
):
    path = tmp_path / "old.xlsx"
    write_sample_workbook(path, twelve_rows())
    assert run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")[0] == 0
    # As the previous release left it: job results, a Log, but no Sent (nor Item) column.
    edit_sheet(path, lambda ws: ws.delete_cols(11, 2))
    code, out, err = run(capsys, "submit", path, "--base-url", sandbox.url)
    assert code == 1 and "already sent from this workbook" in err
    assert len(sandbox.jobs()) == 1


def test_a_failed_job_leaves_all_its_rows_pending(capsys, sandbox, tmp_path):
    path = tmp_path / "u.xlsx"
    rows = twelve_rows()
    rows[3][0] = "NOT-A-PLAN-ITEM"
    write_sample_workbook(path, rows)
    code, out, _ = run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")
    assert code == 1 and sandbox.stats()["updates"] == 0  # the article knows no partial success

    edit_sheet(path, lambda ws: ws.__setitem__("A5", DEMO_ITEMS[3].external_id))
    code, out, _ = run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")
    assert code == 0 and "12 rows: 12 to send." in out
    assert sandbox.stats()["updates"] == 12


def test_a_job_still_processing_is_asked_about_before_the_next_submit(
    capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", KEY)
    path = tmp_path / "u.xlsx"
    write_sample_workbook(path, twelve_rows())
    with start_sandbox(api_key=KEY, processing_delay=0.5) as server:
        code, out, _ = run(capsys, "submit", path, "--base-url", server.url)  # no --wait
        assert code == 0 and set(tool_cells(path, JOB_STATUS)) == {
            "processing: Queued by AchieveIt."
        }
        assert server.wait_idle(10)
        edit_sheet(path, lambda ws: ws.append(one_more_row()))
        code, out, _ = run(capsys, "submit", path, "--base-url", server.url, "--wait")
        first = server.jobs()[-1].id
        assert code == 0
        assert f"Job {first}: succeeded." in out
        assert "13 rows: 1 to send, 12 already sent unchanged." in out
        assert server.stats()["updates"] == 13


def test_an_upload_of_unknown_outcome_waits_until_the_user_says(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", KEY)
    path = tmp_path / "u.xlsx"
    write_sample_workbook(path, twelve_rows()[:3])
    with FaultServer() as server:
        server.script(Reply(drop=True))  # the POST arrives, the answer never does
        code, out, err = run(capsys, "submit", path, "--base-url", server.url)
        assert code == 3
        assert [str(s).split(":")[0] for s in tool_cells(path, JOB_STATUS)] == ["unknown"] * 3

        code, out, _ = run(capsys, "submit", path, "--base-url", server.url, "--json")
        outcome = json.loads(out)
        assert code == 0 and outcome["state"] == "not-submitted"
        assert "3 waiting" in outcome["message"] and "--resend-unsettled" in outcome["message"]
        assert [r.method for r in server.received] == ["POST"]

        server.script(Reply(200, b'"job-2"'), Reply(200, b"done"))
        code, out, _ = run(capsys, "submit", path, "--base-url", server.url, "--resend-unsettled")
        assert code == 0 and [r.method for r in server.received] == ["POST", "POST"]
        assert "3 to send (3 of them again, on purpose)" in out


def test_write_back_failing_after_the_post_is_recorded_by_the_next_submit(
    capsys, monkeypatch, sandbox, tmp_path
):
    path = tmp_path / "u.xlsx"
    write_sample_workbook(path, twelve_rows())
    real_commit = FileSheets.commit
    calls = {"n": 0}

    def failing_commit(self: FileSheets) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise workbook.WorkbookError("u.xlsx is open in Excel (or another program)")
        real_commit(self)

    monkeypatch.setattr(FileSheets, "commit", failing_commit)
    code, out, err = run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")
    job = sandbox.jobs()[0].id
    assert code == 2 and f"Job ID: {job}" in out
    assert "next submit of this workbook records it" in err
    assert tool_cells(path, JOB_ID) == [None] * 12  # nothing could be written
    assert len(ledger.unrecorded("127.0.0.1:" + sandbox.url.rsplit(":", 1)[1], str(path))) == 1

    code, out, _ = run(capsys, "submit", path, "--base-url", sandbox.url, "--json")
    assert code == 0 and json.loads(out)["state"] == "not-submitted"
    assert len(sandbox.jobs()) == 1 and sandbox.stats()["updates"] == 12
    assert tool_cells(path, JOB_ID) == [job] * 12  # recorded from this computer's outbox
    wb = openpyxl.load_workbook(path)
    assert [c.value for c in wb["Log"]["E"]][1:] == [job]
    assert ledger.unrecorded("127.0.0.1:" + sandbox.url.rsplit(":", 1)[1], str(path)) == []


def test_no_write_back_still_never_sends_a_row_twice(capsys, sandbox, tmp_path):
    path = tmp_path / "u.xlsx"
    write_sample_workbook(path, twelve_rows())
    before = path.read_bytes()
    args = ("--base-url", sandbox.url, "--wait", "--no-write-back")
    assert run(capsys, "submit", path, *args)[0] == 0
    assert path.read_bytes() == before
    edit_sheet(path, lambda ws: ws.append(one_more_row()))
    code, out, _ = run(capsys, "submit", path, *args)
    assert code == 0 and "13 rows: 1 to send, 12 already sent unchanged." in out
    assert sandbox.stats()["updates"] == 13
    # A later submit that may write records both uploads on the rows.
    code, out, _ = run(capsys, "submit", path, "--base-url", sandbox.url)
    assert code == 0 and len(sandbox.jobs()) == 2
    assert len(set(tool_cells(path, JOB_ID))) == 2


def test_a_csv_keeps_the_whole_file_guard(capsys, sandbox, tmp_path):
    path = tmp_path / "updates.csv"
    item = DEMO_ITEMS[2]
    path.write_bytes(
        b"External ID,Status,Current Metric Value,As Of Date\r\n"
        + f"{item.external_id},On Track,,{TODAY}\r\n".encode()
    )
    assert run(capsys, "submit", path, "--base-url", sandbox.url, "--wait")[0] == 0
    code, _, err = run(capsys, "submit", path, "--base-url", sandbox.url)
    assert code == 1 and "already sent to 127.0.0.1" in err
    assert len(sandbox.jobs()) == 1


def test_refresh_records_what_achieveit_says(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", KEY)
    path = tmp_path / "u.xlsx"
    write_sample_workbook(path, twelve_rows()[:2])
    with start_sandbox(api_key=KEY, processing_delay=0.3) as server:
        assert run(capsys, "submit", path, "--base-url", server.url)[0] == 0
        assert server.wait_idle(10)
        code, out, _ = run(capsys, "refresh", path, "--base-url", server.url)
        job = server.jobs()[0].id
    assert code == 0 and out.startswith(f"Job {job}: succeeded.")
    assert [str(s).split(":")[0] for s in tool_cells(path, JOB_STATUS)] == ["succeeded"] * 2
    code, out, _ = run(capsys, "refresh", path, "--base-url", server.url)
    assert (code, out.strip()) == (0, "No job is waiting for an answer from AchieveIt.")


# --- the ribbon ---------------------------------------------------------------------------


def answering(answer: bool, prompts: list[str]) -> Any:
    def confirm(book: Any, prompt: str, title: str) -> bool:
        prompts.append(prompt)
        return answer

    return confirm


def yes(prompts: list[str]) -> Any:
    return answering(True, prompts)


def book_with(rows: list[list[Any]], url: str, **sheets: Any) -> Any:
    settings = xlbook.settings_rows(**{"Base URL override": url, "Submit waits (seconds)": 10})
    return make_book([xlbook.UPDATES_HEADER, *rows], settings=settings, **sheets)


def next_press(book: Any, edit: Any = None) -> Any:
    """The book as the user leaves it after this press, edited by `edit(grid)` if given."""
    grids = {name: sheet_after(book, name) for name in ("Updates", "Settings", "Log")}
    if edit is not None:
        edit(grids["Updates"])
    blank = [[("" if v is None else v) for v in row] for row in grids["Updates"]]
    return make_book(blank, settings=grids["Settings"], log=grids["Log"], name=book.name)


def test_ribbon_sends_exactly_the_new_then_the_edited_row_then_nothing(sandbox):
    now = dt.datetime.combine(TODAY, dt.time(9))
    book = book_with(twelve_rows(), sandbox.url)
    ribbon.submit(book, confirm=yes([]), now=lambda: now)
    assert sandbox.stats()["updates"] == 12

    added = next_press(book, lambda grid: grid.append(one_more_row() + [None] * 6))
    prompts: list[str] = []
    ribbon.submit(added, confirm=yes(prompts), now=lambda: now)
    assert prompts[0].startswith("13 rows: 1 to send, 12 already sent unchanged.")
    assert rows_of_last_job(sandbox) == 1 and sandbox.stats()["updates"] == 13

    def edit(grid: list[list[Any]]) -> None:
        grid[4][1] = "Off Track" if grid[4][1] != "Off Track" else "On Track"

    edited = next_press(added, edit)
    ribbon.validate(edited, now=lambda: now)
    grid = sheet_after(edited, "Updates")
    assert cell(grid, 5, 6).startswith("Note – Changed since it was sent in job ")
    assert "13 rows: 1 to send, 12 already sent unchanged." in alerts(edited)[-1]
    edited = next_press(edited)
    ribbon.submit(edited, confirm=yes([]), now=lambda: now)
    assert rows_of_last_job(sandbox) == 1 and sandbox.stats()["updates"] == 14
    assert cell(sheet_after(edited, "Updates"), 5, 6) is None  # sent: the note is gone

    again = next_press(edited)
    asked: list[str] = []
    ribbon.submit(again, confirm=answering(False, asked), now=lambda: now)
    assert asked[0].startswith("Nothing new to send: 13 rows: none to send, 13 already sent")
    assert alerts(again)[-1] == "Nothing was sent."
    assert len(sandbox.jobs()) == 3
    # The edited row is a correction for its date; nothing went twice unchanged.
    assert (sandbox.stats()["duplicates"], sandbox.stats()["identical"]) == (1, 0)


def test_ribbon_sorted_rows_are_not_sent_again(sandbox):
    book = book_with(twelve_rows(), sandbox.url)
    ribbon.submit(book, confirm=yes([]), now=dt.datetime.now)

    def sort(grid: list[list[Any]]) -> None:
        grid[1:] = sorted(grid[1:], key=lambda row: str(row[0]))  # whole rows, A..K

    sorted_book = next_press(book, sort)
    asked: list[str] = []
    ribbon.submit(sorted_book, confirm=answering(False, asked))
    assert "none to send, 12 already sent unchanged" in asked[0]
    assert len(sandbox.jobs()) == 1


def test_ribbon_write_failing_after_the_post_is_recorded_next_time(sandbox, monkeypatch):
    from addin import excelbook

    book = book_with(twelve_rows()[:3], sandbox.url)
    real_write = excelbook.ExcelSheets.write
    calls = {"n": 0}

    def flaky_write(self: Any, view: Any, changes: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the write right after the POST
            raise RuntimeError("The sheet is protected")
        real_write(self, view, changes)

    monkeypatch.setattr(excelbook.ExcelSheets, "write", flaky_write)
    ribbon.submit(book, confirm=yes([]), now=dt.datetime.now)
    job = sandbox.jobs()[0].id
    assert f"job {job}" in alerts(book)[-1]
    assert "The sheet is protected" in alerts(book)[-1]
    assert "the next Submit records it" in alerts(book)[-1]
    assert cell(sheet_after(book, "Updates"), 2, JOB_ID) is None
    monkeypatch.setattr(excelbook.ExcelSheets, "write", real_write)

    later = next_press(book)
    asked: list[str] = []
    ribbon.submit(later, confirm=answering(False, asked))
    assert "none to send, 3 already sent unchanged" in asked[0]
    grid = sheet_after(later, "Updates")
    assert [cell(grid, r, JOB_ID) for r in (2, 3, 4)] == [job] * 3
    assert len(sandbox.jobs()) == 1
