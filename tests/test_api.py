"""The AchieveIt client over real sockets: a scripted fault server for the faults, and the
local sandbox for the happy path end to end. Sleep and clock are injected, so waits are instant."""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import json
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addin.api import (
    JobState,
    JobStatus,
    ProgressUpdatesClient,
    Submission,
    resolve_base_url,
    upload_name,
)
from addin.errors import ApiError, AuthError, ConfigError, JobTimeout, NetworkError
from tests.faultserver import FaultServer, Received, Reply, closed_port

KEY = "12004478285f4f4eb21cd25e62ba5eb7"
JOB = "2bf2dda7-2aa4-4345-b6a8-8070d6ceec39"
CSV = (
    b"External ID,Status,Current Metric Value,As Of Date,Comment\r\n"
    b"ENG-0042,On Track,0.2,2026-11-01,ok\r\n"
)
NAME = "Q3-updates_20261129-102233"
FAST = (0.5, 0.5)  # (connect, read) seconds: for servers that never answer


class FakeTime:
    """A clock that only moves when the client sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_client(url: str, fake_time: FakeTime, **kwargs) -> ProgressUpdatesClient:
    kwargs.setdefault("timeout", (2.0, 5.0))
    return ProgressUpdatesClient(url, KEY, sleep=fake_time.sleep, clock=fake_time.clock, **kwargs)


# --------------------------------------------------------------------------- resolve_base_url


@pytest.mark.parametrize(
    ("subdomain", "base_url", "expected"),
    [
        (None, None, "https://api.achieveit.com"),
        ("", "", "https://api.achieveit.com"),
        ("gov-api", None, "https://gov-api.achieveit.com"),
        ("  GOV-API ", None, "https://gov-api.achieveit.com"),
        ("api.achieveit.com", None, "https://api.achieveit.com"),
        ("https://gov-api.achieveit.com/", None, "https://gov-api.achieveit.com"),
        ("http://api.achieveit.com", None, "https://api.achieveit.com"),
        ("gov-api", "https://example.test/", "https://example.test"),
        (None, "http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        (None, "http://127.9.8.7", "http://127.9.8.7"),
        (None, "http://localhost:9000", "http://localhost:9000"),
        (None, "http://[::1]:8080/", "http://[::1]:8080"),
        (None, " HTTPS://API.AchieveIt.com/base/ ", "https://api.achieveit.com/base"),
    ],
)
def test_resolve_base_url(subdomain, base_url, expected):
    assert resolve_base_url(subdomain, base_url) == expected


@pytest.mark.parametrize(
    ("subdomain", "base_url", "fragment"),
    [
        ("-api", None, "is not valid"),
        ("api-", None, "is not valid"),
        ("my_tenant", None, "is not valid"),
        ("a" * 64, None, "is not valid"),
        ("api.example.com", None, "is a web address, not an API subdomain"),
        ("https://achieveit.com", None, "is a web address"),
        (None, "http://api.achieveit.com", "plain http://"),
        (None, "http://10.0.0.1:8765", "plain http://"),
        (None, "api.achieveit.com", "must start with https://"),
        (None, "ftp://api.achieveit.com", "must start with https://"),
        (None, "https://", "no valid host"),
        (None, "https://bad host.com", "no valid host"),
        (None, "https://api.achieveit.com/?tenant=1", "must not contain '?' or '#'"),
        (None, "https://api.achieveit.com#top", "must not contain '?' or '#'"),
        (None, "https://me:secret@api.achieveit.com", "user name or password"),
        (None, "https://api.achieveit.com:99999", "not a valid web address"),
    ],
)
def test_resolve_base_url_refuses(subdomain, base_url, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        resolve_base_url(subdomain, base_url)


@pytest.mark.parametrize(
    "url",
    ["https://me:secret@api.achieveit.com", "ftp://me:secret@x", "https://me:secret@:99999"],
)
def test_credentials_in_base_url_are_not_echoed(url):
    with pytest.raises(ConfigError, match="user name or password") as info:
        resolve_base_url(None, url)
    assert "secret" not in str(info.value)


@given(st.text(max_size=80))
def test_any_subdomain_gives_an_achieveit_url_or_config_error(text):
    try:
        url = resolve_base_url(text)
    except ConfigError as exc:
        assert str(exc)
    else:
        assert re.fullmatch(r"https://[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.achieveit\.com", url)


# --------------------------------------------------------------------------- upload_name

WHEN = dt.datetime(2026, 11, 29, 10, 22, 33)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Q3-updates.xlsx", "Q3-updates_20261129-102233"),
        ("C:\\Users\\Ann\\Plans\\Q3 updates (final).xlsm", "Q3-updates-final_20261129-102233"),
        ("/home/ann/Übersicht Café.csv", "Ubersicht-Cafe_20261129-102233"),
        ("Straße Ørsted Łódź.xlsx", "Strasse-Orsted-Lodz_20261129-102233"),
        ("report.v2.final.xlsx", "report-v2-final_20261129-102233"),
        ("a__b--c - d.xlsx", "a_b-c-d_20261129-102233"),
        ("no_extension", "no_extension_20261129-102233"),
        ("", "progress-updates_20261129-102233"),
        ("日本語.xlsx", "progress-updates_20261129-102233"),
        ("-_-.xlsx", "progress-updates_20261129-102233"),
        ("x" * 200 + ".xlsx", "x" * 64 + "_20261129-102233"),
    ],
)
def test_upload_name(source, expected):
    assert upload_name(source, WHEN) == expected


@given(st.text(), st.datetimes())
def test_upload_name_is_always_url_safe(source, when):
    name = upload_name(source, when)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,100}", name)
    assert name.endswith(when.strftime("_%Y%m%d-%H%M%S"))


# --------------------------------------------------------------------------- submit: success


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (JOB, "text/plain", JOB),
        (f"  {JOB}\r\n", "text/plain", JOB),
        (f"\ufeff{JOB}", "text/plain; charset=utf-8", JOB),
        (f'"{JOB}"', "application/json", JOB),
        (f'{{"jobId": "{JOB}"}}', "application/json", JOB),
        (f'{{"JobId": "{JOB}", "status": "queued"}}', "application/json", JOB),
        (f'{{"job_id": "{JOB}"}}', "application/json", JOB),
        (f'{{"jobID": "{JOB}"}}', "application/json", JOB),
        (f'{{"name": "x", "id": "{JOB}"}}', "application/json", JOB),
        ('{"Id": 12345}', "application/json", "12345"),
        (f'{{"data": {{"jobId": "{JOB}"}}}}', "application/json", JOB),
    ],
)
def test_submit_reads_the_job_id_in_every_format(server, fake_time, body, content_type, expected):
    server.script(Reply(200, body, {"Content-Type": content_type}))
    with make_client(server.url, fake_time) as client:
        result = client.submit(CSV, NAME)
    url = f"{server.url}/api/progressupdates/{NAME}"
    assert result == Submission(expected, 200, body, url)
    [received] = server.received
    assert received.method == "POST"
    assert received.path == f"/api/progressupdates/{NAME}"
    assert received.body == CSV
    assert received.headers["authorization"] == f"API-KEY {KEY}"
    assert received.headers["content-type"] == "text/csv; charset=utf-8"
    assert received.headers["user-agent"].startswith("achieveit-progress-updates/")
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    "body", ["", "   ", "<html><body><h1>Welcome</h1></body></html>", '{"status": "ok"}', "ok!?"]
)
def test_submit_200_without_job_id_may_be_queued(server, fake_time, body):
    server.script(Reply(200, body))
    with pytest.raises(ApiError) as info, make_client(server.url, fake_time) as client:
        client.submit(CSV, NAME)
    assert info.value.maybe_queued is True
    assert info.value.http_status == 200
    assert "no Job ID" in str(info.value) and "before sending again" in str(info.value)
    assert "<h1>" not in str(info.value)
    assert len(server.received) == 1


@pytest.mark.parametrize("name", ["", "my updates", "a/b", "../x", "x" * 101, "ü", "abc\n"])
def test_submit_refuses_unsafe_names_before_sending(server, fake_time, name):
    with pytest.raises(ConfigError), make_client(server.url, fake_time) as client:
        client.submit(CSV, name)
    assert server.received == []


# --------------------------------------------------------------------------- submit: failures


@pytest.mark.parametrize(
    ("reply", "error_type", "maybe_queued", "fragment"),
    [
        (Reply(401, "Unauthorized"), AuthError, False, "rejected the API key (401)"),
        (Reply(403, "Forbidden"), AuthError, False, "lacks permission"),
        (Reply(404, "nope"), ApiError, False, "the API subdomain or base URL is probably wrong"),
        (Reply(413, "too big"), ApiError, False, "too large for AchieveIt (413)"),
        (Reply(429, "", {"Retry-After": "17"}), ApiError, False, "wait 17 seconds"),
        (Reply(429, "slow down"), ApiError, False, "wait a minute"),
        (Reply(400, "Row 3: unknown status"), ApiError, False, "(400): Row 3: unknown status"),
        (Reply(422, '{"message": "bad CSV"}'), ApiError, False, "(422): bad CSV"),
        (Reply(500, "boom"), ApiError, True, "may or may not have been queued"),
        (Reply(502, "Bad gateway"), ApiError, True, "server error (502)"),
        (Reply(503, ""), ApiError, True, "server error (503)"),
        (Reply(301, "", {"Location": "/elsewhere"}), ApiError, False, "base URL is probably wrong"),
        (Reply(302, "", {"Location": "/login"}), ApiError, False, "http:// instead of"),
        (Reply(303, "", {"Location": "/x"}), ApiError, False, "empty GET"),
    ],
)
def test_submit_failures(server, fake_time, reply, error_type, maybe_queued, fragment):
    server.script(reply)
    with pytest.raises(error_type) as info, make_client(server.url, fake_time) as client:
        client.submit(CSV, NAME)
    assert type(info.value) is error_type
    assert info.value.maybe_queued is maybe_queued
    assert info.value.http_status == reply.status
    assert fragment in str(info.value)
    assert len(server.received) == 1  # a POST is never repeated
    assert fake_time.sleeps == []


def test_submit_404_names_the_url(server, fake_time):
    server.script(Reply(404))
    with pytest.raises(ApiError) as info, make_client(server.url, fake_time) as client:
        client.submit(CSV, NAME)
    assert f"Not found at {server.url}/api/progressupdates/{NAME}" in str(info.value)


def test_server_text_is_trimmed_and_stripped_of_html(server, fake_time):
    page = (
        "<html><head><title>t</title><style>p{}</style></head><body><h1>Bad &amp; worse</h1>"
        "<script>alert(1)</script><p>" + "x" * 2000 + "</p></body></html>"
    )
    server.script(Reply(400, page, {"Content-Type": "text/html"}))
    with pytest.raises(ApiError) as info, make_client(server.url, fake_time) as client:
        client.submit(CSV, NAME)
    message = str(info.value)
    assert "Bad & worse" in message
    assert "<" not in message and "alert" not in message and "p{}" not in message
    assert len(message) < 450 and message.endswith("…")


@pytest.mark.parametrize(
    ("reply", "what"),
    [
        (Reply(hang=True), "timed out"),
        (Reply(drop=True), "was cut off"),
        (Reply(200, JOB, chunk_delay=0.8), "timed out"),  # the answer stalls mid-body
    ],
)
def test_submit_without_an_answer_may_be_queued_and_is_not_retried(server, fake_time, reply, what):
    server.script(reply, Reply(200, "second-job"))
    with pytest.raises(ApiError) as info, make_client(server.url, fake_time, timeout=FAST) as c:
        c.submit(CSV, NAME)
    assert info.value.maybe_queued is True
    assert what in str(info.value)
    assert "Do not send again until you have checked in AchieveIt" in str(info.value)
    assert [r.method for r in server.received] == ["POST"]
    assert fake_time.sleeps == []


def test_submit_to_a_closed_port_is_not_submitted(fake_time):
    port = closed_port()
    with (
        pytest.raises(NetworkError) as info,
        make_client(f"http://127.0.0.1:{port}", fake_time) as client,
    ):
        client.submit(CSV, NAME)
    assert info.value.maybe_queued is False
    assert f"Can't reach 127.0.0.1:{port}" in str(info.value)
    assert "not submitted" in str(info.value)
    assert fake_time.sleeps == []


def test_dns_failure_names_the_host_and_the_subdomain_setting(monkeypatch, fake_time):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with (
        pytest.raises(NetworkError) as info,
        make_client(resolve_base_url("gov-apx"), fake_time) as client,
    ):
        client.submit(CSV, NAME)
    message = str(info.value)
    assert message.startswith("Can't find gov-apx.achieveit.com: check the API subdomain")
    assert "'gov-api' for government" in message
    assert info.value.maybe_queued is False


def test_proxy_failure_mentions_the_proxy(monkeypatch, server, fake_time):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(NetworkError) as info, make_client(server.url, fake_time) as client:
        client.submit(CSV, NAME)
    assert "proxy" in str(info.value) and "HTTPS_PROXY" in str(info.value)
    assert info.value.maybe_queued is False
    assert server.received == []


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[FaultServer, Path]]:
    """An https server on 127.0.0.1 with a throwaway self-signed certificate (and its path)."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    with FaultServer(ssl_context=context) as server:
        yield server, cert_path


