"""Test helpers: build small workflows in code and run them through the real engine.

    result, events = await run_flow(wf(nodes(...), edges(...)), services=Services(...))
"""

from __future__ import annotations

import asyncio
from typing import Any

from engine import events as ev
from engine.compile import compile_workflow
from engine.context import Services
from engine.executor import Run
from engine.model import Edge, Node, Workflow
from engine.registry import Registry
from engine.runstate import RunResult
from nodes import default_registry

REGISTRY = default_registry(plugins=False)


def wf(*nodes: Node, edges: str = "") -> Workflow:
    """`edges` is 'a.out->b.in, b.out->c.in'."""
    parsed = []
    for spec in filter(None, (s.strip() for s in edges.split(","))):
        left, right = spec.split("->")
        s, sp = left.strip().split(".")
        t, tp = right.strip().split(".")
        parsed.append(Edge(s, sp, t, tp))
    return Workflow("test", nodes=nodes, edges=parsed)


def value(node_id: str, v: Any) -> Node:
    return Node(node_id, "data.value", params={"value": v})


def out(node_id: str, name: str | None = None) -> Node:
    return Node(node_id, "flow.output", params={"name": name or node_id})


async def run_flow(workflow: Workflow, *, services: Services | None = None,
                   registry: Registry | None = None, inputs: dict[str, Any] | None = None,
                   limit_s: float = 20.0) -> tuple[RunResult, list[Any]]:
    registry = registry or REGISTRY
    run = Run(compile_workflow(workflow, registry), inputs, services=services)
    events: list[Any] = []
    run.subscribe(events.append)
    async with asyncio.timeout(limit_s):
        result = await run.execute()
    return result, events


async def run_one(type_id: str, params: dict[str, Any] | None = None,
                  inputs: dict[str, Any] | None = None, *, services: Services | None = None,
                  limit_s: float = 20.0) -> tuple[RunResult, list[Any]]:
    """One node `n` fed by value nodes, each of its outputs collected under the port name."""
    node_type = REGISTRY.get(type_id)
    params = dict(params or {})
    nodes = [Node("n", type_id, params=params)]
    links = []
    for port, v in (inputs or {}).items():
        nodes.append(value(f"in_{port}", v))
        links.append(f"in_{port}.out->n.{port}")
    for port in node_type.output_ports(node_type.with_defaults(params)):
        nodes.append(out(f"out_{port.name}", port.name))
        links.append(f"n.{port.name}->out_{port.name}.in")
    return await run_flow(wf(*nodes, edges=",".join(links)), services=services, limit_s=limit_s)


def logs(events: list[Any], node_id: str = "n") -> list[tuple[str, str]]:
    return [(e.level, e.message) for e in events
            if isinstance(e, ev.NodeLogged) and e.node_id == node_id]


def error_of(result: RunResult, node_id: str = "n") -> str:
    return result.nodes[node_id].error or ""
