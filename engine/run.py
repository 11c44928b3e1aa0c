"""`Run`: one execution of a compiled workflow, made of explicit parts.

A Run composes, and hands out by their public interfaces:
* `ledger` (engine/ledger.py) — subscribers and events, the NodeRun table, redaction, the node
  lifecycle, before-start hooks;
* `admission` (engine/slots.py `Admission`) — the run-wide cap and the named pools, shared with
  sub-workflow runs;
* `budgets` (engine/budget.py `Budgets`) — evaluation limits and the budget worker processes;
* `resources` (engine/resources.py) — the HTTP client, cookie jars and credentials;
* `seam` (engine/seam.py) — how each node's work is carried out (local, or a cluster backend);
* `clock` (engine/scheduler.py `SliceClock`) — when inline work yields to the loop;
* `reuse` — outputs replayed from an earlier run ("re-run from here", engine/rerun.py).

The Run itself owns only the start, the end (terminal event, leftovers, closing the parts) and
cancellation. The scheduling rules are engine/scheduler.py's.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from engine import events as ev
from engine.budget import CURRENT, Budgets, Limits, Workers
from engine.cap import Cap
from engine.compile import Compiled, PlanNode
from engine.context import Services
from engine.errors import InputError
from engine.ledger import BeforeStart, Ledger, monotonic
from engine.resources import Resources
from engine.runstate import CANCELLED, FAILED, SKIPPED, SUCCEEDED, NodeRun, RunResult
from engine.scheduler import Scope, ScopeFailed, SliceClock
from engine.seam import SEAM_KEY, LocalSeam, Seam, SessionFailed, placement_of
from engine.slots import POOLS_KEY, Admission, Pools, pool_sizes

__all__ = ["Run", "resolve_inputs", "run_workflow"]

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
                 limits: Limits | dict[str, float] | None = None,
                 seam: Seam | None = None) -> None:
        """`reuse` maps top-level node ids to outputs from an earlier run: those nodes are not
        run again, their outputs are replayed (see engine/rerun.py, "re-run from here").
        `cap` shares another run's concurrency cap (a sub-workflow run shares its parent's);
        without it, `concurrency` makes a cap of this run's own.
        `limits` ({"cpu_s", "memory_mb"}) is the budget of every user expression and template
        in the run, where a node sets none of its own (engine/budget.py).
        `seam` carries out the nodes' work (engine/seam.py): by default the caller's (a
        sub-workflow run's, from Services.extra), else all on this machine."""
        self.compiled = compiled
        top = compiled.plan.nodes
        self.reuse = dict(reuse or {})
        misplaced = [nid for nid in self.reuse if nid not in top or top[nid].kind == "output"]
        if misplaced:
            raise ValueError(f"cannot reuse outputs of {misplaced}: only top-level nodes that "
                             f"are not flow.output can be replayed")
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.inputs = resolve_inputs(compiled, inputs)
        self.concurrency = concurrency
        self.outputs: dict[str, Any] = {}
        self.ledger = Ledger(compiled.workflow.nodes)
        self.admission, services = _share_slots(compiled, services or Services(), cap,
                                                concurrency)
        # a sub-workflow's run carries its work out the way its caller's does
        found = services.extra.get(SEAM_KEY)
        self.seam: Seam = seam if seam is not None else found if found is not None \
            else LocalSeam()
        self.services = replace(services, extra={**services.extra, SEAM_KEY: self.seam})
        self.budgets = Budgets(limits)
        self.resources = Resources(self.services, compiled.workflow.extra.get("settings"),
                                   self.ledger)
        self.clock = SliceClock()
        self._auto: dict[type, str] = {}  # node type -> where "auto" places it (placement)
        self._settings: dict[str, Any] | None = None  # node id -> "placement" but auto
        self._task: asyncio.Task[Any] | None = None
        self._cancel_requested = False
        self._active = False  # the run's task is inside the scope: cancelling it is ours to do
        self._cancelled_task = False
        self._started = False

    # --- what callers read ----------------------------------------------------------------
    @property
    def state(self) -> dict[str, NodeRun]:
        return self.ledger.state

    @property
    def workers(self) -> Workers:
        """The run's budget worker processes (for tests and the bench)."""
        return self.budgets.workers

    @property
    def cap(self) -> Cap | None:
        """The run-wide concurrency cap (None: no cap), shared with sub-workflow runs."""
        return self.admission.cap

    def subscribe(self, callback: Callable[[Any], Any], *, batched: bool = False
                  ) -> Callable[[], None]:
        """Call `callback(event)` for every event, or `callback([events])` once per batch."""
        return self.ledger.subscribe(callback, batched=batched)

    def before_start(self, hook: BeforeStart) -> Callable[[], None]:
        """Await `hook(node_id, inputs)` before each node starts; a dict it returns replaces
        the inputs (engine/ledger.py). Returns the way to remove the hook."""
        return self.ledger.add_before_start(hook)

    def redact(self, text: str) -> str:
        return self.ledger.redact(text)

    def add_secret(self, value: str) -> None:
        """Mask `value` in everything the run records from now on (engine/ledger.py)."""
        self.ledger.add_secret(value)

    def recorded(self, value: Any) -> Any:
        """`value` with the run's secrets masked, as it may be recorded (engine/ledger.py)."""
        return self.ledger.recorded(value)

    def placement(self, pn: PlanNode) -> str:
        """Where `pn` runs ("local" | "cluster", engine/seam.py `placement_of`). The usual
        setting, none or "auto", is resolved once per node type of the run (looking up a
        `cpu_bound` a type does not declare cost a µs a node); the nodes with another
        setting are found in one pass over the workflow, on the first call; a setting that
        is not a placement fails the node each time."""
        settings = self._settings
        if settings is None:
            settings = self._settings = {
                nid: setting for nid, node in self.compiled.workflow.nodes.items()
                if (setting := node.extra.get("placement")) is not None and setting != "auto"}
        setting = settings.get(pn.id)
        if setting is not None:
            return placement_of(setting, pn.impl, pn.id)
        kind = type(pn.impl)
        found = self._auto.get(kind)
        if found is None:
            found = self._auto[kind] = placement_of(None, pn.impl, pn.id)
        return found

    # --- control --------------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the run: running nodes are cancelled, nothing new starts. Thread-safe."""
        self._cancel_requested = True
        loop_thread = self.ledger.loop_thread
        if loop_thread and threading.get_ident() != loop_thread:
            self.ledger.loop.call_soon_threadsafe(self.cancel)
            return
        if self._active and self._task is not None and not self._task.done():
            if not self._cancelled_task:
                self._cancelled_task = True
                self._task.cancel()

    async def execute(self) -> RunResult:
        if self._started:
            raise RuntimeError("a Run executes once; make a new Run to run again")
        self._started = True
        ledger = self.ledger
        ledger.bind(asyncio.get_running_loop(), threading.get_ident())
        self._task = asyncio.current_task()
        t0 = monotonic()
        self.clock.restart()
        if ledger.listening:
            ledger.emit(ev.RunStarted(self.run_id, self.compiled.workflow.name,
                                      len(ledger.state), dict(self.inputs), t0, time.time()))
        status, error = SUCCEEDED, None
        external_cancel = False
        budget_token = CURRENT.set(self.budgets.default)
        try:
            if self._cancel_requested:
                raise asyncio.CancelledError
            self._active = True
            async with self.seam.session():
                await Scope(self, self.compiled.plan, None, (), {}).execute()
        except (ScopeFailed, SessionFailed) as exc:
            status, error = FAILED, ledger.redact(str(exc))
        except Exception as exc:  # noqa: BLE001 - an engine bug still ends in a recorded status
            log.error("run %s stopped on an unexpected error", self.run_id, exc_info=exc)
            status, error = FAILED, ledger.redact(f"the run stopped on an unexpected error: "
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
            self.budgets.close()
            await self.resources.aclose()
        ledger.settle_leftovers(status == CANCELLED, lambda nid: self._leftover_reason(status,
                                                                                     nid))
        duration = monotonic() - t0
        if ledger.listening:
            ledger.emit(ev.RunFinished(self.run_id, status, ledger.recorded(dict(self.outputs)),
                                       error, duration, monotonic()))
        ledger.flush()
        result = RunResult(self.run_id, status, ledger.recorded(self.outputs), ledger.state,
                           error, duration, [str(w) for w in self.compiled.warnings], t0)
        if external_cancel:
            raise asyncio.CancelledError
        return result

    def _leftover_reason(self, status: str, node_id: str) -> str:
        if status == FAILED:
            return "not run: the run stopped after a failure"
        if node_id in self.compiled.tool_nodes:
            return "not called: no agent asked for this tool"
        return self._unreached_reason(node_id)

    def _unreached_reason(self, node_id: str) -> str:
        """Why a node in a loop body never ran in a run that succeeded."""
        scope_of = self.compiled.scope_of
        state = self.ledger.state
        loop = scope_of.get(node_id)
        while loop is not None:  # a skipped loop (or one around it) passes its reason on
            if state[loop].status == SKIPPED and state[loop].reason:
                return state[loop].reason
            loop = scope_of.get(loop)
        return f"not run: loop {scope_of.get(node_id)!r} ran no iteration that reached it"


def _share_slots(compiled: Compiled, services: Services, cap: Cap | None,
                 concurrency: int | None) -> tuple[Admission, Services]:
    """The run's admission: the caller's cap (`cap=`), else one of `concurrency` slots; the
    caller's pools when this run is a sub-workflow's (they come in Services.extra), else new
    ones — handed on the same way to runs this one starts, so at most that many nodes of a
    pool run at once across every level."""
    if cap is None and concurrency:
        cap = Cap(concurrency)
    extra = services.extra
    pools = extra.get(POOLS_KEY)
    if not isinstance(pools, Pools):
        pools = Pools()
    pools.add(pool_sizes(compiled.workflow))
    return Admission(cap, pools), replace(services, extra={**extra, POOLS_KEY: pools})


async def run_workflow(compiled: Compiled, inputs: dict[str, Any] | None = None,
                       **options: Any) -> RunResult:
    """Convenience: make a Run and execute it."""
    return await Run(compiled, inputs, **options).execute()