def test_untrusted_certificate_explains_corporate_tls(tls_server, fake_time):
    server, _ = tls_server
    assert server.url.startswith("https://127.0.0.1:")
    with pytest.raises(NetworkError) as info, make_client(server.url, fake_time) as client:
        client.submit(CSV, NAME)
    message = str(info.value)
    assert "certificate verification failed" in message
    assert "certificate store" in message and "company root certificate" in message
    assert info.value.maybe_queued is False
    assert server.received == []


def test_https_to_a_plain_http_server_is_a_tls_failure(server, fake_time):
    https_url = server.url.replace("http://", "https://")
    with pytest.raises(NetworkError) as info, make_client(https_url, fake_time) as client:
        client.status(JOB)
    assert "TLS could not be set up" in str(info.value)
    assert fake_time.sleeps == []  # retrying would not help


def test_own_session_trusts_the_os_store_and_an_injected_session_is_used_as_is(
    tls_server, fake_time, monkeypatch
):
    # On Linux the OS store is OpenSSL's default paths, which SSL_CERT_FILE points elsewhere:
    # the stand-in for a company root certificate installed by IT. requests' own CA bundle
    # (certifi) ignores it, so only a client that verifies with truststore gets through.
    server, cert_path = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    server.script(Reply(200, JOB))
    with make_client(server.url, fake_time) as client:
        assert client.submit(CSV, NAME).job_id == JOB
    with requests.Session() as plain, pytest.raises(NetworkError, match="certificate"):
        make_client(server.url, fake_time, session=plain).submit(CSV, NAME)
    assert len(server.received) == 1


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("code", [307, 308])
def test_submit_follows_307_308_on_the_same_host_keeping_method_body_and_key(
    server, fake_time, code
):
    server.script(Reply(code, "", {"Location": "/v2/api/progressupdates/moved"}), Reply(200, JOB))
    with make_client(server.url, fake_time) as client:
        result = client.submit(CSV, NAME)
    assert result.job_id == JOB
    first, second = server.received
    assert (second.method, second.path, second.body) == (
        "POST",
        "/v2/api/progressupdates/moved",
        CSV,
    )
    assert first.headers["authorization"] == second.headers["authorization"] == f"API-KEY {KEY}"


