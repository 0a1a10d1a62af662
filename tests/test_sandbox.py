"""The local AchieveIt stand-in, over real sockets on 127.0.0.1 (plus its pure CSV reader)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

import addin.sandbox.server as server_module
from addin.sandbox import (
    DEMO_ITEMS,
    STATUSES,
    Sandbox,
    parse_as_of,
    process_csv,
    serve_forever,
    start_sandbox,
)

KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"API-KEY {KEY}"}
HEADER = "External ID,Status,Current Metric Value,As Of Date,Comment\n"
HEADER4 = "External ID,Status,Current Metric Value,As Of Date\n"
METRIC_ID = "ENG-0042"  # has a metric
PLAIN_ID = "OPS-0107"  # has no metric
ZEROS_ID = "00731"
GUID_ID = DEMO_ITEMS[0].external_id


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # never a proxy for 127.0.0.1
        yield session


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(api_key=KEY, processing_delay=0.2) as running:
        yield running


@pytest.fixture
def fast_sandbox() -> Iterator[Sandbox]:
    with start_sandbox(api_key=KEY, processing_delay=0.0) as running:
        yield running


def post(http: requests.Session, sb: Sandbox, body: bytes | str, name: str = "updates"):
    data = body.encode("utf-8") if isinstance(body, str) else body
    return http.post(f"{sb.url}/api/progressupdates/{name}", data=data, headers=AUTH, timeout=5)


def status(http: requests.Session, sb: Sandbox, job_id: str):
    return http.get(f"{sb.url}/api/progressupdates/status/{job_id}", headers=AUTH, timeout=5)


def wait_done(http: requests.Session, sb: Sandbox, job_id: str, limit: float = 5.0):
    deadline = time.monotonic() + limit
    while True:
        response = status(http, sb, job_id)
        if response.status_code != 202 or time.monotonic() > deadline:
            return response
        time.sleep(0.02)


def submit_and_wait(http: requests.Session, sb: Sandbox, body: bytes | str):
    response = post(http, sb, body)
    assert response.status_code == 200, response.text
    return wait_done(http, sb, response.json())


# -- authorisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "API-KEY wrong-key"},
        {"Authorization": f"Bearer {KEY}"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": "API-KEY"},
        {"Authorization": f"API-KEY {KEY} extra"},
        {"Authorization": f"API-KEY {KEY}x"},
        {"Authorization": KEY},
    ],
    ids=["missing", "wrong-key", "bearer", "basic", "no-key", "two-keys", "longer-key", "bare"],
)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_requests_without_the_right_key_get_401(http, sandbox, headers, method):
    path = (
        "/api/progressupdates/x"
        if method == "POST"
        else f"/api/progressupdates/status/{uuid.uuid4()}"
    )
    body = (HEADER + f"{METRIC_ID},On Track,1,2026-01-13\n").encode() if method == "POST" else None
    response = http.request(method, sandbox.url + path, headers=headers, data=body, timeout=5)
    assert response.status_code == 401
    assert response.text == "Missing or invalid API key"
    assert KEY not in response.text
    assert sandbox.latest_updates() == []


@pytest.mark.parametrize("scheme", ["API-KEY", "api-key", "Api-Key"])
def test_the_scheme_is_case_insensitive(http, sandbox, scheme):
    response = http.post(
        f"{sandbox.url}/api/progressupdates/x",
        data=f"{METRIC_ID},On Track,1,2026-01-13\n",
        headers={"Authorization": f"{scheme} {KEY}"},
        timeout=5,
    )
    assert response.status_code == 200


def test_a_generated_key_is_random_hex():
    with start_sandbox() as first, start_sandbox() as second:
        assert re.fullmatch(r"[0-9a-f]{32}", first.api_key)
        assert first.api_key != second.api_key
        assert first.api_key not in repr(first)


# -- submitting and polling --------------------------------------------------------------------


def test_post_answers_at_once_with_a_json_string_job_id(http, sandbox):
    response = post(http, sandbox, HEADER + f"{METRIC_ID},On Track,0.5,2026-01-13,fine\n")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.text.startswith('"') and response.text.endswith('"')
    assert uuid.UUID(json.loads(response.text)).version == 4


def test_status_is_202_until_the_processing_delay_has_passed_then_200(http):
    delay = 0.6
    with start_sandbox(api_key=KEY, processing_delay=delay) as sb:
        posted = time.monotonic()
        job_id = post(http, sb, f"{METRIC_ID},On Track,0.5,2026-01-13\n").json()
        first = status(http, sb, job_id)
        asked = time.monotonic()
        assert asked - posted < delay, "the machine was too slow to see the 202"
        assert first.status_code == 202
        assert sb.latest_updates() == []  # nothing is visible while processing
        final = wait_done(http, sb, job_id)
        assert time.monotonic() - posted >= delay
    assert final.status_code == 200
    assert final.text == "Processed 1 progress update."


def test_unknown_job_is_404(http, sandbox):
    assert status(http, sandbox, str(uuid.uuid4())).status_code == 404
    assert status(http, sandbox, "not-a-job").status_code == 404


def test_wait_idle_reports_unfinished_work(http):
    with start_sandbox(api_key=KEY, processing_delay=5.0) as sb:
        post(http, sb, f"{METRIC_ID},On Track,0.5,2026-01-13\n")
        assert sb.wait_idle(0.1) is False
    with start_sandbox(api_key=KEY, processing_delay=0.0) as sb:
        post(http, sb, f"{METRIC_ID},On Track,0.5,2026-01-13\n")
        assert sb.wait_idle(5.0) is True
        assert len(sb.latest_updates()) == 1


# -- files AchieveIt accepts -------------------------------------------------------------------

GOOD_FILES = [
    ("header, 5 columns", HEADER + f"{METRIC_ID},On Track,0.2,2026-01-13,ok\n"),
    (
        "header, 4 columns",
        HEADER4 + f"{METRIC_ID},On Track,0.2,2026-01-13\n",
    ),
    ("no header, 5 columns", f"{METRIC_ID},On Track,0.2,2026-01-13,ok\n"),
    ("no header, 4 columns", f"{METRIC_ID},On Track,0.2,2026-01-13\n"),
    ("header case", HEADER.upper() + f"{METRIC_ID},On Track,0.2,2026-01-13,ok\n"),
    ("status case", f"{METRIC_ID},oN tRaCk,0.2,2026-01-13\n"),
    (
        "CRLF, no final newline",
        HEADER.replace("\n", "\r\n") + f"{METRIC_ID},On Track,0.2,2026-01-13,ok",
    ),
    ("ISO with time", f"{METRIC_ID},On Track,0.2,2026-01-13T23:59:59Z\n"),
    ("ISO with offset", f"{METRIC_ID},On Track,0.2,2026-01-13T08:00:00+05:30\n"),
    ("ISO basic", f"{METRIC_ID},On Track,0.2,20260113\n"),
    ("ISO week", f"{METRIC_ID},On Track,0.2,2026-W03-2\n"),
    ("ISO week basic", f"{METRIC_ID},On Track,0.2,2026W032\n"),
    ("ISO week with time", f"{METRIC_ID},On Track,0.2,2026-W03-2T08:00:00Z\n"),
    ("ISO ordinal", f"{METRIC_ID},On Track,0.2,2026-013\n"),
    ("ISO ordinal basic", f"{METRIC_ID},On Track,0.2,2026013\n"),
    ("ISO ordinal with time", f"{METRIC_ID},On Track,0.2,2026013T0800\n"),
    ("US", f"{METRIC_ID},On Track,0.2,01/13/2026\n"),
    ("US short", f"{METRIC_ID},On Track,0.2,1/13/2026\n"),
    ("US with time", f"{METRIC_ID},On Track,0.2,01/13/2026 5:30 PM\n"),
    ("spaces around values", f" {METRIC_ID} , On Track , 0.2 , 2026-01-13 \n"),
]


@pytest.mark.parametrize("body", [b for _, b in GOOD_FILES], ids=[n for n, _ in GOOD_FILES])
def test_accepted_files_are_persisted(http, fast_sandbox, body):
    response = submit_and_wait(http, fast_sandbox, body)
    assert (response.status_code, response.text) == (200, "Processed 1 progress update.")
    [update] = fast_sandbox.latest_updates()
    assert update["external_id"] == METRIC_ID
    assert update["status"] == "On Track"
    assert update["metric"] == 0.2
    assert update["as_of"] == "2026-01-13"


def test_a_metric_sent_for_an_item_without_a_metric_is_ignored(http, fast_sandbox):
    body = f"{PLAIN_ID},Achieved,not a number,2026-01-13,done\n{PLAIN_ID},At Risk,,2026-01-14,\n"
    response = submit_and_wait(http, fast_sandbox, body)
    assert (response.status_code, response.text) == (200, "Processed 2 progress updates.")
    [update] = fast_sandbox.latest_updates()
    assert (update["status"], update["metric"], update["as_of"]) == ("At Risk", None, "2026-01-14")


def test_latest_update_is_the_one_with_the_latest_as_of_date(http, fast_sandbox):
    newer = f"{GUID_ID},Off Track,3,2026-02-01,newer\n"
    older = f"{GUID_ID},On Track,4,2026-01-01,older but sent later\n"
    assert submit_and_wait(http, fast_sandbox, newer).status_code == 200
    assert submit_and_wait(http, fast_sandbox, older).status_code == 200
    [update] = fast_sandbox.latest_updates()
    assert (update["status"], update["comment"]) == ("Off Track", "newer")


# -- files AchieveIt refuses -------------------------------------------------------------------

BAD_FILES = [
    (
        "bad status",
        HEADER4 + f"{METRIC_ID},On Track,1,2026-01-13\n{METRIC_ID},Cancelled,1,2026-01-13\n",
        ["Row 3 (External ID ENG-0042): status 'Cancelled' is not a valid status."],
    ),
    (
        "impossible date",
        f"{METRIC_ID},On Track,1,2026-02-30\n",
        ["Row 1 (External ID ENG-0042):", "'2026-02-30' is not a real calendar date"],
    ),
    (
        "day first",
        f"{METRIC_ID},On Track,1,13/01/2026\n",
        ["Row 1 (External ID ENG-0042):", "Did you mean 01/13/2026?"],
    ),
    (
        "not a date",
        f"{METRIC_ID},On Track,1,13.01.2026\n",
        ["Row 1 (External ID ENG-0042):", "Use YYYY-MM-DD or MM/DD/YYYY"],
    ),
    (
        "week 54",
        f"{METRIC_ID},On Track,1,2026-W54-1\n",
        ["Row 1 (External ID ENG-0042):", "not a real ISO week date: 2026 has weeks 01 to 53"],
    ),
    (
        "weekday 8",
        f"{METRIC_ID},On Track,1,2026W038\n",
        ["Row 1 (External ID ENG-0042):", "days run from 1 (Monday) to 7 (Sunday)"],
    ),
    (
        "day 366 of a common year",
        f"{METRIC_ID},On Track,1,2026-366\n",
        ["Row 1 (External ID ENG-0042):", "day 366 of 2026 does not exist"],
    ),
    (
        "lowercase week marker",
        f"{METRIC_ID},On Track,1,2026-w03-2\n",
        ["Row 1 (External ID ENG-0042):", "Use YYYY-MM-DD or MM/DD/YYYY"],
    ),
    (
        "missing date",
        f"{METRIC_ID},On Track,1,\n",
        ["Row 1 (External ID ENG-0042): As Of Date is missing"],
    ),
    (
        "byte-order mark",
        b"\xef\xbb\xbf" + (HEADER + f"{METRIC_ID},On Track,1,2026-01-13\n").encode(),
        ["Row 1:", "byte-order mark", "'External ID'"],
    ),
    (
        "wrong header order",
        "External ID,Status,As Of Date,Current Metric Value\n"
        + f"{METRIC_ID},On Track,2026-01-13,1\n",
        ["Row 1:", "in that order"],
    ),
    (
        "header not starting with External ID",
        "Status,External ID,Current Metric Value,As Of Date\n"
        + f"On Track,{METRIC_ID},1,2026-01-13\n",
        ["Row 1:", "External ID"],
    ),
    (
        "blank line",
        HEADER4 + f"{METRIC_ID},On Track,1,2026-01-13\n\n{PLAIN_ID},On Track,,2026-01-13\n",
        ["Row 3:", "empty"],
    ),
    ("row of commas", f"{METRIC_ID},On Track,1,2026-01-13\n,,,,\n", ["Row 2:", "empty"]),
    (
        "missing metric",
        f"{METRIC_ID},On Track,,2026-01-13\n",
        ["Row 1 (External ID ENG-0042): Current Metric Value is missing"],
    ),
    (
        "percent text",
        f"{METRIC_ID},On Track,20%,2026-01-13\n",
        ["Row 1 (External ID ENG-0042):", "20% is 0.2"],
    ),
    (
        "exponent notation",
        f"{METRIC_ID},On Track,1e-05,2026-01-13\n",
        ["Row 1 (External ID ENG-0042):", "'1e-05' is not a decimal number"],
    ),
    (
        "unknown id",
        f"{METRIC_ID},On Track,1,2026-01-13\nENG-9999,On Track,1,2026-01-13\n",
        ["Row 2 (External ID ENG-9999): External ID 'ENG-9999' is not in this plan"],
    ),
    (
        "leading zeros lost",
        "731,On Track,1,2026-01-13\n",
        ["Row 1 (External ID 731):", "The plan has '00731'"],
    ),
    ("missing id", ",On Track,1,2026-01-13\n", ["Row 1: External ID is missing"]),
    (
        "missing status",
        f"{METRIC_ID},,1,2026-01-13\n",
        ["Row 1 (External ID ENG-0042): Status is missing"],
    ),
    (
        "three columns",
        f"{METRIC_ID},On Track,1\n",
        ["Row 1 (External ID ENG-0042): the row has 3 columns"],
    ),
    (
        "six columns",
        f"{METRIC_ID},On Track,1,2026-01-13,a,b\n",
        ["Row 1 (External ID ENG-0042):", "6 columns"],
    ),
    (
        "no header, 4 then 5 columns",
        f"{METRIC_ID},On Track,1,2026-01-13\n{PLAIN_ID},On Track,,2026-01-13,x\n",
        [
            "Row 2 (External ID OPS-0107): the row has 5 columns but needs 4",
            "as many columns as row 1",
        ],
    ),
    (
        "no header, 5 then 4 columns",
        f"{METRIC_ID},On Track,1,2026-01-13,x\n{PLAIN_ID},On Track,,2026-01-13,y\n"
        f"{PLAIN_ID},On Track,,2026-01-14\n",
        [
            "Row 3 (External ID OPS-0107): the row has 4 columns but needs 5",
            "as many columns as row 1",
        ],
    ),
    (
        "no header, the first good row sets the count",
        f"{METRIC_ID},On Track\n{PLAIN_ID},On Track,,2026-01-13\n"
        f"{PLAIN_ID},On Track,,2026-01-14,z\n",
        [
            "Row 1 (External ID ENG-0042): the row has 2 columns but needs 4",
            "Row 3 (External ID OPS-0107): the row has 5 columns but needs 4",
            "as many columns as row 2",
        ],
    ),
    (
        "more columns than the header",
        HEADER4 + f"{METRIC_ID},On Track,1,2026-01-13,c\n",
        ["Row 2 (External ID ENG-0042): the row has 5 columns but needs 4"],
    ),
    (
        "fewer columns than the header",
        HEADER + f"{METRIC_ID},On Track,1,2026-01-13\n",
        ["Row 2 (External ID ENG-0042): the row has 4 columns but needs 5"],
    ),
    ("empty file", "", ["Row 1:", "empty"]),
    ("header only", HEADER, ["Row 1:", "no progress updates"]),
    (
        "not UTF-8",
        f"{METRIC_ID},On Track,1,2026-01-13,caf".encode() + b"\xe9\n",
        ["Row 1:", "UTF-8"],
    ),
    (
        "line numbers count lines inside quoted comments",
        HEADER + f'{METRIC_ID},On Track,1,2026-01-13,"two\nlines"\n{PLAIN_ID},Done,,2026-01-13,\n',
        ["Row 4 (External ID OPS-0107): status 'Done'"],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [(b, e) for _, b, e in BAD_FILES], ids=[n for n, _, _ in BAD_FILES]
)
def test_refused_files_fail_the_job_with_a_reason_and_save_nothing(
    http, fast_sandbox, body, expected
):
    response = submit_and_wait(http, fast_sandbox, body)
    assert response.status_code == 400
    for text in expected:
        assert text in response.text
    assert fast_sandbox.latest_updates() == []


def test_every_problem_gets_its_own_line(http, fast_sandbox):
    body = HEADER4 + f"{METRIC_ID},Cancelled,1,2026-01-13\nENG-9999,On Track,1,2026-02-30\n"
    response = submit_and_wait(http, fast_sandbox, body)
    assert response.text.splitlines() == [
        "Row 2 (External ID ENG-0042): status 'Cancelled' is not a valid status. Use one of: "
        + ", ".join(STATUSES)
        + ".",
        "Row 3 (External ID ENG-9999): External ID 'ENG-9999' is not in this plan. Export the"
        " External IDs from the plan again and copy them exactly.",
        "Row 3 (External ID ENG-9999): As Of Date '2026-02-30' is not a real calendar date.",
    ]


def test_accept_any_id_stores_unknown_ids_as_ad_hoc_items(http):
    with start_sandbox(api_key=KEY, processing_delay=0.0, accept_any_id=True) as sb:
        body = "ENG-9999,At Risk,,2026-01-13,new\nXYZ-1,On Track,7,2026-01-13,\n"
        response = submit_and_wait(http, sb, body)
        assert response.status_code == 200
        assert response.text.startswith("Processed 2 progress updates.")
        latest = {u["external_id"]: u for u in sb.latest_updates()}
        assert set(latest) == {"ENG-9999", "XYZ-1"}
        assert latest["ENG-9999"]["adhoc"] and latest["ENG-9999"]["metric"] is None
        assert latest["XYZ-1"]["metric"] == 7.0
        # Other rules still hold for unknown IDs.
        bad = submit_and_wait(http, sb, "ENG-9998,Bogus,,2026-01-13\n")
        assert bad.status_code == 400 and "Row 1 (External ID ENG-9998): status 'Bogus'" in bad.text


def test_a_crash_while_processing_is_a_500_job_that_saves_nothing(http, fast_sandbox, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(server_module, "process_csv", crash)
    response = submit_and_wait(http, fast_sandbox, f"{METRIC_ID},On Track,1,2026-01-13\n")
    assert response.status_code == 500
    assert "internal error" in response.text and "boom" not in response.text
    assert fast_sandbox.latest_updates() == []


# -- the HTTP edges ----------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_and_the_server_keeps_going(http):
    row = f"{METRIC_ID},On Track,1,2026-01-13\n".encode()
    with start_sandbox(api_key=KEY, processing_delay=0.0, max_body_bytes=len(row)) as sb:
        too_big = post(http, sb, row + b"x" * 5000)
        assert too_big.status_code == 413
        assert "too large" in too_big.text
        just_right = post(http, sb, row)
        assert just_right.status_code == 200


def raw_exchange(sb: Sandbox, request: bytes, read_timeout: float = 5.0) -> bytes:
    host, port = sb.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(request)
        return sock.recv(65536)


def test_a_post_without_content_length_is_411(sandbox):
    request = (
        "POST /api/progressupdates/x HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: API-KEY {KEY}\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n\r\n"
    ).encode()
    assert raw_exchange(sandbox, request).startswith(b"HTTP/1.1 411 ")


@pytest.mark.parametrize(
    ("key", "expected"),
    [(KEY, b"HTTP/1.1 100 Continue"), ("wrong", b"HTTP/1.1 401 ")],
)
def test_expect_continue_is_refused_before_the_body_is_sent(sandbox, key, expected):
    request = (
        "POST /api/progressupdates/x HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: API-KEY {key}\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    assert raw_exchange(sandbox, request).startswith(expected)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("my_updates", 200),
        ("Q3-updates-final_20261129-102233", 200),
        ("a" * 200, 200),
        ("a" * 201, 400),
        ("my%20updates", 400),
        ("", 400),
        ("a/b", 404),
    ],
)
def test_upload_names(http, sandbox, name, code):
    assert (
        post(http, sandbox, f"{METRIC_ID},On Track,1,2026-01-13\n", name=name).status_code == code
    )


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/api/nowhere", 404),
        ("GET", "/api/progressupdates/my_updates", 405),
        ("POST", "/api/progressupdates/status/abc", 405),
        ("PUT", "/api/progressupdates/my_updates", 405),
        ("DELETE", "/api/progressupdates/status/abc", 405),
        ("PATCH", "/", 405),
        ("POST", "/", 405),
    ],
)
def test_other_paths_and_methods(http, sandbox, method, path, code):
    response = http.request(method, sandbox.url + path, headers=AUTH, data=b"x", timeout=5)
    assert response.status_code == code


def test_a_full_queue_answers_503_with_retry_after(http):
    with start_sandbox(api_key=KEY, processing_delay=30.0, max_queue=1) as sb:
        codes = [post(http, sb, f"{METRIC_ID},On Track,1,2026-01-13\n") for _ in range(3)]
        refused = [r for r in codes if r.status_code == 503]
        assert refused, [r.status_code for r in codes]
        assert refused[0].headers["Retry-After"].isdigit()
        started = time.monotonic()
    assert time.monotonic() - started < 5  # closing does not wait out the processing delay


def test_healthz_needs_no_key(http, sandbox):
    response = http.get(sandbox.url + "/healthz", timeout=5)
    assert (response.status_code, response.text) == (200, "ok")


# -- the status page ---------------------------------------------------------------------------


def test_the_page_lists_the_plan_and_escapes_what_users_typed(http, fast_sandbox):
    comment = '<script>alert("x")</script> & more'
    quoted = '"' + comment.replace('"', '""') + '"'
    body = f"{METRIC_ID},At Risk,0.75,01/13/2026,{quoted}\n"
    assert submit_and_wait(http, fast_sandbox, body).status_code == 200
    page = http.get(fast_sandbox.url + "/", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    text = page.text
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in text
    assert '<meta http-equiv="refresh" content="5">' in text
    for item in DEMO_ITEMS:
        assert item.external_id in text and item.name in text
    row = re.search(r"<tr><td class=\"id\">ENG-0042</td>.*?</tr>", text)
    assert row is not None
    assert "At Risk" in row.group(0) and "0.75 %" in row.group(0) and "2026-01-13" in row.group(0)
    assert [u["comment"] for u in fast_sandbox.latest_updates()] == [comment]


def test_ad_hoc_ids_are_escaped_on_the_page(http):
    with start_sandbox(api_key=KEY, processing_delay=0.0, accept_any_id=True) as sb:
        assert submit_and_wait(http, sb, "<b>id</b>,On Track,,2026-01-13\n").status_code == 200
        text = http.get(sb.url + "/", timeout=5).text
    assert "<b>id</b>" not in text and "&lt;b&gt;id&lt;/b&gt;" in text


# -- persistence and lifecycle -----------------------------------------------------------------


def test_a_database_file_survives_a_restart(http, tmp_path):
    db = tmp_path / "sandbox.db"
    with start_sandbox(api_key=KEY, processing_delay=0.0, db_path=db) as sb:
        job_id = post(http, sb, f"{ZEROS_ID},Achieved,12,2026-03-01,kept\n").json()
        assert sb.wait_idle(5)
        before = sb.latest_updates()
    with start_sandbox(api_key=KEY, processing_delay=0.0, db_path=db) as sb:
        assert sb.latest_updates() == before
        assert before[0]["comment"] == "kept"
        assert (status(http, sb, job_id).status_code, status(http, sb, job_id).text) == (
            200,
            "Processed 1 progress update.",
        )
        assert sb.stats()["items"] == len(DEMO_ITEMS)  # seeded once


def test_a_job_lost_in_a_restart_reads_as_failed(http, tmp_path):
    db = tmp_path / "sandbox.db"
    with start_sandbox(api_key=KEY, processing_delay=30.0, db_path=db) as sb:
        job_id = post(http, sb, f"{METRIC_ID},On Track,1,2026-01-13\n").json()
    with start_sandbox(api_key=KEY, processing_delay=0.0, db_path=db) as sb:
        response = status(http, sb, job_id)
        assert response.status_code == 500
        assert "Send the file again" in response.text
        assert sb.latest_updates() == []


def port_is_free(url: str) -> bool:
    """Can a new server listen on this port? (SO_REUSEADDR, as servers do: closed connections
    may linger in TIME_WAIT, but no listener may remain.)"""
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
        return True


def test_close_frees_the_port_even_with_a_keep_alive_connection_open(http):
    sb = start_sandbox(api_key=KEY, processing_delay=0.0)
    assert http.get(sb.url + "/healthz", timeout=5).status_code == 200  # the session keeps it open
    assert not port_is_free(sb.url)
    started = time.monotonic()
    sb.close()
    assert time.monotonic() - started < 3
    assert port_is_free(sb.url)
    sb.close()  # twice is fine
    with pytest.raises(requests.ConnectionError):
        requests.get(sb.url + "/healthz", timeout=2)


def test_a_silent_client_is_dropped_and_others_are_served(http, monkeypatch):
    monkeypatch.setattr(server_module, "REQUEST_TIMEOUT", 0.3)
    with start_sandbox(api_key=KEY) as sb:
        host, port = sb.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\n")  # ...and never finishes
            assert http.get(sb.url + "/healthz", timeout=5).status_code == 200
            started = time.monotonic()
            assert slow.recv(1024) == b""  # the server hung up
            assert time.monotonic() - started < 3


def test_the_key_is_never_logged(http, capfd):
    with start_sandbox(api_key=KEY, processing_delay=0.0, verbose=True) as sb:
        post(http, sb, f"{METRIC_ID},On Track,1,2026-01-13\n")
        http.get(sb.url + "/api/progressupdates/status/x", headers={"Authorization": "API-KEY bad"})
        assert sb.wait_idle(5)
    captured = capfd.readouterr()
    assert "POST /api/progressupdates/updates" in captured.err  # verbose does log requests
    assert KEY not in captured.out + captured.err
    assert "bad" not in captured.out + captured.err


def run_serve_forever(**kwargs) -> tuple[str, threading.Event, threading.Thread, io.StringIO]:
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(
        target=serve_forever, args=("127.0.0.1", 0), kwargs={"out": out, "stop": stop, **kwargs}
    )
    thread.start()
    deadline = time.monotonic() + 5
    while "Press Ctrl+C" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    return out.getvalue(), stop, thread, out


def test_serve_forever_prints_a_generated_key_and_stops_cleanly(http):
    text, stop, thread, out = run_serve_forever(processing_delay=0.0)
    url = re.search(r"running at (http://\S+)", text).group(1)
    key = re.search(r"API key \(made up for this session only\): ([0-9a-f]{32})", text).group(1)
    ok = http.get(
        f"{url}/api/progressupdates/status/x", headers={"Authorization": f"API-KEY {key}"}
    )
    assert ok.status_code == 404  # the printed key is the one the server takes
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert out.getvalue().endswith("Sandbox stopped.\n")
    assert port_is_free(url)


def test_serve_forever_never_prints_a_given_key():
    text, stop, thread, out = run_serve_forever(api_key=KEY, processing_delay=0.0)
    stop.set()
    thread.join(5)
    assert "the one you gave (not shown)" in text
    assert "use the API key you gave with --api-key" in text
    assert "API key above" not in text  # no key is shown above
    assert KEY not in out.getvalue()


def test_serve_forever_points_to_a_generated_key_above():
    text, stop, thread, _ = run_serve_forever(processing_delay=0.0)
    stop.set()
    thread.join(5)
    assert "use the API key above" in text and "--api-key" not in text


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform == "win32", reason="POSIX")
def test_sigterm_stops_serve_forever_cleanly(tmp_path):
    code = (
        "from addin.sandbox import serve_forever; "
        f"serve_forever('127.0.0.1', 0, api_key={KEY!r}, processing_delay=0.0)"
    )
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE, text=True
    )
    killer = threading.Timer(20, proc.kill)  # never hang the test run
    killer.start()
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl+C" in line:
                break
        url = re.search(r"running at (http://\S+)", "".join(lines)).group(1)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=10)
    finally:
        killer.cancel()
    assert proc.returncode == 0  # not killed by the signal (-15)
    assert rest.endswith("Stopping the sandbox...\nSandbox stopped.\n")
    assert port_is_free(url)


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="no SIGTERM")
def test_serve_forever_puts_the_sigterm_handler_back():
    assert threading.current_thread() is threading.main_thread()

    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        stop = threading.Event()
        stop.set()
        out = io.StringIO()
        serve_forever("127.0.0.1", 0, api_key=KEY, out=out, stop=stop)
        assert signal.getsignal(signal.SIGTERM) is mine
        assert out.getvalue().endswith("Sandbox stopped.\n")
        assert "Stopping the sandbox" not in out.getvalue()  # only said for Ctrl+C / SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- the CSV reader on its own (properties) ----------------------------------------------------

ITEMS = {item.external_id: item.has_metric for item in DEMO_ITEMS}


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_any_comment_text_survives(comment):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(HEADER.strip().split(",")))
    writer.writerow([METRIC_ID, "On Track", "0.5", "2026-01-13", comment])
    writer.writerow([PLAIN_ID, "Achieved", "", "2026-01-14", "after"])
    outcome = process_csv(buffer.getvalue().encode("utf-8"), ITEMS)
    assert outcome.ok, outcome.summary()
    assert [u.comment for u in outcome.updates] == [comment, "after"]


@given(st.dates(min_value=dt.date(1000, 1, 1)))
def test_every_real_date_reads_back_in_each_accepted_form(day):
    year, week, weekday = day.isocalendar()  # the ISO year differs near New Year
    ordinal = day.timetuple().tm_yday
    forms = [
        day.isoformat(),
        f"{day:%Y%m%d}",
        f"{day.month:02d}/{day.day:02d}/{day.year:04d}",
        f"{day.isoformat()}T12:00:00",
        f"{year:04d}-W{week:02d}-{weekday}",
        f"{year:04d}W{week:02d}{weekday}T1200",
        f"{day.year:04d}-{ordinal:03d}",
        f"{day.year:04d}{ordinal:03d}",
        f"{day.year:04d}-{ordinal:03d} 12:00",
    ]
    assert {parse_as_of(form) for form in forms} == {day}


@given(st.sampled_from(STATUSES), st.randoms())
def test_status_capitalisation_never_matters(status_name, rnd):
    scrambled = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in status_name)
    outcome = process_csv(f"{PLAIN_ID},{scrambled},,2026-01-13\n".encode(), ITEMS)
    assert [u.status for u in outcome.updates] == [status_name]


# -- what a rehearsal needs to see: repeats and counts ----------------------------------------


def test_stats_count_updates_and_repeats_without_a_key(http, fast_sandbox):
    sb = fast_sandbox
    first = f"{METRIC_ID},On Track,0.5,2026-03-01,ok\n{PLAIN_ID},At Risk,,2026-03-01,late\n"
    assert submit_and_wait(http, sb, HEADER + first).status_code == 200
    # The same two again (a resend), plus a correction of one of them for the same date.
    again = first + f"{PLAIN_ID},Off Track,,2026-03-01,later\n{PLAIN_ID},At Risk,,2026-03-08,x\n"
    assert submit_and_wait(http, sb, HEADER + again).status_code == 200
    response = http.get(sb.url + "/stats", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "items": len(DEMO_ITEMS),
        "jobs": 2,
        "succeeded": 2,
        "failed": 0,
        "processing": 0,
        "updates": 6,
        "duplicates": 3,  # two resent, one corrected for a date already reported
        "identical": 2,
    }
    assert response.json() == sb.stats()


def test_the_page_marks_an_update_that_repeats_an_earlier_one(http, fast_sandbox):
    sb = fast_sandbox
    line = f"{METRIC_ID},On Track,0.5,2026-03-01,ok\n"
    assert submit_and_wait(http, sb, HEADER + line).status_code == 200
    assert submit_and_wait(http, sb, HEADER + line).status_code == 200
    edited = line.replace("On Track", "At Risk")
    assert submit_and_wait(http, sb, HEADER + edited).status_code == 200
    page = http.get(sb.url + "/", timeout=5).text
    first = sb.recent_updates()[-1]["id"]
    assert page.count(f"duplicate of update {first} (identical)") == 1
    assert page.count(f"duplicate of update {first} (changed)") == 1
    assert [u["duplicate_of"] for u in sb.recent_updates()] == [first, first, None]
