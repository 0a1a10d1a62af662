"""The ribbon buttons against real xw.Book objects (xlwings' remote engine) and, for Submit and
Refresh Status, the real stand-in server over real sockets on 127.0.0.1."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import markcodes
import pytest
import xlbook
from faultserver import FaultServer, Reply
from xlbook import UPDATES_HEADER, actions, alerts, cell, make_book, reopen, sheet_after

from addin import csvfile, dialogs, excelbook, model, presslock, results, ribbon, rules
from addin.credentials import host_of
from addin.sandbox import DEMO_ITEMS, start_sandbox
from addin.template.version import TEMPLATE_VERSION

NOW = dt.datetime(2026, 3, 10, 10, 0, 0)
AS_OF = dt.date(2026, 3, 1)
METRIC_IDS = [i.external_id for i in DEMO_ITEMS if i.has_metric]
GOOD_ROWS = [[eid, "On Track", 0.5, AS_OF, "fine"] for eid in METRIC_IDS[:3]]
ISSUES, JOB_ID, JOB_STATUS, CHECKED_AT, MARKS, SENT = 6, 7, 8, 9, 10, 11  # 1-based F..K


def now() -> dt.datetime:
    return NOW


def updates(*rows: list[Any]) -> list[list[Any]]:
    return [UPDATES_HEADER, *rows]


def sandbox_settings(url: str, wait: float = 10, **more: Any) -> list[list[Any]]:
    return xlbook.settings_rows(
        **{"Base URL override": url, "Submit waits (seconds)": wait, **more}
    )


def confirm_yes(prompts: list[str] | None = None):
    def confirm(book: Any, prompt: str, title: str) -> bool:
        if prompts is not None:
            prompts.append(prompt)
        return True

    return confirm


@pytest.fixture(autouse=True)
def _crash_log_in_tmp(monkeypatch, tmp_path, request):
    """Crash logs go to tmp; a test that didn't ask for a crash must not leave one."""
    monkeypatch.setattr(ribbon, "log_folder", lambda: tmp_path / "logs")
    yield
    if "unexpected" not in request.node.name:
        assert not (tmp_path / "logs").exists()


@pytest.fixture
def sandbox():
    with start_sandbox(port=0, processing_delay=0.2) as server:
        yield server


@pytest.fixture
def keyed(sandbox, monkeypatch):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", sandbox.api_key)
    return sandbox


def value_writes_outside_results(book: Any) -> list[tuple[int, int, int, int]]:
    """Value writes on the Updates sheet that touch A..E (there must be none)."""
    return [w for w in xlbook.written_ranges(book, "Updates") if w[1] <= len(model.COLUMNS)]


# What a press may ask of Excel. Anything else (setRangeColor, ...) would change formatting, e.g.
# wipe the user's own fills on A..E: colours come from the template's rules and the Marks codes.
ALLOWED_ACTIONS = {"setValues", "activateSheet", "rangeSelect", "alert", "addSheet"}


def formatting_actions(book: Any) -> list[str]:
    return [a["func"] for a in actions(book) if a["func"] not in ALLOWED_ACTIONS]


# --- reading the sheet ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "header_row", "row_numbers"),
    [
        ([UPDATES_HEADER[:5], ["a", "On Track", 1, None, None]], 1, [2]),
        ([["Title"], [None], ["\ufeffexternal  ID", "Status"], ["a"], ["b"]], 3, [4, 5]),
        (
            [
                UPDATES_HEADER,
                ["a"],
                [None] * 10,
                ["b"],
                [None] * 10,
                [None, None, None, None, None, "old issue"],
            ],
            1,
            [2, 3, 4],
        ),
        ([["Title"]] * 10 + [UPDATES_HEADER], None, []),  # the header must be in rows 1..10
        ([[1, 2, 3]], None, []),
    ],
)
def test_table_from_cells_finds_header_and_trims_trailing_blank_rows(
    cells, header_row, row_numbers
):
    padded = [list(r) + [None] * (10 - len(r)) for r in cells]
    table = excelbook.table_from_cells(padded, source="b.xlsm", sheet="Updates")
    assert table.header_row == header_row
    assert [r.number for r in table.rows] == row_numbers
    assert all(len(r.values) == len(model.COLUMNS) and not r.hidden for r in table.rows)


def test_dates_and_excel_errors_arrive_as_the_rules_expect():
    book = make_book(updates(["ENG-0042", "On Track", "#N/A", AS_OF, None]))
    cells = excelbook.read_updates(book).table.rows[0].values
    assert cells == ("ENG-0042", "On Track", "#N/A", dt.datetime(2026, 3, 1), None)


# --- Validate ---------------------------------------------------------------------------------