def test_status_follows_a_same_host_redirect(server, fake_time):
    server.script(Reply(301, "", {"Location": f"{server.url}/new/{JOB}"}), Reply(200, "done"))
    with make_client(server.url, fake_time) as client:
        assert client.status(JOB).state is JobState.SUCCEEDED
    assert [r.path for r in server.received] == [
        f"/api/progressupdates/status/{JOB}",
        f"/new/{JOB}",
    ]


@pytest.mark.parametrize("method", ["submit", "status"])
def test_redirect_to_another_host_is_refused_and_the_key_not_sent(server, fake_time, method):
    with FaultServer() as other:
        server.script(Reply(307, "", {"Location": f"{other.url}/api/progressupdates/x"}))
        with pytest.raises(ApiError) as info, make_client(server.url, fake_time) as client:
            client.submit(CSV, NAME) if method == "submit" else client.status(JOB)
        assert other.received == []  # never contacted, so it never saw the key
    assert "redirected the request" in str(info.value) and "another host" in str(info.value)
    assert "API key was not sent" in str(info.value)
    assert info.value.maybe_queued is False
    assert len(server.received) == 1


def test_endless_redirects_stop(server, fake_time):
    server.respond_with(lambda r: Reply(307, "", {"Location": r.path}))
    with (
        pytest.raises(ApiError, match="more than 5 times"),
        make_client(server.url, fake_time) as client,
    ):
        client.submit(CSV, NAME)
    assert len(server.received) == 6


