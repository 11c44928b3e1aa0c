"""Re-run from a node: upstream nodes replay their outputs, the node and its downstream run."""

from __future__ import annotations

import asyncio

from engine import Edge, Node, Run, Workflow, compile_workflow
from engine import core_registry as registry
from engine.rerun import cacheable_outputs, fingerprints, plan_rerun


def _workflow() -> Workflow:
    return Workflow("w", nodes=[
        Node("a", "data.value", params={"value": 2}),
        Node("b", "data.expression", params={"expr": "x * 10"}),
        Node("c", "data.expression", params={"expr": "x + 1"}),
        Node("out", "flow.output", params={"name": "r"}),
    ], edges=[Edge("a", "out", "b", "x"), Edge("b", "out", "c", "x"),
              Edge("c", "out", "out", "in")])


def _run(compiled, **kw):
    events: list = []
    run = Run(compiled, **kw)
    run.subscribe(events.append)
    return asyncio.run(run.execute()), events


def _started(events) -> dict[str, int]:
    return {e.node_id: e.attempt for e in events if type(e).__name__ == "NodeStarted"}


def test_rerun_from_a_node_replays_upstream_outputs_and_runs_the_rest():
    reg = registry()
    workflow = _workflow()
    compiled = compile_workflow(workflow, reg)
    first, _ = _run(compiled)
    before = fingerprints(workflow)
    reuse = plan_rerun(compiled, "c", cacheable_outputs(compiled, first), before)
    assert set(reuse) == {"a", "b"}
    second, events = _run(compiled, reuse=reuse)
    assert second.outputs == {"r": 21}
    assert _started(events) == {"a": 0, "b": 0, "c": 1, "out": 1}
    finished = {e.node_id: e.cached for e in events if type(e).__name__ == "NodeFinished"}
    assert finished == {"a": True, "b": True, "c": False, "out": False}
    assert second.to_json()["nodes"]["b"]["cached"] is True


def test_a_changed_upstream_node_runs_again_with_everything_after_it():
    reg = registry()
    workflow = _workflow()
    compiled = compile_workflow(workflow, reg)
    first, _ = _run(compiled)
    before = fingerprints(workflow)
    workflow.set_param("b", "expr", "x * 100")
    compiled = compile_workflow(workflow, reg)
    reuse = plan_rerun(compiled, "c", cacheable_outputs(compiled, first), before)
    assert set(reuse) == {"a"}
    second, events = _run(compiled, reuse=reuse)
    assert second.outputs == {"r": 201}
    assert _started(events)["b"] == 1


def test_a_node_inside_a_loop_reruns_its_whole_loop():
    reg = registry()
    workflow = Workflow("loop", nodes=[
        Node("items", "data.value", params={"value": [1, 2]}),
        Node("loop", "flow.foreach"),
        Node("sq", "data.expression", params={"expr": "x * x"}),
        Node("out", "flow.output", params={"name": "r"}),
    ], edges=[Edge("items", "out", "loop", "items"), Edge("loop", "item", "sq", "x"),
              Edge("sq", "out", "loop", "result"), Edge("loop", "results", "out", "in")])
    compiled = compile_workflow(workflow, reg)
    first, _ = _run(compiled)
    reuse = plan_rerun(compiled, "sq", cacheable_outputs(compiled, first), fingerprints(workflow))
    assert set(reuse) == {"items"}
    second, events = _run(compiled, reuse=reuse)
    assert second.outputs == {"r": [1, 4]}
    assert _started(events)["loop"] == 1


def test_all_fingerprints_at_once_are_each_nodes_own():
    from pathlib import Path

    from engine.fileformat import load
    from engine.rerun import fingerprint, fingerprints
    from nodes import default_registry

    registry = default_registry()
    examples = sorted((Path(__file__).resolve().parents[2] / "resources").rglob("*.loom.json"))
    assert len(examples) >= 5
    for path in examples:
        workflow = load(path, registry).workflow
        assert fingerprints(workflow) == {nid: fingerprint(workflow, nid)
                                          for nid in workflow.nodes}, path.name
