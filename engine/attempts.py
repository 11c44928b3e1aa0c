"""Carrying out one node: before-start hooks, admission, timeout, retries, the seam, the ledger.

`attempt_node` is the one path by which a node's work runs as a task — a scheduled node
(engine/scheduler.py) and an agent's tool call (engine/tools.py) alike:

1. the ledger's before-start hooks may replace the inputs (once, before the first attempt);
2. each attempt is `started` in the ledger, waits for admission (its pool, then the run-wide
   cap; loop nodes take no slot), runs under `asyncio.timeout(timeout_s)` — started after the
   wait — through the run's execution seam (engine/seam.py), or the caller's own `invoke`
   for loop nodes;
3. a failure is retried under the node's retry policy (exponential backoff with jitter) unless
   the scope is failing; cancellation is recorded in the ledger and passed on.

Durations count running time only: the wait for a slot is `queued`; backoff is in neither.
It returns an `Outcome`: the outputs, or the one-sentence failure; the caller routes values.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.bounded import Offload
from engine.context import NodeContext
from engine.errors import FlowloomError
from engine.ledger import error_text, monotonic
from engine.plaindata import output_problem
from engine.porttypes import describe
from engine.seam import Work
from engine.values import isolate

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.compile import PlanNode, RetryPolicy
    from engine.run import Run

__all__ = ["Outcome", "attempt_node", "outputs_problem"]

Invoke = Callable[["PlanNode", NodeContext, dict[str, Any], bool], Awaitable[Any]]


@dataclass(slots=True)
class Outcome:
    """How a node's execution ended: `outputs` (None if it failed, then `message` says why);
    `t0`, when its last attempt began running; `earlier`, running time of the attempts before
    it; `queued`, time spent waiting for slots."""

    outputs: Any
    message: str
    t0: float
    attempts: int
    queued: float
    earlier: tuple[float, ...]

    @property
    def ok(self) -> bool:
        return self.outputs is not None


def outputs_problem(pn: PlanNode, outputs: Any) -> str | None:
    """The sentence that fails `pn` for what its run() returned, or None if it is fine."""
    if type(outputs) is dict:  # the usual case, without building two sets
        ports = pn.out_ports
        for port in outputs:
            if port not in ports:
                break
        else:
            return output_problem(outputs)
    if not isinstance(outputs, dict) or not set(outputs) <= set(pn.out_ports):
        got = (f"{describe(outputs)}" if not isinstance(outputs, dict)
               else f"unknown outputs {sorted(set(outputs) - set(pn.out_ports))}")
        return f"run() must return a dict of its outputs {list(pn.out_ports)}; got {got}"
    return output_problem(outputs)  # refused before anything copies or records it


async def attempt_node(run: Run, pn: PlanNode, path: tuple[int, ...], kwargs: dict[str, Any],
                       *, retry: RetryPolicy | None = None, invoke: Invoke | None = None,
                       offloaded: float | None = None,
                       failing: Callable[[], str] = lambda: "") -> Outcome:
    """Run `pn` with `kwargs` and its retries; `offloaded` is the start of an inline node
    whose evaluation outgrew its slice (it has begun; it goes straight to a worker)."""
    ledger = run.ledger
    admission = run.admission
    if offloaded is None and ledger.has_hooks:
        kwargs = await ledger.before_start(pn.id, kwargs)
    attempt = 0
    # both are set before anything reads them: t0 by the attempt's start, t_wait before the
    # one wait they measure (for a slot)
    t0 = t_wait = 0.0
    queued = 0.0
    spans: list[float] = []  # running time of each attempt that failed and was retried
    phase = "waiting"  # for a slot; then "running"; "backoff" between tries
    heavy = offloaded is not None
    try:
        while True:
            attempt += 1
            if offloaded is not None:
                t0, offloaded = offloaded, None
            else:
                t0 = ledger.started(pn.id, path, attempt)
            # With retries, each attempt gets its own copy: a failed attempt may have changed
            # what it was given.
            args = kwargs if retry is None else {k: isolate(v) for k, v in kwargs.items()}
            ledger.inputs_seen(pn.id, kwargs)
            ctx = NodeContext(run, pn.id, path, attempt)
            timer: asyncio.Timeout | None = None
            try:
                if pn.body is None and admission.gated(pn.pool):  # loops take no slot
                    t_wait, phase = monotonic(), "waiting"
                    async with admission.admit(pn.pool, pn.priority):
                        waited = monotonic() - t_wait
                        queued += waited
                        ledger.admitted(pn.id, t0, waited)
                        t0 += waited  # running time is the attempt's time less its wait
                        phase = "running"
                        if pn.timeout_s is None:
                            outputs = await _work(run, pn, ctx, args, heavy, invoke)
                        else:
                            timer = asyncio.timeout(pn.timeout_s)  # starts after the wait
                            async with timer:
                                outputs = await _work(run, pn, ctx, args, heavy, invoke)
                else:
                    # Nothing to wait for, so no admission context and no wait to record;
                    # no timeout set, no timeout context (it cost a few µs a node for nothing).
                    phase = "running"
                    if pn.timeout_s is None:
                        outputs = await _work(run, pn, ctx, args, heavy, invoke)
                    else:
                        timer = asyncio.timeout(pn.timeout_s)
                        async with timer:
                            outputs = await _work(run, pn, ctx, args, heavy, invoke)
            except asyncio.CancelledError:
                raise
            except (Exception, Offload) as caught:
                exc = caught if isinstance(caught, Exception) else _offload_failure(pn, caught)
                expired = isinstance(exc, TimeoutError) and timer is not None and timer.expired()
                message = error_text(exc, pn.timeout_s if expired else None)
                # no retry once the scope is failing: settle, do not start over
                if retry is not None and attempt < retry.max_attempts and not failing():
                    spans.append(monotonic() - t0)
                    phase = "backoff"
                    base = retry.delay(attempt)
                    delay = base / 2 + random.uniform(0, base / 2)
                    ledger.retrying(pn.id, path, attempt, delay, message, spans[-1])
                    await asyncio.sleep(delay)
                    continue
                return Outcome(None, message, t0, attempt, queued, tuple(spans))
            return Outcome({} if outputs is None else outputs, "", t0, attempt, queued,
                           tuple(spans) if spans else ())
    except asyncio.CancelledError:
        ledger.cancelled(pn.id, path,
                         running_since=t0 if phase == "running" else None,
                         waiting_since=t_wait if phase == "waiting" else None)
        raise


ASYNC_OFFLOAD = ("an expression or template took longer than a slice on the event loop; an "
                 "async node evaluates them with `await engine.budget.bounded(...)`")


def _offload_failure(pn: PlanNode, offload: Offload) -> Exception:
    """An evaluation in an async node's own code outgrew its slice (engine/seam.py `OnLoop`
    awaits that code with no frame around it): the node's failure. From any other node it
    goes on (it is the seam's to handle)."""
    if pn.mode != "async":
        raise offload
    return FlowloomError(ASYNC_OFFLOAD)


def _work(run: Run, pn: PlanNode, ctx: NodeContext, args: dict[str, Any], heavy: bool,
          invoke: Invoke | None) -> Awaitable[Any]:
    """The node's own work, to await: a loop node's through the caller's `invoke`, any other
    through the run's seam. A plain function, not a coroutine: one frame less a node."""
    if invoke is not None and pn.body is not None:
        return invoke(pn, ctx, args, heavy)
    ctx.check_start(pn.impl)
    # User expressions and templates inside run within the node's budget (engine/budget.py)
    work = Work(pn, ctx, args, run.budgets.for_node(pn.id, pn.limits), run.placement(pn),
                heavy)
    return run.seam.choose(work).run(work)