def test_validate_marks_each_bad_cell_and_explains_it_in_issues():
    book = make_book(
        updates(
            GOOD_ROWS[0],
            ["OPS-0107", "Bogus", None, "13/01/2026", ""],
            [None] * 5,
            [METRIC_IDS[3], "at risk", 3, AS_OF, ""],
        )
    )
    ribbon.validate(book, now=now)

    grid = sheet_after(book, "Updates")
    report = rules.validate_table(
        excelbook.table_from_cells(
            [
                list(r) + [None] * 10
                for r in updates(
                    GOOD_ROWS[0],
                    ["OPS-0107", "Bogus", None, "13/01/2026", ""],
                    [None] * 5,
                    [METRIC_IDS[3], "at risk", 3, dt.datetime(2026, 3, 1), ""],
                )
            ],
            "x",
            "Updates",
        ),
        today=NOW.date(),
    )
    texts = results.issues_text_by_row(report.findings)
    assert [cell(grid, r, ISSUES) for r in (1, 2, 3, 4, 5)] == [
        "Issues",
        None,
        texts[3],
        texts[4],
        None,
    ]
    assert "Status" in texts[3] and "As Of Date" in texts[3]
    # Row 3: Status (B) and As Of Date (D) are errors: the template's rules paint them red.
    assert [cell(grid, r, MARKS) for r in (1, 2, 3, 4, 5)] == ["Marks", None, ".E.E.", None, None]
    assert markcodes.marked_cells([(3, ".E.E.")]) == {(3, 1): "error", (3, 3): "error"}
    assert value_writes_outside_results(book) == []
    assert formatting_actions(book) == []
    select = [a for a in actions(book) if a["func"] == "rangeSelect"]
    assert [(a["start_row"] + 1, a["start_column"] + 1) for a in select] == [(3, 2)]  # B3
    assert alerts(book) == [results.summary(report.findings, report.rows)]
    assert actions(book)[-1]["args"][1] == "AchieveIt – Validate"


def test_validate_writes_warning_codes_and_clears_stale_results():
    old = [None, None, None, None, None, "old text", "job-1", "succeeded: ok", None, "EEEEE"]
    book = make_book(
        updates(
            GOOD_ROWS[0] + old[5:],
            [METRIC_IDS[1], "On Track", 0.5, AS_OF, "fine"],
            [METRIC_IDS[1], "On Track", 0.5, AS_OF, "again"],  # same item and date: a warning
            old,  # a row emptied since: its stale Issues and Marks go
        )
    )
    ribbon.validate(book, now=now)
    grid = sheet_after(book, "Updates")
    assert cell(grid, 2, ISSUES) is None and cell(grid, 2, MARKS) is None
    assert cell(grid, 5, ISSUES) is None and cell(grid, 5, MARKS) is None
    assert cell(grid, 4, ISSUES).startswith("Warning")
    assert cell(grid, 2, JOB_ID) == "job-1"  # job results are not the validator's business
    assert alerts(book)[0].startswith("No errors; 1 warning")


def test_validate_without_header_says_so_and_writes_nothing():
    book = make_book([["Some", "other", "sheet"], ["a", "b", "c"]])
    ribbon.validate(book, now=now)
    assert xlbook.written_ranges(book, "Updates") == []
    assert "External ID" in alerts(book)[0]


def test_validate_refuses_to_overwrite_a_foreign_column():
    header = [*UPDATES_HEADER[:5], "My notes"]
    book = make_book([header, GOOD_ROWS[0]])
    ribbon.validate(book, now=now)
    assert xlbook.written_ranges(book, "Updates") == []
    assert "F1" in alerts(book)[0] and "My notes" in alerts(book)[0]


def test_bad_setting_is_reported_with_its_cell():
    book = make_book(
        updates(GOOD_ROWS[0]), settings=xlbook.settings_rows(**{"CSV date format": "DD.MM.YY"})
    )
    ribbon.validate(book, now=now)
    assert "CSV date format" in alerts(book)[0]


def test_statuses_come_from_the_settings_sheet():
    settings = [[*xlbook.SETTINGS_HEADER, None, "Statuses"], [None, None, None, None, "Green"]]
    book = make_book(updates([METRIC_IDS[0], "green", 1, AS_OF, ""]), settings=settings)
    ribbon.validate(book, now=now)
    assert alerts(book) == ["The 1 row is ready to send."]


# --- calls per press do not grow with the rows ---------------------------------------------