# --------------------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("reply", "state", "message", "body"),
    [
        (Reply(202, ""), JobState.PROCESSING, "Processing…", ""),
        (Reply(202, "Queued"), JobState.PROCESSING, "Queued", "Queued"),
        (Reply(200, ""), JobState.SUCCEEDED, "Processed.", ""),
        (
            Reply(200, '{"message": "3 updates applied"}'),
            JobState.SUCCEEDED,
            "3 updates applied",
            "message: 3 updates applied",
        ),
        (
            Reply(400, "Row 2: External ID 'X-1' not found"),
            JobState.FAILED,
            "Row 2: External ID 'X-1' not found",
            "Row 2: External ID 'X-1' not found",
        ),
        (
            Reply(500, "<html><body><h1>Error</h1><p>Bad &amp; worse</p></body></html>"),
            JobState.FAILED,
            "Error Bad & worse",
            "Error\nBad & worse",
        ),
        (
            Reply(500, ""),
            JobState.FAILED,
            "AchieveIt could not process the updates (500) and gave no reason.",
            "",
        ),
        (
            Reply(400, "é".encode("latin-1"), {"Content-Type": "text/plain; charset=latin-1"}),
            JobState.FAILED,
            "é",
            "é",
        ),
    ],
)
def test_status_codes_map_to_job_states(server, fake_time, reply, state, message, body):
    server.script(reply)
    with make_client(server.url, fake_time) as client:
        result = client.status(JOB)
    assert result == JobStatus(JOB, state, reply.status, message, body)
    [received] = server.received  # 500 is a job outcome: asked once, not retried
    assert (received.method, received.path) == ("GET", f"/api/progressupdates/status/{JOB}")
    assert received.headers["authorization"] == f"API-KEY {KEY}"
    assert fake_time.sleeps == []


def test_status_message_is_trimmed(server, fake_time):
    server.script(Reply(400, "y" * 5000))
    with make_client(server.url, fake_time) as client:
        message = client.status(JOB).message
    assert len(message) == 300 and message.endswith("…")


IDS = [f"ENG-{n:04d}" for n in range(1, 11)]
LINES = [
    f"Row {n + 2} (External ID {i}): status 'Done' is not a valid status."
    for n, i in enumerate(IDS)
]
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>x</title><style>p {}</style></head><body>\n"
    "<h1>Import\n failed</h1><ul>"
    + "".join(f"<li>{line.replace(chr(39), '&#39;')}</li>\n" for line in LINES)
    + "</ul></body></html>"
)
JSON_LIST = json.dumps({"message": "Import failed", "errors": LINES})
JSON_RECORDS = json.dumps(
    {"errors": [{"externalId": i, "row": n + 2, "error": "bad status"} for n, i in enumerate(IDS)]}
)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(400, "\r\n".join(LINES) + "\r\n"), LINES),
        (Reply(500, "\n".join(LINES)), LINES),
        (Reply(400, "\n\n".join(LINES), {"Content-Type": "text/plain; charset=utf-16"}), LINES),
        (Reply(400, HTML_PAGE, {"Content-Type": "text/html"}), ["Import failed", *LINES]),
        (
            Reply(400, JSON_LIST, {"Content-Type": "application/json"}),
            ["message: Import failed", *LINES],
        ),
        (
            Reply(400, JSON_RECORDS, {"Content-Type": "application/json"}),
            [f"externalId: {i}, row: {n + 2}, error: bad status" for n, i in enumerate(IDS)],
        ),
    ],
    ids=["crlf", "lf", "utf-16-blank-lines", "html", "json-strings", "json-records"],
)
def test_a_failed_job_keeps_every_line_in_body(server, fake_time, reply, expected):
    if "utf-16" in reply.headers.get("Content-Type", ""):
        reply = Reply(reply.status, str(reply.body).encode("utf-16"), reply.headers)
    server.script(reply)
    with make_client(server.url, fake_time) as client:
        result = client.status(JOB)
    assert result.state is JobState.FAILED
    assert result.body.splitlines() == expected
    assert all(any(i in line for line in result.body.splitlines()) for i in IDS)
    # The message stays the short one-line summary for alerts.
    assert "\n" not in result.message and len(result.message) <= 300


