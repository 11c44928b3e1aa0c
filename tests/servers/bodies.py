"""An HTTP test server for bodies and cookies, on CPython's http.server like the others.

* `answer(path, body, content_type=None, headers=None)` registers a fixed answer: the exact
  bytes, with that Content-Type (none at all when None) and any extra headers (e.g. a
  Content-Encoding the test has applied itself).
* `/cookies/set/<name>/<value>` — 200 with `Set-Cookie: name=value; Path=/`.
* `/cookies/redirect/<name>/<value>` — 302 to `/cookies/show`, setting the cookie on the way.
* `/cookies/show` — 200 JSON `{"cookie": "<the request's Cookie header, or ''>"}`.
`png()` and `zip_bytes()` make real files of those kinds, in memory.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib

from tests.servers.base import Exchange, TestServer


def png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG whose pixel bytes run through every value (so nothing may change)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes((y * width * 3 + i) * 37 % 256 for i in range(width * 3))
                    for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def zip_bytes() -> bytes:
    """A zip archive with a text file and a file of all 256 byte values."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("hello.txt", "hello from the zip\n")
        archive.writestr("all-bytes.bin", bytes(range(256)) * 4)
    return out.getvalue()


class BodyServer(TestServer):
    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, tuple[bytes, str | None, dict[str, str]]] = {}

    def answer(self, path: str, body: bytes, content_type: str | None = None,
               headers: dict[str, str] | None = None) -> str:
        """Serve `body` at `path` from now on; returns its URL."""
        with self.lock:
            self.answers[path] = (body, content_type, dict(headers or {}))
        return self.url + path

    def handle(self, ex: Exchange) -> None:
        path = ex.request.path
        with self.lock:
            fixed = self.answers.get(path)
        if fixed is not None:
            self._send(ex, 200, *fixed)
            return
        parts = path.strip("/").split("/")
        if parts[:2] == ["cookies", "set"] and len(parts) == 4:
            self._send(ex, 200, b"set", "text/plain",
                       {"Set-Cookie": f"{parts[2]}={parts[3]}; Path=/"})
        elif parts[:2] == ["cookies", "redirect"] and len(parts) == 4:
            self._send(ex, 302, b"", "text/plain",
                       {"Set-Cookie": f"{parts[2]}={parts[3]}; Path=/",
                        "Location": "/cookies/show"})
        elif parts == ["cookies", "show"]:
            cookie = ex.request.headers.get("cookie", "")
            self._send(ex, 200, json.dumps({"cookie": cookie}).encode(), "application/json", {})
        else:
            self._send(ex, 404, b"no such path", "text/plain", {})

    @staticmethod
    def _send(ex: Exchange, status: int, body: bytes, content_type: str | None,
              headers: dict[str, str]) -> None:
        h = ex.handler
        h.send_response(status)
        if content_type is not None:
            h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        if ex.request.method != "HEAD":
            h.wfile.write(body)
        h.wfile.flush()