def _big_book(n: int, url: str = "http://127.0.0.1:9", **kw: Any) -> Any:
    rows = [[f"ID-{i:05d}", "On Track", 0.5, AS_OF, ""] for i in range(n)]
    rows[n // 2][1] = "Bogus"  # one error in the middle
    return make_book(updates(*rows), settings=sandbox_settings(url), **kw)


def _calls(press: Any, book: Any) -> tuple[int, int]:
    with xlbook.counting_reads() as reads:
        press(book)
    return reads[0], len(actions(book))


@pytest.mark.parametrize(
    ("press", "most"),
    [
        # (reads, other calls): validate = read Updates + Settings; write F, J; activate,
        # select, alert. Clear = read Updates; write F, J; alert.
        (lambda b: ribbon.validate(b, now=now), (2, 5)),
        (lambda b: ribbon.clear_results(b), (1, 3)),
        (lambda b: ribbon.open_settings(b), (0, 2)),
    ],
    ids=["validate", "clear_results", "open_settings"],
)
def test_excel_calls_per_press_do_not_grow_with_rows(press, most):
    small, large = _calls(press, _big_book(10)), _calls(press, _big_book(2_000))
    assert small == large
    assert small[0] <= most[0] and small[1] <= most[1]


def test_submit_and_refresh_calls_do_not_grow_with_rows(monkeypatch):
    def run(n: int) -> tuple[tuple[int, int], tuple[int, int]]:
        with start_sandbox(port=0, processing_delay=0.5, accept_any_id=True) as server:
            monkeypatch.setenv("ACHIEVEIT_API_KEY", server.api_key)
            rows = [[f"ID-{i:05d}", "On Track", None, AS_OF, ""] for i in range(n)]
            settings = sandbox_settings(server.url, wait=0.1)
            book = make_book(updates(*rows), settings=settings)
            sent = _calls(lambda b: ribbon.submit(b, confirm=confirm_yes(), now=now), book)
            assert "still" in alerts(book)[-1].lower()
            assert formatting_actions(book) == []
            assert server.wait_idle(10)
            later = reopen(book)
            refreshed = _calls(lambda b: ribbon.refresh_status(b, now=now), later)
            assert "succeeded" in alerts(later)[-1]
            return sent, refreshed

    small = run(10)
    assert small == run(2_000)
    # Submit: 3 reads (Updates, Settings, Log); writes F, J, the job columns twice, the Log row
    # and its state, then the alert. Refresh: 3 reads; job columns, Log state, alert.
    sent, refreshed = small
    assert sent[0] <= 3 and sent[1] <= 7
    assert refreshed[0] <= 3 and refreshed[1] <= 3


class _ExcelLikeSheet:
    """Just enough of a sheet for last_row, with Excel's own End(xlUp) semantics (the remote
    engine's end() does not jump over blanks the way Excel does)."""

    def __init__(self, used_last_row: int, last_by_column: dict[int, int]) -> None:
        self.used_last_row, self.last_by_column, self.calls = used_last_row, last_by_column, 0
        self.used_range = self
        self.last_cell = self

    @property
    def row(self) -> int:
        return self.used_last_row

    def range(self, address: tuple[int, int]) -> Any:
        self.calls += 1
        probe, col = address
        sheet = self

        class _Cell:
            def end(self, direction: str) -> Any:
                assert direction == "up" and probe > sheet.last_by_column.get(col, 1)
                return type("Cell", (), {"row": sheet.last_by_column.get(col, 1)})()

        return _Cell()


@pytest.mark.parametrize(
    ("used", "by_column", "expected", "calls"),
    [
        (40, {1: 40}, 40, 0),  # a normal sheet: the used range is right, no extra call
        (1_048_576, {1: 12, 6: 15}, 15, excelbook.READ_WIDTH),  # formatted to the bottom
        (30_000, {1: 20_000}, 20_000, excelbook.READ_WIDTH),
    ],
)
def test_bloated_used_range_is_trimmed_with_one_call_per_column(used, by_column, expected, calls):
    sheet = _ExcelLikeSheet(used, by_column)
    assert excelbook.last_row(sheet, excelbook.READ_WIDTH) == expected
    assert sheet.calls == calls


# --- Clear Results ----------------------------------------------------------------------------


def test_clear_results_clears_issues_and_marks_but_keeps_jobs():
    results_cells = ["Error – x", "job-9", "processing: Queued", "2026-03-01 10:00:00", "E...."]
    book = make_book(updates(GOOD_ROWS[0] + results_cells, GOOD_ROWS[1] + results_cells))
    ribbon.clear_results(book)
    grid = sheet_after(book, "Updates")
    for r in (2, 3):
        assert (cell(grid, r, ISSUES), cell(grid, r, MARKS)) == (None, None)
        assert cell(grid, r, JOB_ID) == "job-9"
    assert formatting_actions(book) == []  # the user's own fills on A..E stay
    assert value_writes_outside_results(book) == []
    assert "Job ID" in alerts(book)[0] and "kept" in alerts(book)[0]


# --- Submit -----------------------------------------------------------------------------------


def test_submit_sends_the_rows_and_writes_job_results_and_log(keyed):
    book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(keyed.url))
    prompts: list[str] = []
    ribbon.submit(book, confirm=confirm_yes(prompts), now=now)

    grid = sheet_after(book, "Updates")
    job_ids = {cell(grid, r, JOB_ID) for r in (2, 3, 4)}
    assert len(job_ids) == 1 and None not in job_ids
    job_id = job_ids.pop()
    assert [cell(grid, r, JOB_STATUS).split(":")[0] for r in (2, 3, 4)] == ["succeeded"] * 3
    assert cell(grid, 2, CHECKED_AT) == "2026-03-10 10:00:00"
    assert value_writes_outside_results(book) == []
    assert prompts == ["Send 3 updates to 127.0.0.1:" + keyed.url.rsplit(":", 1)[1] + "?"]

    log = sheet_after(book, "Log")
    expected_csv = csvfile.export_csv(
        rules.validate_table(
            excelbook.table_from_cells(
                [
                    r + [None] * 5
                    for r in updates(*[[*g[:3], dt.datetime(2026, 3, 1), g[4]] for g in GOOD_ROWS])
                ],
                "x",
                "Updates",
            ),
            today=NOW.date(),
        )
    )
    assert log[1] == [
        "2026-03-10 10:00:00",
        "updates_20260310-100000",
        3,
        csvfile.sha256_hex(expected_csv),
        job_id,
        "succeeded",
        "Processed 3 progress updates.",
    ]
    sent = {u["external_id"]: u for u in keyed.latest_updates()}
    assert set(sent) == set(METRIC_IDS[:3]) and sent[METRIC_IDS[0]]["as_of"] == "2026-03-01"
    assert alerts(book) == [
        f"Sent 3 updates to {host_of(keyed.url)}: job {job_id}. AchieveIt processed "
        "them: Processed 3 progress updates."
    ]


