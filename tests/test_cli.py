"""The command line end to end: real workbook files, the real stand-in server over real sockets."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from addin import credentials
from addin.cli import main
from addin.demo import write_sample_workbook
from addin.sandbox import DEMO_ITEMS, start_sandbox

KEY = "test-key-0000"  # a sandbox key; not shaped like a real AchieveIt key
TODAY = dt.datetime.combine(dt.date.today() - dt.timedelta(days=1), dt.time())


def _item(external_id: str):
    return next(item for item in DEMO_ITEMS if item.external_id == external_id)


def good_rows() -> list[list]:
    """Two rows the stand-in accepts: a metric for metric items, none otherwise."""
    rows = []
    for item, status, comment in (
        (DEMO_ITEMS[0], "on track", 'Fine, "really"'),
        (_item("ENG-0042"), "At Risk", "Line one\nline two"),
    ):
        rows.append([item.external_id, status, 0.25 if item.has_metric else None, TODAY, comment])
    return rows


@pytest.fixture
def sandbox():
    with start_sandbox(api_key=KEY, processing_delay=0.1) as server:
        yield server


@pytest.fixture
def keyed(monkeypatch, sandbox):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", KEY)
    return sandbox


@pytest.fixture
def good_book(tmp_path) -> Path:
    path = tmp_path / "Q4 updates.xlsx"
    write_sample_workbook(path, good_rows())
    return path


@pytest.fixture
def bad_book(tmp_path) -> Path:
    path = tmp_path / "bad.xlsx"
    rows = good_rows()
    rows[0][1] = "Cancelled"
    rows[1][3] = "13/01/2026"
    write_sample_workbook(path, rows)
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def sheet_values(path: Path, max_col: int = 9) -> list[tuple]:
    """The Updates sheet's rows (A..E are the user's inputs, F..I the tool's results)."""
    wb = openpyxl.load_workbook(path)
    try:
        return [tuple(c.value for c in row) for row in wb["Updates"].iter_rows(max_col=max_col)]
    finally:
        wb.close()


def result_columns(path: Path) -> list[tuple]:
    wb = openpyxl.load_workbook(path)
    try:
        ws = wb["Updates"]
        return [(ws.cell(r, 7).value, ws.cell(r, 8).value) for r in range(2, ws.max_row + 1)]
    finally:
        wb.close()


# --- validate ---------------------------------------------------------------------------------


def test_validate_clean_workbook_exits_0_and_leaves_the_file_alone(capsys, good_book):
    before = good_book.read_bytes()
    code, out, _ = run(capsys, "validate", good_book)
    assert code == 0
    assert "All 2 rows are ready to send." in out
    assert good_book.read_bytes() == before


def test_validate_json_reports_each_finding(capsys, bad_book):
    before = bad_book.read_bytes()
    code, out, _ = run(capsys, "validate", bad_book, "--json")
    report = json.loads(out)
    assert code == 1
    assert report["valid"] is False and report["rows"] == 2
    flat = [(i["row"], i["column"], i["severity"], i["code"]) for i in report["issues"]]
    assert flat == [
        (2, "Status", "error", "unknown-status"),
        (3, "As Of Date", "error", "day-month-order"),
    ]
    assert report["issues"][0]["value"] == "Cancelled"
    assert "did you mean 'Canceled'" in report["issues"][0]["message"]
    assert bad_book.read_bytes() == before


def test_validate_annotate_writes_findings_but_keeps_every_input(capsys, bad_book):
    inputs_before = sheet_values(bad_book, 5)
    code, out, _ = run(capsys, "validate", bad_book, "--annotate")
    assert code == 1
    assert sheet_values(bad_book, 5) == inputs_before
    issues = [row[5] for row in sheet_values(bad_book)[1:]]
    assert "Canceled" in issues[0] and "01/13/2026" in issues[1]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "Can't find"),
        (b"this is not a zip file", "not a readable Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "password-protected"),
    ],
)
def test_unreadable_files_give_a_clear_error_and_exit_2(capsys, tmp_path, content, expected):
    path = tmp_path / "updates.xlsx"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, "validate", path)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_a_header_out_of_order_is_invalid_data(capsys, tmp_path):
    path = tmp_path / "swapped.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Updates"
    wb.active.append(["External ID", "Current Metric Value", "Status", "As Of Date", "Comment"])
    wb.active.append(["ENG-0042", 1, "On Track", TODAY, ""])
    wb.save(path)
    code, out, _ = run(capsys, "validate", path, "--json")
    assert code == 1
    issue = json.loads(out)["issues"][0]
    assert (issue["row"], issue["column"], issue["code"]) == (1, None, "bad-header")
    assert "External ID | Status | Current Metric Value | As Of Date | Comment" in issue["message"]


