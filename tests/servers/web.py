"""A generic HTTP test server for `net.http` and other network nodes.

Endpoints (any method unless noted):
* `/echo` — 200, JSON: method, path, query, headers, body text, parsed JSON body.
* `/status/<code>` — that status, JSON `{"status": code}`; `?retry_after=S` adds a Retry-After,
  `?echo=1` quotes the request headers in the body.
* `/flaky/<key>?fail=N&status=503` — fails N times (per key) with `status`, then 200 JSON
  `{"ok": true, "attempt": n}`.
* `/limited/<key>?times=N&after=S` — 429 with `Retry-After: S` N times (per key), then 200.
* `/slow?delay=S` — waits S seconds, then 200 JSON `{"slept": S}`.
* `/text` — 200 plain text `hello, world`.
* `/bad-json` — 200 with a JSON content type and a body that is not JSON.
* `/redirect?to=URL` — 302 to URL.
Every answer carries `X-Test-Server: flowloom`.
"""

from __future__ import annotations

from collections import Counter

from tests.servers.base import Exchange, TestServer, reason

SERVER_HEADER = {"X-Test-Server": "flowloom"}


class WebServer(TestServer):
    def __init__(self) -> None:
        super().__init__()
        self.hits: Counter[str] = Counter()

    def _count(self, key: str) -> int:
        with self.lock:
            self.hits[key] += 1
            return self.hits[key]

    def handle(self, ex: Exchange) -> None:
        req = ex.request
        parts = req.path.strip("/").split("/")
        head = parts[0]
        if head == "echo":
            ex.send_json(200, {"method": req.method, "path": req.path, "query": req.query,
                               "headers": req.headers, "body": req.text, "json": req.json},
                         SERVER_HEADER)
        elif head == "status" and len(parts) == 2 and parts[1].isdigit():
            status = int(parts[1])
            headers = dict(SERVER_HEADER)
            if "retry_after" in req.query:
                headers["Retry-After"] = req.query["retry_after"]
            answer = {"status": status, "reason": reason(status)}
            if "echo" in req.query:  # like servers that quote the request in their errors
                answer["request_headers"] = req.headers
            ex.send_json(status, answer, headers)
        elif head == "flaky" and len(parts) == 2:
            attempt = self._count("flaky/" + parts[1])
            if attempt <= int(req.query.get("fail", "1")):
                status = int(req.query.get("status", "503"))
                ex.send_json(status, {"error": f"failure {attempt}"}, SERVER_HEADER)
            else:
                ex.send_json(200, {"ok": True, "attempt": attempt}, SERVER_HEADER)
        elif head == "limited" and len(parts) == 2:
            attempt = self._count("limited/" + parts[1])
            if attempt <= int(req.query.get("times", "1")):
                headers = dict(SERVER_HEADER, **{"Retry-After": req.query.get("after", "1")})
                ex.send_json(429, {"error": "slow down"}, headers)
            else:
                ex.send_json(200, {"ok": True, "attempt": attempt}, SERVER_HEADER)
        elif head == "slow":
            delay = float(req.query.get("delay", "1"))
            if ex.sleep(delay):
                ex.send_json(200, {"slept": delay}, SERVER_HEADER)
        elif head == "text":
            ex.send_text(200, "hello, world", SERVER_HEADER)
        elif head == "redirect" and "to" in req.query:
            ex.send(302, b"", dict(SERVER_HEADER, Location=req.query["to"]))
        elif head == "bad-json":
            ex.send(200, b"{not json", SERVER_HEADER, "application/json")
        else:
            ex.send_json(404, {"error": f"no such endpoint {req.path}"}, SERVER_HEADER)