def test_body_keeps_text_that_only_looks_like_a_tag(server, fake_time):
    server.script(Reply(400, "Row 2 (External ID <X-1>): bad\nRow 3 (External ID Y-2): bad"))
    with make_client(server.url, fake_time) as client:
        body = client.status(JOB).body
    assert body.splitlines() == ["Row 2 (External ID <X-1>): bad", "Row 3 (External ID Y-2): bad"]


def test_body_is_capped(server, fake_time):
    server.script(Reply(400, ("x" * 99 + "\n") * 2000))  # 200,000 characters
    with make_client(server.url, fake_time) as client:
        body = client.status(JOB).body
    assert len(body) == 100_000 and body.endswith("…")
    assert body.splitlines()[:2] == ["x" * 99, "x" * 99]


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        (f"Row 1: bad\nyou sent API-KEY {KEY}\nRow 3: bad", "text/plain"),
        (
            "<html><body><p>Row 1: bad</p><p>key "
            + "".join(f"&#{ord(c)};" for c in KEY)
            + "</p><p>Row 3: bad</p></body></html>",
            "text/html",
        ),
        (
            json.dumps(["Row 1: bad", f"key {KEY}", "Row 3: bad"]).replace(
                KEY,
                KEY[0] + "\\u0032" + KEY[2:],  # the "2" as a JSON escape
            ),
            "application/json",
        ),
    ],
    ids=["plain", "html-entities", "json-escapes"],
)
def test_body_never_holds_the_key(server, fake_time, text, content_type):
    server.script(Reply(400, text, {"Content-Type": content_type}))
    with make_client(server.url, fake_time) as client:
        result = client.status(JOB)
    assert (KEY in text) == (content_type == "text/plain")  # else only unescaping spells it out
    assert KEY not in result.body and KEY not in repr(result)
    assert len(result.body.splitlines()) == 3
    assert "[API key hidden]" in result.body


@pytest.mark.parametrize(
    ("reply", "error_type", "fragment"),
    [
        (Reply(401), AuthError, "rejected the API key (401)"),
        (Reply(403, "no access"), AuthError, "lacks permission"),
        (Reply(404), ApiError, f"AchieveIt doesn't know job {JOB}"),
        (Reply(418, "teapot"), ApiError, "unexpected 418: teapot"),
    ],
)
def test_status_errors(server, fake_time, reply, error_type, fragment):
    server.script(reply)
    with pytest.raises(error_type) as info, make_client(server.url, fake_time) as client:
        client.status(JOB)
    assert type(info.value) is error_type
    assert fragment in str(info.value)
    assert len(server.received) == 1


@pytest.mark.parametrize("job_id", ["", "a/b", "../x", "..", "a b", "id?x=1", "ü", "x" * 201])
def test_status_refuses_odd_job_ids_before_sending(server, fake_time, job_id):
    with (
        pytest.raises(ConfigError, match="is not a Job ID"),
        make_client(server.url, fake_time) as client,
    ):
        client.status(job_id)
    assert server.received == []


def test_status_quotes_nothing_it_does_not_need_to(server, fake_time):
    server.script(Reply(202))
    with make_client(server.url, fake_time) as client:
        client.status("job_1.2-x")
    assert server.received[0].path == "/api/progressupdates/status/job_1.2-x"


# --------------------------------------------------------------------------- status retries


def test_status_honours_retry_after_seconds(server, fake_time):
    server.script(
        Reply(429, "", {"Retry-After": "7"}), Reply(429, "", {"Retry-After": "3"}), Reply(200)
    )
    with make_client(server.url, fake_time) as client:
        assert client.status(JOB).state is JobState.SUCCEEDED
    assert fake_time.sleeps == [7.0, 3.0]
    assert len(server.received) == 3


def test_status_honours_retry_after_http_date(server, fake_time):
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20), True)
    server.script(Reply(503, "", {"Retry-After": when}), Reply(202))
    with make_client(server.url, fake_time) as client:
        assert client.status(JOB).state is JobState.PROCESSING
    [delay] = fake_time.sleeps
    assert 15 <= delay <= 20


