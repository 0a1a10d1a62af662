"""The local AchieveIt stand-in: an HTTP server in a background thread, one worker, SQLite.

    POST /api/progressupdates/<name>           CSV body -> 200 + job ID (a JSON string), queued
    GET  /api/progressupdates/status/<job id>  202 processing, 200 done, 400 failed, 500 crashed
    GET  /plans/<plan id>/items                the plan's items as a JSON list (paging with
                                               skip/take, sorting with sortKey/sortDirection);
                                               403 for a plan the key may not read, 404 unknown
    GET  /exports/plans/<plan id>              the same (a newer article's name, take <= 1500)
    GET  /                                     the demo plan as an HTML page (no key needed)
    GET  /healthz                              "ok" (no key needed)
    GET  /stats                                counts as JSON: items, jobs (succeeded, failed,
                                               processing), updates, duplicates (same item and
                                               As Of Date), identical (no key needed)

Every /api/, /plans/ and /exports/ request needs `Authorization: API-KEY <key>`. The key is
never logged or echoed.

The items' JSON shape is the sandbox's guess (AchieveIt does not publish it; the client reads
it defensively, addin/planitems.py): a list of objects
`{"id", "externalId", "name", "status", "currentValue", "unit", "lastUpdated", "hasMetric"}`,
where a metric item's currentValue is its latest metric (0 before any update) and null for an
item without a metric.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import html
import json
import os
import queue
import re
import secrets
import signal
import socket
import socketserver
import string
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from .items import plan_items
from .processing import process_csv
from .store import DEMO_PLAN_ID, RESTRICTED_PLAN_ID, Job, Store, StoreClosed

REQUEST_TIMEOUT = 30.0  # seconds a client may stay silent before its connection is dropped
RETRY_AFTER_SECONDS = 5
# Unread body bytes discarded before closing, so that the client gets to read our answer.
DRAIN_LIMIT = 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9._~-]{1,200}")
_UPLOAD = re.compile(r"/api/progressupdates/(?P<name>[^/]*)")
_STATUS = re.compile(r"/api/progressupdates/status/(?P<job>[^/]+)")
_ALL_METHODS = ("GET", "POST")
_ITEMS = re.compile(r"/(?:plans/(?P<plan>[^/]+)/items|exports/plans/(?P<export>[^/]+))")
_KEYED = ("/api/", "/plans/", "/exports/")  # paths that need the API key


@dataclass(frozen=True)
class _Work:
    job_id: str
    body: bytes
    ready_at: float  # time.monotonic() before which the job still reads as processing


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "AchieveItSandbox/1.0"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stalls

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        # Slow or silent clients cannot hold a thread forever.
        self.connection.settimeout(self.server.request_timeout)

    # -- plumbing ------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        # Request lines and errors only; headers (and so the key) are never logged.
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def _send(
        self,
        code: int,
        body: str | bytes,
        *,
        content_type: str = "text/plain; charset=utf-8",
        headers: tuple[tuple[str, str], ...] = (),
        close: bool = False,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _reject_unread(self, code: int, body: str, **kwargs: Any) -> None:
        """Answer a request whose body we will not read, then drop the connection.

        A bounded amount of the body is discarded first: closing a socket with unread data makes
        the OS send a reset, which can swallow our answer before the client reads it."""
        self._send(code, body, close=True, **kwargs)
        length = self._content_length()
        budget = DRAIN_LIMIT if length is None or length < 0 else min(length, DRAIN_LIMIT)
        if self.headers.get("Expect", "").lower() == "100-continue":
            return  # the client is waiting for our go-ahead: nothing was sent
        with contextlib.suppress(OSError):
            self.connection.settimeout(1.0)
            while budget > 0:
                chunk = self.rfile.read1(min(budget, 65536))
                if not chunk:
                    break
                budget -= len(chunk)

    def _content_length(self) -> int | None:
        values = self.headers.get_all("Content-Length") or []
        if len(values) != 1 or not values[0].strip().isdigit():
            return None if not values else -1
        return int(values[0])

    def _authorised(self) -> bool:
        values = self.headers.get_all("Authorization") or []
        if len(values) == 1:
            parts = values[0].split()
            if len(parts) == 2 and parts[0].lower() == "api-key":
                return self.server.sandbox.key_matches(parts[1])
        return False

    def _unauthorised(self, *, unread: bool) -> None:
        headers = (("WWW-Authenticate", "API-KEY"),)
        if unread:
            self._reject_unread(401, "Missing or invalid API key", headers=headers)
        else:
            self._send(401, "Missing or invalid API key", headers=headers)

    # -- methods -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        try:
            if path == "/healthz":
                self._send(200, "ok")
            elif path == "/stats":
                body = json.dumps(self.server.sandbox.stats())
                self._send(200, body, content_type="application/json")
            elif path in ("/", "/index.html"):
                page = self.server.sandbox.render_page()
                self._send(200, page, content_type="text/html; charset=utf-8")
            elif not path.startswith(_KEYED):
                self._send(404, "Not found")
            elif not self._authorised():
                self._unauthorised(unread=False)
            elif match := _ITEMS.fullmatch(path):
                self._plan_items(match["plan"] or match["export"], urlsplit(self.path).query)
            elif match := _STATUS.fullmatch(path):
                self._job_status(match["job"])
            elif _UPLOAD.fullmatch(path):
                self._send(405, "Use POST to upload a CSV here.", headers=(("Allow", "POST"),))
            else:
                self._send(404, "Not found")
        except StoreClosed:
            self._send(503, "The sandbox is shutting down.", close=True)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        if self._reject_post():
            return
        length = self._content_length()
        assert length is not None and length >= 0  # _reject_post checked it
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True  # the client went away mid-body
            return
        name = _UPLOAD.fullmatch(urlsplit(self.path).path)["name"]  # type: ignore[index]
        try:
            job_id = self.server.sandbox.submit(name, body)
        except StoreClosed:
            self._send(503, "The sandbox is shutting down.", close=True)
            return
        if job_id is None:
            self._send(
                503,
                "The sandbox's queue is full. Try again in a few seconds.",
                headers=(("Retry-After", str(RETRY_AFTER_SECONDS)),),
            )
            return
        self._send(200, json.dumps(job_id), content_type="application/json")

    def handle_expect_100(self) -> bool:
        # Refuse before the client sends a body we would not accept anyway.
        if self.command == "POST" and self._reject_post():
            return False
        return super().handle_expect_100()

    def _reject_post(self) -> bool:
        """Answer a POST that cannot be accepted; True when an answer was sent."""
        path = urlsplit(self.path).path
        if not path.startswith("/api/"):
            if path in ("/", "/index.html", "/healthz"):
                self._reject_unread(405, "Method not allowed", headers=(("Allow", "GET"),))
            else:
                self._reject_unread(404, "Not found")
        elif not self._authorised():
            self._unauthorised(unread=True)
        elif _STATUS.fullmatch(path):
            self._reject_unread(
                405, "Use GET to ask for a job's status.", headers=(("Allow", "GET"),)
            )
        elif not (match := _UPLOAD.fullmatch(path)):
            self._reject_unread(404, "Not found")
        elif not _NAME.fullmatch(match["name"]):
            self._reject_unread(
                400,
                "The file name at the end of the address must be 1 to 200 characters long and"
                " use only letters, digits, '-', '_', '.' or '~'.",
            )
        elif (length := self._content_length()) is None:
            self._reject_unread(411, "Content-Length is required: send the CSV file as the body.")
        elif length < 0:
            self._reject_unread(400, "Content-Length must be a single whole number.")
        elif length > self.server.sandbox.max_body_bytes:
            self._reject_unread(
                413,
                f"The file is too large: {length} bytes, the limit is"
                f" {self.server.sandbox.max_body_bytes} bytes. Split it into smaller files.",
            )
        else:
            return False
        return True

    def _not_allowed(self) -> None:
        allow = (("Allow", ", ".join(_ALL_METHODS)),)
        self._reject_unread(405, "Method not allowed", headers=allow)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    # -- endpoints -----------------------------------------------------------------------------

    def _plan_items(self, plan_id: str, query: str) -> None:
        answer = self.server.sandbox.plan_items(unquote(plan_id), parse_qs(query))
        if isinstance(answer, tuple):
            self._send(*answer)
        else:
            self._send(200, json.dumps(answer), content_type="application/json")

    def _job_status(self, job_id: str) -> None:
        job = self.server.sandbox.job(job_id)
        if job is None:
            self._send(404, "No upload job has this ID.")
        elif job.state != "done" or job.http_status is None:
            self._send(202, "The file is queued or being processed. Ask again in a moment.")
        else:
            self._send(job.http_status, job.message)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, verbose: bool) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sandbox = sandbox
        self.verbose = verbose
        self.request_timeout = REQUEST_TIMEOUT
        self._live: dict[threading.Thread, socket.socket] = {}
        self._live_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up in DNS (getfqdn), which can stall offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._live_lock:
            self._live[threading.current_thread()] = request
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._live_lock:
                self._live.pop(threading.current_thread(), None)

    def close_connections(self, timeout: float = 5.0) -> None:
        """End idle keep-alive connections and wait for the handlers to finish."""
        with self._live_lock:
            live = dict(self._live)
        for sock in live.values():
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in live:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.verbose:
            sys.stderr.write(f"Error while handling a request from {client_address[0]}:\n")
            traceback.print_exc()


class Sandbox:
    """A running stand-in server. Use `start_sandbox`; close it (or use `with`) when done."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        api_key: str | None,
        processing_delay: float,
        accept_any_id: bool,
        db_path: str | os.PathLike[str] | None,
        max_body_bytes: int,
        max_queue: int,
        verbose: bool,
    ) -> None:
        self.api_key = api_key if api_key is not None else secrets.token_hex(16)
        self.processing_delay = processing_delay
        self.accept_any_id = accept_any_id
        self.max_body_bytes = max_body_bytes
        self._verbose = verbose
        self._store = Store(db_path)
        try:
            self._server = _Server((host, port), self, verbose)
        except BaseException:
            self._store.close()
            raise
        bound_host, bound_port = self._server.server_address[:2]
        assert isinstance(bound_host, str)
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}"
        self._queue: queue.Queue[_Work | None] = queue.Queue(maxsize=max_queue)
        self._idle = threading.Condition()
        self._pending = 0
        self._stop = threading.Event()
        self._closed = False
        self._close_lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name="sandbox-worker", daemon=True)
        self._serving = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-http",
            daemon=True,
        )
        self._worker.start()
        self._serving.start()

    def __repr__(self) -> str:  # never the key
        return f"<Sandbox {self.url}{' closed' if self._closed else ''}>"

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- used by the handler -------------------------------------------------------------------

    def key_matches(self, key: str) -> bool:
        return hmac.compare_digest(key.encode("utf-8"), self.api_key.encode("utf-8"))

    def submit(self, name: str, body: bytes) -> str | None:
        """Queue a CSV; its job ID, or None when the queue is full."""
        job_id = str(uuid.uuid4())
        self._store.add_job(job_id, name)
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(_Work(job_id, body, time.monotonic() + self.processing_delay))
        except queue.Full:
            self._store.drop_job(job_id)
            self._done_one()
            return None
        return job_id

    def job(self, job_id: str) -> Job | None:
        return self._store.get_job(job_id.strip().lower())

    def plan_items(
        self, plan_id: str, query: dict[str, list[str]]
    ) -> list[dict[str, Any]] | tuple[int, str]:
        """The JSON items of a plan's page, or (status code, text) when refused."""
        return plan_items(self._store.plan(), plan_id, query)

    def render_page(self) -> str:
        store = self._store
        return render_page(store.plan(), store.recent_jobs(), store.recent_updates())

    def stats(self) -> dict[str, int]:
        """items, jobs, succeeded, failed, processing, updates, duplicates, identical."""
        return self._store.stats()

    def recent_updates(self, limit: int = 50) -> list[dict[str, Any]]:
        """The updates received, newest first, each with its job_id and duplicate_of."""
        return self._store.recent_updates(limit)

    # -- the worker ----------------------------------------------------------------------------

    def _done_one(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _work(self) -> None:
        while True:
            work = self._queue.get()
            if work is None or self._stop.is_set():
                return
            try:
                # AchieveIt is asynchronous: a job reads as processing for a while.
                remaining = work.ready_at - time.monotonic()
                if remaining > 0 and self._stop.wait(remaining):
                    return
                self._process(work)
            finally:
                self._done_one()

    def _process(self, work: _Work) -> None:
        try:
            outcome = process_csv(
                work.body, self._store.metric_items(), accept_any_id=self.accept_any_id
            )
            if outcome.ok:
                self._store.apply_job(
                    work.job_id, outcome.updates, outcome.adhoc_ids, outcome.summary()
                )
            else:
                self._store.fail_job(work.job_id, 400, outcome.summary())
        except StoreClosed:
            return
        except Exception:
            if self._verbose:
                traceback.print_exc()
            with contextlib.suppress(StoreClosed):
                self._store.fail_job(
                    work.job_id,
                    500,
                    "The sandbox hit an internal error while processing this file."
                    " Nothing was saved.",
                )

    # -- public --------------------------------------------------------------------------------

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued job has been processed; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending <= 0, timeout)

    def jobs(self, limit: int = 100) -> list[Job]:
        """The jobs received, newest first: what tests use to prove something was (not) sent."""
        return self._store.recent_jobs(limit)

    def latest_updates(self) -> list[dict[str, Any]]:
        """Each updated item's latest update: external_id, name, status, metric (float or None),
        metric_text, as_of (ISO date), comment, updated_at, job_id, ..."""
        return self._store.latest_updates()

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._serving.join()
        self._server.close_connections()
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._worker.join()
        self._store.close()