def test_failed_job_is_recorded_as_failed(keyed):
    book = make_book(
        updates(GOOD_ROWS[0], ["NOT-IN-PLAN", "On Track", None, AS_OF, ""]),
        settings=sandbox_settings(keyed.url),
    )
    ribbon.submit(book, confirm=confirm_yes(), now=now)
    grid = sheet_after(book, "Updates")
    assert cell(grid, 3, JOB_STATUS).startswith("failed: ")
    assert "NOT-IN-PLAN" in cell(grid, 3, JOB_STATUS)
    assert sheet_after(book, "Log")[1][5] == "failed"
    assert "could not process" in alerts(book)[0]
    # AchieveIt's reason lands on the row it names, by External ID, not on its neighbour.
    assert "NOT-IN-PLAN" in cell(grid, 3, ISSUES) and cell(grid, 3, ISSUES).startswith("Error")
    assert cell(grid, 2, ISSUES) is None


def test_submit_refuses_while_errors_remain_and_sends_nothing(keyed):
    book = make_book(
        updates(GOOD_ROWS[0], [METRIC_IDS[1], "Bogus", 1, AS_OF, ""]),
        settings=sandbox_settings(keyed.url),
    )
    ribbon.submit(book, confirm=confirm_yes(), now=now)
    assert "Nothing was sent" in alerts(book)[0]
    assert cell(sheet_after(book, "Updates"), 3, MARKS) == ".E..."
    assert keyed.jobs() == []


@pytest.mark.parametrize(
    ("key", "expected"),
    [("wrong-key", "Set API Key"), (None, "Set API Key")],
    ids=["rejected", "missing"],
)
def test_key_problems_tell_the_user_to_set_a_key(sandbox, monkeypatch, key, expected):
    if key:
        monkeypatch.setenv("ACHIEVEIT_API_KEY", key)
    book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(sandbox.url))
    ribbon.submit(book, confirm=confirm_yes(), now=now)
    assert expected in alerts(book)[-1]
    assert key is None or key not in alerts(book)[-1]
    grid = sheet_after(book, "Updates")
    assert all(cell(grid, r, JOB_ID) is None for r in (2, 3, 4))
    assert len(sheet_after(book, "Log")) == 1  # no Log row: nothing reached AchieveIt
    assert sandbox.jobs() == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_host_is_reported_and_nothing_recorded(monkeypatch):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", "k3y")
    url = f"http://127.0.0.1:{_closed_port()}"
    book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(url))
    ribbon.submit(book, confirm=confirm_yes(), now=now)
    assert "Nothing was sent" in alerts(book)[-1]
    assert all(cell(sheet_after(book, "Updates"), r, JOB_ID) is None for r in (2, 3, 4))
    assert len(sheet_after(book, "Log")) == 1


def test_maybe_queued_post_is_logged_as_unknown(monkeypatch):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", "k3y")
    with FaultServer() as server:
        server.script(Reply(drop=True))
        book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(server.url))
        ribbon.submit(book, confirm=confirm_yes(), now=now)
        assert [r.method for r in server.received] == ["POST"]
    log = sheet_after(book, "Log")
    assert log[1][4] is None and log[1][5] == "unknown"
    assert "check" in log[1][6] and "before sending them again" in log[1][6]
    assert cell(sheet_after(book, "Updates"), 2, JOB_STATUS).startswith("unknown: ")
    assert "before sending them again" in alerts(book)[-1]