def test_status_caps_a_huge_retry_after(server, fake_time):
    server.script(Reply(429, "", {"Retry-After": "3600"}), Reply(200))
    with make_client(server.url, fake_time) as client:
        client.status(JOB)
    assert fake_time.sleeps == [60.0]


def test_status_retries_gateway_errors_with_backoff(server, fake_time):
    server.script(Reply(502), Reply(503), Reply(504), Reply(200, "all done"))
    with make_client(server.url, fake_time) as client:
        assert client.status(JOB) == JobStatus(JOB, JobState.SUCCEEDED, 200, "all done", "all done")
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (Reply(503, "down"), "not answering properly right now (503)"),
        (Reply(429, "", {"Retry-After": "5"}), "rate-limiting status checks; wait 5 seconds"),
    ],
)
def test_status_gives_up_after_its_retries(server, fake_time, reply, fragment):
    server.respond_with(lambda r: reply)
    with (
        pytest.raises(ApiError) as info,
        make_client(server.url, fake_time, status_retries=2) as client,
    ):
        client.status(JOB)
    assert fragment in str(info.value) and JOB in str(info.value)
    assert info.value.http_status == reply.status
    assert len(server.received) == 3
    assert len(fake_time.sleeps) == 2


def test_status_retries_a_read_timeout_then_reports_it(server, fake_time):
    server.respond_with(lambda r: Reply(hang=True))
    with (
        pytest.raises(NetworkError, match="did not answer in time") as info,
        make_client(server.url, fake_time, timeout=FAST, status_retries=1) as client,
    ):
        client.status(JOB)
    assert "job itself is not affected" in str(info.value)
    assert len(server.received) == 2
    assert fake_time.sleeps == [1.0]


def test_status_retries_a_dropped_connection(server, fake_time):
    server.script(Reply(drop=True), Reply(202, "still going"))
    with make_client(server.url, fake_time) as client:
        assert client.status(JOB).message == "still going"
    assert fake_time.sleeps == [1.0]


def test_status_retries_a_refused_connection_then_reports_it(fake_time):
    port = closed_port()
    with (
        pytest.raises(NetworkError, match=f"Can't reach 127.0.0.1:{port}"),
        make_client(f"http://127.0.0.1:{port}", fake_time, status_retries=3) as client,
    ):
        client.status(JOB)
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


# --------------------------------------------------------------------------- wait


def test_wait_polls_with_growing_intervals_and_reports_progress(server, fake_time):
    server.script(Reply(202), Reply(202, "halfway"), Reply(202), Reply(200, "done"))
    seen: list[tuple[JobState, str, float]] = []
    with make_client(server.url, fake_time) as client:
        result = client.wait(
            JOB, timeout=60, on_progress=lambda s, t: seen.append((s.state, s.message, t))
        )
    assert result == JobStatus(JOB, JobState.SUCCEEDED, 200, "done", "done")
    assert fake_time.sleeps == [1.0, 1.5, 2.25]
    assert seen == [
        (JobState.PROCESSING, "Processing…", 0.0),
        (JobState.PROCESSING, "halfway", 1.0),
        (JobState.PROCESSING, "Processing…", 2.5),
        (JobState.SUCCEEDED, "done", 4.75),
    ]


def test_wait_caps_the_interval(server, fake_time):
    server.script(Reply(202), Reply(202), Reply(202), Reply(400, "Row 4 is bad"))
    with make_client(server.url, fake_time) as client:
        result = client.wait(JOB, timeout=600, first_interval=4, max_interval=6)
    assert result == JobStatus(JOB, JobState.FAILED, 400, "Row 4 is bad", "Row 4 is bad")
    assert fake_time.sleeps == [4.0, 6.0, 6.0]


def test_wait_times_out_without_sleeping_past_the_deadline(server, fake_time):
    server.respond_with(lambda r: Reply(202))
    with pytest.raises(JobTimeout) as info, make_client(server.url, fake_time) as client:
        client.wait(JOB, timeout=10)
    assert info.value.job_id == JOB
    assert JOB in str(info.value) and "Do not send it again" in str(info.value)
    assert fake_time.sleeps == [1.0, 1.5, 2.25, 3.375, pytest.approx(1.875)]
    assert sum(fake_time.sleeps) == pytest.approx(10.0)
    assert len(server.received) == 6  # one last look at the deadline


def test_wait_with_zero_timeout_polls_once(server, fake_time):
    server.respond_with(lambda r: Reply(202))
    with pytest.raises(JobTimeout), make_client(server.url, fake_time) as client:
        client.wait(JOB, timeout=0)
    assert len(server.received) == 1 and fake_time.sleeps == []


# --------------------------------------------------------------------------- deadlines


def test_status_retries_stop_at_the_deadline(server, fake_time):
    server.respond_with(lambda r: Reply(503, "down"))
    with (
        pytest.raises(ApiError, match=r"not answering properly right now \(503\)") as info,
        make_client(server.url, fake_time) as client,
    ):
        client.status(JOB, deadline=fake_time.now + 5)
    assert type(info.value) is ApiError and info.value.http_status == 503
    assert fake_time.sleeps == [1.0, 2.0, 2.0]  # the backoff of 4 s is cut to the 2 s left
    assert len(server.received) == 4  # the last one at the deadline