def start_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    api_key: str | None = None,
    processing_delay: float = 1.0,
    accept_any_id: bool = False,
    db_path: str | os.PathLike[str] | None = None,
    max_body_bytes: int = 10 * 1024 * 1024,
    max_queue: int = 1000,
    verbose: bool = False,
) -> Sandbox:
    """Start the stand-in server in background threads. `port=0` picks a free port."""
    if api_key is not None and (not api_key or any(c.isspace() for c in api_key)):
        raise ValueError("The sandbox API key must be non-empty and contain no spaces.")
    return Sandbox(
        host=host,
        port=port,
        api_key=api_key,
        processing_delay=processing_delay,
        accept_any_id=accept_any_id,
        db_path=db_path,
        max_body_bytes=max_body_bytes,
        max_queue=max_queue,
        verbose=verbose,
    )


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    api_key: str | None = None,
    processing_delay: float = 1.0,
    accept_any_id: bool = False,
    db_path: str | os.PathLike[str] | None = None,
    out: TextIO = sys.stdout,
    verbose: bool = False,
    stop: threading.Event | None = None,
) -> None:
    """Run the sandbox until Ctrl+C, SIGTERM or `stop` is set, telling the user how to use it.

    SIGTERM (what service managers and `kill` send) shuts down as cleanly as Ctrl+C. Its handler
    is installed only when called from the main thread (Python allows no other) and is put back
    as it was on return.
    """
    stop = stop or threading.Event()
    terminated = threading.Event()

    def on_sigterm() -> None:
        terminated.set()
        stop.set()

    # Installed before anything is printed: a SIGTERM right after "Press Ctrl+C" is handled too.
    with (
        _on_sigterm(on_sigterm),
        start_sandbox(
            host,
            port,
            api_key=api_key,
            processing_delay=processing_delay,
            accept_any_id=accept_any_id,
            db_path=db_path,
            verbose=verbose,
        ) as sandbox,
    ):
        if api_key is None:
            # The one place a key is printed: a throwaway key made up for this session.
            key_line = f"API key (made up for this session only): {sandbox.api_key}"
            use_key = "use the API key above"
        else:
            key_line = "API key: the one you gave (not shown)."
            use_key = "use the API key you gave with --api-key"
        data = "in memory (gone when the sandbox stops)" if db_path is None else os.fspath(db_path)
        print(
            f"AchieveIt sandbox running at {sandbox.url}\n"
            f"{key_line}\n"
            f"Demo plan page: {sandbox.url}/\n"
            f"Data: {data}\n"
            "To point the tool at it: put this address in 'Base URL override' on the Settings\n"
            f"sheet (or give it as the base URL on the command line): {sandbox.url}\n"
            f"and {use_key} (for example in the ACHIEVEIT_API_KEY variable).\n"
            "Press Ctrl+C to stop.",
            file=out,
            flush=True,
        )
        try:
            while not stop.wait(0.5):  # a timed wait keeps Ctrl+C working on Windows
                pass
        except KeyboardInterrupt:
            terminated.set()
        if terminated.is_set():
            print("Stopping the sandbox...", file=out, flush=True)
    print("Sandbox stopped.", file=out, flush=True)


