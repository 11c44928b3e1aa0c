"""One run of one plan — the top level, or one iteration of a loop body — for the executor.

`Scope` counts what each node still waits for, starts ready nodes (inline, as tasks on the loop,
or in worker threads), applies skipping, merges, retries, timeouts and `on_error`, and runs loop
nodes' bodies as child scopes. The rules it follows are set out in engine/executor.py, which
owns the `Run` that scopes report to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from engine import budget
from engine import events as ev
from engine.bounded import Offload
from engine.breakpoints import PauseGate, gate_of
from engine.compile import Plan, PlanNode
from engine.context import NodeContext
from engine.errors import FlowloomError, NodeFailure
from engine.plaindata import output_problem
from engine.porttypes import describe, matches
from engine.runstate import CANCELLED, RUNNING
from engine.tools import ToolHandle
from engine.values import Dead, Failed, TooDeep, isolate, worse

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.executor import Run

SLICE_S = 0.004  # longest stretch of inline work before yielding to the event loop
_MISSING = object()
monotonic = time.monotonic
log = logging.getLogger(__name__)


class ScopeFailed(FlowloomError):
    """A scope stopped because a node in it failed (the message says which)."""

    pass


class Scope:
    """One run of one plan: the top level, or one iteration of a loop body."""

    __slots__ = ("run", "plan", "parent", "path", "values", "pending", "ready", "fired",
                 "running", "failure", "wake", "tg", "resolved")

    def __init__(self, run: Run, plan: Plan, parent: Scope | None, path: tuple[int, ...],
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
                    self.fired[nid] = self.lookup(alive[0])  # copied when the merge starts
                    if self.pending[nid]:  # else it is a source, already ready
                        self.ready.append(pn)
                    break

    def failing(self) -> str:
        """Why this scope or one around it is failing ("" if none is): loops stop iterating."""
        scope: Scope | None = self
        while scope is not None:
            if scope.failure is not None:
                return f"the run is failing ({scope.failure})"
            scope = scope.parent
        return ""

    def lookup(self, key: tuple[str, str]) -> Any:
        scope: Scope | None = self
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
                    pn = ready.popleft()
                    try:
                        self._start(pn)
                    except Exception as exc:  # noqa: BLE001 - the node fails, never the run
                        self._bookkeeping_failed(pn, exc)
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
            raise ScopeFailed(self.failure)

    # --- starting nodes -------------------------------------------------------------------
    def _start(self, pn: PlanNode) -> None:
        if self.parent is None and pn.id in self.run.reuse:
            t0 = self._begin(pn, 0)
            self.run.state[pn.id].cached = True
            self._finish_ok(pn, isolate(self.run.reuse[pn.id]), t0, cached=True)
            return
        if pn.merge_first:
            if pn.id in self.fired:
                kwargs: dict[str, Any] | Dead = {"in": isolate(self.fired[pn.id])}
            else:  # no value arrived: a failed branch's error, else every branch was skipped
                failed = self._first_failed(pn)
                if failed is None:
                    self._skip(pn, self._all_dead_reason(pn))
                    return
                kwargs = {"in": isolate(failed.error)}
        else:
            try:
                kwargs = self._gather(pn)
            except _InputMismatch as exc:
                # started and failed at once, so every NodeFailed follows its NodeStarted
                self._finish_failed(pn, str(exc), self._begin(pn, 1), 1)
                return
        if isinstance(kwargs, Dead):
            self._skip(pn, kwargs.reason, kwargs)
            return
        if pn.tools:
            for port, tool_id in pn.tools:
                kwargs.setdefault(port, []).append(
                    ToolHandle(self.run, self.run.compiled.nodes[tool_id], self.path))
        if (gate := gate_of(self.run)) is not None and gate.watches(pn.id, self.path):
            self.running += 1  # a breakpoint may pause it first (engine/breakpoints.py)
            assert self.tg is not None
            self.tg.create_task(self._after_gate(gate, pn, kwargs), name=f"flowloom:{pn.id}")
        elif pn.runs_inline:
            self._run_inline(pn, kwargs)
        else:
            self.running += 1
            assert self.tg is not None
            self.tg.create_task(self._run_task(pn, kwargs), name=f"flowloom:{pn.id}")

    def _gather(self, pn: PlanNode) -> dict[str, Any] | Dead:
        """The inputs, copied; or the Dead value that skips `pn` (a Failed one if any, so a
        failure travels on to the merge that reports it)."""
        kwargs: dict[str, Any] = {}
        dead: Dead | None = None
        merge = pn.kind == "merge"
        for port, sources, multi, port_type in pn.in_ports:
            if multi:
                values = []
                first_dead = None
                # a merge lists each failure once, though it may come by the error port and
                # by failed branches: `errors` are payloads taken, `taken` values taken
                errors: set[int] = set()
                taken: set[int] = set()
                for key in sources:
                    value = self.lookup(key)
                    if merge and isinstance(value, Failed):
                        if id(value.error) not in errors and id(value.error) not in taken:
                            errors.add(id(value.error))
                            values.append(isolate(value.error))
                    elif isinstance(value, Dead):
                        first_dead = worse(first_dead, value)
                    elif dead is None and not (merge and id(value) in errors):
                        if merge:
                            taken.add(id(value))
                        values.append(isolate(value))
                if not values and first_dead is not None:
                    if merge:
                        return self._all_dead(pn)
                    dead = worse(dead, first_dead)
                kwargs[port] = values
                continue
            value = self.lookup(sources[0])
            if isinstance(value, Dead):
                dead = worse(dead, value)
                continue
            if dead is not None:
                continue  # skipped anyway: copy nothing more, only look for a failure
            if port_type != "any" and not matches(value, port_type):
                raise _InputMismatch(f"input {port!r} expects {port_type}, got "
                                     f"{describe(value)} from {sources[0][0]}.{sources[0][1]}")
            try:
                kwargs[port] = isolate(value)
            except TooDeep as exc:
                raise _InputMismatch(f"input {port!r}: {exc}") from None
        return kwargs if dead is None else dead

    def _first_failed(self, pn: PlanNode) -> Failed | None:
        for _, sources, _, _ in pn.in_ports:
            for key in sources:
                value = self.lookup(key)
                if isinstance(value, Failed):
                    return value
        return None

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
        if attempt:
            nr.attempts += 1
        if nr.started_t is None:
            nr.started_t = t
        if run.listening:
            run.emit(ev.NodeStarted(pn.id, self.path, attempt, t))
        return t

    def _run_inline(self, pn: PlanNode, kwargs: dict[str, Any]) -> None:
        t0 = self._begin(pn, 1)
        self.run.state[pn.id].inputs = self.run.recorded(kwargs)
        try:
            ctx = NodeContext(self.run, pn.id, self.path, 1)
            ctx.check_start(pn.impl)
            outputs = pn.impl.run(ctx, **kwargs)
        except Offload:  # an evaluation outgrew its slice: run the node again off the loop
            self.running += 1
            assert self.tg is not None
            self.tg.create_task(self._run_task(pn, kwargs, t0), name=f"flowloom:{pn.id}")
            return
        except Exception as exc:
            self._finish_failed(pn, _error_text(exc), t0, 1)
            return
        self._finish_ok(pn, outputs, t0)

    async def _run_task(self, pn: PlanNode, kwargs: dict[str, Any],
                        offloaded: float | None = None) -> None:
        """Runs `pn` with its retries. Durations count running time only: the wait for a slot
        under the cap is `queued`, backoff between attempts is in neither (NodeRetrying).
        `offloaded`: the start time of an inline node whose evaluation outgrew its slice
        (it has begun; it goes straight to a worker)."""
        run = self.run
        attempt = 0
        t0 = monotonic()  # when the current attempt began, moved on by its wait for the cap
        queued = 0.0
        spans: list[float] = []  # running time of each attempt that failed and was retried
        t_wait = t0
        phase = "waiting"  # for a slot under the cap; then "running"; "backoff" between tries
        heavy = offloaded is not None
        try:
            while True:
                attempt += 1
                if offloaded is not None:
                    t0, offloaded = offloaded, None
                else:
                    t0 = self._begin(pn, attempt)
                # With retries, each attempt gets its own copy: a failed attempt may have
                # changed what it was given.
                args = kwargs if pn.retry is None else {k: isolate(v) for k, v in kwargs.items()}
                run.state[pn.id].inputs = run.recorded(kwargs)
                ctx = NodeContext(run, pn.id, self.path, attempt)
                timer: asyncio.Timeout | None = None
                t_wait, phase = monotonic(), "waiting"
                try:
                    # loop nodes take no slot: their bodies' nodes do
                    gated = pn.body is None and run.gated(pn.pool)
                    async with (run.admission(pn.pool, pn.priority) if gated
                                else contextlib.nullcontext()):
                        waited = monotonic() - t_wait if gated else 0.0
                        queued += waited
                        if run.state[pn.id].started_t == t0:  # its first start: once let in
                            run.state[pn.id].started_t = t0 + waited
                        t0 += waited  # running time is the attempt's time less its wait
                        phase = "running"
                        timer = asyncio.timeout(pn.timeout_s)  # starts after the cap's wait
                        async with timer:
                            outputs = await self._invoke(pn, ctx, args, heavy)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if isinstance(exc, TimeoutError) and timer is not None and timer.expired():
                        message = f"timed out after {pn.timeout_s:g} s"
                    else:
                        message = _error_text(exc)
                    retry = pn.retry
                    # no retry once the scope is failing: settle, do not start over
                    if retry is not None and attempt < retry.max_attempts and not self.failing():
                        spans.append(monotonic() - t0)
                        phase = "backoff"
                        base = retry.delay(attempt)
                        delay = base / 2 + random.uniform(0, base / 2)
                        if run.listening:
                            run.emit(ev.NodeRetrying(pn.id, self.path, attempt, delay,
                                                     run.redact(message), monotonic(),
                                                     spans[-1]))
                        await asyncio.sleep(delay)
                        continue
                    self._finish_failed(pn, message, t0, attempt, queued=queued, earlier=spans)
                    return
                self._finish_ok(pn, outputs, t0, queued=queued, earlier=spans)
                return
        except asyncio.CancelledError:
            nr = run.state[pn.id]
            nr.status = CANCELLED
            nr.ended_t = monotonic()
            if phase == "running":
                nr.duration_s += nr.ended_t - t0
            elif phase == "waiting":
                nr.queued_s += nr.ended_t - t_wait
            if run.listening:
                run.emit(ev.NodeCancelled(pn.id, self.path, nr.ended_t))
            raise
        except Exception as exc:  # the bookkeeping around the node failed: that is its failure
            self._bookkeeping_failed(pn, exc)
        finally:
            self.running -= 1
            self.wake.set()

    async def _invoke(self, pn: PlanNode, ctx: NodeContext, kwargs: dict[str, Any],
                      heavy: bool = False) -> Any:
        # User expressions and templates inside run within the node's budget (engine/budget.py)
        mode = self.run.budget_for(pn)
        if pn.kind == "foreach":
            return await self._foreach(pn, kwargs)
        if pn.kind == "while":
            return await self._while(pn, kwargs, mode)
        ctx.check_start(pn.impl)
        if pn.mode == "async":
            token = budget.CURRENT.set(mode)
            try:
                return await pn.impl.run(ctx, **kwargs)
            except Offload:
                raise FlowloomError("an expression or template took longer than a slice on the "
                                    "event loop; an async node evaluates them with "
                                    "`await engine.budget.bounded(...)`") from None
            finally:
                budget.CURRENT.reset(token)
        if pn.mode == "thread":
            return await budget.in_thread(mode, pn.impl.run, ctx, **kwargs)
        if heavy:
            return await budget.offload(mode, pn.impl.run, ctx, **kwargs)
        return await budget.inline(mode, pn.impl.run, ctx, **kwargs)

    async def _after_gate(self, gate: PauseGate, pn: PlanNode, kwargs: dict[str, Any]) -> None:
        """Wait at the breakpoint gate, then start `pn` as `_start` would have, with the
        inputs the gate gives back (edited or not)."""
        try:
            kwargs = await gate.before(pn.id, kwargs, self.path)
        except asyncio.CancelledError:
            self.running -= 1
            self.wake.set()
            raise
        except Exception as exc:  # noqa: BLE001 - the node fails, never the run
            self.running -= 1
            self._bookkeeping_failed(pn, exc)
            self.wake.set()
            return
        if self.failure is None and not pn.runs_inline:  # (failed meanwhile: it is skipped)
            await self._run_task(pn, kwargs)  # counts itself off `running` when it ends
            return
        self.running -= 1
        if self.failure is None:
            try:
                self._run_inline(pn, kwargs)
            except Exception as exc:  # noqa: BLE001 - the node fails, never the run
                self._bookkeeping_failed(pn, exc)
        self.wake.set()

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
                try:
                    seed = isolate(items[index])
                except TooDeep as exc:
                    failure.append(f"item {index} cannot be passed on: {exc}")
                    return
                scope = Scope(run, body, self, self.path + (index,), {(pn.id, "item"): seed})
                try:
                    await scope.execute()
                except ScopeFailed as exc:
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

    async def _while(self, pn: PlanNode, kwargs: dict[str, Any],
                     mode: budget.Slice) -> dict[str, Any]:
        state = kwargs["in"]
        condition = pn.impl.condition
        cap = int(pn.impl.params["max_iterations"])
        run = self.run
        body = pn.body
        assert body is not None and pn.back_source is not None
        index = 0
        while await budget.inline(mode, condition.evaluate, {"x": state}):
            stopping = self.failing()
            if stopping:
                raise NodeFailure(f"stopped after {index} iterations: {stopping}")
            if index >= cap:
                raise NodeFailure(f"reached max_iterations ({cap}) while the condition "
                                  f"`{condition.source}` still holds")
            try:
                seed = isolate(state)
            except TooDeep as exc:
                raise NodeFailure(f"iteration {index}: the state cannot be passed on: "
                                  f"{exc}") from None
            scope = Scope(run, body, self, self.path + (index,), {(pn.id, "body"): seed})
            try:
                await scope.execute()
            except ScopeFailed as exc:
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
    def _finish_ok(self, pn: PlanNode, outputs: Any, t0: float, cached: bool = False, *,
                   queued: float = 0.0, earlier: list[float] | tuple[float, ...] = ()) -> None:
        """`t0`: when the last attempt began running; `earlier`: the running time of each
        attempt before it; `queued`: time spent waiting for the cap, apart."""
        if outputs is None:
            outputs = {}
        if not isinstance(outputs, dict) or not set(outputs) <= set(pn.out_ports):
            got = (f"{describe(outputs)}" if not isinstance(outputs, dict)
                   else f"unknown outputs {sorted(set(outputs) - set(pn.out_ports))}")
            self._finish_failed(pn, f"run() must return a dict of its outputs "
                                f"{list(pn.out_ports)}; got {got}", t0, len(earlier) + 1,
                                queued=queued, earlier=earlier)
            return
        problem = output_problem(outputs)  # refused here, before anything copies or records it
        if problem is not None:
            self._finish_failed(pn, problem, t0, self.run.state[pn.id].attempts or 1)
            return
        run = self.run
        recorded = run.recorded(outputs)  # before any state changes: it may fail (too deep)
        t = monotonic()
        spans = (*earlier, t - t0)
        duration = sum(spans)
        nr = run.state[pn.id]
        nr.successes += 1
        nr.settle()
        nr.runs += 1
        nr.ended_t = t
        nr.duration_s += duration
        nr.queued_s += queued
        nr.attempt_durations_s = spans
        nr.outputs = recorded
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
            run.emit(ev.NodeFinished(nid, self.path, duration, recorded, t, cached, queued,
                                     spans))
        self._resolve(pn)

    def _finish_failed(self, pn: PlanNode, message: str, t0: float, attempts: int, *,
                       queued: float = 0.0,
                       earlier: list[float] | tuple[float, ...] = ()) -> None:
        run = self.run
        message = run.redact(message)
        t = monotonic()
        spans = (*earlier, t - t0)
        duration = sum(spans)
        nr = run.state[pn.id]
        nr.failures += 1
        nr.settle()
        nr.error = message
        nr.runs += 1
        nr.ended_t = t
        nr.duration_s += duration
        nr.queued_s += queued
        nr.attempt_durations_s = spans
        if run.listening:
            run.emit(ev.NodeFailed(pn.id, self.path, duration, message, attempts, t, queued,
                                   spans))
        self.resolved.add(pn.id)
        if pn.on_error == "continue":
            payload = {"node": pn.id, "message": message, "attempts": attempts}
            failed = Failed(f"{pn.label} failed", payload)
            for port in pn.out_ports:
                self.values[(pn.id, port)] = failed
            self.values[(pn.id, "error")] = payload
            self._resolve(pn)
        elif self.failure is None:
            self.failure = f"node {pn.label} failed: {message}"

    def _skip(self, pn: PlanNode, reason: str, cause: Dead | None = None) -> None:
        """Skip `pn`; a failure that caused it (`cause` is Failed) travels on to its outputs."""
        self._mark_skipped(pn, reason)
        dead = Failed(reason, cause.error) if isinstance(cause, Failed) else Dead(reason)
        for port in pn.out_ports:
            self.values[(pn.id, port)] = dead
        self._resolve(pn)

    def _bookkeeping_failed(self, pn: PlanNode, exc: Exception) -> None:
        """An exception escaped the code around a node (copying its inputs or outputs, say):
        it becomes that node's failure, never the run's traceback."""
        log.warning("node %s failed unexpectedly", pn.id, exc_info=exc)
        if pn.id in self.resolved:  # already settled: the scope cannot go on consistently
            if self.failure is None:
                self.failure = f"node {pn.label} failed: {_bookkeeping_text(exc)}"
            return
        nr = self.run.state[pn.id]
        # every NodeFailed follows its NodeStarted; the running time of a started one is lost
        t0 = monotonic() if nr.status == RUNNING else self._begin(pn, 1)
        self._finish_failed(pn, _bookkeeping_text(exc), t0, max(1, nr.attempts))

    def _mark_skipped(self, pn: PlanNode, reason: str) -> None:
        run = self.run
        nr = run.state[pn.id]
        nr.skips += 1
        if nr.status != RUNNING:
            nr.settle()
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
                                self.fired[consumer.id] = value  # copied when it starts
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


def _bookkeeping_text(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return (f"a value is nested too deeply to handle (it exceeded Python's recursion "
                f"limit, {sys.getrecursionlimit()})")
    return _error_text(exc)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, FlowloomError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