def test_status_gives_up_at_once_when_retry_after_outlasts_the_deadline(server, fake_time):
    server.respond_with(lambda r: Reply(429, "", {"Retry-After": "30"}))
    with (
        pytest.raises(ApiError, match="wait 30 seconds"),
        make_client(server.url, fake_time) as client,
    ):
        client.status(JOB, deadline=fake_time.now + 10)
    assert fake_time.sleeps == [] and len(server.received) == 1


def test_status_honours_a_retry_after_that_fits_before_the_deadline(server, fake_time):
    server.script(Reply(429, "", {"Retry-After": "3"}), Reply(200, "done"))
    with make_client(server.url, fake_time) as client:
        assert client.status(JOB, deadline=fake_time.now + 10).state is JobState.SUCCEEDED
    assert fake_time.sleeps == [3.0]


def test_status_past_its_deadline_still_asks_once(server, fake_time):
    server.script(Reply(200, "done"), Reply(400, "bad"))
    with make_client(server.url, fake_time) as client:
        assert client.status(JOB, deadline=fake_time.now - 100).state is JobState.SUCCEEDED
        assert client.status(JOB, deadline=fake_time.now).state is JobState.FAILED
    assert fake_time.sleeps == []


@pytest.mark.parametrize(("seconds", "low", "high"), [(1.0, 0.9, 2.5), (-5.0, 0.4, 1.5)])
def test_status_read_timeout_is_cut_to_the_time_left(server, seconds, low, high):
    # Real clock: the client's own read timeout (60 s) would block far longer.
    server.respond_with(lambda r: Reply(hang=True))
    started = time.monotonic()
    with (
        pytest.raises(NetworkError, match="did not answer in time"),
        ProgressUpdatesClient(server.url, KEY) as client,
    ):
        client.status(JOB, deadline=time.monotonic() + seconds)
    assert low <= time.monotonic() - started < high  # at least MIN_REQUEST_SECONDS per request


def test_wait_returns_a_definite_answer_that_came_at_the_deadline(server, fake_time):
    server.script(Reply(503), Reply(503), Reply(400, "Row 2 (External ID X-1): bad"))
    with make_client(server.url, fake_time) as client:
        result = client.wait(JOB, timeout=2)
    assert (result.state, result.body) == (JobState.FAILED, "Row 2 (External ID X-1): bad")
    assert fake_time.sleeps == [1.0, 1.0]


def test_wait_turns_faults_at_the_deadline_into_a_timeout(server, fake_time):
    replies = iter([Reply(202)])
    server.respond_with(lambda r: next(replies, Reply(503, "down")))
    with pytest.raises(JobTimeout) as info, make_client(server.url, fake_time) as client:
        client.wait(JOB, timeout=10)
    assert info.value.job_id == JOB
    message = str(info.value)
    assert "within the 10 seconds allowed" in message and "(503)" in message
    assert "Do not send it again" in message
    assert sum(fake_time.sleeps) == pytest.approx(10.0)
    assert isinstance(info.value.__cause__, ApiError)


@pytest.mark.parametrize(
    ("reply", "error_type"),
    [(Reply(404), ApiError), (Reply(401), AuthError)],
)
def test_wait_passes_on_errors_that_waiting_cannot_fix(server, fake_time, reply, error_type):
    server.respond_with(lambda r: reply)
    with pytest.raises(error_type) as info, make_client(server.url, fake_time) as client:
        client.wait(JOB, timeout=60)
    assert not isinstance(info.value, JobTimeout)
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (Reply(503, "down"), "(503)"),
        (Reply(429, "", {"Retry-After": "30"}), "rate-limiting"),
        (Reply(hang=True), "did not answer in time"),
    ],
    ids=["503-forever", "429-retry-after-30", "never-answers"],
)
def test_wait_timeout_is_an_overall_limit_with_the_real_clock(server, reply, fragment):
    server.respond_with(lambda r: reply)
    started = time.monotonic()
    with (
        pytest.raises(JobTimeout) as info,
        ProgressUpdatesClient(server.url, KEY) as client,  # real sleep, clock and timeouts
    ):
        client.wait(JOB, timeout=1)
    assert time.monotonic() - started < 3
    assert info.value.job_id == JOB
    assert JOB in str(info.value) and fragment in str(info.value)


# --------------------------------------------------------------------------- the key stays secret


def test_client_refuses_missing_or_unsendable_keys():
    with pytest.raises(ConfigError, match="No API key"):
        ProgressUpdatesClient("http://127.0.0.1:1", "  ")
    with pytest.raises(ConfigError, match="can't be sent") as info:
        ProgressUpdatesClient("http://127.0.0.1:1", "abc\ndef")
    assert "abc" not in str(info.value)


def _echo(request: Received) -> Reply:
    """A nasty server that puts the request's Authorization header in every answer."""
    code = int(request.path.rsplit("/", 1)[-1][1:])
    return Reply(code, f"you sent {request.headers.get('authorization')}")


