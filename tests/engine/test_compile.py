"""Compile: loop bodies become nested plans, every plan is a DAG, bad wiring is named."""

from __future__ import annotations

import networkx as nx
import pytest

from engine import CompileError, compile_workflow
from engine.corenodes import core_registry

from .helpers import compile_test, workflow


def _plans(plan):
    yield plan
    for pn in plan.nodes.values():
        if pn.body is not None:
            yield from _plans(pn.body)


def _error(wf) -> CompileError:
    with pytest.raises(CompileError) as info:
        compile_workflow(wf, core_registry())
    return info.value


def nested_loops():
    return workflow(
        {"rows": ("data.value", {"value": [[1, 2], [3]]}),
         "outer": ("flow.foreach", {}),
         "inner": ("flow.foreach", {"parallel": 2}),
         "double": ("data.expression", {"expr": "x * 2"}),
         "total": ("data.expression", {"expr": "sum(x)"}),
         "out": ("flow.output", {"name": "totals"})},
        ["rows.out -> outer.items", "outer.item -> inner.items", "inner.item -> double.x",
         "double.out -> inner.result", "inner.results -> total.x", "total.out -> outer.result",
         "outer.results -> out.in"])


def test_a_foreach_body_is_everything_reachable_from_item():
    wf = workflow({"v": ("data.value", {"value": [1, 2]}), "loop": ("flow.foreach", {}),
                   "a": ("data.expression", {"expr": "x + 1"}),
                   "b": ("data.expression", {"expr": "x * 2"}),
                   "out": ("flow.output", {})},
                  ["v.out -> loop.items", "loop.item -> a.x", "a.out -> b.x",
                   "b.out -> loop.result", "loop.results -> out.in"])
    compiled = compile_workflow(wf, core_registry())
    assert set(compiled.plan.nodes) == {"v", "loop", "out"}
    body = compiled.nodes["loop"].body
    assert body is not None and set(body.nodes) == {"a", "b"}
    assert body.loop_id == "loop"
    assert compiled.scope_of == {"v": None, "loop": None, "out": None, "a": "loop", "b": "loop"}
    assert compiled.nodes["loop"].back_source == ("b", "out")


def test_a_while_body_is_everything_reachable_from_body():
    wf = workflow({"zero": ("data.value", {"value": 0}),
                   "loop": ("flow.while", {"condition": "x < 5"}),
                   "step": ("data.expression", {"expr": "x + 1"}),
                   "out": ("flow.output", {})},
                  ["zero.out -> loop.in", "loop.body -> step.x", "step.out -> loop.next",
                   "loop.done -> out.in"])
    compiled = compile_workflow(wf, core_registry())
    assert set(compiled.nodes["loop"].body.nodes) == {"step"}
    assert compiled.nodes["loop"].back_source == ("step", "out")


def test_nested_loops_become_nested_plans():
    compiled = compile_workflow(nested_loops(), core_registry())
    outer_body = compiled.nodes["outer"].body
    inner_body = compiled.nodes["inner"].body
    assert set(outer_body.nodes) == {"inner", "total"}
    assert set(inner_body.nodes) == {"double"}
    assert compiled.scope_of["double"] == "inner"
    assert compiled.scope_of["inner"] == "outer"
    assert compiled.scope_of["total"] == "outer"


def test_every_plan_graph_is_a_dag():
    compiled = compile_workflow(nested_loops(), core_registry())
    plans = list(_plans(compiled.plan))
    assert len(plans) == 3
    for plan in plans:
        assert nx.is_directed_acyclic_graph(plan.graph)
        assert set(plan.graph.nodes) == set(plan.nodes)


