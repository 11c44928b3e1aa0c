"""Recording one run: `RunTap` collects every node execution's outputs and status and every
effect the run saw, for store.write_record to keep after the run.

Effects, and where they are caught:
* HTTP (LLM completions included: they are HTTP too) — `RecordingTransport`, wrapped around the
  run's client transport (Services.http_client). The node that sent a request is the one
  `ctx.http` named in engine.permissions.ACTOR. Responses stream through unchanged; the exact
  bytes the node read are kept when it closes the response. A request that got no response (a
  server down, a timeout before it answered) is kept with its error, which a replay raises
  again: an LLM failover past a dead server replays the same way.
* Clock reads and random draws — `ctx.now()` / `ctx.random()` ask `RunTap.value`.
* Approval decisions — the run's ApprovalDecided events.
* The text of every sub-workflow file the run calls — `RunTap.subworkflow`, which
  flow.subworkflow asks for it (nodes/flowctl.py): read from disk once a path (every call in
  the run gets that version), or on a replay served from the record.
When a `source` (serve.py) is set, effects it holds are served from it instead of being made,
and recorded again, so the new run's record is as whole as the old one.

Nothing here touches the disk: the loop thread only appends under a lock; secrets are masked
when the record is written (store.py), with every secret the run read by then.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from engine import events as ev
from engine import limits
from engine.context import EFFECTS_KEY, Services
from engine.errors import NodeFailure
from engine.permissions import ACTOR
from engine.record.codec import digest

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.executor import Run
    from engine.record.serve import RecordSource

log = logging.getLogger(__name__)

MB = 1024 * 1024
# the ends of node executions RunTap keeps (folded into RunTap.nodes when it is read)
_ENDS = frozenset({ev.NodeFinished, ev.NodeFailed, ev.NodeSkipped, ev.NodeCancelled})
LLM_PARAMS = ("temperature", "max_tokens", "top_p", "top_k", "seed", "stop", "stream",
              "format", "options", "response_format", "tools", "tool_choice", "n")


@dataclass
class HttpExchange:
    """One HTTP request a node made and the response it got, as recorded for replay."""

    node_id: str
    method: str
    url: str
    body_sha: str  # sha256 of the request body: with method and url, what a replay matches
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    complete: bool = False  # the node read the whole body
    llm: dict[str, Any] | None = None  # {"model", "params"} of a chat / completion request
    error: str | None = None  # "ConnectError: text" when the request got no response

    def meta(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method, "url": self.url,
                                "body_sha": self.body_sha, "status": self.status,
                                "headers": [list(h) for h in self.headers],
                                "complete": self.complete}
        if self.llm is not None:
            data["llm"] = self.llm
        if self.error is not None:
            data["error"] = self.error
        return data

    def raise_error(self, request: httpx.Request) -> None:
        """Raise the transport error this exchange recorded, as the same httpx class."""
        name, _, message = (self.error or "").partition(": ")
        kind = getattr(httpx, name, None)
        if not (isinstance(kind, type) and issubclass(kind, httpx.TransportError)):
            kind = httpx.TransportError
        raise kind(message or name, request=request)


def llm_request(body: bytes) -> dict[str, Any] | None:
    """The model and parameters of an LLM request body (None when it is not one)."""
    if not body.startswith(b"{") or b'"model"' not in body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not any(k in data for k in ("messages", "prompt", "input")):
        return None
    return {"model": data.get("model"),
            "params": {k: data[k] for k in LLM_PARAMS if k in data}}


class _Tee(httpx.AsyncByteStream):
    """A response stream passed on chunk by chunk, its bytes kept for the record."""

    def __init__(self, inner: Any, done: Callable[[bytes, bool], None]) -> None:
        self._inner = inner
        self._done = done
        self._chunks: list[bytes] = []
        self._complete = False
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._chunks.append(chunk)
            yield chunk
        self._complete = True

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._done(b"".join(self._chunks), self._complete)
        await self._inner.aclose()


class RecordingTransport(httpx.AsyncBaseTransport):
    def __init__(self, tap: RunTap, inner: httpx.AsyncBaseTransport) -> None:
        self.tap = tap
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        actor = ACTOR.get()
        node_id = actor[1] if actor else ""
        body = await request.aread()
        # matched on masked text: a replay's placeholder secret masks the same way
        exchange = HttpExchange(node_id, request.method, self.tap.redact(str(request.url)),
                                digest(self.tap.redact_bytes(body)), llm=llm_request(body))
        source = self.tap.source
        if source is not None:
            served = source.http(node_id, exchange.method, exchange.url, exchange.body_sha)
            if served is not None:
                self.tap.add_http(served)
                if served.error is not None:
                    served.raise_error(request)
                return httpx.Response(served.status, headers=served.headers,
                                      stream=httpx.ByteStream(served.body), request=request)
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError as exc:
            exchange.error = f"{type(exc).__name__}: {self.tap.redact(str(exc))}"[:2000]
            exchange.complete = True
            self.tap.add_http(exchange)
            raise
        exchange.status = response.status_code
        exchange.headers = [(k.decode("latin-1"), v.decode("latin-1"))
                            for k, v in response.headers.raw]

        def done(data: bytes, complete: bool) -> None:
            exchange.body, exchange.complete = data, complete
            self.tap.add_http(exchange)

        response.stream = _Tee(response.stream, done)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class RunTap:
    """Collects one run's record. `services(s)` before the Run is made, `attach(run)` before
    it executes; the run's record is then in `nodes`, `http`, `values`, `approvals`."""

    def __init__(self, *, max_run_bytes: int = 50 * MB,
                 source: RecordSource | None = None) -> None:
        self.max_run_bytes = max_run_bytes
        self.source = source
        self.run: Run | None = None
        self._lock = threading.Lock()
        self.size = 0
        self.over_limit: str | None = None  # why the record is not whole
        self.http: list[HttpExchange] = []
        self.values: list[tuple[str, str, tuple[int, ...], float]] = []  # kind, node, iter, v
        self.approvals: list[tuple[str, tuple[int, ...], dict[str, Any]]] = []
        # the node executions' ends not yet folded into `nodes` (see `nodes`)
        self._ended: list[Any] = []
        self._nodes: dict[tuple[str, tuple[int, ...]], dict[str, Any]] = {}
        self._sequence: list[tuple[str, str]] = []
        self.inputs: dict[str, Any] = {}
        self.workflows: dict[str, tuple[str, str]] = {}  # sub-workflow path -> (node, text)
        self._unsubscribe: Callable[[], None] | None = None

    # --- wiring ---------------------------------------------------------------------------
    def services(self, services: Services) -> Services:
        """`services` with the run's HTTP client recording and the context's effects here."""
        factory = services.http_client

        def client() -> httpx.AsyncClient:
            if factory is None:
                made = httpx.AsyncClient(follow_redirects=True, timeout=httpx.Timeout(30.0))
            else:
                made = factory()
            # httpx keeps the transport in _transport; wrapping it keeps the host's settings
            made._transport = RecordingTransport(self, made._transport)
            return made

        return replace(services, http_client=client,
                       extra={**services.extra, EFFECTS_KEY: self})

    def attach(self, run: Run) -> RunTap:
        self.run = run
        self._unsubscribe = run.subscribe(self._on_batch, batched=True)
        return self

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def redact(self, text: str) -> str:
        return text if self.run is None else self.run.redact(text)

    def redact_bytes(self, data: bytes) -> bytes:
        if self.run is None or not data:
            return data
        text = data.decode("utf-8", "surrogateescape")
        masked = self.run.redact(text)
        return data if masked == text else masked.encode("utf-8", "surrogateescape")

    # --- effects (any thread) -------------------------------------------------------------
    def _take(self, size: int, what: str) -> bool:
        with self._lock:
            if self.over_limit is None and self.size + size > self.max_run_bytes:
                self.over_limit = (f"the record passed its limit of "
                                   f"{self.max_run_bytes / MB:.4g} MB at {what}")
            if self.over_limit is not None:
                return False
            self.size += size
            return True

    def add_http(self, exchange: HttpExchange) -> None:
        if self._take(len(exchange.body) + len(exchange.url) + 200,
                      f"node {exchange.node_id!r}'s {exchange.method} {exchange.url[:80]}"):
            with self._lock:
                self.http.append(exchange)

    def value(self, kind: str, node_id: str, iteration: tuple[int, ...],
              draw: Callable[[], float]) -> float:
        """A clock read or random draw of `node_id`: served from the source when it has one,
        else drawn; recorded either way."""
        served = self.source.value(kind, node_id, iteration) if self.source else None
        value = draw() if served is None else served
        if self._take(64, f"node {node_id!r}'s {kind}"):
            with self._lock:
                self.values.append((kind, node_id, iteration, value))
        return value

    def subworkflow(self, node_id: str, path: str) -> str:
        """The text of the sub-workflow file `path` that `node_id` runs: the one this run
        already read, else served from the source (a replay), else read from disk."""
        with self._lock:
            known = self.workflows.get(path)
        if known is not None:
            return known[1]
        text = self.source.workflow(node_id, path) if self.source is not None else None
        if text is None:
            text = _read_workflow(Path(path))
        if self._take(len(text), f"node {node_id!r}'s sub-workflow {Path(path).name}"):
            with self._lock:
                text = self.workflows.setdefault(path, (node_id, text))[1]
        return text

    # --- events (the loop thread) ---------------------------------------------------------
    def _on_batch(self, batch: list[Any]) -> None:
        ended, kept = self._ended, _ENDS
        for e in batch:
            kind = type(e)
            if kind in kept:  # folded when read: on the loop thread, one append a node
                ended.append(e)
            elif kind is ev.ApprovalDecided:
                self.approvals.append((e.node_id, e.iteration,
                                       {"approved": e.approved, "comment": e.comment,
                                        "by": e.by}))
            elif kind is ev.RunStarted:
                self.inputs = dict(e.inputs)

    @property
    def nodes(self) -> dict[tuple[str, tuple[int, ...]], dict[str, Any]]:
        """(node, iteration) -> {"status", "outputs", "error", "cached"}, in the order they
        ended (a skip after another end of the same execution is not kept)."""
        self._fold()
        return self._nodes

    @property
    def sequence(self) -> list[tuple[str, str]]:
        """(node, status) as they happened."""
        self._fold()
        return self._sequence

    def _fold(self) -> None:
        ended, self._ended = self._ended, []
        nodes, sequence = self._nodes, self._sequence
        finished, skipped = ev.NodeFinished, ev.NodeSkipped
        for e in ended:
            kind = type(e)
            if kind is finished:
                status, outputs, error, cached = "succeeded", e.outputs, None, e.cached
            elif kind is ev.NodeFailed:
                status, outputs, error, cached = "failed", None, e.error, False
            elif kind is skipped:
                done = nodes.get((e.node_id, e.iteration))
                if done is not None and done["status"] != "skipped":
                    continue
                status, outputs, error, cached = "skipped", None, e.reason, False
            else:  # NodeCancelled
                status, outputs, error, cached = "cancelled", None, None, False
            nodes[(e.node_id, e.iteration)] = {"status": status, "outputs": outputs,
                                               "error": error, "cached": cached}
            sequence.append((e.node_id, status))


def _read_workflow(path: Path) -> str:
    """A sub-workflow file's text, bounded like fileformat.load; NodeFailure saying why not."""
    try:
        size = path.stat().st_size  # before reading: a huge file is refused unread
        if size > limits.MAX_FILE_BYTES:
            raise NodeFailure(f"sub-workflow file {path} is {limits.amount(size)} bytes; the "
                              f"limit is {limits.amount(limits.MAX_FILE_BYTES)}")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NodeFailure(f"sub-workflow file {path} does not exist") from None
    except UnicodeDecodeError:
        raise NodeFailure(f"sub-workflow file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise NodeFailure(f"sub-workflow file {path} cannot be read: {exc.strerror}") from None
