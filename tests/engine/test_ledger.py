"""The run ledger and the execution seam: one path for scheduled nodes and tool calls."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from engine import Edge, Node, NodeType, Port, Run, Workflow, compile_workflow, core_registry
from engine.context import Services
from engine.fileformat import save
from engine.seam import LocalSeam, PlacedSeam, Work
from engine.slots import POOLS_KEY, Pools
from engine.tools import ToolCallError
from engine.validate import check_workflow
from nodes import default_registry
from nodes.flowctl import REGISTRY_KEY

ENGINE = Path(__file__).resolve().parents[2] / "engine"


class CallingAgent(NodeType):
    """Calls each of its tools once with `x`; outputs each result or error text."""

    type_id = "test.calling_agent"
    inputs = (Port("x", required=False), Port("tools", required=False, multi=True, tools=True))
    outputs = (Port("out"),)

    async def run(self, ctx: Any, x: Any = 1, tools: list | None = None) -> dict:
        results = []
        for tool in tools or []:
            try:
                results.append(await tool.call({"x": x}))
            except ToolCallError as exc:
                results.append({"error": str(exc)})
        return {"out": results}


class Leaky(NodeType):
    """Fails with the credential it read in its message."""

    type_id = "test.leaky"
    inputs = (Port("x", required=False),)

    async def run(self, ctx: Any, x: Any = None) -> dict:
        raise RuntimeError(f"server said no to key {ctx.secret('token')}")


class Heavy(NodeType):
    type_id = "test.heavy"
    cpu_bound = True
    inputs = (Port("x", required=False),)

    def run(self, ctx: Any, x: Any = 0) -> dict:
        return {"out": (x or 0) + 1}


def _registry():
    reg = core_registry()
    for cls in (CallingAgent, Leaky, Heavy):
        reg.register(cls)
    return reg


def _agent_flow(tool_type: str = "data.expression", *, pools: dict | None = None,
                agent_pool: str | None = None, tool_pool: str | None = None,
                timeout_s: float | None = None) -> Workflow:
    workflow = Workflow("agent", nodes=[
        Node("tool", tool_type, params={"expr": "x * 2"} if tool_type == "data.expression"
             else {}, pool=tool_pool, timeout_s=timeout_s),
        Node("agent", "test.calling_agent", pool=agent_pool),
        Node("out", "flow.output", params={"name": "r"}),
    ], edges=[Edge("tool", "out", "agent", "tools"), Edge("agent", "out", "out", "in")])
    if pools:
        workflow.extra["pools"] = pools
    return workflow


async def _execute(run: Run, events: list | None = None):
    if events is not None:
        run.subscribe(events.append)
    return await asyncio.wait_for(run.execute(), 20)


def test_an_agent_and_its_tool_in_one_pool_of_size_1_is_a_problem_before_the_run():
    workflow = _agent_flow(pools={"one": 1}, agent_pool="one", tool_pool="one")
    problems = [p for p in check_workflow(workflow, _registry()) if p.node_id == "agent"]
    assert len(problems) == 1
    assert "'tool'" in problems[0].message and "pool 'one' of size 1" in problems[0].message
    # a larger pool, or the tool elsewhere, is fine
    for fine in (_agent_flow(pools={"two": 2}, agent_pool="two", tool_pool="two"),
                 _agent_flow(pools={"one": 1}, agent_pool="one")):
        assert not [p for p in check_workflow(fine, _registry()) if "size 1" in p.message]


@pytest.mark.asyncio
async def test_an_agent_calling_a_tool_of_its_own_full_pool_fails_the_call_at_once():
    # the file says size 2, but a caller's pool of size 1 wins (as for a sub-workflow)
    workflow = _agent_flow(pools={"one": 2}, agent_pool="one", tool_pool="one")
    services = Services(extra={POOLS_KEY: Pools({"one": 1})})
    result = await _execute(Run(compile_workflow(workflow, _registry()), services=services))
    [answer] = result.outputs["r"]
    assert "tool 'tool' is in pool 'one'" in answer["error"]
    assert result.nodes["tool"].status == "failed"
    assert "could never start" in result.nodes["tool"].error


@pytest.mark.asyncio
async def test_a_tool_call_and_a_scheduled_node_record_failures_alike():
    secret = "s3cr3t-value-42"
    services = Services(secrets=lambda name: secret)
    as_tool = _agent_flow("test.leaky")
    scheduled = Workflow("plain", nodes=[Node("tool", "test.leaky", on_error="continue")])
    tool_events: list = []
    plain_events: list = []
    tool_run = await _execute(Run(compile_workflow(as_tool, _registry()), services=services),
                              tool_events)
    plain_run = await _execute(Run(compile_workflow(scheduled, _registry()),
                                   services=services), plain_events)
    for result, events in ((tool_run, tool_events), (plain_run, plain_events)):
        nr = result.nodes["tool"]
        assert nr.status == "failed" and nr.attempts == 1 and nr.runs == 1
        assert nr.error == "RuntimeError: server said no to key ••••••"
        assert secret not in repr(events) and secret not in repr(result.to_json())
        kinds = [type(e).__name__ for e in events if getattr(e, "node_id", "") == "tool"]
        assert kinds == ["NodeStarted", "NodeFailed"]
    assert tool_run.outputs["r"][0]["error"] == "tool failed: RuntimeError: server said no " \
                                                "to key ••••••"


@pytest.mark.asyncio
async def test_a_before_start_hook_sees_and_replaces_the_inputs_of_nodes_and_tools():
    workflow = _agent_flow()
    workflow.add_node(Node("seven", "data.value", params={"value": 7}))
    workflow.add_edge(Edge("seven", "out", "agent", "x"))
    run = Run(compile_workflow(workflow, _registry()))
    seen: list[tuple[str, dict]] = []

    async def hook(node_id: str, inputs: dict) -> dict | None:
        seen.append((node_id, dict(inputs)))
        await asyncio.sleep(0)  # a breakpoint waits here
        return {**inputs, "x": 10} if node_id == "tool" else None

    run.before_start(hook)
    result = await _execute(run)
    assert result.outputs["r"] == [{"out": 20}]  # the tool computed on the replaced input
    assert ("agent", {"x": 7, "tools": seen[1][1]["tools"]}) in seen
    assert ("tool", {"x": 7}) in seen
    assert [nid for nid, _ in seen].index("seven") < [nid for nid, _ in seen].index("agent")


class _Recording:
    """An execution that notes each node it carries out, then does it locally."""

    name = "recording"

    def __init__(self) -> None:
        self.local = LocalSeam()
        self.nodes: list[str] = []

    async def run(self, work: Work) -> Any:
        self.nodes.append(work.node.id)
        return await self.local.choose(work).run(work)


@pytest.mark.asyncio
async def test_the_seam_sends_cpu_bound_and_cluster_placed_nodes_to_the_cluster_execution():
    workflow = Workflow("placed", nodes=[
        Node("a", "test.heavy"),  # auto + cpu_bound: cluster
        Node("b", "test.heavy", extra={"placement": "local"}),
        Node("c", "data.expression", params={"expr": "x + 1"}, extra={"placement": "cluster"}),
        Node("d", "data.expression", params={"expr": "x + 1"}, retry={"max_attempts": 1}),
    ], edges=[Edge("a", "out", "b", "x"), Edge("b", "out", "c", "x"), Edge("c", "out", "d", "x")])
    cluster = _Recording()
    result = await _execute(Run(compile_workflow(workflow, _registry()),
                                seam=PlacedSeam(cluster)))
    assert result.ok, result.error
    assert sorted(cluster.nodes) == ["a", "c"]
    assert result.nodes["d"].outputs == {"out": 4}


@pytest.mark.asyncio
async def test_a_bad_placement_fails_its_node_with_a_sentence():
    workflow = Workflow("bad", nodes=[Node("a", "test.heavy", extra={"placement": "moon"},
                                           timeout_s=5)])
    problems = check_workflow(workflow, _registry())
    assert any('"placement" must be one of local, cluster, auto' in p.message
               for p in problems)
    # a caller that compiles without the checks still gets the sentence, from the node
    compiled = compile_workflow(workflow, _registry(), checked=[])
    result = await _execute(Run(compiled))
    assert '"placement" must be one of local, cluster, auto' in result.nodes["a"].error


def test_no_run_part_reads_another_objects_private_attributes():
    mine = ("run.py", "ledger.py", "attempts.py", "seam.py", "scheduler.py", "tools.py",
            "context.py", "resources.py", "executor.py")
    private = re.compile(r"\b(?!self\b|cls\b)([a-z_]\w*)\.(_[a-z]\w*)")
    found = []
    for name in mine:
        for number, line in enumerate((ENGINE / name).read_text().splitlines(), 1):
            for match in private.finditer(line.split("#")[0]):
                if match.group(1) not in ("engine", "asyncio", "os", "sys"):
                    found.append(f"{name}:{number}: {match.group(0)}")
    assert not found, found


@pytest.mark.asyncio
async def test_a_sub_workflow_run_carries_its_work_out_through_its_callers_seam(tmp_path):
    registry = default_registry()
    registry.register(Heavy)
    save(Workflow("child", nodes=[Node("deep", "test.heavy")]), tmp_path / "child.loom.json")
    parent = Workflow("parent", nodes=[
        Node("s", "flow.subworkflow", params={"path": "child.loom.json"}),
        Node("top", "test.heavy")])
    cluster = _Recording()
    result = await _execute(Run(compile_workflow(parent, registry),
                                services=Services(base_dir=tmp_path,
                                                  extra={REGISTRY_KEY: registry}),
                                seam=PlacedSeam(cluster)))
    assert result.ok, result.error
    assert sorted(cluster.nodes) == ["deep", "top"]
