"""Nodes wired into a tools port become tools the owning node calls; they are not scheduled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine import (
    CompileError,
    Edge,
    Node,
    NodeType,
    Param,
    Port,
    Run,
    Workflow,
    compile_workflow,
    core_registry,
)
from engine.tools import ToolCallError, ToolHandle


class ScriptedAgent(NodeType):
    """Calls its tools as its `calls` param says; outputs each result or error."""

    type_id = "test.agent"
    title = "Agent"
    inputs = (Port("prompt", "str", required=False),
              Port("tools", required=False, multi=True, tools=True))
    outputs = (Port("out"),)
    parameters = (Param("calls", "list", default=[]),)

    async def run(self, ctx: Any, prompt: str = "", tools: list | None = None) -> dict:
        handles = {t.name: t for t in tools or []}
        results = []
        for name, args in self.params["calls"]:
            try:
                if name not in handles:
                    raise ToolCallError(f"no tool {name!r}")
                results.append(await handles[name].call(args))
            except ToolCallError as exc:
                results.append({"error": str(exc)})
        schemas = sorted(t.schema()["function"]["name"] for t in handles.values())
        return {"out": {"results": results, "tools": schemas}}


def _registry():
    reg = core_registry()
    reg.register(ScriptedAgent)
    return reg


def _workflow(calls: list) -> Workflow:
    return Workflow("tools", nodes=[
        Node("double", "data.expression", title="Double", params={"expr": "x * 2"}),
        Node("add", "data.expression", params={"expr": "a + b", "inputs": ["a", "b"]}),
        Node("agent", "test.agent", params={"calls": calls}),
        Node("out", "flow.output", params={"name": "r"}),
    ], edges=[Edge("double", "out", "agent", "tools"), Edge("add", "out", "agent", "tools"),
              Edge("agent", "out", "out", "in")])


def _run(workflow: Workflow):
    events: list = []
    run = Run(compile_workflow(workflow, _registry()))
    run.subscribe(events.append)
    return asyncio.run(run.execute()), events


def test_a_tool_runs_only_when_called_and_its_result_is_its_outputs():
    result, events = _run(_workflow([["double", {"x": 21}], ["add", {"a": 1, "b": 2}]]))
    assert result.outputs["r"]["results"] == [{"out": 42}, {"out": 3}]
    assert result.outputs["r"]["tools"] == ["add", "double"]
    started = [(e.node_id, e.iteration) for e in events if type(e).__name__ == "NodeStarted"]
    assert ("double", (0,)) in started and ("add", (0,)) in started
    assert started.index(("agent", ())) < started.index(("double", (0,)))


def test_a_tool_never_called_is_skipped_with_the_reason():
    result, _ = _run(_workflow([["double", {"x": 1}]]))
    assert result.nodes["add"].status == "skipped"
    assert "not called" in result.nodes["add"].reason


def test_wrong_arguments_are_refused_with_a_sentence_for_the_model():
    result, _ = _run(_workflow([["double", {"y": 1}], ["add", {"a": 1}],
                                ["double", {"x": "text", "z": 0}]]))
    errors = [r["error"] for r in result.outputs["r"]["results"]]
    assert "has no argument 'y'" in errors[0]
    assert "needs the argument 'b'" in errors[1]
    assert "has no argument 'z'" in errors[2]
    assert result.nodes["double"].status == "skipped"  # never actually ran


def test_a_failing_tool_returns_its_error_and_the_run_goes_on():
    result, events = _run(_workflow([["double", {"x": None}], ["double", {"x": 4}]]))
    first, second = result.outputs["r"]["results"]
    assert "double failed" in first["error"] and "TypeError" in first["error"]
    assert second == {"out": 8}
    assert result.status == "succeeded"
    failed = [e for e in events if type(e).__name__ == "NodeFailed"]
    assert [(e.node_id, e.iteration) for e in failed] == [("double", (0,))]


def test_the_schema_lists_each_input_port_with_its_json_type():
    class Typed(NodeType):
        type_id = "test.typed"
        inputs = (Port("expression", "str", help="what to compute"),
                  Port("digits", "number", required=False))

        async def run(self, ctx, **kw):
            return {"out": kw}

    reg = _registry()
    reg.register(Typed)
    workflow = Workflow("t", nodes=[Node("calc", "test.typed"), Node("agent", "test.agent")],
                        edges=[Edge("calc", "out", "agent", "tools")])
    compiled = compile_workflow(workflow, reg)
    handle = ToolHandle(Run(compiled), compiled.nodes["calc"], ())
    assert handle.parameters == {
        "type": "object", "additionalProperties": False, "required": ["expression"],
        "properties": {"expression": {"type": "string", "description": "what to compute"},
                       "digits": {"type": "number"}}}


def test_a_tool_cannot_also_feed_data_or_take_wired_inputs():
    workflow = _workflow([])
    workflow.add_node(Node("v", "data.value", params={"value": 1}))
    workflow.add_edge(Edge("v", "out", "double", "x"))
    with pytest.raises(CompileError) as info:
        compile_workflow(workflow, _registry())
    assert "model gives all its inputs" in str(info.value) and "double" in str(info.value)
    workflow = _workflow([])
    workflow.add_node(Node("o2", "flow.output", params={"name": "z"}))
    workflow.add_edge(Edge("add", "out", "o2", "in"))
    with pytest.raises(CompileError) as info:
        compile_workflow(workflow, _registry())
    assert "cannot also feed 'o2'" in str(info.value)
