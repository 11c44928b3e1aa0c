"""The threaded HTTP server the test servers share: start/stop, request log, response helpers.

A `TestServer` subclass implements `handle(exchange)`. The server runs `serve_forever` in a
daemon thread on 127.0.0.1 with an ephemeral port; every request is recorded (method, path,
query, headers, body, parsed JSON, monotonic time) before it is handled. Handlers that wait use
`exchange.sleep`, which returns early when the server stops, so no test waits on a sleeping
handler at teardown.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    t: float  # time.monotonic() when the request arrived
    json: Any = field(default=None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Exchange:
    """One request and the ways to answer it."""

    def __init__(self, handler: _Handler, request: RecordedRequest, stopping: threading.Event):
        self.handler = handler
        self.request = request
        self._stopping = stopping
        self._chunked = False

    # --- whole answers --------------------------------------------------------------------
    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
             content_type: str = "application/octet-stream") -> None:
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        if self.request.method != "HEAD":
            h.wfile.write(body)
        h.wfile.flush()

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(data).encode(), headers, "application/json")

    def send_text(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self.send(status, text.encode(), headers, "text/plain; charset=utf-8")

    # --- streamed answers (chunked transfer encoding) -------------------------------------
    def start_stream(self, status: int, content_type: str) -> None:
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Cache-Control", "no-cache")
        h.end_headers()
        h.wfile.flush()
        self._chunked = True

    def write(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        if not data:
            return
        w = self.handler.wfile
        w.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        w.flush()

    def end_stream(self) -> None:
        self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def cut(self) -> None:
        """Drop the connection without finishing the answer (a server dying mid-way)."""
        h = self.handler
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)

    def sleep(self, seconds: float) -> bool:
        """Wait; False if the server stopped meanwhile (the handler should then give up)."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        parsed = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        request = RecordedRequest(self.command, parts.path, query,
                                  {k.lower(): v for k, v in self.headers.items()}, body,
                                  time.monotonic(), parsed)
        owner = self.server.owner
        with owner.lock:
            owner.requests.append(request)
        try:
            owner.handle(Exchange(self, request, owner.stopping))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean; the request log is the record


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: TestServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up early (a timeout, a cancelled run) is normal here: record
        # what happened instead of printing tracebacks over the test output.
        with self.owner.lock:
            self.owner.errors.append(traceback.format_exc())


class TestServer:
    """Base of the test servers. Use as a context manager, or call start()/stop()."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []  # tracebacks of handlers that failed
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def handle(self, exchange: Exchange) -> None:
        raise NotImplementedError

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TestServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