# --- export -----------------------------------------------------------------------------------


def test_export_writes_the_exact_csv(capsys, good_book, tmp_path):
    out_csv = tmp_path / "out.csv"
    code, out, _ = run(capsys, "export", good_book, "-o", out_csv)
    assert code == 0
    day = TODAY.date().isoformat()
    first, second = good_rows()
    assert out_csv.read_bytes() == (
        b"External ID,Status,Current Metric Value,As Of Date,Comment\r\n"
        + f'{first[0]},On Track,{"0.25" if first[2] else ""},{day},"Fine, ""really"""\r\n'.encode()
        + f'ENG-0042,At Risk,{"0.25" if second[2] else ""},{day},"Line one\nline two"\r\n'.encode()
    )


def test_export_options_change_the_format(capsys, good_book, tmp_path):
    out_csv = tmp_path / "out.csv"
    args = ("--no-header", "--no-comment", "--date-format", "MM/DD/YYYY")
    assert run(capsys, "export", good_book, "-o", out_csv, *args)[0] == 0
    lines = out_csv.read_bytes().split(b"\r\n")
    assert lines[-1] == b"" and len(lines) == 3
    assert lines[0].count(b",") == 3
    assert lines[0].endswith(TODAY.strftime("%m/%d/%Y").encode())


def test_export_refuses_while_errors_remain(capsys, bad_book, tmp_path):
    out_csv = tmp_path / "out.csv"
    code, _, err = run(capsys, "export", bad_book, "-o", out_csv)
    assert code == 1
    assert "Nothing was exported: fix the errors listed above" in err
    assert not out_csv.exists()


# --- submit -----------------------------------------------------------------------------------


def test_submit_wait_succeeds_and_writes_results_back(capsys, keyed, good_book):
    inputs_before = sheet_values(good_book, 5)
    code, out, _ = run(capsys, "submit", good_book, "--base-url", keyed.url, "--wait", "--json")
    outcome = json.loads(out)
    assert code == 0
    assert outcome["state"] == "succeeded" and outcome["http_status"] == 200
    assert [job.id for job in keyed.jobs()] == [outcome["job_id"]]
    assert {u["external_id"] for u in keyed.latest_updates()} == {r[0] for r in good_rows()}
    assert sheet_values(good_book, 5) == inputs_before
    assert (
        result_columns(good_book)
        == [(outcome["job_id"], "succeeded: Processed 2 progress updates.")] * 2
    )
    log = openpyxl.load_workbook(good_book)["Log"]
    when, name, rows, digest, job_id, state, _message = (c.value for c in log[2])
    assert (rows, job_id, state) == (2, outcome["job_id"], "succeeded")
    assert name.startswith("Q4-updates_") and len(digest) == 64


def test_submitting_unchanged_rows_again_sends_nothing_unless_all(capsys, keyed, good_book):
    assert run(capsys, "submit", good_book, "--base-url", keyed.url, "--wait")[0] == 0
    code, out, err = run(capsys, "submit", good_book, "--base-url", keyed.url, "--json")
    outcome = json.loads(out)
    assert code == 0 and outcome["state"] == "not-submitted"
    assert outcome["message"].startswith("Nothing to send: 2 rows: none to send, 2 already sent")
    assert "--all" in outcome["message"]
    assert len(keyed.jobs()) == 1
    # --all sends every row again, on purpose (the resend is the point: no duplicate refusal).
    code, out, _ = run(capsys, "submit", good_book, "--base-url", keyed.url, "--all", "--wait")
    assert code == 0 and len(keyed.jobs()) == 2
    assert "2 to send (2 of them again, on purpose)" in out
    assert (keyed.stats()["updates"], keyed.stats()["identical"]) == (4, 2)


def test_submit_invalid_data_sends_nothing_and_marks_the_workbook(capsys, keyed, bad_book):
    code, out, _ = run(capsys, "submit", bad_book, "--base-url", keyed.url, "--json")
    assert code == 1
    assert json.loads(out)["state"] == "not-submitted"
    assert keyed.jobs() == []
    assert "Canceled" in sheet_values(bad_book)[1][5]


