"""Test helpers for the engine: a compact workflow builder, a run-and-record helper, and node
types that exist only for tests (flaky, failing, hanging, blocking, mutating, probing).

The probe is an object handed to a run through `Services.extra["probe"]`, so the test types keep
no global state: each test makes its own probe and reads it after the run.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from engine import Compiled, Edge, Node, Registry, Run, RunResult, Workflow, compile_workflow
from engine import events as ev
from engine.context import Services
from engine.corenodes import core_registry
from engine.errors import NodeFailure
from engine.nodetype import NodeType, Param, Port

RUN_TIMEOUT_S = 20.0


@dataclass
class Probe:
    """What the test node types saw: how many ran at once, who was cancelled, loop ticks."""

    in_flight: int = 0
    max_in_flight: int = 0
    cancelled: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    ticks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self, node_id: str) -> None:
        with self.lock:
            self.started.append(node_id)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1


def _probe(ctx: Any) -> Probe:
    return ctx.services.extra["probe"]


class Sleep(NodeType):
    """Async: waits `seconds`, counting itself in flight on the probe; passes `in` on."""

    type_id = "test.sleep"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (Param("seconds", "number", default=0.02),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        probe = _probe(ctx)
        probe.enter(ctx.node_id)
        try:
            await asyncio.sleep(self.params["seconds"])
        except asyncio.CancelledError:
            probe.cancelled.append(ctx.node_id)
            raise
        finally:
            probe.leave()
        return {"out": inputs.get("in")}


class Flaky(NodeType):
    """Fails its first `failures` attempts, then passes `in` on with the attempt number."""

    type_id = "test.flaky"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (Param("failures", "int", default=2),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        if ctx.attempt <= self.params["failures"]:
            raise NodeFailure(f"flaky failure on attempt {ctx.attempt}")
        return {"out": {"value": inputs.get("in"), "attempt": ctx.attempt}}


class Fail(NodeType):
    """Always fails with `message` (after an optional async delay)."""

    type_id = "test.fail"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (Param("message", "str", default="boom"),
                  Param("seconds", "number", default=0),
                  Param("timeout_error", "bool", default=False,
                        help="raise a TimeoutError of its own instead"))

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        if self.params["seconds"]:
            await asyncio.sleep(self.params["seconds"])
        if self.params["timeout_error"]:
            raise TimeoutError(self.params["message"])
        raise NodeFailure(f"{self.params['message']} (input {inputs.get('in')!r})")


class Hang(NodeType):
    """Waits forever (until cancelled or timed out)."""

    type_id = "test.hang"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        probe = _probe(ctx)
        probe.enter(ctx.node_id)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            probe.cancelled.append(ctx.node_id)
            raise
        finally:
            probe.leave()
        return {}


class Block(NodeType):
    """A plain `def` that blocks its thread with time.sleep; reports the thread it ran on."""

    type_id = "test.block"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (Param("seconds", "number", default=0.2),)

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        ctx.progress(0.25, "blocking")
        time.sleep(self.params["seconds"])
        return {"out": threading.get_ident()}


class Ticker(NodeType):
    """Async: counts event-loop ticks on the probe for `seconds` (proves the loop is free)."""

    type_id = "test.ticker"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (Param("seconds", "number", default=0.2),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        probe = _probe(ctx)
        end = time.monotonic() + self.params["seconds"]
        while time.monotonic() < end:
            await asyncio.sleep(0.005)
            probe.ticks += 1
        return {"out": probe.ticks}


class Mutate(NodeType):
    """Changes (and returns) the list it was given, deep down: it must get its own copy."""

    type_id = "test.mutate"
    inputs = (Port("in", "list"),)
    outputs = (Port("out", "list"),)
    parameters = (Param("failures", "int", default=0,
                        help="fail this many attempts, after changing the input"),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        value = inputs["in"]
        _touch(value)
        await asyncio.sleep(0)
        if ctx.attempt <= self.params["failures"]:
            raise NodeFailure(f"failed after changing the input on attempt {ctx.attempt}")
        return {"out": value}


def _touch(value: Any) -> None:
    """Change every list and dict inside `value` in place."""
    if isinstance(value, dict):
        for item in value.values():
            _touch(item)
        value["touched"] = True
    elif isinstance(value, list):
        for item in value:
            _touch(item)
        value.append("mutated")


class Talk(NodeType):
    """Reports progress and a log line, then passes `in` on."""

    type_id = "test.talk"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        ctx.progress(0.5, "half way")
        ctx.info("hello from talk")
        return {"out": inputs.get("in")}


TEST_TYPES = (Sleep, Flaky, Fail, Hang, Block, Ticker, Mutate, Talk)


def test_registry() -> Registry:
    """core_registry() plus the test node types."""
    registry = core_registry()
    for node_type in TEST_TYPES:
        registry.register(node_type)
    return registry


test_registry.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def workflow(nodes: dict[str, tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], dict]],
             edges: list[str], name: str = "test") -> Workflow:
    """Build a workflow from `{id: (type, params[, settings])}` and `"a.out -> b.in"` edges."""
    made = []
    for node_id, spec in nodes.items():
        settings = spec[2] if len(spec) > 2 else {}
        made.append(Node(id=node_id, type=spec[0], params=dict(spec[1]), **settings))
    wired = []
    for text in edges:
        left, right = (side.strip() for side in text.split("->"))
        source, source_port = left.split(".")
        target, target_port = right.split(".")
        wired.append(Edge(source, source_port, target, target_port))
    return Workflow(name=name, nodes=made, edges=wired)


def compile_test(wf: Workflow, registry: Registry | None = None) -> Compiled:
    return compile_workflow(wf, registry or test_registry())


@dataclass
class Outcome:
    result: RunResult
    events: list[Any]
    probe: Probe

    def status(self, node_id: str) -> str:
        return self.result.nodes[node_id].status

    def of(self, kind: type, node_id: str | None = None) -> list[Any]:
        return [e for e in self.events
                if isinstance(e, kind) and (node_id is None or e.node_id == node_id)]

    def finished(self, node_id: str) -> ev.NodeFinished:
        found = self.of(ev.NodeFinished, node_id)
        assert len(found) == 1, f"{node_id} finished {len(found)} times"
        return found[0]

    def started(self, node_id: str) -> ev.NodeStarted:
        found = self.of(ev.NodeStarted, node_id)
        assert found, f"{node_id} never started"
        return found[0]

    def output(self, node_id: str, port: str = "out") -> Any:
        return self.finished(node_id).outputs[port]


async def run_async(wf: Workflow | Compiled, inputs: dict[str, Any] | None = None, *,
                    registry: Registry | None = None, probe: Probe | None = None,
                    **options: Any) -> Outcome:
    compiled = wf if isinstance(wf, Compiled) else compile_test(wf, registry)
    probe = probe or Probe()
    run = Run(compiled, inputs, services=Services(extra={"probe": probe}), **options)
    recorded: list[Any] = []
    run.subscribe(recorded.append)
    async with asyncio.timeout(RUN_TIMEOUT_S):
        result = await run.execute()
    return Outcome(result, recorded, probe)


def run_sync(wf: Workflow | Compiled, inputs: dict[str, Any] | None = None, **kwargs: Any
             ) -> Outcome:
    """Compile (with the test registry) and run in a fresh event loop, recording every event."""
    return asyncio.run(run_async(wf, inputs, **kwargs))
