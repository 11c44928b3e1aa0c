"""Loading a template and running it headless through the real engine, with hooks for tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from builder.templates import TEMPLATES_DIR
from engine import events as ev
from engine.compile import compile_workflow
from engine.context import ApprovalRequest, Decision, Services
from engine.executor import Run
from engine.fileformat import load
from engine.model import Workflow
from engine.runstate import RunResult
from nodes import default_registry

LIMIT_S = 30.0


def template(slug: str) -> Workflow:
    return load(TEMPLATES_DIR / f"{slug}.loom.json").workflow


def point_llms(workflow: Workflow, base_url: str, **params: Any) -> Workflow:
    """Every ai.chat node talks to `base_url` (the template leaves it empty)."""
    for node in workflow.nodes.values():
        if node.type == "ai.chat":
            node.params = {**node.params, "base_url": base_url, **params}
    return workflow


def approver(*decisions: tuple[bool, str]) -> tuple[Callable[..., Any], list[ApprovalRequest]]:
    """An approver that answers with `decisions` in order and records what it was asked."""
    asked: list[ApprovalRequest] = []
    queue = list(decisions)

    async def decide(request: ApprovalRequest) -> Decision:
        asked.append(request)
        approved, comment = queue.pop(0)
        return Decision(approved, comment, by="test")

    return decide, asked


class Outcome:
    def __init__(self, result: RunResult, events: list[Any]) -> None:
        self.result = result
        self.events = events

    @property
    def outputs(self) -> dict[str, Any]:
        return self.result.outputs

    def logs(self, node_id: str) -> list[str]:
        return [e.message for e in self.events
                if isinstance(e, ev.NodeLogged) and e.node_id == node_id]


def run(workflow: Workflow, inputs: dict[str, Any] | None = None, *,
        base_dir: Path | None = None, approve: Callable[..., Any] | None = None,
        limit_s: float = LIMIT_S) -> Outcome:
    compiled = compile_workflow(workflow, default_registry())
    the_run = Run(compiled, inputs, services=Services(base_dir=base_dir, approver=approve))
    events: list[Any] = []
    the_run.subscribe(events.append)

    async def go() -> RunResult:
        async with asyncio.timeout(limit_s):
            return await the_run.execute()

    return Outcome(asyncio.run(go()), events)