@pytest.fixture(scope="module")
def echo_server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        s.respond_with(_echo)
        yield s


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.text(st.sampled_from("abcdefABCDEF0123456789-_"), min_size=8, max_size=40),
    code=st.sampled_from([200, 400, 401, 403, 404, 413, 422, 429, 500, 502]),
)
def test_the_key_never_appears_in_errors_or_results(echo_server, key, code):
    client = ProgressUpdatesClient(
        echo_server.url, key, sleep=lambda s: None, status_retries=0, timeout=(2.0, 5.0)
    )
    outcomes: list[object] = [client]
    with client:
        for call in (lambda: client.submit(CSV, f"s{code}"), lambda: client.status(f"s{code}")):
            try:
                outcomes.append(call())
            except ApiError as exc:
                outcomes.extend([exc, exc.body])
    for outcome in outcomes:
        assert key not in str(outcome) and key not in repr(outcome)
    assert echo_server.received[-1].headers["authorization"] == f"API-KEY {key}"


# --------------------------------------------------------------------------- the sandbox


def _start_sandbox(**kwargs):
    try:
        from addin.sandbox import start_sandbox
    except ImportError as exc:
        pytest.skip(f"addin.sandbox is not written yet (start_sandbox not importable: {exc})")
    return start_sandbox(port=0, api_key=KEY, processing_delay=0.0, **kwargs)


@pytest.fixture
def sandbox():
    with _start_sandbox() as box:
        yield box


def _demo_csv(*rows: str) -> bytes:
    lines = ["External ID,Status,Current Metric Value,As Of Date,Comment", *rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _real_client(url: str, key: str = KEY) -> ProgressUpdatesClient:
    return ProgressUpdatesClient(url, key, timeout=(2.0, 10.0), status_retries=1)


def test_sandbox_end_to_end_success(sandbox):
    from addin.sandbox import DEMO_ITEMS

    item = next(i for i in DEMO_ITEMS if not i.has_metric)
    data = _demo_csv(f"{item.external_id},On Track,,2026-11-01,Going well")
    with _real_client(sandbox.url, sandbox.api_key) as client:
        submission = client.submit(data, upload_name("Q3 updates.xlsx", WHEN))
        result = client.wait(submission.job_id, timeout=20, first_interval=0.05, max_interval=0.2)
    assert submission.http_status == 200
    assert result.state is JobState.SUCCEEDED and result.http_status == 200


def test_sandbox_failed_job_has_readable_text(sandbox):
    data = _demo_csv("NO-SUCH-ITEM-123,On Track,,2026-11-01,x")
    with _real_client(sandbox.url, sandbox.api_key) as client:
        submission = client.submit(data, "bad-id_20261129-102233")
        result = client.wait(submission.job_id, timeout=20, first_interval=0.05, max_interval=0.2)
    assert result.state is JobState.FAILED and result.http_status == 400
    assert "NO-SUCH-ITEM-123" in result.message
    assert "<" not in result.message and len(result.message) <= 300


def test_sandbox_failed_job_body_names_each_bad_row_on_its_own_line(sandbox):
    bad = [f"NO-SUCH-{n}" for n in range(1, 13)]
    data = _demo_csv(*(f"{i},On Track,,2026-11-01,x" for i in bad))
    with _real_client(sandbox.url, sandbox.api_key) as client:
        submission = client.submit(data, "bad-ids_20261129-102233")
        result = client.wait(submission.job_id, timeout=20, first_interval=0.05, max_interval=0.2)
    lines = result.body.splitlines()
    assert [line.split(")", 1)[0] for line in lines] == [
        f"Row {n} (External ID {i}" for n, i in enumerate(bad, start=2)
    ]
    assert "\n" not in result.message and len(result.message) <= 300


def test_sandbox_rejects_a_wrong_key(sandbox):
    with (
        pytest.raises(AuthError, match=r"\(401\)"),
        _real_client(sandbox.url, "wrong-key-0000") as c,
    ):
        c.submit(_demo_csv("OPS-0107,On Track,,2026-11-01,"), NAME)


def test_sandbox_does_not_know_a_made_up_job(sandbox):
    with (
        pytest.raises(ApiError, match="doesn't know job no-such-job"),
        _real_client(sandbox.url, sandbox.api_key) as client,
    ):
        client.status("no-such-job")


def test_sandbox_refuses_an_oversized_file():
    big = _demo_csv(*["OPS-0107,On Track,,2026-11-01," + "x" * 100] * 50)  # ~6.5 kB
    with (
        _start_sandbox(max_body_bytes=4096) as box,
        pytest.raises(ApiError) as info,
        _real_client(box.url, box.api_key) as client,
    ):
        client.submit(big, NAME)
    assert "too large for AchieveIt (413)" in str(info.value)
    assert "the limit is 4096 bytes" in str(info.value)  # the server's own words, passed on
    assert info.value.maybe_queued is False


def test_importing_the_client_stays_cheap():
    # The ribbon starts a fresh Python per click: the trust store loads only when a client is made.
    code = "import sys, addin.api; print(sorted({'truststore', 'hypothesis'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