def test_still_processing_then_refresh_status_completes_it(monkeypatch):
    with start_sandbox(port=0, processing_delay=1.0) as server:
        monkeypatch.setenv("ACHIEVEIT_API_KEY", server.api_key)
        book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(server.url, wait=0.2))
        ribbon.submit(book, confirm=confirm_yes(), now=now)
        grid = sheet_after(book, "Updates")
        assert cell(grid, 2, JOB_STATUS).startswith("processing: ")
        assert "Refresh Status" in alerts(book)[-1]
        assert sheet_after(book, "Log")[1][5] == "processing"
        job_id = cell(grid, 2, JOB_ID)

        early = reopen(book)
        ribbon.refresh_status(early, now=now)
        assert len(alerts(early)) == 1
        assert alerts(early)[0].startswith(f"Job {job_id}: processing. ")
        assert xlbook.written_ranges(early, "Log") == []  # still processing: Log unchanged

        assert server.wait_idle(10)
        later = reopen(book)
        ribbon.refresh_status(later, now=lambda: NOW + dt.timedelta(minutes=5))
    grid = sheet_after(later, "Updates")
    assert [cell(grid, r, JOB_STATUS).split(":")[0] for r in (2, 3, 4)] == ["succeeded"] * 3
    assert cell(grid, 2, CHECKED_AT) == "2026-03-10 10:05:00"
    assert sheet_after(later, "Log")[1][5:7] == ["succeeded", "Processed 3 progress updates."]
    assert alerts(later) == [f"Job {job_id}: succeeded. Processed 3 progress updates."]

    again = reopen(later)
    ribbon.refresh_status(again)
    assert alerts(again) == ["No job is waiting for an answer from AchieveIt."]


def test_a_second_submit_of_unchanged_rows_sends_nothing_unless_confirmed(keyed):
    book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(keyed.url))
    ribbon.submit(book, confirm=confirm_yes(), now=now)
    assert len(keyed.jobs()) == 1

    second = reopen(book)
    prompts: list[str] = []

    def decline(book: Any, prompt: str, title: str) -> bool:
        prompts.append(prompt)
        return False

    ribbon.submit(second, confirm=decline, now=now)
    assert prompts == [
        "Nothing new to send: 3 rows: none to send, 3 already sent unchanged.\n\nTo send all 3 "
        "again on purpose, press OK: AchieveIt records each a second time. Cancel sends nothing."
    ]
    assert alerts(second)[-1] == "Nothing was sent."
    assert len(keyed.jobs()) == 1
    assert len(sheet_after(second, "Log")) == 2

    # Saying yes sends every row once more, on purpose, without a second question.
    third = reopen(second)
    asked: list[str] = []
    ribbon.submit(third, confirm=confirm_yes(asked), now=now)
    assert len(asked) == 1 and len(keyed.jobs()) == 2
    assert keyed.stats()["updates"] == 6
    assert alerts(third)[-1].startswith("Sent 3 updates to ")


LOG_CASES = {
    "no Log sheet": {"without": ["Log"]},
    "Log lacks headers": {"log": [["When", None, "Job ID"]]},
    "Log reordered": {"log": [list(reversed(xlbook.LOG_HEADER))]},
}


@pytest.mark.parametrize("case", list(LOG_CASES))
def test_a_cancelled_submit_leaves_the_log_sheet_alone(keyed, case):
    book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(keyed.url), **LOG_CASES[case])
    sheets = [s.name for s in book.sheets]
    ribbon.submit(book, confirm=lambda *_: False, now=now)
    assert alerts(book) == ["Nothing was sent."]
    assert [s.name for s in book.sheets] == sheets
    assert "addSheet" not in [a["func"] for a in actions(book)]
    assert "Log" not in sheets or xlbook.written_ranges(book, "Log") == []


@pytest.mark.parametrize("case", list(LOG_CASES))
def test_the_first_logged_submit_adds_the_log_sheet_and_its_headers(keyed, case):
    book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(keyed.url), **LOG_CASES[case])
    with xlbook.counting_reads() as reads:
        ribbon.submit(book, confirm=confirm_yes(), now=now)
    job_id = cell(sheet_after(book, "Updates"), 2, JOB_ID)
    assert job_id
    log = sheet_after(book, "Log")
    header = [v for v in log[0] if v is not None]
    assert sorted(header) == sorted(model.LOG_COLUMNS)
    row = dict(zip(log[0], log[1], strict=True))
    assert row["Job ID"] == job_id and row["Rows"] == 3 and row["State"] == "succeeded"
    assert len(log) == 2
    # Reads and calls stay within those of a Submit into a complete Log sheet (see above).
    assert reads[0] <= 3 and len(actions(book)) <= 7 + 2  # + the sheet and its headers


