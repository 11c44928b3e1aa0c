"""Helpers for the history tests: a compact workflow builder, test-only node types (flaky,
secret-reading, big-output), and a run-and-record helper bounded in time.

The workflows use the engine's core node types (data.expression, flow.if, util.delay,
flow.foreach) so the recorder sees real loops, skips and async nodes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine import Edge, Node, Registry, Run, RunResult, Workflow, compile_workflow
from engine.context import Services
from engine.corenodes import core_registry
from engine.errors import NodeFailure
from engine.history import HistoryRecorder, HistoryStore, packs
from engine.nodetype import NodeType, Param, Port

RUN_TIMEOUT_S = 20.0
SECRET = "s3cr3t-Tok3n-7f1d2c"


class Flaky(NodeType):
    """Fails its first `fail_times` attempts, then passes `in` on."""

    type_id = "test.flaky"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (Param("fail_times", "int", default=1),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        if ctx.attempt <= int(self.params["fail_times"]):
            raise NodeFailure(f"flaky failure on attempt {ctx.attempt}")
        return {"out": inputs.get("in")}


class UseSecret(NodeType):
    """Reads the `token` credential, logs it, fails or returns it (the engine redacts)."""

    type_id = "test.use_secret"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (Param("fail", "bool", default=False),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        token = ctx.secret("token")
        ctx.info(f"calling the API with token {token}")
        if self.params["fail"]:
            raise NodeFailure(f"the API refused token {token}")
        return {"out": {"header": f"Bearer {token}"}}


class Big(NodeType):
    """Outputs a large list (for output-preview caps) and logs a long line."""

    type_id = "test.big"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (Param("size", "int", default=50_000),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        ctx.info("x" * 10_000)
        return {"out": list(range(int(self.params["size"])))}


def registry() -> Registry:
    reg = core_registry()
    for node_type in (Flaky, UseSecret, Big):
        reg.register(node_type)
    return reg


def workflow(nodes: dict[str, tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], dict]],
             edges: list[str], name: str = "test") -> Workflow:
    """nodes: id -> (type, params[, Node fields]); edges: "a.out -> b.x"."""
    made = []
    for nid, spec in nodes.items():
        extra = spec[2] if len(spec) > 2 else {}  # type: ignore[misc]
        made.append(Node(nid, spec[0], params=dict(spec[1]), **extra))
    wires = []
    for text in edges:
        left, right = (part.strip() for part in text.split("->"))
        source, source_port = left.split(".")
        target, target_port = right.split(".")
        wires.append(Edge(source, source_port, target, target_port))
    return Workflow(name, nodes=made, edges=wires)


def loop_workflow(items: list[int], delay_s: float = 0.005) -> Workflow:
    """start -> items -> foreach(triple -> pause) -> total -> if total > 10: big | small."""
    return workflow({
        "start": ("flow.start", {"inputs": {"items": items}}),
        "items": ("data.expression", {"expr": "x['items']"}),
        "each": ("flow.foreach", {"parallel": 2}),
        "triple": ("data.expression", {"expr": "x * 3"}),
        "pause": ("util.delay", {"seconds": delay_s}),
        "total": ("data.expression", {"expr": "sum(x)"}),
        "check": ("flow.if", {"condition": "x > 10"}),
        "big": ("data.expression", {"expr": "'big ' + str(x)"}),
        "small": ("data.expression", {"expr": "'small ' + str(x)"}),
        "out": ("flow.output", {"name": "answer"}),
    }, ["start.out -> items.x", "items.out -> each.items", "each.item -> triple.x",
        "triple.out -> pause.in", "pause.out -> each.result", "each.results -> total.x",
        "total.out -> check.in", "check.true -> big.x", "check.false -> small.x",
        "big.out -> out.in"], name="loop")


async def record(store: HistoryStore, wf: Workflow, path: str | Path, *,
                 inputs: dict[str, Any] | None = None, services: Services | None = None,
                 events: list[Any] | None = None, **recorder_options: Any
                 ) -> tuple[RunResult, HistoryRecorder]:
    """Run `wf` with a recorder attached and wait for its final write."""
    run = Run(compile_workflow(wf, registry()), inputs, services=services)
    if events is not None:
        run.subscribe(events.append)
    recorder = HistoryRecorder(store, path, **recorder_options).attach(run)
    try:
        async with asyncio.timeout(RUN_TIMEOUT_S):
            result = await run.execute()
    finally:
        await recorder.aclose(timeout=RUN_TIMEOUT_S)
    return result, recorder


def insert_node_run(conn: Any, row: dict[str, Any]) -> None:
    """A hand-made node run (`run_id`, `node_id`, `status`, ...; the rest as schema 3's column
    defaults), written as the recorder writes node runs: a pack of one (engine/history/packs.py)."""
    values = {"iteration": "", "attempts": 0, "retries": 0, **row}
    entry = [values.get(name) for name in packs.NodeRun._fields[1:]]
    conn.exec_driver_sql(packs.INSERT_PACK, packs.pack(row["run_id"], [entry]))
