"""A scripted HTTP server on 127.0.0.1 for the faults the sandbox can't produce.

Each test scripts the replies, in the order requests arrive, and afterwards reads what the server
received (method, path, headers, body). Real sockets, so the client's whole stack is exercised:

    with FaultServer() as server:
        server.script(Reply(503), Reply(200, "done"))
        ...
        assert [r.method for r in server.received] == ["GET", "GET"]
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # read the request, then never answer (until the server closes)
    drop: bool = False  # read the request, then close the connection without a word
    chunk_delay: float = 0.0  # send the body one byte at a time, this long apart


Responder = Callable[[Received], Reply]


class FaultServer:
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.received: list[Received] = []
        self._replies: list[Reply] = []
        self._responder: Responder | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._scheme = "http"
        if ssl_context is not None:
            self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._httpd.server_address[1]}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order (500 once they run out)."""
        with self._lock:
            self._replies.extend(replies)

    def respond_with(self, responder: Responder) -> None:
        """Answer every request by calling `responder` (instead of a script)."""
        self._responder = responder

    def _next_reply(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            if self._responder is not None:
                return self._responder(request)
            if self._replies:
                return self._replies.pop(0)
        return Reply(500, "faultserver: no scripted reply left")

    def close(self) -> None:
        self._stop.set()  # releases hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Received(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            reply = server._next_reply(request)
            if reply.hang:
                server._stop.wait(30)
                self.close_connection = True
                return
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            data = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if "Content-Type" not in reply.headers:
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if reply.chunk_delay:
                for byte in data:
                    if server._stop.wait(reply.chunk_delay):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            else:
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output clean

        def handle(self) -> None:
            # The client may give up first: timeouts are the point of some tests.
            with contextlib.suppress(OSError):
                super().handle()

    return Handler


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return port
