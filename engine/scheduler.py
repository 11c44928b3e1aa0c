"""The scheduler: one run of one plan — the top level, or one iteration of a loop body.

`Scope` counts what each node still waits for, starts ready nodes, applies skipping and merges,
and runs loop nodes' bodies as child scopes; each node's work runs through engine/attempts.py
(admission, timeout, retries, the execution seam) and every transition is recorded in the
run's ledger (engine/ledger.py).

Scheduling rules:
* Each scope (the top level, or one iteration of a loop body) counts, per node, the edges it still
  waits for. A node whose count reaches zero is *ready*: if any value it reads is dead (its
  branch was not taken, or its source was skipped) it is skipped with that reason; otherwise it
  runs. A `flow.merge` in `all` mode runs with the values that arrived (skipped only if none
  did); in `first` mode it runs as soon as the first value arrives.
* A declared output that a node leaves out of its result is *not taken*: its value is dead.
* Cheap inline nodes run on the spot (unless a before-start hook is set, or the seam places
  them elsewhere); everything else runs as a task of the scope (by TaskGroup's rules), its
  work carried out by the run's execution seam (engine/seam.py: async code on the loop, plain
  `def` code in a worker thread, or on a cluster by its `"placement"`), under its pool and the
  run-wide concurrency cap, with per-node timeout and retries (exponential backoff with jitter).
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
Events are buffered and delivered in batches on the loop thread (the turn after an event, or
every FLUSH_S while they come faster; engine/ledger.py). `Run` (engine/run.py) owns the run's
parts, its start, end and cancellation. A task node's end starts the task nodes it made ready
itself (`_start_tasks_here`), so a chain of them takes one event-loop pass a node.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, NoReturn

from engine import budget
from engine import events as ev
from engine.attempts import Outcome, attempt_node, outputs_problem
from engine.bounded import Offload
from engine.breakpoints import PauseGate, gate_of
from engine.compile import Plan, PlanNode
from engine.context import NodeContext
from engine.errors import FlowloomError, NodeFailure
from engine.ledger import bookkeeping_text, error_text, monotonic
from engine.porttypes import describe, matches
from engine.runstate import RUNNING
from engine.tools import ToolHandle
from engine.values import Dead, Failed, TooDeep, isolate, worse

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.run import Run

__all__ = ["SLICE_S", "Scope", "ScopeFailed", "SliceClock"]

SLICE_S = 0.004  # longest stretch of inline work before yielding to the event loop
_MISSING = object()
log = logging.getLogger(__name__)


class SliceClock:
    """When the run's inline work last gave the loop a turn: the scheduler yields once a
    stretch of inline work passes SLICE_S."""

    __slots__ = ("start",)

    def __init__(self) -> None:
        self.start = monotonic()

    def restart(self) -> None:
        self.start = monotonic()

    def due(self) -> bool:
        return monotonic() - self.start > SLICE_S

    async def yield_if_due(self) -> None:
        if monotonic() - self.start > SLICE_S:
            await asyncio.sleep(0)
            self.start = monotonic()


class ScopeFailed(FlowloomError):
    """A scope stopped because a node in it failed (the message says which)."""

    pass


class Scope:
    """One run of one plan: the top level, or one iteration of a loop body."""

    __slots__ = ("run", "plan", "parent", "path", "values", "pending", "ready", "fired",
                 "running", "failure", "wake", "resolved", "context", "owner", "loop", "tasks",
                 "errors", "base_error", "aborting", "cancelled_owner")

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
        self.resolved: set[str] = set()
        # the scope's own context: what its tasks start from, wherever they are started
        self.context: contextvars.Context | None = None
        self.owner: asyncio.Task[Any] | None = None  # the task that runs `execute`
        self.loop: asyncio.AbstractEventLoop | None = None
        # The scope's tasks, as asyncio.TaskGroup would keep them, without its done callback
        # (a loop pass's callback a node): each task takes itself off when it ends
        # (`_run_task`, `_after_gate`); see `_spawn`, `_task_failed` and `_stop_tasks`.
        self.tasks: dict[str, asyncio.Task[Any]] = {}  # node id -> its task, until it ends
        self.errors: list[BaseException] = []  # what escaped a task (a bug around a node)
        self.base_error: BaseException | None = None  # a KeyboardInterrupt, a SystemExit
        self.aborting = False  # the tasks are being cancelled: nothing more starts
        self.cancelled_owner = False  # a task failed, so the owner was cancelled to stop
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
        self.context = contextvars.copy_context()
        self.owner = asyncio.current_task()
        self.loop = asyncio.get_running_loop()
        try:
            while True:
                while ready and self.failure is None:
                    pn = ready.popleft()
                    try:
                        self._start(pn)
                    except Exception as exc:  # noqa: BLE001 - the node fails, never the run
                        self._bookkeeping_failed(pn, exc)
                    await run.clock.yield_if_due()
                if self.running == 0:
                    break
                self.wake.clear()
                await self.wake.wait()
                run.clock.restart()
        except BaseException as exc:  # noqa: BLE001 - passed on once the tasks have ended
            await self._stop_tasks(exc)
        if self.errors:  # the last task failed (before its `_abort_for` came)
            await self._stop_tasks(None)
        if self.failure is not None:
            reason = f"not run: {self.failure}"
            for nid, pn in self.plan.nodes.items():
                if nid not in self.resolved:
                    self._mark_skipped(pn, reason)
            raise ScopeFailed(self.failure)

    # --- the scope's tasks: asyncio.TaskGroup's rules -------------------------------------
    def _spawn(self, pn: PlanNode, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro`, `pn`'s work, as a task of this scope, counted in `running` until it
        ends (it takes itself off `running` and `tasks`). Refused while the scope stops."""
        if self.aborting:
            coro.close()
            raise RuntimeError("the scope is stopping: no node starts")
        assert self.loop is not None
        self.tasks[pn.id] = self.loop.create_task(coro, name=f"flowloom:{pn.id}")
        self.running += 1

    def _task_failed(self, exc: BaseException) -> None:
        """An exception escaped a task of this scope (a bug in the bookkeeping around a node,
        or a KeyboardInterrupt): as in a TaskGroup, the other tasks are cancelled, and the
        owner too, which passes the error on once they have ended (`_stop_tasks`). The
        cancelling comes from a callback of the next loop pass, as a TaskGroup's done
        callback would do it."""
        self.errors.append(exc)
        if isinstance(exc, (SystemExit, KeyboardInterrupt)) and self.base_error is None:
            self.base_error = exc
        assert self.loop is not None
        self.loop.call_soon(self._abort_for, exc)

    def _abort_for(self, exc: BaseException) -> None:
        owner = self.owner
        if owner is None or owner.done():  # (not expected: its tasks end before it does)
            assert self.loop is not None
            self.loop.call_exception_handler({"message": "a task of a finished scope failed",
                                              "exception": exc})
            return
        if not self.aborting and not self.cancelled_owner:
            self._cancel_tasks()
            self.cancelled_owner = True
            owner.cancel()

    def _cancel_tasks(self) -> None:
        self.aborting = True
        for task in self.tasks.values():
            if not task.done():
                task.cancel()

    async def _stop_tasks(self, exc: BaseException | None) -> NoReturn:
        """The owner is cancelled (the run is stopping, or a task failed), its own loop
        raised `exc`, or (None) a task failed: cancel every task, wait until each has ended,
        then raise what a TaskGroup would have (engine bugs come out as the same
        BaseExceptionGroup)."""
        if self.cancelled_owner:
            assert self.owner is not None
            self.owner.uncancel()
        if isinstance(exc, (SystemExit, KeyboardInterrupt)) and self.base_error is None:
            self.base_error = exc
        self._cancel_tasks()
        while True:
            # a task cancelled before its first step never ran its `finally`: it stays in
            # `tasks`, done
            pending = [task for task in self.tasks.values() if not task.done()]
            if not pending:
                break
            with contextlib.suppress(asyncio.CancelledError):  # cancelled again: go on
                await asyncio.wait(pending)
        self.tasks.clear()
        if self.base_error is not None:
            raise self.base_error
        errors = self.errors
        if exc is not None and not isinstance(exc, asyncio.CancelledError):
            errors.append(exc)
        if errors:
            self.errors = []
            raise BaseExceptionGroup("unhandled errors in a TaskGroup", errors) from None
        assert exc is not None
        raise exc

    # --- starting nodes -------------------------------------------------------------------
    def _start(self, pn: PlanNode) -> None:
        if self.parent is None and pn.id in self.run.reuse:
            t0 = self._begin(pn, 0)
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
            # a breakpoint may pause it first (engine/breakpoints.py)
            self._spawn(pn, self._after_gate(gate, pn, kwargs))
        elif self._inline(pn):
            self._run_inline(pn, kwargs)
        else:
            self._spawn(pn, self._run_task(pn, kwargs))

    def _inline(self, pn: PlanNode) -> bool:
        """Whether `pn` runs on the spot: a cheap inline node, no before-start hook set, and
        a seam that keeps it here (engine/seam.py)."""
        run = self.run
        return (pn.runs_inline and not run.ledger.has_hooks
                and run.seam.inline_ok(pn, run.compiled.workflow.nodes[pn.id].extra.get(
                    "placement")))

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
            value = self.values.get(sources[0], _MISSING)
            if value is _MISSING:  # from a scope around this one
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
        return self.run.ledger.started(pn.id, self.path, attempt)

    def _run_inline(self, pn: PlanNode, kwargs: dict[str, Any]) -> None:
        run = self.run
        t0 = self._begin(pn, 1)
        run.ledger.inputs_seen(pn.id, kwargs)
        try:
            ctx = NodeContext(run, pn.id, self.path, 1)
            ctx.check_start(pn.impl)
            token = budget.CURRENT.set(run.budgets.for_node(pn.id, pn.limits))
            try:
                outputs = pn.impl.run(ctx, **kwargs)
            finally:
                budget.CURRENT.reset(token)
        except Offload:  # an evaluation outgrew its slice: run the node again off the loop
            self._spawn(pn, self._run_task(pn, kwargs, t0))
            return
        except Exception as exc:
            self._finish_failed(pn, error_text(exc), t0, 1)
            return
        self._finish_ok(pn, outputs, t0)

    async def _run_task(self, pn: PlanNode, kwargs: dict[str, Any],
                        offloaded: float | None = None) -> None:
        """Runs `pn` as a task of this scope (engine/attempts.py), then routes its outcome."""
        settled = False  # ended on its own (not cancelled): may start what it made ready
        try:
            try:
                outcome: Outcome = await attempt_node(
                    self.run, pn, self.path, kwargs, retry=pn.retry, invoke=self._invoke,
                    offloaded=offloaded, failing=self.failing)
                if outcome.outputs is not None:  # (outcome.ok)
                    self._finish_ok(pn, outcome.outputs, outcome.t0, queued=outcome.queued,
                                    earlier=outcome.earlier)
                else:
                    self._finish_failed(pn, outcome.message, outcome.t0, outcome.attempts,
                                        queued=outcome.queued, earlier=outcome.earlier)
                settled = True
            except Exception as exc:  # the bookkeeping around the node failed: its failure
                self._bookkeeping_failed(pn, exc)
            finally:
                self.running -= 1
                self.tasks.pop(pn.id, None)
                if not (settled and self._start_tasks_here()):
                    self.wake.set()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - a TaskGroup's rule (_task_failed)
            self._task_failed(exc)
            if isinstance(exc, (SystemExit, KeyboardInterrupt)):
                raise  # (asyncio stops the loop with it)

    def _start_tasks_here(self) -> bool:
        """Start the task nodes at the head of `ready` from the task that just ended, rather
        than waking the scope's loop to do it: that wake cost an event-loop pass and a future
        per node, a third of an async node's cost in a chain (bench/startup.py, async row).
        Creating a task runs no node code, so this is cheap; inline nodes, replayed results
        and a stretch longer than SLICE_S (a long cascade of skips) are left to the loop and
        its slice budget. Nothing starts while the scope is stopping or failing. True if
        the loop need not wake: nothing is left in `ready` for it and something still runs
        (whose end will wake it)."""
        ready = self.ready
        if ready and self.failure is None:
            owner = self.owner
            if self.aborting or (owner is not None and owner.cancelling()):
                # the run is stopping, or the scope's tasks are (a failed task cancels the
                # owner, and the owner's cancel cancels the tasks): start nothing
                return False
            run = self.run
            context = self.context
            assert context is not None
            until = 0.0  # a task's step is a turn of its own: SLICE_S after its first start
            while ready and self.failure is None:
                pn = ready[0]
                if pn.runs_inline or (self.parent is None and pn.id in run.reuse):
                    return False  # the loop runs it (inline work, a cached result)
                if until and monotonic() > until:
                    return False  # a long cascade (of skips): the loop goes on with it
                ready.popleft()
                try:
                    # in the scope's context, so a task copies it as if the loop started it,
                    # not the context of the node that just ended (a context variable the
                    # node set stays its own)
                    context.run(self._start, pn)
                except Exception as exc:  # noqa: BLE001 - the node fails, never the run
                    self._bookkeeping_failed(pn, exc)
                if not until and ready:
                    until = monotonic() + SLICE_S
        return self.running > 0

    async def _invoke(self, pn: PlanNode, ctx: NodeContext, kwargs: dict[str, Any],
                      heavy: bool = False) -> Any:
        """A loop node's own work: its body, run as child scopes."""
        if pn.kind == "foreach":
            return await self._foreach(pn, kwargs)
        return await self._while(pn, kwargs, self.run.budgets.for_node(pn.id, pn.limits))

    async def _after_gate(self, gate: PauseGate, pn: PlanNode, kwargs: dict[str, Any]) -> None:
        """Wait at the breakpoint gate, then start `pn` as `_start` would have, with the
        inputs the gate gives back (edited or not)."""
        try:
            try:
                kwargs = await gate.before(pn.id, kwargs, self.path)
            except asyncio.CancelledError:
                self._ended(pn)
                self.wake.set()
                raise
            except Exception as exc:  # noqa: BLE001 - the node fails, never the run
                self._ended(pn)
                self._bookkeeping_failed(pn, exc)
                self.wake.set()
                return
            if self.failure is None and not self._inline(pn):  # (failed meanwhile: skipped)
                await self._run_task(pn, kwargs)  # counts itself off `running` when it ends
                return
            self._ended(pn)
            if self.failure is None:
                try:
                    self._run_inline(pn, kwargs)
                except Exception as exc:  # noqa: BLE001 - the node fails, never the run
                    self._bookkeeping_failed(pn, exc)
            self.wake.set()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - a TaskGroup's rule (_task_failed)
            self._task_failed(exc)
            if isinstance(exc, (SystemExit, KeyboardInterrupt)):
                raise

    def _ended(self, pn: PlanNode) -> None:
        """`pn`'s task ends: off `running` and `tasks`."""
        self.running -= 1
        self.tasks.pop(pn.id, None)

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
                if run.ledger.listening:
                    run.ledger.emit(ev.LoopIterated(pn.id, self.path, index, total,
                                                    monotonic()))

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
            if run.ledger.listening:
                run.ledger.emit(ev.LoopIterated(pn.id, self.path, index, None, monotonic()))
            index += 1
            await run.clock.yield_if_due()
        return {"done": state}

    # --- finishing ------------------------------------------------------------------------
    def _finish_ok(self, pn: PlanNode, outputs: Any, t0: float, cached: bool = False, *,
                   queued: float = 0.0, earlier: tuple[float, ...] = ()) -> None:
        """`t0`: when the last attempt began running; `earlier`: the running time of each
        attempt before it; `queued`: time spent waiting for slots, apart."""
        if outputs is None:
            outputs = {}
        problem = outputs_problem(pn, outputs)
        if problem is not None:
            self._finish_failed(pn, problem, t0, len(earlier) + 1, queued=queued,
                                earlier=earlier)
            return
        self.run.ledger.succeeded(pn.id, self.path, outputs, t0, queued=queued,
                                  earlier=earlier, cached=cached)
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
        self._resolve(pn)

    def _finish_failed(self, pn: PlanNode, message: str, t0: float, attempts: int, *,
                       queued: float = 0.0, earlier: tuple[float, ...] = ()) -> None:
        message = self.run.ledger.failed(pn.id, self.path, message, t0, attempts,
                                         queued=queued, earlier=earlier)
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
                self.failure = f"node {pn.label} failed: {bookkeeping_text(exc)}"
            return
        nr = self.run.ledger.state[pn.id]
        # every NodeFailed follows its NodeStarted; the running time of a started one is lost
        t0 = monotonic() if nr.status == RUNNING else self._begin(pn, 1)
        self._finish_failed(pn, bookkeeping_text(exc), t0, max(1, nr.attempts))

    def _mark_skipped(self, pn: PlanNode, reason: str) -> None:
        self.run.ledger.skipped(pn.id, self.path, reason)

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
        # No wake here: the scope's loop calls this itself (inline nodes, skips, cached
        # results) and then looks at `ready`; a task calls it from _run_task, whose end wakes
        # the loop unless it started the ready task nodes itself (_start_tasks_here), and
        # _after_gate wakes the loop after an inline run.


class _InputMismatch(FlowloomError):
    pass