def test_a_body_node_wired_out_of_its_loop_is_an_error_naming_it():
    wf = workflow({"v": ("data.value", {"value": [1]}), "loop": ("flow.foreach", {}),
                   "body": ("data.expression", {"expr": "x"}),
                   "after": ("data.expression", {"expr": "a + b", "inputs": ["a", "b"]}),
                   "out": ("flow.output", {})},
                  ["v.out -> loop.items", "loop.item -> body.x", "body.out -> loop.result",
                   "loop.results -> after.a", "body.out -> after.b", "after.out -> out.in"])
    error = _error(wf)
    named = [p for p in error.problems if p.node_id == "body"]
    assert named, str(error)
    assert "is in the body of loop 'loop' but feeds 'after'" in named[0].message


def test_a_body_node_wired_into_a_node_after_the_loop_indirectly_is_named():
    wf = workflow({"v": ("data.value", {"value": [1]}), "loop": ("flow.foreach", {}),
                   "body": ("data.expression", {"expr": "x"}),
                   "next": ("data.expression", {"expr": "x"}),
                   "late": ("data.expression", {"expr": "a", "inputs": ["a", "b"]})},
                  ["v.out -> loop.items", "loop.item -> body.x", "body.out -> loop.result",
                   "loop.results -> next.x", "next.out -> late.a", "body.out -> late.b"])
    error = _error(wf)
    assert any(p.node_id == "body" and "feeds 'late'" in p.message for p in error.problems)


def test_a_flow_output_inside_a_loop_body_is_an_error():
    wf = workflow({"v": ("data.value", {"value": [1]}), "loop": ("flow.foreach", {}),
                   "body": ("data.expression", {"expr": "x"}), "out": ("flow.output", {})},
                  ["v.out -> loop.items", "loop.item -> body.x", "body.out -> loop.result",
                   "body.out -> out.in"])
    error = _error(wf)
    assert any(p.node_id == "out" and "cannot be inside the body of loop 'loop'" in p.message
               for p in error.problems)


def test_values_from_outside_may_flow_into_a_body():
    wf = workflow({"v": ("data.value", {"value": [1, 2]}), "k": ("data.value", {"value": 10}),
                   "loop": ("flow.foreach", {}),
                   "add": ("data.expression", {"expr": "x + k", "inputs": ["x", "k"]}),
                   "out": ("flow.output", {})},
                  ["v.out -> loop.items", "loop.item -> add.x", "k.out -> add.k",
                   "add.out -> loop.result", "loop.results -> out.in"])
    compiled = compile_workflow(wf, core_registry())
    assert compiled.scope_of["k"] is None and compiled.scope_of["add"] == "loop"
    # the loop waits for what its body reads from outside
    assert compiled.plan.graph.has_edge("k", "loop")


def test_a_back_edge_from_outside_the_body_is_an_error():
    wf = workflow({"v": ("data.value", {"value": [1]}), "loop": ("flow.foreach", {}),
                   "body": ("data.expression", {"expr": "x"}), "w": ("data.value", {})},
                  ["v.out -> loop.items", "loop.item -> body.x", "w.out -> loop.result"])
    error = _error(wf)
    assert any("input 'result' must be wired from the loop's body" in p.message
               and p.edge == ("w", "out", "loop", "result") for p in error.problems)


def test_a_body_feeding_its_loops_items_input_is_an_error():
    wf = workflow({"loop": ("flow.foreach", {}), "body": ("data.expression", {"expr": "[x]"})},
                  ["loop.item -> body.x", "body.out -> loop.result", "body.out -> loop.items"])
    error = _error(wf)
    assert any("feeds the loop's own input 'items'" in p.message for p in error.problems)


def test_a_cycle_without_a_loop_node_is_an_error_listing_its_nodes():
    wf = workflow({"v": ("data.value", {"value": 1}),
                   "a": ("data.expression", {"expr": "x + y", "inputs": ["x", "y"]}),
                   "b": ("data.expression", {"expr": "x"}),
                   "c": ("data.expression", {"expr": "x"})},
                  ["v.out -> a.x", "a.out -> b.x", "b.out -> c.x", "c.out -> a.y"])
    error = _error(wf)
    (cycle,) = [p for p in error.problems if "cycle with no loop node" in p.message]
    path = cycle.message.split(": ", 1)[1].split(";")[0]
    hops = path.split(" -> ")
    assert set(hops) == {"a", "b", "c"} and hops[0] == hops[-1] and len(hops) == 4


