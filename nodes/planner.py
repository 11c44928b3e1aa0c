"""The planner: an LLM drafts a workflow from a goal; the engine checks it; problems go back.

Qt-free (the CLI's `flowloom plan` and the editor's File → Describe a workflow… both call
`plan_workflow`). The model is told every registered node type — ports, params, descriptions,
generated from the registry's specs — and the file format, and is shown the best-matching
template as a starting point when one fits. Its answer must be one JSON object
`{"explanation": "...", "workflow": {...}}`. The draft is read with engine.fileformat.loads
(node types, ports and params checked) and compiled; the problems are sent back and the model
repairs its draft, at most ROUNDS drafts in all. `plan_workflow` returns only a workflow that
validates; otherwise it raises PlanFailed with the remaining problems.

The chat request itself is the `ai.chat` node (nodes/llm.py) run by the engine in a one-node
workflow, so the server resolution, streaming, error sentences and key masking are the node's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.compile import compile_workflow
from engine.context import Services
from engine.errors import CompileError, FlowloomError, WorkflowFileError
from engine.executor import Run
from engine.fileformat import FORMAT, VERSION, loads
from engine.model import Edge, Node, Workflow
from engine.registry import Registry

log = logging.getLogger(__name__)

ROUNDS = 3  # drafts in all: the first and at most two repairs
MAX_PROBLEMS_SENT = 30  # problems listed in one repair request
MAX_ANSWER_CHARS = 400_000  # a longer answer is refused rather than parsed


class PlanFailed(FlowloomError):
    """No draft validated: `problems` are the last draft's (or why no draft came back)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


@dataclass(frozen=True)
class LLMSettings:
    """The LLM the planner asks: provider, address, model, key and time limit."""

    provider: str = "openai"
    base_url: str = ""
    model: str = ""
    api_key_secret: str = ""
    timeout_s: float = 120.0


@dataclass(frozen=True)
class StartingPoint:
    """A template the draft may start from: its title and workflow file text."""

    title: str
    text: str


@dataclass
class PlanResult:
    """What the planner made: the workflow, why it looks so, and how many drafts it took."""

    workflow: Workflow
    explanation: str
    rounds: int  # how many drafts it took


# --- what the model is told ---------------------------------------------------------------
def describe_node_types(registry: Registry) -> str:
    """One block per registered node type, from its spec."""
    blocks = []
    for node_type in registry:
        spec = node_type.spec()
        lines = [f"- {spec.type_id} ({spec.title or spec.type_id}): {spec.description}"]
        for label, ports in (("inputs", spec.inputs), ("outputs", spec.outputs)):
            if ports:
                shown = ", ".join(
                    f"{p.name}:{p.type}" + (" required" if p.required else "")
                    + (" many" if p.multi else "") + (f" ({p.help})" if p.help else "")
                    for p in ports)
                lines.append(f"    {label}: {shown}")
        if spec.dynamic_ports:
            lines.append("    ports depend on its params")
        for param in spec.parameters:
            text = f"    param {param.name}:{param.type} default {json.dumps(param.default)}"
            if param.required:
                text += " required"
            if param.choices:
                text += f" one of {json.dumps(list(param.choices))}"
            if param.help:
                text += f" — {param.help}"
            lines.append(text)
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def file_format_text() -> str:
    return (
        f'A workflow is a JSON object: {{"format": "{FORMAT}", "version": {VERSION}, '
        '"name": str, "description": str, "nodes": [...], "edges": [...]}. '
        'Each node: {"id": unique short str, "type": a node type id from the list, '
        '"title": str, "params": {param name: value}, "position": [x, y]} (lay nodes out left '
        'to right, 300 apart). Each edge: {"source": node id, "source_port": an output port '
        'of that node, "target": node id, "target_port": an input port of that node}. '
        "A workflow starts at one flow.start node (its params.inputs are the run inputs) and "
        "ends in flow.output nodes. Use only the node types, ports and params listed.")


def system_prompt(registry: Registry) -> str:
    return ("You design Flowloom workflows. " + file_format_text()
            + "\n\nNode types:\n" + describe_node_types(registry)
            + '\n\nAnswer with one JSON object and nothing else: {"explanation": "two '
              'sentences on what the workflow does", "workflow": {the workflow}}.')


def first_request(goal: str, start: StartingPoint | None) -> str:
    text = f"Goal: {goal.strip()}"
    if start is not None:
        text += (f"\n\nThe template \"{start.title}\" is close to this goal; start from it "
                 f"and change what the goal needs:\n{start.text}")
    return text