def test_a_failed_job_exits_1_and_names_the_row(capsys, keyed, tmp_path):
    path = tmp_path / "unknown.xlsx"
    write_sample_workbook(path, [["NOT-A-PLAN-ITEM", "On Track", None, TODAY, ""], *good_rows()])
    code, out, _ = run(capsys, "submit", path, "--base-url", keyed.url, "--wait", "--json")
    outcome = json.loads(out)
    assert code == 1 and outcome["state"] == "failed" and outcome["http_status"] == 400
    assert "NOT-A-PLAN-ITEM" in outcome["message"]
    issues = [row[5] for row in sheet_values(path)[1:]]
    assert "NOT-A-PLAN-ITEM" in issues[0] and issues[1] is None and issues[2] is None


def test_submit_without_wait_reports_processing_and_status_finishes_it(capsys, keyed, good_book):
    code, out, _ = run(capsys, "submit", good_book, "--base-url", keyed.url, "--json")
    job_id = json.loads(out)["job_id"]
    assert code == 0 and json.loads(out)["state"] == "processing"
    assert result_columns(good_book)[0] == (job_id, "processing: Queued by AchieveIt.")
    code, out, _ = run(capsys, "status", job_id, "--base-url", keyed.url, "--wait", "--json")
    assert code == 0 and json.loads(out)["state"] == "succeeded"


def test_wait_timeout_exits_4_and_keeps_the_job_id(capsys, monkeypatch, good_book):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", KEY)
    with start_sandbox(api_key=KEY, processing_delay=30) as slow:
        args = ("--base-url", slow.url, "--wait", "--timeout", "0.5")
        code, out, err = run(capsys, "submit", good_book, *args)
        assert code == 4
        job_id = slow.jobs()[0].id
    assert f"Job ID: {job_id}" in out
    assert f"achieveit-updates status {job_id}" in err
    assert result_columns(good_book)[0][0] == job_id


def test_a_rejected_key_is_exit_3_and_not_submitted(capsys, monkeypatch, sandbox, good_book):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", "wrong-key-1234")
    code, out, err = run(capsys, "submit", good_book, "--base-url", sandbox.url, "--json")
    assert code == 3
    outcome = json.loads(out)
    assert (outcome["state"], outcome["http_status"]) == ("not-submitted", 401)
    assert "wrong-key-1234" not in out + err
    assert sandbox.jobs() == []


def test_an_unreachable_host_is_exit_3_and_leaves_the_workbook_unchanged(
    capsys, monkeypatch, good_book
):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", KEY)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    before = good_book.read_bytes()
    code, out, _ = run(
        capsys, "submit", good_book, "--base-url", f"http://127.0.0.1:{port}", "--json"
    )
    assert code == 3
    assert json.loads(out)["state"] == "not-submitted"
    assert good_book.read_bytes() == before


def test_a_missing_key_is_a_configuration_error(capsys, sandbox, good_book):
    code, out, err = run(capsys, "submit", good_book, "--base-url", sandbox.url)
    assert code == 2
    assert "achieveit-updates login" in err
    assert sandbox.jobs() == []


def test_plain_http_to_a_remote_host_is_refused(capsys, monkeypatch, good_book):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", KEY)
    code, _, err = run(capsys, "submit", good_book, "--base-url", "http://example.com")
    assert code == 2
    assert "http://" in err


def test_dry_run_sends_nothing(capsys, keyed, good_book):
    before = good_book.read_bytes()
    code, out, _ = run(capsys, "submit", good_book, "--base-url", keyed.url, "--dry-run")
    assert code == 0 and "Dry run: 2 updates" in out
    assert keyed.jobs() == [] and good_book.read_bytes() == before


def test_a_csv_input_is_submitted_and_never_modified(capsys, keyed, tmp_path, good_book):
    csv_path = tmp_path / "updates.csv"
    assert run(capsys, "export", good_book, "-o", csv_path)[0] == 0
    before = csv_path.read_bytes()
    code, out, _ = run(capsys, "submit", csv_path, "--base-url", keyed.url, "--wait", "--json")
    assert code == 0 and json.loads(out)["state"] == "succeeded"
    assert csv_path.read_bytes() == before


def test_the_environment_base_url_is_used_for_scheduled_runs(capsys, keyed, monkeypatch, good_book):
    monkeypatch.setenv("ACHIEVEIT_BASE_URL", keyed.url)
    code, out, _ = run(capsys, "submit", good_book, "--wait", "--json")
    assert code == 0 and json.loads(out)["state"] == "succeeded"