def test_a_cycle_through_a_loop_nodes_items_is_still_a_cycle():
    wf = workflow({"loop": ("flow.foreach", {}), "body": ("data.expression", {"expr": "x"}),
                   "after": ("data.expression", {"expr": "x"})},
                  ["after.out -> loop.items", "loop.item -> body.x", "body.out -> loop.result",
                   "loop.results -> after.x"])
    error = _error(wf)
    assert any("cycle with no loop node" in p.message and "loop" in p.message
               and "after" in p.message for p in error.problems)


def test_two_loops_that_share_a_body_node_without_nesting_are_an_error():
    wf = workflow({"v": ("data.value", {"value": [1]}),
                   "l1": ("flow.foreach", {}), "l2": ("flow.foreach", {}),
                   "a": ("data.expression", {"expr": "x"}),
                   "c": ("data.expression", {"expr": "x"}),
                   "shared": ("data.expression", {"expr": "x + y", "inputs": ["x", "y"]})},
                  ["v.out -> l1.items", "v.out -> l2.items", "l1.item -> a.x", "l2.item -> c.x",
                   "a.out -> shared.x", "c.out -> shared.y", "shared.out -> l1.result",
                   "a.out -> l2.result"])
    error = _error(wf)
    assert any(p.node_id == "shared" and "not nested" in p.message for p in error.problems), \
        str(error)


def test_an_unconnected_node_is_a_warning_and_still_compiles():
    wf = workflow({"v": ("data.value", {"value": 1}), "o": ("flow.output", {}),
                   "lonely": ("data.value", {"value": 2})}, ["v.out -> o.in"])
    compiled = compile_workflow(wf, core_registry())
    (warning,) = compiled.warnings
    assert warning.node_id == "lonely" and warning.severity == "warning"
    assert "not connected" in warning.message
    assert set(compiled.plan.nodes) == {"v", "o", "lonely"}


def test_a_single_node_workflow_has_no_warning():
    compiled = compile_workflow(workflow({"v": ("data.value", {})}, []), core_registry())
    assert compiled.warnings == []


def test_compile_reports_all_loop_problems_together():
    wf = workflow({"v": ("data.value", {"value": [1]}), "loop": ("flow.foreach", {}),
                   "body": ("data.expression", {"expr": "x"}), "w": ("data.value", {}),
                   "out": ("flow.output", {})},
                  ["v.out -> loop.items", "loop.item -> body.x", "w.out -> loop.result",
                   "body.out -> out.in"])
    error = _error(wf)
    assert len(error.problems) >= 2


def test_node_types_declare_whether_they_are_pure():
    wf = workflow({"v": ("data.value", {"value": [1]}), "loop": ("flow.foreach", {}),
                   "e": ("data.expression", {"expr": "x"}), "f": ("test.fail", {}),
                   "d": ("util.delay", {"seconds": 0})},
                  ["v.out -> loop.items", "loop.item -> e.x", "e.out -> loop.result",
                   "loop.results -> d.in", "d.out -> f.in"])
    nodes = compile_test(wf).nodes
    assert nodes["v"].impl.is_pure() and nodes["e"].impl.is_pure()
    assert not nodes["f"].impl.is_pure()
    assert nodes["e"].impl.spec().pure is True


def test_plan_sources_are_the_nodes_with_nothing_to_wait_for():
    compiled = compile_workflow(nested_loops(), core_registry())
    assert compiled.plan.sources == ("rows",)
    assert compiled.plan.indegree == {"rows": 0, "outer": 1, "out": 1}