def test_refresh_with_nothing_to_do_leaves_the_log_sheet_alone(keyed):
    book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(keyed.url), without=["Log"])
    ribbon.refresh_status(book, now=now)
    assert alerts(book) == ["No job is waiting for an answer from AchieveIt."]
    assert [s.name for s in book.sheets] == ["Updates", "Settings"]
    assert [a["func"] for a in actions(book)] == ["alert"]


# --- Export CSV -------------------------------------------------------------------------------


def test_export_writes_the_exact_bytes_submit_would_send(tmp_path):
    book = make_book(
        updates(*GOOD_ROWS),
        settings=xlbook.settings_rows(
            **{"CSV date format": "MM/DD/YYYY", "Include comments": False}
        ),
    )
    target = tmp_path / "out.csv"
    suggested: list[Path] = []

    def ask(path: Path) -> str:
        suggested.append(path)
        return str(target)

    ribbon.export_csv(book, ask_path=ask, now=now)
    data = target.read_bytes()
    assert data.splitlines()[0] == b"External ID,Status,Current Metric Value,As Of Date"
    assert data.splitlines()[1] == f"{METRIC_IDS[0]},On Track,0.5,03/01/2026".encode()
    assert suggested[0].name == "updates-updates.csv"
    assert alerts(book) == [f"Saved 3 updates to {target}."]
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize(
    ("rows", "answer", "expected"),
    [
        ([GOOD_ROWS[0], [METRIC_IDS[1], "Bogus", 1, AS_OF, ""]], "x.csv", "1 error remains"),
        ([GOOD_ROWS[0]], None, "Nothing was saved."),
    ],
    ids=["errors", "cancelled"],
)
def test_export_writes_nothing_when_refused_or_cancelled(tmp_path, rows, answer, expected):
    book = make_book(updates(*rows))
    ribbon.export_csv(book, ask_path=lambda p: answer and str(tmp_path / answer), now=now)
    assert expected in alerts(book)[-1]
    assert list(tmp_path.iterdir()) == []


# --- Set API Key, Settings ------------------------------------------------------------------


def test_set_api_key_stores_it_for_the_settings_host_and_never_shows_it(memory_keyring):
    book = make_book(updates(), settings=sandbox_settings("http://127.0.0.1:8765"))
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return "  s3cret-Key_1 "

    ribbon.set_api_key(book, ask_secret=ask)
    assert memory_keyring.passwords == {
        ("AchieveIt Progress Updates", "127.0.0.1:8765"): "s3cret-Key_1"
    }
    assert "127.0.0.1:8765" in prompts[0]
    assert "stored" in alerts(book)[0] and "s3cret" not in str(actions(book))
    assert [a for a in actions(book) if a["func"] == "setValues"] == []


@pytest.mark.parametrize("answer", [None, "   "])
def test_set_api_key_cancelled_stores_nothing(memory_keyring, answer):
    book = make_book(updates())
    ribbon.set_api_key(book, ask_secret=lambda prompt: answer)
    assert memory_keyring.passwords == {}
    assert alerts(book) == ["No key was entered; nothing was stored."]


def test_open_settings_shows_the_first_value():
    book = make_book(updates())
    ribbon.open_settings(book)
    assert [
        (a["func"], a["sheet_position"], a["start_row"], a["start_column"]) for a in actions(book)
    ] == [
        ("activateSheet", 1, None, None),
        ("rangeSelect", 1, 1, 1),
    ]


# --- unexpected failures ----------------------------------------------------------------------


def test_unexpected_error_is_logged_without_the_key(keyed, monkeypatch, tmp_path):
    def broken_client(base_url: str, api_key: str) -> Any:
        raise RuntimeError(f"boom near {api_key}")

    book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(keyed.url))
    ribbon.submit(book, client_factory=broken_client, confirm=confirm_yes(), now=now)
    log_file = tmp_path / "logs" / ribbon.LOG_FILE
    assert alerts(book) == [
        f"Something unexpected went wrong; details were written to {log_file}. "
        "Your updates were not changed."
    ]
    text = log_file.read_text(encoding="utf-8")
    assert "RuntimeError: boom near [API key removed]" in text
    assert keyed.api_key not in text


# --- one sending press at a time (on a Mac, RunPython does not wait for Python) ---------------


@pytest.fixture
def lock_in_tmp(monkeypatch, tmp_path):
    path = tmp_path / "press.lock"
    monkeypatch.setattr(presslock, "lock_path", lambda book: path)
    return path


def test_a_second_submit_while_one_runs_sends_nothing(keyed, lock_in_tmp):
    lock_in_tmp.write_text("Submit", encoding="utf-8")
    book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(keyed.url))
    ribbon.submit(book, confirm=confirm_yes(), now=now)
    assert alerts(book) == [
        "Submit is still running for this workbook. Wait until it has finished (its message "
        "appears), then press Submit again."
    ]
    assert keyed.jobs() == []
    assert [a for a in actions(book) if a["func"] == "setValues"] == []
    assert lock_in_tmp.read_text(encoding="utf-8") == "Submit"  # the running press keeps it


