"""The execution seam: how one node's work is carried out, chosen per node.

The scheduler (engine/scheduler.py) decides *when* a node runs; engine/attempts.py wraps each
attempt in admission, timeout, retries and the ledger's bookkeeping; the seam decides *where*
the node's `run()` is called. Every way is an `Execution` with one method, `run(work)`, whose
result (a coroutine giving the outputs) is awaited on the run's loop (so cancelling the
awaiting task, a timeout or Stop reaches it):

* `OnLoop` — an `async def run`, awaited on the loop with the node's evaluation budget in force;
* `Inline` — a plain `def run` called on the loop for a slice, re-run off the loop if one of
  its evaluations outgrows the slice;
* `InThread` — a blocking `run` (a type with `blocking = True`) in a worker thread;
* `Offloaded` — a thread whose every evaluation runs in a budget worker process
  (engine/budget.py, engine/budgetworker.py), killed on Stop, timeout or a breach;
* a cluster backend (engine/dask_backend.py) is one more `Execution`.

A `Seam` picks the `Execution` for each piece of work: `LocalSeam` by the node's run mode;
`PlacedSeam` sends the nodes whose placement resolves to "cluster" to its cluster execution
and the rest to a local seam. `placement_of` reads the node-level `"placement"` setting.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from engine import budget
from engine.errors import FlowloomError, NodeFailure, Problem

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.compile import PlanNode
    from engine.context import NodeContext
    from engine.model import Workflow

__all__ = ["PLACEMENTS", "SEAM_KEY", "Execution", "InThread", "Inline", "LocalSeam", "Offloaded",
           "OnLoop", "PlacedSeam", "Seam", "SessionFailed", "Work", "placement_of",
           "placement_problems"]

PLACEMENTS = ("local", "cluster", "auto")
SEAM_KEY = "seam"  # Services.extra: the seam a sub-workflow's run shares with its caller


@dataclass(slots=True, eq=False)
class Work:
    """One attempt of one node: what an `Execution` needs to carry it out. Treat it as
    read-only; it is not a frozen dataclass only because one is made per attempt, and a
    frozen one costs a `object.__setattr__` per field to make."""

    node: PlanNode
    ctx: NodeContext
    inputs: dict[str, Any]
    budget: budget.Slice
    placement: str = "local"  # "local" | "cluster", resolved (placement_of)
    heavy: bool = False  # an inline node whose evaluation already outgrew its slice


class Execution(Protocol):
    """One way to carry out a node's work: `run(work)` gives what to await (a coroutine)."""

    name: str

    def run(self, work: Work) -> Awaitable[Any]: ...


class SessionFailed(FlowloomError):
    """A seam could not open its session for a run (a cluster out of reach): the run fails
    with this sentence before any node starts."""


class Seam(Protocol):
    """Chooses the `Execution` for each piece of work."""

    def choose(self, work: Work) -> Execution: ...

    def session(self) -> AbstractAsyncContextManager[None]:
        """Entered by the run around its whole execution, on the run's loop (a cluster
        backend connects here); raises SessionFailed if it cannot."""
        ...

    def inline_ok(self, node: PlanNode, setting: Any) -> bool:
        """Whether a cheap inline node (with `"placement"` `setting`) may run on the spot in
        the scheduler's turn, rather than as a task through `choose`."""
        ...


class OnLoop:
    name = "loop"

    def run(self, work: Work) -> Awaitable[Any]:
        """The node's coroutine, to await. With the node's budget already in force in its task
        (the run's default: most nodes) that is the node's own coroutine, with no frame
        around it: an Offload that comes out of it is engine/attempts.py's to explain
        (`ASYNC_OFFLOAD`)."""
        if budget.CURRENT.get() is work.budget:
            return work.node.impl.run(work.ctx, **work.inputs)
        return self._within_budget(work)

    async def _within_budget(self, work: Work) -> Any:
        current = budget.CURRENT
        token = current.set(work.budget)
        try:
            return await work.node.impl.run(work.ctx, **work.inputs)
        finally:
            current.reset(token)


class Inline:
    name = "inline"

    async def run(self, work: Work) -> Any:
        return await budget.inline(work.budget, work.node.impl.run, work.ctx, **work.inputs)


class InThread:
    name = "thread"

    async def run(self, work: Work) -> Any:
        return await budget.in_thread(work.budget, work.node.impl.run, work.ctx, **work.inputs)


class Offloaded:
    name = "process"

    async def run(self, work: Work) -> Any:
        return await budget.offload(work.budget, work.node.impl.run, work.ctx, **work.inputs)


class LocalSeam:
    """Every node on this machine, by its run mode."""

    __slots__ = ("on_loop", "inline", "in_thread", "offloaded")

    def __init__(self) -> None:
        self.on_loop, self.inline = OnLoop(), Inline()
        self.in_thread, self.offloaded = InThread(), Offloaded()

    def choose(self, work: Work) -> Execution:
        mode = work.node.mode
        if mode == "async":
            return self.on_loop
        if mode == "thread":
            return self.in_thread
        return self.offloaded if work.heavy else self.inline

    def inline_ok(self, node: PlanNode, setting: Any) -> bool:
        return True

    def session(self) -> AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()


class PlacedSeam:
    """Nodes placed on the cluster go to `cluster`; the rest to `local`."""

    __slots__ = ("local", "cluster")

    def __init__(self, cluster: Execution, local: Seam | None = None) -> None:
        self.cluster = cluster
        self.local = local if local is not None else LocalSeam()

    def choose(self, work: Work) -> Execution:
        return self.cluster if work.placement == "cluster" else self.local.choose(work)

    def inline_ok(self, node: PlanNode, setting: Any) -> bool:
        try:
            here = placement_of(setting, node.impl, node.id) == "local"
        except NodeFailure:
            return False  # the task path fails it with the sentence
        return here and self.local.inline_ok(node, setting)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self.local.session())
            opener = getattr(self.cluster, "session", None)
            if opener is not None:
                await stack.enter_async_context(opener())
            yield


def placement_of(setting: Any, impl: Any, node_id: str) -> str:
    """Where a node runs: its `"placement"` setting ("local", "cluster", or "auto", the
    default: the cluster for a node type that declares `cpu_bound = True`)."""
    if setting is None:
        setting = "auto"
    if setting not in PLACEMENTS:
        raise NodeFailure(f"node {node_id!r}: \"placement\" must be one of "
                          f"{', '.join(PLACEMENTS)}, got {setting!r:.40}")
    if setting == "auto":
        return "cluster" if getattr(type(impl), "cpu_bound", False) is True else "local"
    return setting


def placement_problems(workflow: Workflow) -> list[Problem]:
    """One sentence per node whose `"placement"` is not one of PLACEMENTS."""
    problems = []
    for node in workflow.nodes.values():
        setting = node.extra.get("placement")
        if setting is not None and setting not in PLACEMENTS:
            problems.append(Problem(f'"placement" must be one of {", ".join(PLACEMENTS)}, got '
                                    f'{setting!r:.40}', node_id=node.id))
    return problems