# --- login / logout ---------------------------------------------------------------------------


def test_login_stores_the_key_and_logout_removes_it(capsys, monkeypatch, memory_keyring):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("sandbox-key-5678\n"))
    code, out, err = run(capsys, "login", "--base-url", "http://127.0.0.1:8765", "--stdin")
    assert code == 0 and "sandbox-key-5678" not in out + err
    assert credentials.get_api_key("127.0.0.1:8765", env={}) == "sandbox-key-5678"
    assert run(capsys, "logout", "--base-url", "http://127.0.0.1:8765")[0] == 0
    with pytest.raises(credentials.ConfigError):
        credentials.get_api_key("127.0.0.1:8765", env={})


def test_a_stored_key_is_used_by_submit(capsys, sandbox, memory_keyring, good_book):
    credentials.store_api_key(credentials.host_of(sandbox.url), KEY)
    code, out, _ = run(capsys, "submit", good_book, "--base-url", sandbox.url, "--wait", "--json")
    assert code == 0 and json.loads(out)["state"] == "succeeded"


# --- the console script and the demo, as real processes ---------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACHIEVEIT_")}
    return subprocess.run(
        [sys.executable, "-m", "addin.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_usage_errors_exit_2(tmp_path):
    result = _cli("submit", cwd=tmp_path)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_demo_runs_end_to_end_offline_in_under_15_seconds(tmp_path):
    started = time.monotonic()
    result = _cli("demo", cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 15
    assert "did you mean 'Canceled'" in result.stdout
    assert "State: succeeded" in result.stdout
    book = tmp_path / "achieveit-demo" / "progress-updates.xlsx"
    states = {status for _job, status in result_columns(book)}
    assert states == {f"succeeded: Processed {len(DEMO_ITEMS)} progress updates."}


# --- what reviewers broke: the job ID survives, nothing empty is sent, no header is fine -------


def test_a_failing_status_check_after_a_good_upload_keeps_the_job_id(
    capsys, monkeypatch, good_book
):
    from faultserver import FaultServer, Reply

    monkeypatch.setenv("ACHIEVEIT_API_KEY", KEY)
    with FaultServer() as server:
        server.script(Reply(200, '"job-123"'), Reply(404, "no such job"))
        code, out, _ = run(
            capsys, "submit", good_book, "--base-url", server.url, "--wait", "--json"
        )
    outcome = json.loads(out)
    assert code == 3
    assert (outcome["job_id"], outcome["state"]) == ("job-123", "processing")
    assert "achieveit-updates status job-123" in outcome["message"]
    assert result_columns(good_book)[0][0] == "job-123"  # recorded: nobody resends blindly
    assert [r.method for r in server.received] == ["POST", "GET"]


def test_status_errors_keep_the_job_id_in_json(capsys, keyed):
    code, out, _ = run(capsys, "status", "no-such-job", "--base-url", keyed.url, "--json")
    outcome = json.loads(out)
    assert code == 3
    assert (outcome["job_id"], outcome["state"], outcome["http_status"]) == (
        "no-such-job",
        "unknown",
        404,
    )


def test_a_failed_job_names_every_row_it_rejects(capsys, keyed, tmp_path):
    path = tmp_path / "many.xlsx"
    unknown = [[f"NOT-IN-PLAN-{i}", "On Track", None, TODAY, ""] for i in range(10)]
    write_sample_workbook(path, unknown)
    code, out, _ = run(capsys, "submit", path, "--base-url", keyed.url, "--wait", "--json")
    assert code == 1
    issues = [row[5] for row in sheet_values(path)[1:]]
    assert all(f"NOT-IN-PLAN-{i}" in issues[i] for i in range(10))
    assert all(f"NOT-IN-PLAN-{i}" in json.loads(out)["message"] for i in range(10))


def test_an_empty_sheet_is_not_sent(capsys, keyed, tmp_path):
    path = tmp_path / "empty.xlsx"
    write_sample_workbook(path, [])
    code, out, _ = run(capsys, "submit", path, "--base-url", keyed.url, "--json")
    assert code == 1
    assert json.loads(out)["state"] == "not-submitted"
    assert keyed.jobs() == []


def test_submit_refuses_before_sending_when_results_cannot_be_recorded(capsys, keyed, good_book):
    lock = good_book.with_name("~$" + good_book.name)
    lock.write_bytes(b"")
    before = good_book.read_bytes()
    code, _, err = run(capsys, "submit", good_book, "--base-url", keyed.url)
    assert code == 2
    assert "open in Excel" in err
    assert keyed.jobs() == [] and good_book.read_bytes() == before


def test_a_csv_without_a_header_row_validates_and_submits(capsys, keyed, good_book, tmp_path):
    csv_path = tmp_path / "no-header.csv"
    assert run(capsys, "export", good_book, "-o", csv_path, "--no-header")[0] == 0
    assert run(capsys, "validate", csv_path)[0] == 0
    code, out, _ = run(capsys, "submit", csv_path, "--base-url", keyed.url, "--wait", "--json")
    assert code == 0 and json.loads(out)["state"] == "succeeded"


def test_output_survives_a_console_that_cannot_show_the_text(tmp_path):
    csv_path = tmp_path / "zh.csv"
    csv_path.write_bytes(
        "External ID,Status,Current Metric Value,As Of Date,Comment\r\n"
        "A-1,進行中,,2026-01-05,\r\n".encode()
    )
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    for extra in ([], ["--json"]):
        result = subprocess.run(
            [sys.executable, "-m", "addin.cli", "validate", str(csv_path), *extra],
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 1, result.stderr
        assert b"Traceback" not in result.stderr
    assert json.loads(result.stdout)["issues"][0]["value"] == "進行中"


# --- this computer's record of sends: no CSV or copied workbook goes out twice ----------------


def test_the_same_csv_is_not_sent_twice(capsys, keyed, good_book, tmp_path):
    csv_path = tmp_path / "nightly.csv"
    assert run(capsys, "export", good_book, "-o", csv_path)[0] == 0
    code, out, _ = run(capsys, "submit", csv_path, "--base-url", keyed.url, "--json")
    job_id = json.loads(out)["job_id"]
    assert code == 0
    code, out, _ = run(capsys, "submit", csv_path, "--base-url", keyed.url, "--json")
    message = json.loads(out)["message"]
    assert code == 1 and json.loads(out)["state"] == "not-submitted"
    assert f"already sent to 127.0.0.1:{keyed.url.rsplit(':', 1)[1]}" in message
    assert f"job {job_id}" in message
    assert len(keyed.jobs()) == 1
    assert run(capsys, "submit", csv_path, "--base-url", keyed.url, "--allow-duplicate")[0] == 0
    assert len(keyed.jobs()) == 2


def test_a_copied_workbook_with_a_fresh_log_is_not_sent_twice(capsys, keyed, good_book, tmp_path):
    copy = tmp_path / "copy.xlsx"
    copy.write_bytes(good_book.read_bytes())  # before the first send: its Log is empty
    assert run(capsys, "submit", good_book, "--base-url", keyed.url)[0] == 0
    assert run(capsys, "submit", copy, "--base-url", keyed.url)[0] == 1
    assert len(keyed.jobs()) == 1


def test_the_same_updates_to_another_host_are_not_a_duplicate(capsys, keyed, good_book, tmp_path):
    csv_path = tmp_path / "u.csv"
    assert run(capsys, "export", good_book, "-o", csv_path)[0] == 0
    with start_sandbox(api_key=KEY, processing_delay=0.1) as other:
        assert run(capsys, "submit", csv_path, "--base-url", other.url)[0] == 0
    assert run(capsys, "submit", csv_path, "--base-url", keyed.url)[0] == 0
    assert len(keyed.jobs()) == 1


def test_a_record_that_cannot_be_written_is_a_warning_not_a_lost_job(
    capsys, keyed, good_book, tmp_path, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    monkeypatch.setenv("ACHIEVEIT_STATE_DIR", str(blocker))
    code, out, err = run(capsys, "submit", good_book, "--base-url", keyed.url)
    assert code == 0
    assert f"Job ID: {keyed.jobs()[0].id}" in out
    assert "Could not note this send" in err


def test_invalid_data_in_a_locked_workbook_is_still_reported(capsys, keyed, bad_book):
    bad_book.with_name("~$" + bad_book.name).write_bytes(b"")
    before = bad_book.read_bytes()
    code, out, err = run(capsys, "submit", bad_book, "--base-url", keyed.url)
    assert code == 1
    assert "unknown-status" in err and "could not be marked" in err
    assert bad_book.read_bytes() == before and keyed.jobs() == []
