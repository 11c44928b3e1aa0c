"""Breakpoints: where a run pauses before a node starts, and the gate it pauses at.

A breakpoint sits on a node or on a wire, with an optional condition. Breakpoints are view
state: they live in the file's `"ui"` block, which compile, validate and plain runs never read,
so adding one changes no result (the file's bytes do change; see docs in the report):

    "ui": {"breakpoints": [
              {"node": "score"},
              {"node": "score", "condition": "x['score'] < 0.5"},
              {"wire": {"source": "a", "source_port": "out", "target": "b", "target_port": "in"},
               "condition": "index == 2"}],
           "break_mode": "all"}

A wire's breakpoint pauses before the node the wire goes into starts, showing that wire's value.
A condition sees `x` (a wire's value; a node's only input, or the dict of its inputs when it has
several), `inputs` (that dict, always), `index` (the innermost loop item's index, None outside a
loop) and `path` (every enclosing loop's index, outermost first). It is evaluated by the
engine's bounded evaluator within the run's budget; one that fails to evaluate pauses, saying why.

`PauseGate` is what a host (`flowloom run --break`, the editor) attaches to a run. The scheduler
(engine/scope.py) asks `gate_of(run)`; for a node the gate `watches` it awaits
`gate.before(node_id, inputs, path)` before the node's work starts and runs the node with the
inputs it returns (edited or not). A pause awaits the host's `decide(stop)`, which returns a
`Resume`: continue; step (run this node, pause at the next node downstream of it — in `all` mode
at the next node that would start anywhere); abort (cancels the run). `branch` mode (the default)
pauses only the branch that hit; `all` holds every node that would start while a stop is open
(nodes already running finish their work).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine import budget
from engine.errors import ExpressionError
from engine.expressions import Expression, check_syntax
from engine.porttypes import describe, matches

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.executor import Run
    from engine.model import Workflow

log = logging.getLogger(__name__)

UI_KEY, BREAKPOINTS_KEY, MODE_KEY = "ui", "breakpoints", "break_mode"
BRANCH, ALL = "branch", "all"
MODES = (BRANCH, ALL)
CONTINUE, STEP, ABORT = "continue", "step", "abort"
GATE_KEY = "breakpoint_gate"  # Services.extra: the PauseGate, for the run it was attached to
EdgeKey = tuple[str, str, str, str]
_WIRE_KEYS = ("source", "source_port", "target", "target_port")


# --- breakpoints in the file's view state ---------------------------------------------------
@dataclass(frozen=True)
class Breakpoint:
    """On a node (`node`) or on a wire (`wire`, the edge's key); `condition` "" = always."""

    node: str | None = None
    wire: EdgeKey | None = None
    condition: str = ""

    @property
    def target(self) -> str:
        """The node it pauses before."""
        return self.node if self.node is not None else self.wire[2]  # type: ignore[index]

    @property
    def where(self) -> str:
        if self.wire is not None:
            s, sp, t, tp = self.wire
            return f"wire {s}.{sp} → {t}.{tp}"
        return f"node {self.node!r}"

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = ({"node": self.node} if self.wire is None
                                 else {"wire": dict(zip(_WIRE_KEYS, self.wire, strict=True))})
        if self.condition:
            entry["condition"] = self.condition
        return entry


def _ui(extra: dict[str, Any]) -> dict[str, Any]:
    ui = extra.get(UI_KEY)
    return ui if isinstance(ui, dict) else {}


def read_breakpoints(workflow: Workflow) -> tuple[list[Breakpoint], list[str]]:
    """The workflow's breakpoints that name a node or wire it has, and one sentence per entry
    that cannot be used (malformed, a node or wire that is gone, a condition that does not
    parse)."""
    raw = _ui(workflow.extra).get(BREAKPOINTS_KEY, [])
    if not isinstance(raw, list):
        return [], ["ui.breakpoints must be a list; no breakpoint is used"]
    edges = {e.key() for e in workflow.edges}
    found: list[Breakpoint] = []
    problems: list[str] = []
    for n, entry in enumerate(raw):
        bp, problem = _entry(entry, n)
        if bp is not None and bp.node is not None and bp.node not in workflow.nodes:
            problem = f"breakpoint {n + 1}: there is no node {bp.node!r}"
        elif bp is not None and bp.wire is not None and bp.wire not in edges:
            problem = f"breakpoint {n + 1}: there is no {bp.where}"
        elif bp is not None and bp.condition:
            syntax = check_syntax(bp.condition)
            if syntax is not None:
                problem = f"breakpoint {n + 1} on {bp.where}: {syntax}"
        if problem is not None:
            problems.append(problem)
        elif bp is not None:
            found.append(bp)
    return found, problems


def _entry(entry: Any, n: int) -> tuple[Breakpoint | None, str | None]:
    if not isinstance(entry, dict):
        return None, f"breakpoint {n + 1} is not an object"
    condition = entry.get("condition", "")
    if not isinstance(condition, str):
        return None, f"breakpoint {n + 1}: the condition must be text"
    node, wire = entry.get("node"), entry.get("wire")
    if isinstance(node, str) and wire is None:
        return Breakpoint(node=node, condition=condition.strip()), None
    if isinstance(wire, dict) and node is None and all(
            isinstance(wire.get(k), str) for k in _WIRE_KEYS):
        key = tuple(wire[k] for k in _WIRE_KEYS)
        return Breakpoint(wire=key, condition=condition.strip()), None  # type: ignore[arg-type]
    return None, (f"breakpoint {n + 1} must name a \"node\" or a \"wire\" "
                  f"({{{', '.join(_WIRE_KEYS)}}})")


def break_mode(workflow: Workflow) -> str:
    """The file's `ui.break_mode`: "all" pauses the whole run at a breakpoint, else "branch"."""
    return ALL if _ui(workflow.extra).get(MODE_KEY) == ALL else BRANCH


def with_breakpoints(extra: dict[str, Any], breakpoints: Iterable[Breakpoint],
                     mode: str | None = None) -> dict[str, Any]:
    """A copy of a workflow's `extra` holding these breakpoints (and `mode`, if given); every
    other key, in "ui" and out of it, is kept. An empty list or the default mode is left out."""
    result = copy.deepcopy(extra)
    ui = dict(_ui(result))
    entries = [bp.to_json() for bp in breakpoints]
    if entries:
        ui[BREAKPOINTS_KEY] = entries
    else:
        ui.pop(BREAKPOINTS_KEY, None)
    if mode is not None:
        if mode == ALL:
            ui[MODE_KEY] = ALL
        else:
            ui.pop(MODE_KEY, None)
    if ui:
        result[UI_KEY] = ui
    else:
        result.pop(UI_KEY, None)
    return result


# --- pausing a run --------------------------------------------------------------------------
@dataclass(frozen=True)
class Resume:
    """A host's answer to a stop. `edited`: run with `value` in place of what was shown."""

    action: str = CONTINUE
    value: Any = None
    edited: bool = False


@dataclass(eq=False)
class Stop:
    """One node waiting at the gate. `value` is what the host shows and may edit: the wire's
    value (`port` is the input it goes into) or the dict of the node's inputs (`port` None),
    secrets masked, in the host's rendering. `hit` False: held only because the run is paused
    (`all` mode); such a stop is not shown for a decision."""

    node_id: str
    path: tuple[int, ...]
    value: Any
    port: str | None
    reason: str
    hit: bool
    breakpoint: Breakpoint | None = None
    types: dict[str, str] = field(default_factory=dict)  # input port -> its declared type
    _wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _released: Resume | None = field(default=None, repr=False)

    @property
    def index(self) -> int | None:
        """The innermost loop item's index (None outside a loop)."""
        return self.path[-1] if self.path else None

    @property
    def title(self) -> str:
        loop = f" (item {self.index})" if self.path else ""
        return f"Paused before {self.node_id!r}{loop}: {self.reason}"

    def problem(self, value: Any) -> str | None:
        """Why `value` cannot replace what was shown (None: it can)."""
        if self.port is not None:
            return self._type_problem(self.port, value)
        if not isinstance(value, dict):
            return (f"the inputs of node {self.node_id!r} must stay an object with the keys "
                    f"{sorted(self.value)}")
        if set(value) != set(self.value):
            return (f"the inputs of node {self.node_id!r} must keep exactly the keys "
                    f"{sorted(self.value)} (got {sorted(map(str, value))})")
        for port, item in value.items():
            problem = self._type_problem(port, item)
            if problem is not None:
                return problem
        return None

    def _type_problem(self, port: str, value: Any) -> str | None:
        expected = self.types.get(port, "any")
        if expected == "any" or matches(value, expected):
            return None
        return (f"input {port!r} of node {self.node_id!r} expects {expected}, got "
                f"{describe(value)}")


Decide = Callable[[Stop], Awaitable[Resume]]


class PauseGate:
    """Pauses a run before nodes with breakpoints; one gate per run (`attach`)."""

    def __init__(self, breakpoints: Iterable[Breakpoint], decide: Decide, mode: str = BRANCH,
                 render: Callable[[Any], Any] | None = None) -> None:
        """`decide(stop)`: the host's answer, awaited in the paused node's task (cancelled if
        the run stops meanwhile). `render`: how the host shows values (e.g. as JSON data);
        an edit equal to what was shown keeps the original value (secrets, bytes included)."""
        if mode not in MODES:
            raise ValueError(f"break mode must be one of {MODES}, got {mode!r}")
        self.decide = decide
        self.mode = mode
        self.render = render or (lambda value: value)
        self.run: Run | None = None
        self.stops: list[Stop] = []  # every node waiting at the gate, oldest first
        self.listeners: list[Callable[[], None]] = []  # called when `stops` changes
        self._steps: list[tuple[str, tuple[int, ...]]] = []  # branch mode: stepped from here
        self._stepping = False  # all mode: the next node to start pauses
        self._downstream: dict[str, frozenset[str]] = {}
        self._by_node: dict[str, list[tuple[Breakpoint, Expression | None]]] = {}
        self.set_breakpoints(breakpoints)

    def set_breakpoints(self, breakpoints: Iterable[Breakpoint]) -> None:
        """Replace the breakpoints (the editor's, changed while the run goes on)."""
        by_node: dict[str, list[tuple[Breakpoint, Expression | None]]] = {}
        for bp in breakpoints:
            try:
                expr = Expression(bp.condition) if bp.condition else None
            except ExpressionError as exc:
                log.warning("breakpoint on %s is not used: %s", bp.where, exc)
                continue
            by_node.setdefault(bp.target, []).append((bp, expr))
        self._by_node = by_node

    def attach(self, run: Run) -> PauseGate:
        """Make this the gate of `run` (before it executes). Runs it starts (sub-workflows)
        carry the same services but are not paused: `gate_of` answers for `run` only."""
        self.run = run
        run.services.extra[GATE_KEY] = self
        return self

    # --- asked by the scheduler ---------------------------------------------------------------
    def watches(self, node_id: str, path: tuple[int, ...]) -> bool:
        """Whether `before` may pause this node (cheap, synchronous: others start at once)."""
        if node_id in self._by_node:
            return True
        if self.mode == ALL:
            return self._stepping or any(s.hit for s in self.stops)
        return any(self._follows(step, node_id, path) for step in self._steps)

    async def before(self, node_id: str, inputs: dict[str, Any],
                     path: tuple[int, ...]) -> dict[str, Any]:
        """Pause if a breakpoint or a step says so; the inputs to run the node with."""
        found = await self._hit(node_id, inputs, path)
        stepped = self._step_here(node_id, path)
        if found is not None:
            stop = self._stop(node_id, inputs, path, found[0], found[1], True)
        elif stepped:
            stop = self._stop(node_id, inputs, path, None, "step", True)
        elif self.mode == ALL and any(s.hit for s in self.stops):
            stop = self._stop(node_id, inputs, path, None, "the run is paused", False)
        else:
            return inputs
        self.stops.append(stop)
        self._changed()
        try:
            resume = await self._wait(stop)
        finally:
            self.stops.remove(stop)
            self._changed()
        return self._resumed(stop, resume, inputs)

    # --- matching ---------------------------------------------------------------------------
    async def _hit(self, node_id: str, inputs: dict[str, Any], path: tuple[int, ...]
                   ) -> tuple[Breakpoint, str] | None:
        for bp, expr in self._by_node.get(node_id, ()):
            port = bp.wire[3] if bp.wire is not None else None
            if port is not None and port not in inputs:
                continue  # that wire carried nothing into this start
            if expr is None:
                return bp, f"breakpoint on {bp.where}"
            names = {"x": inputs[port] if port is not None else _node_value(inputs),
                     "inputs": inputs, "index": path[-1] if path else None, "path": list(path)}
            try:
                holds = await budget.bounded(expr.evaluate, names)
            except ExpressionError as exc:
                return bp, f"the condition of the breakpoint on {bp.where} failed: {exc}"
            if holds:
                return bp, f"breakpoint on {bp.where} (`{bp.condition}` holds)"
        return None

    def _step_here(self, node_id: str, path: tuple[int, ...]) -> bool:
        if self.mode == ALL:
            stepping, self._stepping = self._stepping, False
            return stepping
        for step in self._steps:
            if self._follows(step, node_id, path):
                self._steps.remove(step)
                return True
        return False

    def _follows(self, step: tuple[str, tuple[int, ...]], node_id: str,
                 path: tuple[int, ...]) -> bool:
        """`node_id` at `path` is downstream of the stepped node in the same branch: reached
        by wires from it, in the same loop iteration, the loop's next one, or around/inside
        it (not in another item of an enclosing loop)."""
        stepped, at = step
        n = min(len(at), len(path))
        return at[:n - 1] == path[:n - 1] and node_id in self._reach(stepped)

    def _reach(self, node_id: str) -> frozenset[str]:
        found = self._downstream.get(node_id)
        if found is None:
            assert self.run is not None
            edges = self.run.compiled.workflow.edges
            seen: set[str] = set()
            todo = [node_id]
            while todo:
                current = todo.pop()
                for e in edges:
                    if e.source == current and e.target not in seen:
                        seen.add(e.target)
                        todo.append(e.target)
            found = self._downstream[node_id] = frozenset(seen)
        return found

    # --- waiting and resuming -----------------------------------------------------------------
    def _stop(self, node_id: str, inputs: dict[str, Any], path: tuple[int, ...],
              bp: Breakpoint | None, reason: str, hit: bool) -> Stop:
        port = bp.wire[3] if bp is not None and bp.wire is not None else None
        shown = inputs[port] if port is not None else inputs
        recorded = self.run.recorded(shown) if self.run is not None else shown
        return Stop(node_id, path, self.render(recorded), port, reason, hit, bp,
                    self._types(node_id))

    def _types(self, node_id: str) -> dict[str, str]:
        """The declared type of each single-valued input of `node_id`, for checking edits
        (best effort: the compiled plan's shape is the scheduler's, not ours)."""
        node = self.run.compiled.nodes.get(node_id) if self.run is not None else None
        found: dict[str, str] = {}
        for entry in getattr(node, "in_ports", ()):
            port, _sources, multi, port_type = entry
            if not multi and isinstance(port_type, str):
                found[port] = port_type
        return found

    async def _wait(self, stop: Stop) -> Resume:
        while True:
            if stop.hit:
                resume = await self.decide(stop)
                break
            await stop._wake.wait()
            stop._wake.clear()
            if stop._released is not None:
                return stop._released
            # promoted to a stop of its own by a step (all mode): ask about it
        if resume.action == ABORT:
            assert self.run is not None
            self.run.cancel()
            await asyncio.Event().wait()  # the cancel reaches this task
        self._after(stop, resume)
        return resume

    def _after(self, stop: Stop, resume: Resume) -> None:
        others = [s for s in self.stops if s is not stop]
        if resume.action == STEP:
            if self.mode == BRANCH:
                self._steps.append((stop.node_id, stop.path))
                return
            held = next((s for s in others if not s.hit), None)
            if held is None:
                self._stepping = True
            else:  # the next node to start is one already waiting
                held.hit, held.reason = True, "step"
                held._wake.set()
                self._changed()
            return
        if self.mode == ALL and not any(s.hit for s in others):
            for s in others:  # nothing else hit: the whole run goes on
                s._released = Resume(CONTINUE)
                s._wake.set()

    def _resumed(self, stop: Stop, resume: Resume, inputs: dict[str, Any]) -> dict[str, Any]:
        if not resume.edited:
            return inputs
        problem = stop.problem(resume.value)
        if problem is not None:  # hosts check first; a bad edit is never run with
            log.warning("breakpoint edit ignored: %s", problem)
            return inputs
        if stop.port is not None:
            if resume.value != stop.value:
                return {**inputs, stop.port: copy.deepcopy(resume.value)}
            return inputs
        return {port: (inputs[port] if resume.value[port] == stop.value[port]
                       else copy.deepcopy(resume.value[port])) for port in inputs}

    def _changed(self) -> None:
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:  # a host's display bug must never stop the run
                log.exception("breakpoint listener %r failed", listener)


def _node_value(inputs: dict[str, Any]) -> Any:
    return next(iter(inputs.values())) if len(inputs) == 1 else inputs


def gate_of(run: Run) -> PauseGate | None:
    """The gate attached to `run`, if any (not one a parent run handed on in its services)."""
    gate = run.services.extra.get(GATE_KEY)
    return gate if gate is not None and gate.run is run else None
