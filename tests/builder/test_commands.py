"""Every undo command: do -> undo restores the saved form exactly -> redo gives the after-form."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QUndoStack

from builder import commands as c
from engine import fileformat
from engine.connect import connect_plan
from engine.corenodes import register_core
from engine.model import Edge, Frame, Node, Workflow
from engine.registry import Registry

EXAMPLE = "resources/examples/hello.loom.json"


@pytest.fixture
def registry():
    return register_core(Registry())


@pytest.fixture
def workflow():
    wf = fileformat.load(EXAMPLE).workflow
    wf.set_meta(extra={"ui": {"zoom": 1}})
    wf.add_frame(Frame("f1", "Branches", "#446688", ["big", "small"]))
    return wf


def check_round_trip(wf: Workflow, make_command, stack: QUndoStack | None = None) -> str:
    """Push the command, then undo/redo it, comparing saved forms. Returns the after-form."""
    stack = stack or QUndoStack()
    before = fileformat.dumps(wf)
    stack.push(make_command())
    after = fileformat.dumps(wf)
    assert after != before, "the command changed nothing"
    stack.undo()
    assert fileformat.dumps(wf) == before
    stack.redo()
    assert fileformat.dumps(wf) == after
    stack.undo()
    stack.redo()
    assert fileformat.dumps(wf) == after
    return after


def test_add_node_inserts_at_index_and_undo_removes_it(qapp, workflow):
    node = Node("n9", "data.value", title="Nine", params={"value": 9}, position=(5, 6))
    check_round_trip(workflow, lambda: c.AddNodeCommand(workflow, node, index=1))
    assert list(workflow.nodes)[1] == "n9"


def test_remove_nodes_restores_edges_in_order_and_frame_membership(qapp, workflow):
    check_round_trip(workflow, lambda: c.RemoveNodesCommand(workflow, ["check", "big"]))
    assert "check" not in workflow.nodes and "big" not in workflow.nodes
    assert not any("check" in e.key() for e in workflow.edges)
    assert workflow.frame("f1").nodes == ["small"]
    stack = QUndoStack()
    stack.push(c.RemoveNodesCommand(workflow, ["small"]))
    assert workflow.frames == {}, "a frame left empty goes with its last node"
    stack.undo()
    assert workflow.frame("f1").nodes == ["small"]


def test_remove_then_undo_gives_original_edge_order(qapp, workflow):
    edges_before = [e.key() for e in workflow.edges]
    stack = QUndoStack()
    stack.push(c.RemoveNodesCommand(workflow, ["join", "double", "big"]))
    stack.undo()
    assert [e.key() for e in workflow.edges] == edges_before


def test_move_nodes_and_merge_by_key(qapp, workflow):
    check_round_trip(workflow, lambda: c.MoveNodesCommand(
        workflow, {"start": ((0, 0), (10, 20)), "double": ((220, 0), (230, 20))}))
    stack = QUndoStack()
    wf = fileformat.load(EXAMPLE).workflow
    before = fileformat.dumps(wf)
    stack.push(c.MoveNodesCommand(wf, {"start": ((0, 0), (1, 0))}, merge_key="nudge"))
    stack.push(c.MoveNodesCommand(wf, {"start": ((1, 0), (2, 0))}, merge_key="nudge"))
    stack.push(c.MoveNodesCommand(wf, {"start": ((2, 0), (3, 5))}, merge_key="nudge"))
    assert stack.count() == 1
    assert wf.node("start").position == (3, 5)
    stack.undo()
    assert fileformat.dumps(wf) == before
    stack.redo()
    stack.push(c.MoveNodesCommand(wf, {"start": ((3, 5), (9, 9))}))
    assert stack.count() == 2, "moves without a merge key never merge"


def test_moves_that_return_to_start_are_dropped(qapp, workflow):
    stack = QUndoStack()
    stack.push(c.MoveNodesCommand(workflow, {"start": ((0, 0), (5, 0))}, merge_key=1))
    stack.push(c.MoveNodesCommand(workflow, {"start": ((5, 0), (0, 0))}, merge_key=1))
    assert stack.count() == 0


@pytest.mark.parametrize("edge,expected", [
    ("left", {"a": (0, 0), "b": (0, 50)}),
    ("right", {"a": (80, 0), "b": (100, 50)}),
    ("top", {"a": (0, 0), "b": (100, 0)}),
    ("bottom", {"a": (0, 60), "b": (100, 50)}),
    ("hcenter", {"a": (40, 0), "b": (50, 50)}),
    ("vcenter", {"a": (0, 30), "b": (100, 25)}),
])
def test_align_nodes(qapp, edge, expected):
    wf = Workflow(nodes=[Node("a", "data.value", position=(0, 0)),
                         Node("b", "data.value", position=(100, 50))])
    rects = {"a": (0.0, 0.0, 100.0, 40.0), "b": (100.0, 50.0, 80.0, 50.0)}
    check_round_trip(wf, lambda: c.AlignNodesCommand(wf, rects, edge))
    assert {k: n.position for k, n in wf.nodes.items()} == expected


def test_distribute_nodes_spaces_gaps_equally(qapp):
    wf = Workflow(nodes=[Node("a", "data.value", position=(0, 0)),
                         Node("b", "data.value", position=(30, 0)),
                         Node("c", "data.value", position=(300, 0))])
    rects = {k: (n.position[0], n.position[1], 50.0, 40.0) for k, n in wf.nodes.items()}
    check_round_trip(wf, lambda: c.DistributeNodesCommand(wf, rects, "h"))
    assert wf.node("b").position == (150, 0)
    with pytest.raises(ValueError, match="distribute"):
        c.distribute_moves(rects, "diagonal")


def test_connect_ports_adds_an_edge(qapp, workflow):
    edge = Edge("start", "out", "join", "in")
    check_round_trip(workflow, lambda: c.ConnectPortsCommand(workflow, edge))
    assert workflow.edges[-1] == edge


def test_connect_into_a_taken_single_input_replaces_the_wire(qapp, workflow, registry):
    old = Edge("double", "out", "check", "in")
    new = Edge("start", "out", "check", "in")
    check_round_trip(workflow, lambda: c.ConnectPortsCommand(workflow, new, registry))
    assert workflow.edges_into("check", "in") == [new]
    assert old not in workflow.edges


def test_connect_into_a_multi_input_keeps_the_other_wires(qapp, workflow, registry):
    new = Edge("double", "out", "join", "in")
    check_round_trip(workflow, lambda: c.ConnectPortsCommand(workflow, new, registry))
    assert len(workflow.edges_into("join", "in")) == 3


def test_connect_carries_out_a_plan_that_moves_a_wire_and_replaces_another(qapp, workflow,
                                                                          registry):
    moved, taken = Edge("check", "true", "big", "x"), Edge("check", "false", "small", "x")
    plan = connect_plan(workflow, registry, Edge("check", "true", "small", "x"), detached=moved)
    assert plan.remove == (moved, taken) and plan.replaced == (taken,)
    check_round_trip(workflow, lambda: c.ConnectPortsCommand(workflow, plan))
    assert workflow.edges_into("small", "x") == [Edge("check", "true", "small", "x")]
    assert workflow.edges_into("big", "x") == []


def test_connect_refuses_what_the_engine_refuses(qapp, workflow, registry):
    with pytest.raises(ValueError, match="cannot be wired to itself"):
        c.ConnectPortsCommand(workflow, Edge("check", "true", "check", "in"), registry)


def test_disconnect_restores_order(qapp, workflow):
    edges = [workflow.edges[1], workflow.edges[4]]
    check_round_trip(workflow, lambda: c.DisconnectCommand(workflow, edges))
    assert len(workflow.edges) == 5


def test_set_param_sets_removes_and_merges(qapp, workflow):
    check_round_trip(workflow, lambda: c.SetParamCommand(workflow, "check", "condition", "x > 9"))
    assert workflow.node("check").params["condition"] == "x > 9"
    check_round_trip(workflow, lambda: c.SetParamCommand(workflow, "join", "mode", None))
    assert "mode" not in workflow.node("join").params
    stack = QUndoStack()
    before = fileformat.dumps(workflow)
    for text in ("x", "x >", "x > 1"):
        stack.push(c.SetParamCommand(workflow, "check", "condition", text))
    assert stack.count() == 1
    stack.undo()
    assert fileformat.dumps(workflow) == before


@pytest.mark.parametrize("field,value", [
    ("title", "Renamed"), ("retry", {"max_attempts": 3, "backoff_s": 1}),
    ("timeout_s", 2.5), ("on_error", "continue"),
])
def test_set_node_field(qapp, workflow, field, value):
    check_round_trip(workflow, lambda: c.SetNodeFieldCommand(workflow, "double", field, value))
    assert getattr(workflow.node("double"), field) == value


def test_set_node_field_refuses_unknown_fields(qapp, workflow):
    with pytest.raises(ValueError, match="position"):
        c.SetNodeFieldCommand(workflow, "double", "position", (1, 2))


def test_paste_adds_nodes_edges_and_frames(qapp, workflow):
    nodes = [Node("n1", "data.value", params={"value": 1}, position=(0, 300)),
             Node("n2", "flow.output", params={"name": "pasted"}, position=(200, 300))]
    edges = [Edge("n1", "out", "n2", "in")]
    frames = [Frame("f2", "Pasted", "#885544", ["n1", "n2"])]
    after = check_round_trip(workflow, lambda: c.PasteCommand(workflow, nodes, edges, frames))
    assert '"pasted"' in after
    assert list(workflow.frames) == ["f1", "f2"]


def test_frame_commands(qapp, workflow):
    frame = Frame(workflow.new_frame_id(), "Start", "#335577", ["start", "double"])
    assert frame.id == "f2"
    check_round_trip(workflow, lambda: c.AddFrameCommand(workflow, frame))
    check_round_trip(workflow, lambda: c.EditFrameCommand(workflow, "f2", title="Begin",
                                                          color="#223344"))
    assert workflow.frame("f2").title == "Begin"
    check_round_trip(workflow, lambda: c.RemoveFrameCommand(workflow, "f1"))
    assert list(workflow.frames) == ["f2"]
    assert workflow.extra == {"ui": {"zoom": 1}}, "other extra keys are kept"
    check_round_trip(workflow, lambda: c.AddFrameCommand(workflow, Frame("f1", "Back"), 0))
    assert list(workflow.frames) == ["f1", "f2"], "added where it is asked to be"


def test_a_frame_command_notifies_that_one_frame_only(qapp, workflow):
    workflow.add_frame(Frame("f2", "Other", None, ["start"]))
    seen: list[tuple] = []
    for topic in ("frame_added", "frame_removed", "frame_changed", "meta_changed"):
        getattr(workflow, topic).subscribe(lambda *args, t=topic: seen.append(
            (t, args[0].id if args and hasattr(args[0], "id") else args, args[1])))
    stack = QUndoStack()
    stack.push(c.EditFrameCommand(workflow, "f1", title="Renamed"))
    stack.push(c.RemoveFrameCommand(workflow, "f2"))
    stack.undo()
    assert seen == [("frame_changed", "f1", ("title",)), ("frame_removed", "f2", 1),
                    ("frame_added", "f2", 1)]
