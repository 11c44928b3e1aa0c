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
  goes on. Otherwise the scope stops starting nodes, lets running ones settle, and fails; a
  failing loop body fails its loop node, and so on outwards.
  A running loop node settles by finishing the iterations in flight and starting no more.
* Loop nodes run their body plan once per item (`flow.foreach`, up to `parallel` at a time) or
  while their condition holds (`flow.while`, failing at `max_iterations`). `results` lists, in
  item order, the value that reached `result` in each iteration; an iteration whose body end
  was skipped (a condition inside the body) gives no entry, so foreach + if filters.
* A `flow.merge` in `first` mode inside a loop body may take a value from outside the body: it
  is there when the iteration starts, so it is the first to arrive.
* Every value is copied on its way into a node (immutable scalars are shared), so no branch can
  change another branch's data. Inline work yields to the event loop every few milliseconds.
* `Run.cancel()` cancels every task of the run; nothing is left running when `execute` returns.
Events are buffered and delivered in one batch per event-loop turn, on the loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from engine import events as ev
from engine.compile import Compiled, Plan, PlanNode
from engine.context import REDACTED, NodeContext, Services
from engine.errors import FlowloomError, InputError, NodeFailure
from engine.porttypes import describe, matches
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

log = logging.getLogger(__name__)

SLICE_S = 0.004  # longest stretch of inline work before yielding to the event loop
_IMMUTABLE = frozenset({int, float, str, bool, type(None), bytes})
_MISSING = object()
monotonic = time.monotonic


def isolate(value: Any) -> Any:
    """A copy of `value` that no other branch shares (immutable scalars are returned as is)."""
    return value if type(value) in _IMMUTABLE else copy.deepcopy(value)