def test_a_stale_marker_does_not_block_and_a_press_leaves_none(keyed, lock_in_tmp):
    lock_in_tmp.write_text("Submit", encoding="utf-8")
    old = time.time() - ribbon.STALE_LOCK_SECONDS - 1
    os.utime(lock_in_tmp, (old, old))
    book = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(keyed.url))
    ribbon.submit(book, confirm=confirm_yes(), now=now)
    assert len(keyed.jobs()) == 1
    assert not lock_in_tmp.exists()


def test_export_without_a_save_dialog_never_overwrites(monkeypatch, tmp_path):
    def no_tk(suggested: Path) -> str:
        raise ModuleNotFoundError("No module named 'tkinter'")

    monkeypatch.setattr(dialogs, "ask_path_dialog", no_tk)
    monkeypatch.setattr(dialogs, "book_folder", lambda book: tmp_path)
    existing = tmp_path / "updates-updates.csv"
    existing.write_bytes(b"the user's own file")
    book = make_book(updates(*GOOD_ROWS))
    ribbon.export_csv(book, now=now)
    written = tmp_path / "updates-updates-20260310-100000.csv"
    assert existing.read_bytes() == b"the user's own file"
    assert written.read_bytes().startswith(b"External ID,Status,")
    assert alerts(book) == [f"Saved 3 updates to {written}."]


def test_set_api_key_says_when_the_environment_key_wins(monkeypatch, memory_keyring):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", "from-the-environment")
    book = make_book(updates(), settings=sandbox_settings("http://127.0.0.1:8765"))
    ribbon.set_api_key(book, ask_secret=lambda prompt: "typed-key-1")
    assert "ACHIEVEIT_API_KEY environment variable is set" in alerts(book)[0]
    assert "from-the-environment" not in alerts(book)[0]


def test_a_copy_of_the_book_with_an_empty_log_still_warns_before_resending(keyed):
    first = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(keyed.url))
    ribbon.submit(first, confirm=confirm_yes(), now=now)
    job_id = keyed.jobs()[0].id
    copy = make_book(updates(*GOOD_ROWS), settings=sandbox_settings(keyed.url))  # fresh Log
    prompts: list[str] = []

    def decline(book: Any, prompt: str, title: str) -> bool:
        prompts.append(prompt)
        return False

    ribbon.submit(copy, confirm=decline, now=now)
    assert prompts[0].startswith("These exact updates were already sent on ")
    assert f"job {job_id}" in prompts[0]
    assert len(keyed.jobs()) == 1


def test_refresh_puts_a_failed_jobs_reasons_on_the_rows_they_name(monkeypatch):
    with start_sandbox(port=0, processing_delay=1.0) as server:
        monkeypatch.setenv("ACHIEVEIT_API_KEY", server.api_key)
        rows = [GOOD_ROWS[0], ["NOT-IN-PLAN", "On Track", None, AS_OF, ""], GOOD_ROWS[1]]
        book = make_book(updates(*rows), settings=sandbox_settings(server.url, wait=0.2))
        ribbon.submit(book, confirm=confirm_yes(), now=now)
        assert cell(sheet_after(book, "Updates"), 3, JOB_STATUS).startswith("processing: ")
        assert server.wait_idle(10)
        later = reopen(book)
        ribbon.refresh_status(later, now=now)
    grid = sheet_after(later, "Updates")
    assert [cell(grid, r, JOB_STATUS).split(":")[0] for r in (2, 3, 4)] == ["failed"] * 3
    assert "NOT-IN-PLAN" in cell(grid, 3, ISSUES) and cell(grid, 3, ISSUES).startswith("Error")
    assert cell(grid, 2, ISSUES) is None and cell(grid, 4, ISSUES) is None
    assert value_writes_outside_results(later) == []


# --- an older workbook: "run workbook upgrade", said once ------------------------------------


@contextlib.contextmanager
def counting_fullname() -> Any:
    """Count Book.fullname reads (an Excel call on Windows and Mac) while the block runs."""
    from xlwings.pro import _xlremote

    original = _xlremote.Book.fullname
    count = [0]

    def getter(self: Any) -> Any:
        count[0] += 1
        return original.fget(self)

    _xlremote.Book.fullname = property(getter)
    try:
        yield count
    finally:
        _xlremote.Book.fullname = original


OLDER = f"older version of the tool (template 1; installed: {TEMPLATE_VERSION})"


def test_a_press_in_an_older_workbook_says_once_to_upgrade_it():
    book = make_book(updates(GOOD_ROWS[0]), name="Team.xlsm")
    ribbon.validate(book, now=now, template=1)
    assert alerts(book) == [
        f"The 1 row is ready to send.\n\nThis workbook's AchieveIt buttons come from an {OLDER}, "
        "so some may be missing or not work. To renew them, keeping all your data: close the "
        'workbook, then run in a terminal\nachieveit-updates workbook upgrade "Team.xlsm"'
    ]
    again = reopen(book)
    ribbon.validate(again, now=now, template=1)
    assert alerts(again) == ["The 1 row is ready to send."]  # once per workbook and version