@contextlib.contextmanager
def _on_sigterm(action: Callable[[], None]) -> Iterator[None]:
    """Run `action` on SIGTERM while inside; a no-op outside the main thread or without SIGTERM."""
    term = getattr(signal, "SIGTERM", None)
    if term is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(term, lambda signum, frame: action())
    try:
        yield
    finally:
        signal.signal(term, previous if previous is not None else signal.SIG_DFL)


# -- the status page ---------------------------------------------------------------------------

_PAGE: string.Template | None = None


def _template() -> string.Template:
    global _PAGE
    if _PAGE is None:
        text = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
        _PAGE = string.Template(text)
    return _PAGE


def _td(value: object, cls: str = "") -> str:
    text = "" if value is None else str(value)
    cls_attr = f' class="{html.escape(cls)}"' if cls else ""
    return f"<td{cls_attr}>{html.escape(text)}</td>"


def _none(text: str) -> str:
    return f'<td class="none">{html.escape(text)}</td>'


def render_page(
    plan: list[dict[str, Any]], jobs: list[Job], updates: list[dict[str, Any]] | None = None
) -> str:
    """The demo plan and recent uploads as HTML; every value is escaped."""
    item_rows = []
    for item in plan:
        cells = [_td(item["external_id"], "id"), _td(item["name"])]
        if item["status"] is None:
            cells += [_none("no update yet"), _none(""), _none(""), _none(""), _none("")]
        else:
            status_class = "s-" + item["status"].lower().replace(" ", "-")
            if item["metric_text"] is not None:
                metric = _td(f"{item['metric_text']} {item['unit']}".strip())
            else:
                metric = _none("no metric" if not item["has_metric"] else "")
            cells += [
                _td(item["status"], status_class),
                metric,
                _td(item["as_of"]),
                _td(item["comment"], "comment"),
                _td(item["updated_at"]),
            ]
        item_rows.append("<tr>" + "".join(cells) + "</tr>")
    job_rows = []
    for job in jobs:
        if job.state != "done":
            result, cls = "processing", "busy"
        elif job.http_status == 200:
            result, cls = "200 succeeded", "ok"
        else:
            result, cls = f"{job.http_status} failed", "failed"
        message_lines = job.message.splitlines()
        message = "\n".join(message_lines[:10]) + ("\n..." if len(message_lines) > 10 else "")
        job_rows.append(
            "<tr>"
            + _td(job.id, "job")
            + _td(job.name)
            + _td(job.received_at)
            + _td(result, cls)
            + _td(message, "message")
            + "</tr>"
        )
    if not job_rows:
        job_rows.append('<tr><td class="none" colspan="5">No uploads yet.</td></tr>')
    update_rows = []
    for update in updates or []:
        repeat = update["duplicate_of"]
        same = " (identical)" if update["identical"] else " (changed)"
        mark = _td(f"duplicate of update {repeat}{same}", "failed") if repeat else _none("")
        update_rows.append(
            "<tr>"
            + _td(update["id"])
            + _td(update["external_id"], "id")
            + _td(update["status"])
            + _td(update["metric"])
            + _td(update["as_of"])
            + _td(update["comment"], "comment")
            + _td(update["job_id"], "job")
            + mark
            + "</tr>"
        )
    if not update_rows:
        update_rows.append('<tr><td class="none" colspan="8">No updates yet.</td></tr>')
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return _template().substitute(
        items="\n".join(item_rows),
        jobs="\n".join(job_rows),
        updates="\n".join(update_rows),
        generated=html.escape(generated),
        plan_id=DEMO_PLAN_ID,
        restricted_id=RESTRICTED_PLAN_ID,
    )
