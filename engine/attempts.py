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
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.context import NodeContext
from engine.ledger import error_text, monotonic
from engine.plaindata import output_problem
from engine.porttypes import describe
from engine.seam import Work, placement_of
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
    t0 = t_wait = monotonic()
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
            t_wait, phase = monotonic(), "waiting"
            try:
                gated = pn.body is None and admission.gated(pn.pool)  # loops take no slot
                async with (admission.admit(pn.pool, pn.priority) if gated
                            else contextlib.nullcontext()):
                    waited = monotonic() - t_wait if gated else 0.0
                    queued += waited
                    ledger.admitted(pn.id, t0, waited)
                    t0 += waited  # running time is the attempt's time less its wait
                    phase = "running"
                    timer = asyncio.timeout(pn.timeout_s)  # starts after the wait
                    async with timer:
                        if invoke is not None and pn.body is not None:
                            outputs = await invoke(pn, ctx, args, heavy)
                        else:
                            outputs = await _carry_out(run, pn, ctx, args, heavy)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
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
                           tuple(spans))
    except asyncio.CancelledError:
        ledger.cancelled(pn.id, path,
                         running_since=t0 if phase == "running" else None,
                         waiting_since=t_wait if phase == "waiting" else None)
        raise


async def _carry_out(run: Run, pn: PlanNode, ctx: NodeContext, args: dict[str, Any],
                     heavy: bool) -> Any:
    """The node's own work, through the run's seam."""
    ctx.check_start(pn.impl)
    placement = placement_of(run.compiled.workflow.nodes[pn.id].extra.get("placement"),
                             pn.impl, pn.id)
    # User expressions and templates inside run within the node's budget (engine/budget.py)
    work = Work(pn, ctx, args, run.budgets.for_node(pn.id, pn.limits), placement, heavy)
    return await run.seam.choose(work).run(work)