def test_a_press_from_a_workbook_made_before_versions_counts_as_older(monkeypatch):
    # Buttons made before versions call `addin.ribbon.validate()`: no template, book from Excel.
    book = make_book(updates(GOOD_ROWS[0]))
    monkeypatch.setattr(ribbon.xw.Book, "caller", staticmethod(lambda: book))
    ribbon.validate(now=now)
    assert OLDER in alerts(book)[0]


def test_a_newer_workbook_asks_for_the_tool_to_be_updated():
    book = make_book(updates(GOOD_ROWS[0]))
    ribbon.clear_results(book, template=TEMPLATE_VERSION + 1)
    assert len(alerts(book)) == 1
    assert "made by a newer version" in alerts(book)[0]
    assert alerts(book)[0].startswith("The Issues column and the red and amber marks were cleared")


def test_the_notice_rides_on_an_error_message_too():
    book = make_book([["Some", "other", "sheet"]])
    ribbon.validate(book, now=now, template=1)
    assert len(alerts(book)) == 1 and "External ID" in alerts(book)[0] and OLDER in alerts(book)[0]


def test_a_press_without_a_message_keeps_the_notice_for_the_next_one():
    book = make_book(updates(GOOD_ROWS[0]))
    ribbon.open_settings(book, template=1)
    assert alerts(book) == []  # no dialog of its own: nothing blocks
    later = reopen(book)
    ribbon.validate(later, now=now, template=1)
    assert OLDER in alerts(later)[0]


@pytest.mark.parametrize(
    ("press", "excel_calls_for_the_notice"),
    [
        (lambda b, t: ribbon.validate(b, now=now, template=t), 1),
        (lambda b, t: ribbon.clear_results(b, template=t), 1),
        (lambda b, t: ribbon.open_settings(b, template=t), 1),
    ],
    ids=["validate", "clear_results", "open_settings"],
)
def test_the_notice_costs_one_excel_call_and_a_current_workbook_none(
    press, excel_calls_for_the_notice
):
    with counting_fullname() as current_names:
        current = _calls(lambda b: press(b, TEMPLATE_VERSION), _big_book(10))
    with counting_fullname() as older_names:
        older = _calls(lambda b: press(b, 1), _big_book(10))
    assert current_names[0] == 0
    assert older_names[0] == excel_calls_for_the_notice  # the path, to name it in the command
    assert older == current  # the same reads and writes: the notice joins an existing alert


def test_a_press_stays_cheap_to_import():
    # A click starts a fresh Python: the notice must not bring in what the buttons load lazily.
    code = (
        "import sys, addin.ribbon; "
        "print(sorted({'openpyxl', 'requests', 'keyring', 'pyopenvba'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- %-formatted metric cells: one Excel call at most (issue 10) ----------------------------


def _percent_book(n: int, whole: set[int]) -> Any:
    rows = [[f"ID-{i:05d}", "On Track", 20 if i in whole else 0.2, AS_OF, ""] for i in range(n)]
    return make_book(updates(*rows))


@pytest.mark.parametrize("n", [10, 2_000])
def test_a_percent_formatted_metric_column_is_asked_once_whatever_the_rows(n):
    book = _percent_book(n, {3, n - 2})
    with xlbook.number_formats("0%") as reads:
        table = excelbook.read_updates(book).table
    assert reads == [f"$C$5:$C${n}"]  # sheet rows of the first and last whole number
    report = rules.validate_table(table, today=NOW.date())
    assert [(f.row, f.code) for f in report.findings] == [
        (5, "percent-format"),
        (n, "percent-format"),
    ]


@pytest.mark.parametrize(
    ("shown", "whole", "reads", "codes"),
    [
        ("0%", set(), 0, []),  # no whole number above 1: nothing to ask
        ("General", {3}, 1, []),
        (None, {3, 6}, 1, []),  # formats differ: Excel can't say in one call, nothing marked
        ("0.0%;[Red]-0.0%", {3}, 1, ["percent-format"]),
    ],
)
def test_percent_format_calls_and_findings(shown, whole, reads, codes):
    book = _percent_book(10, whole)
    with xlbook.number_formats(shown) as asked:
        table = excelbook.read_updates(book).table
    assert len(asked) == reads
    assert [f.code for f in rules.validate_table(table, today=NOW.date()).findings] == codes


def test_validate_warns_about_a_percent_formatted_metric_in_live_excel():
    book = _percent_book(3, {1})
    with xlbook.number_formats("0%"):
        ribbon.validate(book, now=now)
    issues = cell(sheet_after(book, "Updates"), 3, ISSUES)
    assert "shows 2000%, so 20 will be sent" in issues