def repair_request(problems: list[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems[:MAX_PROBLEMS_SENT])
    more = len(problems) - MAX_PROBLEMS_SENT
    if more > 0:
        listed += f"\n- … and {more} more"
    return ("Flowloom found these problems in the draft:\n" + listed
            + "\nAnswer with the whole corrected JSON object.")


# --- checking a draft ---------------------------------------------------------------------
def read_answer(text: str) -> tuple[dict[str, Any] | None, str]:
    """The answer's JSON object (None if there is none) and the explanation in it."""
    if len(text) > MAX_ANSWER_CHARS:
        return None, ""
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.DOTALL)
    candidate = fenced.group(1) if fenced else text[text.find("{"):text.rfind("}") + 1]
    try:
        data = json.loads(candidate)
    except ValueError:
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    explanation = data.get("explanation")
    return data, explanation.strip() if isinstance(explanation, str) else ""


def check_draft(text: str, registry: Registry) -> tuple[Workflow | None, list[str], str]:
    """(the workflow if it validates and compiles, the problems as sentences, explanation)."""
    data, explanation = read_answer(text)
    if data is None:
        return None, ["the answer is not one JSON object with \"explanation\" and "
                      "\"workflow\""], ""
    doc = data.get("workflow", data if "nodes" in data else None)
    if not isinstance(doc, dict):
        return None, ['the answer has no "workflow" object'], explanation
    try:
        loaded = loads(json.dumps(doc), registry, source="the draft")
    except WorkflowFileError as exc:
        return None, [str(exc)], explanation
    if loaded.errors:
        return None, [str(p) for p in loaded.errors], explanation
    try:
        compile_workflow(loaded.workflow, registry)
    except CompileError as exc:
        return None, [str(p) for p in exc.problems if p.is_error] or [str(exc)], explanation
    return loaded.workflow, [], explanation


# --- asking the model ---------------------------------------------------------------------
def chat_workflow(settings: LLMSettings) -> Workflow:
    """start → ai.chat (messages) → output: one chat request, run by the engine."""
    params: dict[str, Any] = {"provider": settings.provider, "base_url": settings.base_url,
                              "model": settings.model, "timeout_s": settings.timeout_s}
    if settings.api_key_secret:
        params["api_key_secret"] = settings.api_key_secret
    return Workflow(name="planner chat", nodes=[
        Node("start", "flow.start", params={"inputs": {"messages": []}}),
        Node("messages", "data.expression", params={"expr": "x['messages']"}),
        Node("chat", "ai.chat", params=params),
        Node("answer", "flow.output", params={"name": "text"}),
    ], edges=[Edge("start", "out", "messages", "x"), Edge("messages", "out", "chat", "messages"),
              Edge("chat", "text", "answer", "in")])


async def ask(compiled: Any, messages: list[dict[str, Any]], services: Services) -> str:
    result = await Run(compiled, {"messages": messages}, services=services).execute()
    if not result.ok:
        raise PlanFailed(f"the model could not be asked: {result.error or result.status}")
    text = result.outputs.get("text")
    if not isinstance(text, str) or not text.strip():
        raise PlanFailed("the model's answer was empty")
    return text


async def plan_workflow(goal: str, registry: Registry, settings: LLMSettings, *,
                        start: StartingPoint | None = None,
                        secrets: Callable[[str], str | None] | None = None,
                        on_round: Callable[[int, list[str]], None] | None = None,
                        ) -> PlanResult:
    """Draft, check, repair (at most ROUNDS drafts); a validated workflow or PlanFailed."""
    try:
        compiled = compile_workflow(chat_workflow(settings), registry)
    except CompileError as exc:
        raise PlanFailed("the LLM settings are not usable",
                         [str(p) for p in exc.problems]) from None
    services = Services(secrets=secrets)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system_prompt(registry)},
        {"role": "user", "content": first_request(goal, start)}]
    problems: list[str] = []
    for round_no in range(1, ROUNDS + 1):
        answer = await ask(compiled, messages, services)
        # Reading and compiling a draft is plain CPU work: off the loop (the editor's loop).
        workflow, problems, explanation = await asyncio.to_thread(check_draft, answer, registry)
        if workflow is not None:
            if not workflow.name:
                workflow.name = goal.strip()[:80]
            log.info("plan: draft %d validated", round_no)
            return PlanResult(workflow, explanation or "(the model gave no explanation)",
                              round_no)
        if on_round is not None and round_no < ROUNDS:
            on_round(round_no, problems)
        messages += [{"role": "assistant", "content": answer},
                     {"role": "user", "content": repair_request(problems)}]
    raise PlanFailed(f"no draft validated after {ROUNDS} rounds; the last one has these "
                     f"problems:", problems)


