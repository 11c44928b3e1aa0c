"""Agent workflows built in code and run through the real engine with the default registry."""

from __future__ import annotations

import json
from typing import Any

from engine import events as ev
from engine.model import Edge, Node, Workflow
from tests.nodes.flowrun import REGISTRY, run_flow

AGENT = "agent"


def agent_workflow(base_url: str, provider: str, tools: list[Node], prompt: Any = "Go",
                   input_port: str = "prompt", **params: Any) -> Workflow:
    """data.value(prompt) -> ai.agent.<input_port>, tools wired in -> outputs `text` and
    `transcript`."""
    settings = {"provider": provider, "base_url": base_url, "model": "test-model", **params}
    nodes = [Node("prompt", "data.value", params={"value": prompt}),
             Node(AGENT, "ai.agent", title="Agent", params=settings),
             Node("out_text", "flow.output", params={"name": "text"}),
             Node("out_transcript", "flow.output", params={"name": "transcript"}), *tools]
    edges = [Edge("prompt", "out", AGENT, input_port), Edge(AGENT, "text", "out_text", "in"),
             Edge(AGENT, "transcript", "out_transcript", "in")]
    for tool in tools:
        node_type = REGISTRY.get(tool.type)
        first = node_type.output_ports(node_type.with_defaults(tool.params))[0].name
        edges.append(Edge(tool.id, first, AGENT, "tools"))
    return Workflow("agent test", nodes=nodes, edges=edges)


async def run_agent(base_url: str, provider: str, tools: list[Node], **params: Any):
    return await run_flow(agent_workflow(base_url, provider, tools, **params), limit_s=30.0)


def calculator(node_id: str = "calc") -> Node:
    return Node(node_id, "tool.calculator", title="Calculator")


def tool_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m.get("role") == "tool"]


def tool_contents(body: dict[str, Any]) -> list[Any]:
    """The tool results a request carries, parsed when they are JSON."""
    out = []
    for m in tool_messages(body):
        try:
            out.append(json.loads(m["content"]))
        except ValueError:
            out.append(m["content"])
    return out


def of_type(events: list[Any], kind: type, node_id: str) -> list[Any]:
    return [e for e in events if isinstance(e, kind) and e.node_id == node_id]


def agent_logs(events: list[Any]) -> list[str]:
    return [e.message for e in of_type(events, ev.NodeLogged, AGENT)]
