"""Run one node through the real engine: value nodes feed its inputs, flow.output nodes collect
every output, and every run event is recorded.

    outcome = await run_node(registry, "net.http", {"url": ...}, inputs={"in": {"id": 3}})
    outcome.result.outputs["response"], outcome.events, outcome.progress()
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from engine import events as ev
from engine.compile import compile_workflow
from engine.context import Services
from engine.corenodes import register_core
from engine.executor import Run
from engine.model import Edge, Node, Workflow
from engine.nodetype import NodeType
from engine.registry import Registry
from engine.runstate import RunResult

NODE = "node"


def registry_with(*types: type[NodeType]) -> Registry:
    registry = register_core(Registry())
    for node_type in types:
        registry.register(node_type)
    return registry


@dataclass
class Outcome:
    result: RunResult
    events: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def outputs(self) -> dict[str, Any]:
        return self.result.outputs

    @property
    def error(self) -> str:
        """The node's error message ('' if it did not fail)."""
        return self.result.nodes[NODE].error or ""

    def progress(self) -> list[ev.NodeProgressed]:
        return [e for e in self.events if isinstance(e, ev.NodeProgressed) and e.node_id == NODE]

    def logs(self) -> list[ev.NodeLogged]:
        return [e for e in self.events if isinstance(e, ev.NodeLogged) and e.node_id == NODE]

    def text_of_events(self) -> str:
        """Every message any event carries, for checking that secrets never leak."""
        return "\n".join(repr(e) for e in self.events)


def single_node_workflow(registry: Registry, type_id: str, params: dict[str, Any],
                         inputs: dict[str, Any] | None = None) -> Workflow:
    node_type = registry.get(type_id)
    nodes = [Node(NODE, type_id, params=dict(params))]
    edges = []
    for port, value in (inputs or {}).items():
        nodes.append(Node(f"value_{port}", "data.value", params={"value": value}))
        edges.append(Edge(f"value_{port}", "out", NODE, port))
    for port in node_type.output_ports(node_type.with_defaults(params)):
        nodes.append(Node(f"out_{port.name}", "flow.output", params={"name": port.name}))
        edges.append(Edge(NODE, port.name, f"out_{port.name}", "in"))
    return Workflow("single node", nodes=nodes, edges=edges)


async def run_node(registry: Registry, type_id: str, params: dict[str, Any],
                   inputs: dict[str, Any] | None = None, *,
                   secrets: dict[str, str] | None = None, limit_s: float = 20.0) -> Outcome:
    workflow = single_node_workflow(registry, type_id, params, inputs)
    compiled = compile_workflow(workflow, registry)
    store = dict(secrets or {})
    run = Run(compiled, services=Services(secrets=store.get))
    events: list[Any] = []
    run.subscribe(events.append)
    async with asyncio.timeout(limit_s):
        result = await run.execute()
    return Outcome(result, events)
