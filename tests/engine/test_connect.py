"""connect_plan: what drawing a wire removes and adds, decided once from the registry."""

from __future__ import annotations

from engine.connect import connect_plan, is_single_input
from engine.corenodes import core_registry
from engine.model import Edge, Node
from tests.engine.helpers import workflow


def _wf():
    return workflow({"a": ("data.value", {}), "b": ("data.value", {}),
                     "e": ("data.expression", {"expr": "x"}), "m": ("flow.merge", {}),
                     "ghost": ("no.such_type", {})},
                    ["a.out -> e.x", "a.out -> m.in"])


def test_a_wire_into_a_free_input_adds_it_and_removes_nothing():
    wf = _wf()
    plan = connect_plan(wf, core_registry(), Edge("b", "out", "m", "in"))
    assert plan.ok and plan.changes
    assert plan.add == (Edge("b", "out", "m", "in"),)
    assert plan.remove == () and plan.replaced == ()


def test_a_wire_into_a_taken_single_input_replaces_the_wire_there():
    wf = _wf()
    plan = connect_plan(wf, core_registry(), Edge("b", "out", "e", "x"))
    assert plan.ok
    assert plan.remove == (Edge("a", "out", "e", "x"),)
    assert plan.replaced == plan.remove
    assert plan.add == (Edge("b", "out", "e", "x"),)


def test_a_wire_into_a_multi_input_keeps_the_wires_already_there():
    wf = _wf()
    plan = connect_plan(wf, core_registry(), Edge("b", "out", "m", "in"))
    assert plan.remove == ()
    assert is_single_input(wf, core_registry(), "e", "x")
    assert not is_single_input(wf, core_registry(), "m", "in")


def test_a_refused_wire_says_why_and_changes_nothing():
    wf = _wf()
    registry = core_registry()
    cases = {Edge("a", "out", "a", "out"): "a node cannot be wired to itself",
             Edge("a", "out", "e", "x"): "these ports are already connected",
             Edge("a", "out", "e", "nope"): "no such port",
             Edge("a", "out", "ghost", "in"): "unknown node type 'no.such_type'"}
    for edge, why in cases.items():
        plan = connect_plan(wf, registry, edge)
        assert plan.problem == why, edge
        assert not plan.ok and plan.remove == () and plan.add == () and not plan.changes
    assert len(wf.edges) == 2, "planning never changes the workflow"


def test_a_picked_up_wire_leaves_with_the_plan_and_is_not_replaced_twice():
    wf = _wf()
    registry = core_registry()
    moved = Edge("a", "out", "e", "x")
    # Its source end dragged from a to b: same input, so the old wire goes once, as the moved one.
    plan = connect_plan(wf, registry, Edge("b", "out", "e", "x"), detached=moved)
    assert plan.remove == (moved,) and plan.replaced == ()
    assert plan.add == (Edge("b", "out", "e", "x"),)
    # Its target end dragged onto the merge's multi input: the wire moves, nothing is replaced.
    plan = connect_plan(wf, registry, Edge("a", "out", "m", "in"), detached=moved)
    assert plan.problem == "these ports are already connected"
    into_merge = Edge("a", "out", "m", "in")
    plan = connect_plan(wf, registry, Edge("b", "out", "m", "in"), detached=into_merge)
    assert plan.remove == (into_merge,) and plan.replaced == ()
    # Its target end dragged onto another taken single input: both the moved wire and the one
    # there go, and only the one there counts as replaced.
    wf.add_node(Node("e2", "data.expression", params={"expr": "x"}))
    taken = Edge("b", "out", "e2", "x")
    wf.add_edge(taken)
    plan = connect_plan(wf, registry, Edge("a", "out", "e2", "x"), detached=moved)
    assert plan.remove == (moved, taken) and plan.replaced == (taken,)


def test_a_wire_dropped_back_where_it_was_picked_up_is_no_change():
    wf = _wf()
    moved = Edge("a", "out", "e", "x")
    plan = connect_plan(wf, core_registry(), Edge("a", "out", "e", "x"), detached=moved)
    assert plan.ok and not plan.changes
