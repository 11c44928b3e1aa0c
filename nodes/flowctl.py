"""Flow-control nodes beyond the engine's: `flow.subworkflow`, `util.log`, `flow.fail`.

`flow.subworkflow` runs another `.loom.json` (its path relative to the calling workflow's
folder) as a run of its own, sharing the caller's services (credentials, approver, HTTP client),
and returns its outputs. The child run shares the run-wide concurrency cap; while it runs,
this node lends its own slot to it (engine/cap.py). Before it starts, the chain of files it
calls is walked; a file that calls itself, directly or through others, is refused with the
chain in the message. The stack of running files is also carried in
`Services.extra[STACK_KEY]` as a second guard.

Services.extra keys a host may set: `REGISTRY_KEY` (the Registry to compile sub-workflows with;
default: `nodes.default_registry()`), `WORKFLOW_PATH_KEY` (the top-level file, so that a file
calling itself is caught one level earlier). When the run is recorded, the file's text comes
from the recorder (`Services.extra[EFFECTS_KEY].subworkflow`, engine/record/tap.py), which keeps
it with the run and, on a replay, serves the version the recorded run ran.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import budget
from engine import events as ev
from engine.context import EFFECTS_KEY
from engine.errors import CompileError, InputError, NodeFailure, WorkflowFileError
from engine.expressions import Expression, check_syntax
from engine.fileformat import load, loads, parse
from engine.nodetype import NodeType, Param, Port
from engine.permissions import INCLUDE, Need
from engine.registry import Registry
from nodes.text import MessageNode

if TYPE_CHECKING:  # pragma: no cover - imported when a sub-workflow runs (networkx, httpx):
    from engine.compile import Compiled  # listing the node types must not pay for them

log = logging.getLogger(__name__)

REGISTRY_KEY = "registry"
WORKFLOW_PATH_KEY = "workflow_path"
STACK_KEY = "subworkflow_stack"
MAX_DEPTH = 32


def _resolve(base: Path, path: str) -> Path:
    p = Path(path).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


def call_chain_problem(start: Path, stack: tuple[Path, ...] = ()) -> str | None:
    """A sentence naming a cycle of sub-workflow calls reachable from `start`, or None."""

    def walk(path: Path, chain: tuple[Path, ...]) -> str | None:
        if path in chain:
            names = " -> ".join(p.name for p in chain[chain.index(path):] + (path,))
            return f"sub-workflow recursion refused: {names}"
        if len(chain) > MAX_DEPTH:
            return f"sub-workflows nest deeper than {MAX_DEPTH} levels"
        try:
            doc = parse(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError, WorkflowFileError):
            return None  # reported when that file is actually loaded
        for raw in doc.get("nodes") or []:
            if isinstance(raw, dict) and raw.get("type") == SubWorkflow.type_id:
                target = (raw.get("params") or {}).get("path")
                if isinstance(target, str) and target.strip():
                    problem = walk(_resolve(path.parent, target), chain + (path,))
                    if problem:
                        return problem
        return None

    return walk(start, stack)


class SubWorkflow(NodeType):
    type_id = "flow.subworkflow"
    title = "Sub-workflow"
    category = "Flow"
    description = "Runs another workflow file with inputs taken from `in`; outputs its outputs."
    inputs = (Port("in", required=False, help="the value the input mapping reads as x"),)
    outputs = (Port("out", "dict", help="the sub-workflow's outputs by name"),)
    parameters = (
        Param("path", "str", default="", required=True,
              help="a .loom.json file, relative to this workflow's folder"),
        Param("inputs", "dict", default={},
              help="sub-workflow input name -> expression over x; empty: x itself (a dict) "
                   "is the inputs"),
    )
    summary_param = "path"

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        problems = []
        for name, source in params["inputs"].items():
            problem = check_syntax(source) if isinstance(source, str) else \
                "must be a string expression"
            if problem:
                problems.append(f"input mapping {name!r}: {problem}")
        return problems

    @classmethod
    def needs(cls, params: dict[str, Any], base_dir: Path | None) -> list[Need]:
        """What the called file needs (engine/permissions.py walks it)."""
        path = str(params["path"]).strip()
        if not path:
            return []
        return [Need(INCLUDE, str(_resolve(base_dir or Path.cwd(), path)), "path")]

    def setup(self) -> None:
        self.mapping = {name: Expression(src) for name, src in self.params["inputs"].items()}
        self._cache: tuple[tuple[Any, ...], Compiled] | None = None

    def _inputs(self, x: Any) -> dict[str, Any]:
        if not self.mapping:
            if x is None:
                return {}
            if not isinstance(x, dict):
                raise NodeFailure(f"with no input mapping, `in` must be a dict of the "
                                  f"sub-workflow's inputs; got {type(x).__name__}")
            return x
        return {name: expr.evaluate({"x": x}) for name, expr in self.mapping.items()}

    def _compile(self, path: Path, registry: Registry, text: str | None = None) -> Compiled:
        """The called file compiled; `text`: its content as the run's recorder gave it."""
        from engine.compile import compile_workflow

        if text is None:
            try:
                stat = path.stat()
            except FileNotFoundError:
                raise NodeFailure(f"sub-workflow file {path} does not exist") from None
            key: tuple[Any, ...] = (path, stat.st_mtime_ns, stat.st_size, id(registry))
        else:
            key = (path, hash(text), id(registry))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        try:
            loaded = load(path, registry) if text is None else loads(text, registry, str(path))
            if loaded.errors:
                raise CompileError(loaded.problems)
            compiled = compile_workflow(loaded.workflow, registry)
        except (WorkflowFileError, CompileError) as exc:
            raise NodeFailure(f"sub-workflow {path.name} cannot run: {exc}") from None
        self._cache = (key, compiled)
        return compiled

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        services = ctx.services
        extra = dict(services.extra)
        path = _resolve(Path(ctx.base_dir), self.params["path"])
        stack: tuple[Path, ...] = tuple(extra.get(STACK_KEY) or ())
        top = extra.get(WORKFLOW_PATH_KEY)
        if not stack and top:
            stack = (Path(top).resolve(),)
        problem = call_chain_problem(path, stack)
        if problem:
            raise NodeFailure(problem)
        registry = extra.get(REGISTRY_KEY)
        if registry is None:
            from nodes import default_registry  # only when the host gave none; avoids a cycle
            registry = extra[REGISTRY_KEY] = default_registry()
        recorder = extra.get(EFFECTS_KEY)
        text = None if recorder is None else recorder.subworkflow(ctx.node_id, str(path))
        compiled = self._compile(path, registry, text)
        extra[STACK_KEY] = stack + (path,)
        child_services = replace(services, base_dir=path.parent, extra=extra)
        from engine.executor import Run

        try:
            # the child shares the run-wide concurrency cap (see engine/cap.py) and keeps
            # this node's evaluation budget
            mode = budget.CURRENT.get()
            child = Run(compiled, await budget.bounded(self._inputs, inputs.get("in")),
                        services=child_services, cap=ctx.cap,
                        limits=mode.limits if isinstance(mode, budget.Slice) else None)
        except InputError as exc:
            raise NodeFailure(f"sub-workflow {path.name}: {exc}") from None
        total = max(1, len(compiled.workflow.nodes))
        short = path.name.removesuffix(".loom.json")
        done = [0]

        def forward(event: Any) -> None:
            if isinstance(event, ev.NodeLogged):
                ctx.log(event.level, f"[{short}/{event.node_id}] {event.message}")
            elif isinstance(event, (ev.NodeFinished, ev.NodeFailed, ev.NodeSkipped)) \
                    and not event.iteration:
                done[0] += 1
                ctx.progress(done[0] / total, f"{path.name}: {done[0]}/{total} nodes")

        child.subscribe(forward)
        ctx.progress(0.0, f"{path.name}: started")
        async with ctx.lent_slot():  # the child's nodes take slots; this node only waits
            result = await child.execute()
        if not result.ok:
            raise NodeFailure(f"sub-workflow {path.name} {result.status}: {result.error}")
        return {"out": dict(result.outputs)}


class Log(MessageNode):
    type_id = "util.log"
    title = "Log"
    category = "Utility"
    description = "Writes a message (a template over x) to the run log and passes `in` on."
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (
        Param("message", "text", default="{{ x }}", help="a template over x, the input"),
        Param("level", "str", default="info", choices=("debug", "info", "warning", "error")),
    )
    pure = False  # writing to the log is its whole point; a cached result would skip it
    summary_param = "message"

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        value = inputs.get("in")
        ctx.log(self.params["level"], self.message.render(value))
        return {"out": value}


class Fail(MessageNode):
    type_id = "flow.fail"
    title = "Fail"
    category = "Flow"
    description = "Fails the run (or this branch, with on_error) with a message template over x."
    inputs = (Port("in", required=False),)
    outputs = ()
    parameters = (Param("message", "text", default="failed: {{ x }}", required=True,
                        help="a template over x, the input"),)
    summary_param = "message"

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        raise NodeFailure(self.message.render(inputs.get("in")))


TYPES: tuple[type[NodeType], ...] = (SubWorkflow, Log, Fail)
