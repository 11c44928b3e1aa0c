"""The HTTP request node (`net.http`) and the sandboxed templates it fills from its input.

Templates are jinja2 in its immutable sandbox (bounded, within the run's budget: engine/bounded.py
and engine/budget.py) with strict undefined names: `{{ in.id }}` (alias
`{{ input.id }}`) reads the node's `in` input, `{{ run.name }}` the run's inputs. The URL, header
values, query values, the text body and every string inside the JSON body are templates; a JSON
string that is exactly one `{{ expression }}` keeps the expression's type (a number stays a
number). Strings without `{{`/`{%` are used as they are.

Retries: connect errors (and, for idempotent methods, other transport errors), 429 and 5xx are
retried up to `retries` times, waiting `backoff_s * 2**n` or the server's `Retry-After` (seconds or
an HTTP date, up to MAX_RETRY_AFTER_S). Credentials come from `auth_secret` (a credential name),
never from the file; the token is redacted from every message by the run.

Bodies and cookies (nodes/http_body.py): `content` is the exact bytes, `text` is decoded with
the declared charset, else UTF-8, else windows-1252; each node keeps its own cookie jar unless
the workflow sets `"settings": {"share_cookies": true}`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from engine import budget
from engine.bounded import (
    EvalFailed,
    compiled_template,
    has_loop,
    render_expression,
    render_template,
)
from engine.errors import NodeFailure
from engine.nodetype import NodeType, Param, Port
from engine.permissions import Need, url_need
from nodes.http_body import decode_text, send, supported_encodings, undecodable_encoding

if TYPE_CHECKING:  # pragma: no cover - httpx and jinja2 are imported where a request is made
    import httpx  # or a template compiled, not when the node types are listed

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
PURE_METHODS = ("GET", "HEAD", "OPTIONS")
IDEMPOTENT = ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")
MAX_RETRY_AFTER_S = 60.0
# Headers whose literal value would be a key written into the workflow file.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key",
                                "x-auth-token"})
SNIPPET = 300
_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.S)

TEMPLATE_HELP = ("jinja2 template: {{ in.id }} (or {{ input.id }}) reads the `in` input, "
                 "{{ run.name }} a run input; e.g. https://api.example.com/items/{{ in.id }}")


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


class _Filler:
    """Compiled templates for one node's params; `fill` renders a value tree with variables."""

    def compile(self, value: Any, where: str) -> Any:
        """The value with every template string replaced by a compiled callable."""
        from jinja2 import TemplateError
        if isinstance(value, str):
            if not _is_template(value):
                return value
            try:
                whole = _WHOLE_EXPRESSION.match(value)
                if whole is not None and where.startswith("json"):
                    compiled_template(whole["expr"], True, expression=True)
                    return _Native(whole["expr"], where)
                compiled_template(value, True)
                return _Text(value, where)
            except TemplateError as exc:
                raise NodeFailure(f"the template in {where} does not parse: {exc}") from None
        if isinstance(value, dict):
            return {k: self.compile(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.compile(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    @staticmethod
    def fill(value: Any, variables: dict[str, Any]) -> Any:
        if isinstance(value, (_Text, _Native)):
            return value.render(variables)
        if isinstance(value, dict):
            return {k: _Filler.fill(v, variables) for k, v in value.items()}
        if isinstance(value, list):
            return [_Filler.fill(v, variables) for v in value]
        return value


class _Text:
    """One template string, rendered within the run's budget (engine/bounded.py)."""

    __slots__ = ("source", "where", "loops")
    kind = "template"

    def __init__(self, source: str, where: str) -> None:
        self.source = source
        self.where = where
        self.loops = self.kind == "template" and has_loop(source)

    def render(self, variables: dict[str, Any]) -> Any:
        mode = budget.CURRENT.get()
        args = (self.source, variables, self.where) + ((True,) if self.kind == "template" else ())
        evaluate = render_template if self.kind == "template" else render_expression
        try:
            if mode is None:
                return evaluate(*args)
            if type(mode) is budget.Slice:
                if self.loops:
                    raise budget.Offload
                return evaluate(*args, deadline=budget.deadline())
            return mode.call(self.kind, args, f"the template in {self.where}")
        except EvalFailed as exc:
            raise NodeFailure(str(exc)) from None


class _Native(_Text):
    """A JSON string that is one `{{ expression }}`: its value keeps its type."""

    __slots__ = ()
    kind = "template_expression"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (a number or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils  # (email and calendar: imported when a server asks to wait till a date)

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def response_record(response: httpx.Response, notes: list[str] | None = None
                    ) -> dict[str, Any]:
    """The `response` output: status, headers (lower-case names), parsed JSON or None, text
    (None for a binary body) and content, the exact bytes (nodes/http_body.py). A declared
    charset that could not be used is added to `notes`."""
    kind = response.headers.get("content-type", "")
    text, note = decode_text(response.content, kind)
    if note is not None and notes is not None:
        notes.append(note)
    parsed = None
    stripped = (text or "").lstrip()
    if text and ("json" in kind or stripped[:1] in ("{", "[")):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    return {"status": response.status_code, "headers": dict(response.headers.items()),
            "json": parsed, "text": text, "content": response.content}


def _transport_problem(exc: httpx.TransportError, timeout_s: float) -> str:
    import httpx
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout_s:g} s ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({exc or 'connection refused'})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


class HttpRequest(NodeType):
    type_id = "net.http"
    title = "HTTP request"
    category = "Network"
    description = ("Sends an HTTP request and outputs the response; retries 429, 5xx and "
                   "connection failures.")
    inputs = (Port("in", "any", required=False,
                   help="optional; templates read it as {{ in }} (alias {{ input }})"),)
    outputs = (Port("response", "dict",
                    help='{"status", "headers", "json", "text", "content"}: text is None for '
                         'a binary body, content is the exact bytes'),)
    parameters = (
        Param("method", "str", default="GET", required=True, choices=METHODS,
              help="GET, HEAD and OPTIONS are cacheable; the others are effects"),
        Param("url", "str", default="", required=True, help=TEMPLATE_HELP),
        Param("headers", "dict", default={},
              help="header name -> value (values are templates); put keys in auth_secret, "
                   "never here"),
        Param("query", "dict", default={},
              help="query-string parameters, name -> value (string values are templates)"),
        Param("json", "any", default=None,
              help="a JSON body; strings in it are templates, and a string that is exactly "
                   "{{ expression }} keeps the expression's type"),
        Param("body", "text", default="",
              help="a raw text body (a template); set a Content-Type header; not with json"),
        Param("timeout_s", "number", default=30.0, minimum=0.001,
              help="seconds to wait for the connection and for each read"),
        Param("retries", "int", default=2, minimum=0,
              help="extra attempts after a connect error, 429 or 5xx"),
        Param("backoff_s", "number", default=0.5, minimum=0,
              help="first wait between attempts, doubled each time (Retry-After wins)"),
        Param("fail_on_status", "bool", default=True,
              help="fail the node on a 4xx/5xx answer (off: output it like any other)"),
        Param("auth_secret", "str", default="", secret=True,
              help="name of a credential sent in auth_header, e.g. as a Bearer token"),
        Param("auth_header", "str", default="Authorization",
              help="the header that carries the credential"),
        Param("auth_scheme", "str", default="Bearer",
              help="written before the credential (empty: the bare value, e.g. for X-Api-Key)"),
    )
    summary_param = "url"

    @classmethod
    def summary(cls, params: dict[str, Any]) -> str:
        return f"{params.get('method') or 'GET'} {params.get('url') or ''}".strip()

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        problems = []
        url = params["url"].strip()
        if not url.startswith(("{{", "{%")) and not url.lower().startswith(("http://", "https://")):
            problems.append(f"url must start with http:// or https://, got {url!r:.80}")
        if params["json"] is not None and params["body"]:
            problems.append("set either json or body, not both")
        if params["method"] in ("GET", "HEAD") and (params["json"] is not None or params["body"]):
            problems.append(f"a {params['method']} request cannot have a body")
        for name, value in params["headers"].items():
            if not isinstance(value, str):
                problems.append(f"header {name!r} must be a string, got {value!r:.40}")
            elif name.lower() in CREDENTIAL_HEADERS and value.strip() and not _is_template(value):
                problems.append(f"header {name!r} holds a literal credential; store it with "
                                f"`flowloom secrets set NAME` and put NAME in auth_secret")
        for name, value in params["query"].items():
            if isinstance(value, (dict, list)):
                problems.append(f"query parameter {name!r} must be a single value")
        try:
            cls._compile(params)
        except NodeFailure as exc:
            problems.append(str(exc))
        return problems

    @classmethod
    def needs(cls, params: dict[str, Any], base_dir: Any) -> list[Need]:
        return [url_need(str(params["url"]).strip(), "url")]

    @staticmethod
    def _compile(params: dict[str, Any]) -> dict[str, Any]:
        filler = _Filler()
        return {"url": filler.compile(params["url"].strip(), "url"),
                "headers": filler.compile(params["headers"], "headers"),
                "query": filler.compile(params["query"], "query"),
                "json": filler.compile(params["json"], "json"),
                "body": filler.compile(params["body"], "body")}

    def setup(self) -> None:
        self.templates = self._compile(self.params)

    def is_pure(self) -> bool:
        return self.params["method"] in PURE_METHODS

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        p = self.params
        value = inputs.get("in")
        variables = {"in": value, "input": value, "run": ctx.run_inputs}
        filled = await budget.bounded(_Filler.fill, self.templates, variables)
        method, url = p["method"], str(filled["url"])
        headers = {str(k): str(v) for k, v in filled["headers"].items()}
        if p["auth_secret"]:
            token = ctx.secret(p["auth_secret"])
            headers[p["auth_header"] or "Authorization"] = (
                f"{p['auth_scheme']} {token}" if p["auth_scheme"] else token)
        query = {k: ("" if v is None else v) for k, v in filled["query"].items()}
        body: dict[str, Any] = {}
        if p["json"] is not None:
            body["json"] = filled["json"]
        elif p["body"]:
            body["content"] = str(filled["body"]).encode()
        t0 = time.monotonic()
        response = await self._send(ctx, method, url, headers, query, body)
        encoding = undecodable_encoding(response)
        if encoding is not None:
            raise NodeFailure(f"{method} {url} answered with Content-Encoding {encoding!r}, "
                              f"which cannot be decoded here (supported: "
                              f"{', '.join(sorted(supported_encodings()))})")
        notes: list[str] = []
        record = response_record(response, notes)
        for note in notes:
            ctx.log("warning", f"{method} {url}: {note}")
        ctx.log("info", f"{method} {url} -> {_status_text(response.status_code)} in "
                        f"{time.monotonic() - t0:.2f} s, {len(response.content)} bytes")
        if p["fail_on_status"] and response.status_code >= 400:
            # Mask before the cut: a cut first can keep the head of a key the server echoed.
            snippet = ctx.clip((record["text"] or "").strip().replace("\n", " "), SNIPPET)
            raise NodeFailure(f"{method} {url} answered {_status_text(response.status_code)}"
                              + (f": {snippet}" if snippet else ""))
        return {"response": record}

    async def _send(self, ctx: Any, method: str, url: str, headers: dict[str, str],
                    query: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        import httpx

        p = self.params
        timeout = httpx.Timeout(float(p["timeout_s"]))
        retries = int(p["retries"])
        ctx.progress(None, f"{method} {url}")
        attempt = 0
        while True:
            try:
                response = await send(ctx, method, url, headers=headers,
                                      params=query or None, timeout=timeout, **body)
            except httpx.TransportError as exc:
                problem = _transport_problem(exc, float(p["timeout_s"]))
                retryable = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) \
                    or method in IDEMPOTENT
                if not retryable or attempt >= retries:
                    tries = f" (after {attempt + 1} attempts)" if attempt else ""
                    raise NodeFailure(f"{method} {url} failed{tries}: {problem}") from None
                delay = p["backoff_s"] * 2 ** attempt
            except httpx.HTTPError as exc:  # e.g. an invalid URL: nothing to retry
                raise NodeFailure(f"{method} {url} failed: {exc}") from None
            else:
                status = response.status_code
                if not (status == 429 or status >= 500) or attempt >= retries:
                    return response
                asked = retry_after_seconds(response.headers.get("retry-after"))
                if asked is not None and asked > MAX_RETRY_AFTER_S:
                    ctx.log("warning", f"{method} {url} answered {_status_text(status)} and "
                                       f"asked to retry after {asked:g} s; not waiting that long")
                    return response
                delay = asked if asked is not None else p["backoff_s"] * 2 ** attempt
                problem = _status_text(status)
            attempt += 1
            ctx.log("warning", f"{method} {url}: {problem}; retry {attempt} of {retries} "
                               f"in {delay:.2f} s")
            ctx.progress(None, f"{method} {url}: retry {attempt} of {retries}")
            await asyncio.sleep(delay)


TYPES = (HttpRequest,)
