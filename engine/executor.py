"""The asyncio executor: runs a compiled plan, publishing events as it goes.

Scheduling rules:
* Each scope (the top level, or one iteration of a loop body) counts, per node, the edges it still
  waits for. A node whose count reaches zero is *ready*: if any value it reads is dead (its
  branch was not taken, or its source was skipped) it is skipped with that reason; otherwise it
  runs. A `flow.merge` in `all` mode runs with the values that arrived (skipped only if none
  did); in `first` mode it runs as soon as the first value arrives.
* A declared output that a node leaves out of its result is *not taken*: its value is dead.
* Cheap inline nodes run on the spot; everything else runs as a task in the scope's TaskGroup
  (async code on the loop, plain `def` code in a worker thread), under the run-wide concurrency
  cap, with per-node timeout and retries (exponential backoff with jitter).
* A failing node with `on_error: "continue"` sends its error out of its `error` port and the run
  goes on; its other ports are dead *because it failed* (engine/values.py `Failed`), the nodes
  they skip pass that on, and a `flow.merge` takes the error payload in place of the value.
  Otherwise the scope stops starting nodes (and retrying them), lets running ones settle, and
  fails; a failing loop body fails its loop node, and so on outwards. A running
  loop node settles by finishing the iterations in flight and starting no more.
* Loop nodes run their body plan once per item (`flow.foreach`, up to `parallel` at a time) or
  while their condition holds (`flow.while`, failing at `max_iterations`). `results` lists, in
  item order, the value that reached `result` in each iteration; an iteration whose body end
  was skipped (a condition inside the body) gives no entry, so foreach + if filters.
* A `flow.merge` in `first` mode inside a loop body may take a value from outside the body: it
  is there when the iteration starts, so it is the first to arrive.
* Every value is copied on its way into a node (immutable scalars are shared), so no branch can
  change another branch's data. Inline work yields to the event loop every few milliseconds.
* The cap (engine/cap.py) is shared with sub-workflow runs. `duration_s` is running time, over
  every attempt; the wait for the cap is `queued_s`, apart. An exception escaping the
  bookkeeping around a node (copying a value too deep to copy) is that node's failure.
* Every user expression, condition, formula and template has a CPU and memory budget (the
  node's `limits` over the run's over 2 s / 256 MB): it runs inline for a slice of a few
  milliseconds, else off the loop in a worker process that is killed on Stop, timeout or breach
  (engine/budget.py).
* `Run.cancel()` cancels every task of the run; nothing is left running when `execute` returns.
docs/semantics.md states these rules with an example each.
Events are buffered and delivered in one batch per event-loop turn, on the loop thread.
`Run` (here) owns a run's state, events and cancellation; engine/scope.py schedules each plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import http.cookiejar
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx

from engine import events as ev
from engine.budget import CURRENT, Limits, Slice, Workers
from engine.cap import Cap
from engine.compile import Compiled, PlanNode
from engine.context import REDACTED, Services
from engine.errors import InputError, NodeFailure
from engine.masking import mask
from engine.permissions import request_hook
from engine.runstate import (
    CANCELLED,
    FAILED,
    PENDING,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    NodeRun,
    RunResult,
)
from engine.scope import SLICE_S, Dead, Scope, ScopeFailed, isolate, monotonic
from engine.slots import POOLS_KEY, Pools, pool_sizes

__all__ = ["SLICE_S", "Dead", "Run", "isolate", "resolve_inputs", "run_workflow"]

log = logging.getLogger(__name__)


def resolve_inputs(compiled: Compiled, given: dict[str, Any] | None) -> dict[str, Any]:
    """The run's inputs: the start node's declared defaults, overridden by `given`."""
    given = dict(given or {})
    start = next((pn for pn in compiled.nodes.values() if pn.kind == "start"), None)
    if start is None:
        if given:
            raise InputError("this workflow has no flow.start node, so it takes no inputs "
                             f"(got {', '.join(sorted(given))})")
        return {}
    declared = start.impl.params.get("inputs") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        names = ", ".join(declared) or "none"
        raise InputError(f"unknown input {', '.join(map(repr, unknown))}; this workflow's "
                         f"inputs are: {names}")
    inputs = copy.deepcopy(declared)
    inputs.update(given)
    return inputs


class Run:
    """One execution of a compiled workflow. Subscribe, then `await run.execute()`."""

    def __init__(self, compiled: Compiled, inputs: dict[str, Any] | None = None, *,
                 concurrency: int | None = None, services: Services | None = None,
                 run_id: str | None = None,
                 reuse: dict[str, dict[str, Any]] | None = None,
                 cap: Cap | None = None,
                 limits: Limits | dict[str, float] | None = None) -> None:
        """`reuse` maps top-level node ids to outputs from an earlier run: those nodes are not
        run again, their outputs are replayed (see engine/rerun.py, "re-run from here").
        `cap` shares another run's concurrency cap (a sub-workflow run shares its parent's);
        without it, `concurrency` makes a cap of this run's own.
        `limits` ({"cpu_s", "memory_mb"}) is the budget of every user expression and template
        in the run, where a node sets none of its own (engine/budget.py)."""
        self.compiled = compiled
        top = compiled.plan.nodes
        self.reuse = dict(reuse or {})
        misplaced = [nid for nid in self.reuse if nid not in top or top[nid].kind == "output"]
        if misplaced:
            raise ValueError(f"cannot reuse outputs of {misplaced}: only top-level nodes that "
                             f"are not flow.output can be replayed")
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.inputs = resolve_inputs(compiled, inputs)
        self.services = services or Services()
        self.concurrency = concurrency
        self.state: dict[str, NodeRun] = {nid: NodeRun(nid) for nid in compiled.workflow.nodes}
        self.outputs: dict[str, Any] = {}
        self.tool_calls: dict[str, int] = {}  # tool node id -> calls so far (for event paths)
        self.listening = False
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.loop_thread = 0
        self.slice_start = 0.0
        self._subscribers: list[tuple[Callable[[Any], Any], bool]] = []
        self._buffer: list[Any] = []
        self._flush_scheduled = False
        self._sem: Cap | None = cap
        self.pools = Pools()
        self._task: asyncio.Task[Any] | None = None
        self._cancel_requested = False
        self._active = False  # the run's task is inside the scope: cancelling it is ours to do
        self._cancelled_task = False
        self._http: httpx.AsyncClient | None = None
        self._jars: dict[str, httpx.Cookies] = {}  # node id -> its cookies (cookie_jar)
        self._secrets: set[str] = set()
        self._started = False
        self.limits = Limits.resolve(limits)
        self.workers = Workers()
        self._budget = Slice(self.workers, self.limits)
        self._budgets: dict[str, Slice] = {}

    # --- subscribers ----------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Any], Any], *, batched: bool = False
                  ) -> Callable[[], None]:
        """Call `callback(event)` for every event, or `callback([events])` once per batch."""
        entry = (callback, batched)
        self._subscribers.append(entry)
        self.listening = True

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)
            self.listening = bool(self._subscribers)

        return unsubscribe

    def emit(self, event: Any) -> None:
        self._buffer.append(event)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        for callback, batched in list(self._subscribers):
            try:
                if batched:
                    callback(batch)
                else:
                    for event in batch:
                        callback(event)
            except Exception:  # a subscriber's bug must never stop the run
                log.exception("run event subscriber %r failed", callback)

    # --- called by NodeContext (on the loop thread) ----------------------------------------
    def node_progressed(self, node_id: str, iteration: tuple[int, ...],
                        fraction: float | None, message: str) -> None:
        if self.listening:
            self.emit(ev.NodeProgressed(node_id, iteration, fraction, message, monotonic()))

    def node_logged(self, node_id: str, iteration: tuple[int, ...], level: str,
                    message: str) -> None:
        if self.listening:
            self.emit(ev.NodeLogged(node_id, iteration, level, message, monotonic()))

    def http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            factory = self.services.http_client
            client = factory() if factory else httpx.AsyncClient(
                follow_redirects=True, timeout=httpx.Timeout(30.0))
            if self.services.grants is not None:  # every request and redirect, checked
                client.event_hooks["request"].append(request_hook(self.services.grants))
            if not self.shares_cookies():
                # each node keeps its cookies in a jar of its own (cookie_jar); the client's
                # own jar must then hold none, or it would pass them from node to node
                client.cookies.jar.set_policy(_NoCookies())
            self._http = client
        return self._http

    def shares_cookies(self) -> bool:
        """The workflow's `"settings": {"share_cookies": true}`: one cookie jar for the run."""
        settings = self.compiled.workflow.extra.get("settings")
        value = settings.get("share_cookies", False) if isinstance(settings, dict) else False
        if not isinstance(value, bool):
            raise NodeFailure(f"the workflow setting share_cookies must be true or false, "
                              f"got {value!r:.40}")
        return value

    def cookie_jar(self, node_id: str) -> httpx.Cookies:
        """The cookies `node_id`'s requests send and keep: its own jar for the run, or the
        run's one shared jar when the workflow says so."""
        client = self.http_client()
        if self.shares_cookies():
            return client.cookies
        jar = self._jars.get(node_id)
        if jar is None:
            jar = self._jars[node_id] = httpx.Cookies()
        return jar

    def secret(self, name: str) -> str:
        lookup = self.services.secrets
        value = lookup(name) if lookup else None
        if not value:
            raise NodeFailure(f"credential {name!r} is not set "
                              f"(set it with: flowloom secrets set {name})")
        self._secrets.add(value)
        return value

    def add_secret(self, value: str) -> None:
        if value and len(value) >= 4:  # masking a one-letter "secret" would garble every text
            self._secrets.add(value)

    def redact(self, text: str) -> str:
        """`text` with every secret read during the run, and any piece of one left at an edge
        by an earlier cut, masked (engine/masking.py)."""
        return mask(text, self._secrets, REDACTED) if self._secrets else text

    def recorded(self, value: Any) -> Any:
        """`value` as it may be recorded (events, run state, results, history): every secret
        read during the run masked, in strings nested anywhere. Values flowing between nodes
        are not touched — a node may pass a key on to the node that needs it."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self.recorded(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.recorded(v) for v in value)
        if isinstance(value, (bytes, bytearray)):  # an exact HTTP body, say: whole, never cut
            data = bytes(value)
            for secret in self._secrets:
                data = data.replace(secret.encode("utf-8", "replace"), REDACTED.encode())
            return data
        return value

    @property
    def cap(self) -> Cap | None:
        """The run-wide concurrency cap (None: no cap), shared with sub-workflow runs."""
        return self._sem

    def budget_for(self, pn: PlanNode) -> Slice:
        """The evaluation budget of node `pn`: its own limits over the run's."""
        if pn.limits is None:
            return self._budget
        found = self._budgets.get(pn.id)
        if found is None:
            found = Slice(self.workers, Limits.resolve(self.limits, pn.limits))
            self._budgets[pn.id] = found
        return found

    # --- control --------------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the run: running nodes are cancelled, nothing new starts. Thread-safe."""
        self._cancel_requested = True
        if self.loop_thread and threading.get_ident() != self.loop_thread:
            self.loop.call_soon_threadsafe(self.cancel)
            return
        if self._active and self._task is not None and not self._task.done():
            if not self._cancelled_task:
                self._cancelled_task = True
                self._task.cancel()

    async def execute(self) -> RunResult:
        if self._started:
            raise RuntimeError("a Run executes once; make a new Run to run again")
        self._started = True
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self._task = asyncio.current_task()
        self._share_slots()
        t0 = monotonic()
        self.slice_start = t0
        if self.listening:
            self.emit(ev.RunStarted(self.run_id, self.compiled.workflow.name,
                                    len(self.state), dict(self.inputs), t0, time.time()))
        status, error = SUCCEEDED, None
        external_cancel = False
        budget_token = CURRENT.set(self._budget)
        try:
            if self._cancel_requested:
                raise asyncio.CancelledError
            self._active = True
            await Scope(self, self.compiled.plan, None, (), {}).execute()
        except ScopeFailed as exc:
            status, error = FAILED, self.redact(str(exc))
        except Exception as exc:  # noqa: BLE001 - an engine bug still ends in a recorded status
            log.error("run %s stopped on an unexpected error", self.run_id, exc_info=exc)
            status, error = FAILED, self.redact(f"the run stopped on an unexpected error: "
                                                f"{type(exc).__name__}: {str(exc)[:500]}")
        except asyncio.CancelledError:
            status, error = CANCELLED, "the run was cancelled"
            task = self._task
            if task is not None:
                # Take back our own cancel request; any left means the caller was cancelled too.
                left = task.uncancel() if self._cancelled_task else task.cancelling()
                external_cancel = left > 0
        finally:
            self._active = False
            CURRENT.reset(budget_token)
            self.workers.close()
            if self._http is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._http.aclose())
        self._settle_leftovers(status)
        duration = monotonic() - t0
        if self.listening:
            self.emit(ev.RunFinished(self.run_id, status, self.recorded(dict(self.outputs)),
                                     error, duration,
                                     monotonic()))
        self.flush()
        result = RunResult(self.run_id, status, self.recorded(self.outputs), self.state, error,
                           duration,
                           [str(w) for w in self.compiled.warnings], t0)
        if external_cancel:
            raise asyncio.CancelledError
        return result

    def _share_slots(self) -> None:
        """Make the run-wide cap unless a caller's was given (`cap=`); take the caller's pools
        when this run is a sub-workflow's (they come in Services.extra), else make them, and
        hand them on the same way to runs this one starts, so at most that many nodes of a
        pool run at once across every level."""
        if self._sem is None and self.concurrency:
            self._sem = Cap(self.concurrency)
        extra = self.services.extra
        pools = extra.get(POOLS_KEY)
        if isinstance(pools, Pools):
            self.pools = pools
        self.pools.add(pool_sizes(self.compiled.workflow))
        self.services = replace(self.services, extra={**extra, POOLS_KEY: self.pools})

    def gated(self, pool: str | None) -> bool:
        """Whether a node of `pool` waits for anything before it runs (a pool or the cap)."""
        return self._sem is not None or (pool is not None and pool in self.pools)

    @contextlib.asynccontextmanager
    async def admission(self, pool: str | None, priority: int) -> AsyncIterator[None]:
        """Hold a slot of `pool` (if any), then one under the run-wide cap (if any), for the
        block; waiters are let in highest `priority` first. Always in that order, so two
        nodes never each hold what the other waits for."""
        async with contextlib.AsyncExitStack() as stack:
            if pool is not None and pool in self.pools:
                await stack.enter_async_context(self.pools.get(pool).hold(priority))
            if self._sem is not None:
                await stack.enter_async_context(self._sem.at(priority))
            yield

    def _unreached_reason(self, node_id: str) -> str:
        """Why a node in a loop body never ran in a run that succeeded."""
        scope_of = self.compiled.scope_of
        loop = scope_of.get(node_id)
        while loop is not None:  # a skipped loop (or one around it) passes its reason on
            if self.state[loop].status == SKIPPED and self.state[loop].reason:
                return self.state[loop].reason
            loop = scope_of.get(loop)
        return f"not run: loop {scope_of.get(node_id)!r} ran no iteration that reached it"

    def _settle_leftovers(self, status: str) -> None:
        """Give every node that never reached an end state one (and say so in an event)."""
        t = monotonic()
        for nid, nr in self.state.items():
            if nr.status in (PENDING, RUNNING):
                if status == CANCELLED:
                    nr.status = CANCELLED
                    if self.listening:
                        self.emit(ev.NodeCancelled(nid, (), t))
                else:
                    nr.status = SKIPPED
                    nr.reason = ("not run: the run stopped after a failure" if status == FAILED
                                 else "not called: no agent asked for this tool"
                                 if nid in self.compiled.tool_nodes
                                 else self._unreached_reason(nid))
                    if self.listening:
                        self.emit(ev.NodeSkipped(nid, (), nr.reason, t))


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """A policy that stores and sends no cookie: for the run's client when each node keeps
    its own jar."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


async def run_workflow(compiled: Compiled, inputs: dict[str, Any] | None = None,
                       **options: Any) -> RunResult:
    """Convenience: make a Run and execute it."""
    return await Run(compiled, inputs, **options).execute()