class Dead:
    """The value of an output that carried nothing, with the reason why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _ScopeFailed(FlowloomError):
    pass


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
                 run_id: str | None = None) -> None:
        self.compiled = compiled
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.inputs = resolve_inputs(compiled, inputs)
        self.services = services or Services()
        self.concurrency = concurrency
        self.state: dict[str, NodeRun] = {nid: NodeRun(nid) for nid in compiled.workflow.nodes}
        self.outputs: dict[str, Any] = {}
        self.listening = False
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.loop_thread = 0
        self.slice_start = 0.0
        self._subscribers: list[tuple[Callable[[Any], Any], bool]] = []
        self._buffer: list[Any] = []
        self._flush_scheduled = False
        self._sem: asyncio.Semaphore | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancel_requested = False
        self._active = False  # the run's task is inside the scope: cancelling it is ours to do
        self._cancelled_task = False
        self._http: httpx.AsyncClient | None = None
        self._secrets: set[str] = set()
        self._started = False

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
            self._http = factory() if factory else httpx.AsyncClient(
                follow_redirects=True, timeout=httpx.Timeout(30.0))
        return self._http

    def secret(self, name: str) -> str:
        lookup = self.services.secrets
        value = lookup(name) if lookup else None
        if not value:
            raise NodeFailure(f"credential {name!r} is not set "
                              f"(set it with: flowloom secrets set {name})")
        self._secrets.add(value)
        return value

    def redact(self, text: str) -> str:
        for value in self._secrets:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

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
        self._sem = asyncio.Semaphore(self.concurrency) if self.concurrency else None
        t0 = monotonic()
        self.slice_start = t0
        if self.listening:
            self.emit(ev.RunStarted(self.run_id, self.compiled.workflow.name,
                                    len(self.state), dict(self.inputs), t0, time.time()))
        status, error = SUCCEEDED, None
        external_cancel = False
        try:
            if self._cancel_requested:
                raise asyncio.CancelledError
            self._active = True
            await _Scope(self, self.compiled.plan, None, (), {}).execute()
        except _ScopeFailed as exc:
            status, error = FAILED, self.redact(str(exc))
        except asyncio.CancelledError:
            status, error = CANCELLED, "the run was cancelled"
            task = self._task
            if task is not None:
                # Take back our own cancel request; any left means the caller was cancelled too.
                left = task.uncancel() if self._cancelled_task else task.cancelling()
                external_cancel = left > 0
        finally:
            self._active = False
            if self._http is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._http.aclose())
        self._settle_leftovers(status)
        duration = monotonic() - t0
        if self.listening:
            self.emit(ev.RunFinished(self.run_id, status, dict(self.outputs), error, duration,
                                     monotonic()))
        self.flush()
        result = RunResult(self.run_id, status, self.outputs, self.state, error, duration,
                           [str(w) for w in self.compiled.warnings])
        if external_cancel:
            raise asyncio.CancelledError
        return result

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
                                 else self._unreached_reason(nid))
                    if self.listening:
                        self.emit(ev.NodeSkipped(nid, (), nr.reason, t))


class _Scope:
    """One run of one plan: the top level, or one iteration of a loop body."""

    __slots__ = ("run", "plan", "parent", "path", "values", "pending", "ready", "fired",
                 "running", "failure", "wake", "tg", "resolved")

    def __init__(self, run: Run, plan: Plan, parent: _Scope | None, path: tuple[int, ...],
                 seeds: dict[tuple[str, str], Any]) -> None:
        self.run = run
        self.plan = plan
        self.parent = parent
        self.path = path
        self.values = seeds
        self.pending = dict(plan.indegree)
        self.ready: deque[PlanNode] = deque(plan.nodes[nid] for nid in plan.sources)
        self.fired: dict[str, Any] = {}  # merge-first node id -> the first value
        self.running = 0
        self.failure: str | None = None
        self.wake = asyncio.Event()
        self.tg: asyncio.TaskGroup | None = None
        self.resolved: set[str] = set()
        for nid in plan.first_from_outside:
            pn = plan.nodes[nid]
            for _, sources, _, _ in pn.in_ports:
                alive = [key for key in sources if key[0] not in plan.nodes
                         and not isinstance(self.lookup(key), Dead)]
                if alive:
                    self.fired[nid] = isolate(self.lookup(alive[0]))
                    if self.pending[nid]:  # else it is a source, already ready
                        self.ready.append(pn)
                    break

    def failing(self) -> str:
        """Why this scope or one around it is failing ("" if none is): loops stop iterating."""
        scope: _Scope | None = self
        while scope is not None:
            if scope.failure is not None:
                return f"the run is failing ({scope.failure})"
            scope = scope.parent
        return ""

    def lookup(self, key: tuple[str, str]) -> Any:
        scope: _Scope | None = self
        while scope is not None:
            value = scope.values.get(key, _MISSING)
            if value is not _MISSING:
                return value
            scope = scope.parent
        return Dead(f"no value for {key[0]}.{key[1]}")

    async def execute(self) -> None:
        run = self.run
        ready = self.ready
        async with asyncio.TaskGroup() as tg:
            self.tg = tg
            while True:
                while ready and self.failure is None:
                    self._start(ready.popleft())
                    if monotonic() - run.slice_start > SLICE_S:
                        await asyncio.sleep(0)
                        run.slice_start = monotonic()
                if self.running == 0:
                    break
                self.wake.clear()
                await self.wake.wait()
                run.slice_start = monotonic()
        if self.failure is not None:
            reason = f"not run: {self.failure}"
            for nid, pn in self.plan.nodes.items():
                if nid not in self.resolved:
                    self._mark_skipped(pn, reason)
            raise _ScopeFailed(self.failure)

    # --- starting nodes -------------------------------------------------------------------
    def _start(self, pn: PlanNode) -> None:
        if pn.merge_first:
            if pn.id not in self.fired:
                self._skip(pn, self._all_dead_reason(pn))
                return
            kwargs: dict[str, Any] | Dead = {"in": self.fired[pn.id]}
        else:
            try:
                kwargs = self._gather(pn)
            except _InputMismatch as exc:
                # started and failed at once, so every NodeFailed follows its NodeStarted
                self._finish_failed(pn, str(exc), self._begin(pn, 1), 1)
                return
        if isinstance(kwargs, Dead):
            self._skip(pn, kwargs.reason)
            return
        if pn.runs_inline:
            self._run_inline(pn, kwargs)
        else:
            self.running += 1
            assert self.tg is not None
            self.tg.create_task(self._run_task(pn, kwargs), name=f"flowloom:{pn.id}")

    def _gather(self, pn: PlanNode) -> dict[str, Any] | Dead:
        kwargs: dict[str, Any] = {}
        for port, sources, multi, port_type in pn.in_ports:
            if multi:
                values = []
                first_dead = None
                for key in sources:
                    value = self.lookup(key)
                    if isinstance(value, Dead):
                        first_dead = first_dead or value
                    else:
                        values.append(isolate(value))
                if not values and first_dead is not None:
                    return self._all_dead(pn) if pn.kind == "merge" else first_dead
                kwargs[port] = values
                continue
            value = self.lookup(sources[0])
            if isinstance(value, Dead):
                return value
            if port_type != "any" and not matches(value, port_type):
                raise _InputMismatch(f"input {port!r} expects {port_type}, got "
                                     f"{describe(value)} from {sources[0][0]}.{sources[0][1]}")
            kwargs[port] = isolate(value)
        return kwargs

    def _all_dead(self, pn: PlanNode) -> Dead:
        return Dead(self._all_dead_reason(pn))

    def _all_dead_reason(self, pn: PlanNode) -> str:
        reasons = []
        for _, sources, _, _ in pn.in_ports:
            for key in sources:
                value = self.lookup(key)
                if isinstance(value, Dead) and value.reason not in reasons:
                    reasons.append(value.reason)
        return "every upstream branch was skipped (" + "; ".join(reasons) + ")"

    # --- running --------------------------------------------------------------------------
    def _begin(self, pn: PlanNode, attempt: int) -> float:
        run = self.run
        nr = run.state[pn.id]
        t = monotonic()
        nr.status = RUNNING
        nr.attempts += 1
        if nr.started_t is None:
            nr.started_t = t
        if run.listening:
            run.emit(ev.NodeStarted(pn.id, self.path, attempt, t))
        return t

    def _run_inline(self, pn: PlanNode, kwargs: dict[str, Any]) -> None:
        t0 = self._begin(pn, 1)
        self.run.state[pn.id].inputs = kwargs
        try:
            outputs = pn.impl.run(NodeContext(self.run, pn.id, self.path, 1), **kwargs)
        except Exception as exc:
            self._finish_failed(pn, _error_text(exc), t0, 1)
            return
        self._finish_ok(pn, outputs, t0)

    async def _run_task(self, pn: PlanNode, kwargs: dict[str, Any]) -> None:
        run = self.run
        attempt = 0
        t0 = monotonic()
        try:
            while True:
                attempt += 1
                t0 = self._begin(pn, attempt)
                # With retries, each attempt gets its own copy: a failed attempt may have
                # changed what it was given.
                args = kwargs if pn.retry is None else {k: isolate(v) for k, v in kwargs.items()}
                run.state[pn.id].inputs = kwargs
                ctx = NodeContext(run, pn.id, self.path, attempt)
                sem = run._sem if pn.body is None else None
                timer: asyncio.Timeout | None = None
                try:
                    async with sem if sem is not None else contextlib.nullcontext():
                        timer = asyncio.timeout(pn.timeout_s)  # starts after the cap's wait
                        async with timer:
                            outputs = await self._invoke(pn, ctx, args)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if isinstance(exc, TimeoutError) and timer is not None and timer.expired():
                        message = f"timed out after {pn.timeout_s:g} s"
                    else:
                        message = _error_text(exc)
                    retry = pn.retry
                    if retry is not None and attempt < retry.max_attempts:
                        base = retry.delay(attempt)
                        delay = base / 2 + random.uniform(0, base / 2)
                        if run.listening:
                            run.emit(ev.NodeRetrying(pn.id, self.path, attempt, delay,
                                                     run.redact(message), monotonic()))
                        await asyncio.sleep(delay)
                        continue
                    self._finish_failed(pn, message, t0, attempt)
                    return
                self._finish_ok(pn, outputs, t0)
                return
        except asyncio.CancelledError:
            nr = run.state[pn.id]
            nr.status = CANCELLED
            nr.ended_t = monotonic()
            nr.duration_s += nr.ended_t - t0
            if run.listening:
                run.emit(ev.NodeCancelled(pn.id, self.path, nr.ended_t))
            raise
        finally:
            self.running -= 1
            self.wake.set()

    async def _invoke(self, pn: PlanNode, ctx: NodeContext, kwargs: dict[str, Any]) -> Any:
        if pn.kind == "foreach":
            return await self._foreach(pn, kwargs)
        if pn.kind == "while":
            return await self._while(pn, kwargs)
        if pn.mode == "async":
            return await pn.impl.run(ctx, **kwargs)
        if pn.mode == "thread":
            return await asyncio.to_thread(pn.impl.run, ctx, **kwargs)
        return pn.impl.run(ctx, **kwargs)

    # --- loops ----------------------------------------------------------------------------
    async def _foreach(self, pn: PlanNode, kwargs: dict[str, Any]) -> dict[str, Any]:
        items = kwargs["items"]
        total = len(items)
        parallel = max(1, int(pn.impl.params.get("parallel") or 1))
        results: list[Any] = [_MISSING] * total
        cursor = 0
        failure: list[str] = []
        run = self.run
        body = pn.body
        assert body is not None and pn.back_source is not None

        async def worker() -> None:
            nonlocal cursor
            while cursor < total and not failure and not self.failing():
                index = cursor
                cursor += 1
                scope = _Scope(run, body, self, self.path + (index,),
                               {(pn.id, "item"): isolate(items[index])})
                try:
                    await scope.execute()
                except _ScopeFailed as exc:
                    failure.append(f"item {index}: {exc}")
                    return
                value = scope.lookup(pn.back_source)
                if not isinstance(value, Dead):
                    results[index] = value
                if run.listening:
                    run.emit(ev.LoopIterated(pn.id, self.path, index, total, monotonic()))

        async with asyncio.TaskGroup() as tg:
            for _ in range(min(parallel, total)):
                tg.create_task(worker())
        if failure:
            raise NodeFailure(failure[0])
        if cursor < total:
            raise NodeFailure(f"stopped after {cursor} of {total} items: {self.failing()}")
        return {"results": [r for r in results if r is not _MISSING]}

    async def _while(self, pn: PlanNode, kwargs: dict[str, Any]) -> dict[str, Any]:
        state = kwargs["in"]
        condition = pn.impl.condition
        cap = int(pn.impl.params["max_iterations"])
        run = self.run
        body = pn.body
        assert body is not None and pn.back_source is not None
        index = 0
        while condition.evaluate({"x": state}):
            stopping = self.failing()
            if stopping:
                raise NodeFailure(f"stopped after {index} iterations: {stopping}")
            if index >= cap:
                raise NodeFailure(f"reached max_iterations ({cap}) while the condition "
                                  f"`{condition.source}` still holds")
            scope = _Scope(run, body, self, self.path + (index,),
                           {(pn.id, "body"): isolate(state)})
            try:
                await scope.execute()
            except _ScopeFailed as exc:
                raise NodeFailure(f"iteration {index}: {exc}") from None
            value = scope.lookup(pn.back_source)
            if isinstance(value, Dead):
                raise NodeFailure(f"iteration {index}: the body gave no value for 'next' "
                                  f"({value.reason})")
            state = value
            if run.listening:
                run.emit(ev.LoopIterated(pn.id, self.path, index, None, monotonic()))
            index += 1
            if monotonic() - run.slice_start > SLICE_S:
                await asyncio.sleep(0)
                run.slice_start = monotonic()
        return {"done": state}

    # --- finishing ------------------------------------------------------------------------
    def _finish_ok(self, pn: PlanNode, outputs: Any, t0: float) -> None:
        if outputs is None:
            outputs = {}
        if not isinstance(outputs, dict) or not set(outputs) <= set(pn.out_ports):
            got = (f"{describe(outputs)}" if not isinstance(outputs, dict)
                   else f"unknown outputs {sorted(set(outputs) - set(pn.out_ports))}")
            self._finish_failed(pn, f"run() must return a dict of its outputs "
                                f"{list(pn.out_ports)}; got {got}", t0, 1)
            return
        run = self.run
        t = monotonic()
        nr = run.state[pn.id]
        if nr.status != FAILED:
            nr.status = SUCCEEDED
        nr.runs += 1
        nr.ended_t = t
        nr.duration_s += t - t0
        nr.outputs = outputs
        values = self.values
        nid = pn.id
        for port in pn.out_ports:
            if port in outputs:
                values[(nid, port)] = outputs[port]
            elif port == "error":
                values[(nid, port)] = Dead(f"{pn.label} succeeded, so its error port "
                                           f"carried nothing")
            else:
                values[(nid, port)] = Dead(f"branch {port!r} of {pn.label} was not taken")
        if run.listening:
            run.emit(ev.NodeFinished(nid, self.path, t - t0, outputs, t))
        self._resolve(pn)

    def _finish_failed(self, pn: PlanNode, message: str, t0: float, attempts: int) -> None:
        run = self.run
        message = run.redact(message)
        t = monotonic()
        nr = run.state[pn.id]
        nr.status = FAILED
        nr.error = message
        nr.runs += 1
        nr.ended_t = t
        nr.duration_s += t - t0
        if run.listening:
            run.emit(ev.NodeFailed(pn.id, self.path, t - t0, message, attempts, t))
        self.resolved.add(pn.id)
        if pn.on_error == "continue":
            for port in pn.out_ports:
                self.values[(pn.id, port)] = Dead(f"{pn.label} failed")
            self.values[(pn.id, "error")] = {"node": pn.id, "message": message,
                                             "attempts": attempts}
            self._resolve(pn)
        elif self.failure is None:
            self.failure = f"node {pn.label} failed: {message}"

    def _skip(self, pn: PlanNode, reason: str) -> None:
        self._mark_skipped(pn, reason)
        for port in pn.out_ports:
            self.values[(pn.id, port)] = Dead(reason)
        self._resolve(pn)

    def _mark_skipped(self, pn: PlanNode, reason: str) -> None:
        run = self.run
        nr = run.state[pn.id]
        if nr.status in (PENDING, SKIPPED):
            nr.status = SKIPPED
            nr.reason = reason
        if run.listening:
            run.emit(ev.NodeSkipped(pn.id, self.path, reason, monotonic()))

    def _resolve(self, pn: PlanNode) -> None:
        """`pn`'s outputs are set: count it off for everything waiting on it."""
        self.resolved.add(pn.id)
        pending = self.pending
        for consumer in pn.consumers:
            if consumer.merge_first and consumer.id not in self.fired:
                for _, sources, _, _ in consumer.in_ports:
                    for key in sources:
                        if key[0] == pn.id:
                            value = self.values.get(key, _MISSING)
                            if value is not _MISSING and not isinstance(value, Dead):
                                self.fired[consumer.id] = isolate(value)
                                self.ready.append(consumer)
                                break
                    if consumer.id in self.fired:
                        break
            count = pending[consumer.id] - 1
            pending[consumer.id] = count
            if count == 0 and not (consumer.merge_first and consumer.id in self.fired):
                self.ready.append(consumer)
        if self.failure is None and self.ready:
            self.wake.set()


class _InputMismatch(FlowloomError):
    pass


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, FlowloomError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def run_workflow(compiled: Compiled, inputs: dict[str, Any] | None = None,
                       **options: Any) -> RunResult:
    """Convenience: make a Run and execute it."""
    return await Run(compiled, inputs, **options).execute()
