"""Wiring on a real canvas with real mouse gestures: connect, refuse, replace, re-attach."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt

from engine.model import Edge
from tests.builder.canvas_helpers import drag, make_canvas, port, saved, to_view


def test_dragging_from_an_output_to_a_free_input_connects_them(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    drag(qtbot, canvas, port(canvas, "start", "out", "out"), port(canvas, "join", "in", "in"))
    assert Edge("start", "out", "join", "in") in canvas.workflow.edges
    assert len(canvas.workflow.edges_into("join", "in")) == 3, "merge takes many wires"
    assert ("start", "out", "join", "in") in canvas.graph_scene.wires
    assert canvas.undo_stack.count() == 1
    canvas.undo_stack.undo()
    assert saved(canvas) == before
    assert ("start", "out", "join", "in") not in canvas.graph_scene.wires


def test_dragging_backwards_from_an_input_to_an_output_connects_too(qtbot):
    canvas = make_canvas(qtbot)
    foreach = canvas.add_node_at("flow.foreach", QPointF(300, 260))
    drag(qtbot, canvas, port(canvas, foreach, "in", "result"), port(canvas, "big", "out", "out"))
    assert Edge("big", "out", foreach, "result") in canvas.workflow.edges
    wire = canvas.graph_scene.wires[("big", "out", foreach, "result")]
    assert wire.back, "a wire into a loop's result port is its back edge"


def test_an_incompatible_port_is_refused_with_the_reason(qtbot):
    canvas = make_canvas(qtbot)
    foreach = canvas.add_node_at("flow.foreach", QPointF(300, 260))
    messages: list[str] = []
    canvas.status_message.connect(messages.append)
    before = saved(canvas)
    drag(qtbot, canvas, port(canvas, "start", "out", "out"), port(canvas, foreach, "in", "items"))
    assert saved(canvas) == before
    assert messages and "dict" in messages[-1] and "list" in messages[-1]
    assert messages[-1].startswith("Cannot connect start.out")


def test_ports_glow_or_dim_while_a_wire_is_dragged(qtbot):
    canvas = make_canvas(qtbot)
    foreach = canvas.add_node_at("flow.foreach", QPointF(300, 260))
    viewport = canvas.viewport()
    start = to_view(canvas, port(canvas, "start", "out", "out"))
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, start + QPoint(40, 40))
    marks = canvas.node_item(foreach).port_marks
    assert marks[("in", "items")] is False and marks[("in", "result")] is True
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(40, 40))
    assert canvas.node_item(foreach).port_marks == {}


def test_dropping_on_a_taken_single_input_replaces_the_old_wire(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    drag(qtbot, canvas, port(canvas, "start", "out", "out"), port(canvas, "check", "in", "in"))
    assert canvas.workflow.edges_into("check", "in") == [Edge("start", "out", "check", "in")]
    assert ("double", "out", "check", "in") not in canvas.graph_scene.wires
    assert canvas.undo_stack.count() == 1
    canvas.undo_stack.undo()
    assert saved(canvas) == before


def test_picking_up_a_wire_from_its_input_and_dropping_it_in_empty_space_removes_it(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    drag(qtbot, canvas, port(canvas, "check", "in", "in"), QPointF(500, 300))
    assert canvas.workflow.edges_into("check", "in") == []
    assert canvas.quick_add is None, "a picked-up wire is removed, not extended"
    canvas.undo_stack.undo()
    assert saved(canvas) == before


def test_a_wire_end_can_be_reattached_to_another_input(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    end = port(canvas, "big", "in", "x")
    grab = QPointF(end.x() - 8, end.y())  # on the wire, next to its end
    drag(qtbot, canvas, grab, port(canvas, "small", "in", "x"))
    assert Edge("check", "true", "small", "x") in canvas.workflow.edges
    assert canvas.workflow.edges_into("big", "x") == []
    assert Edge("check", "false", "small", "x") not in canvas.workflow.edges, "replaced"
    assert canvas.undo_stack.count() == 1, "re-attaching is one undo entry"
    canvas.undo_stack.undo()
    assert saved(canvas) == before


def test_wires_are_selectable_by_click_and_deletable(qtbot):
    canvas = make_canvas(qtbot)
    key = ("double", "out", "check", "in")
    wire = canvas.graph_scene.wires[key]
    middle = wire.path().pointAtPercent(0.5)
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=to_view(canvas, middle + QPointF(0, 3)))
    assert canvas.graph_scene.selected_wires == {key} and wire.selected
    canvas.delete_selection()
    assert Edge("double", "out", "check", "in") not in canvas.workflow.edges
    assert "double" in canvas.workflow.nodes and "check" in canvas.workflow.nodes
    canvas.undo_stack.undo()
    assert canvas.graph_scene.selected_wires == set(), "a restored wire comes back unselected"


def test_a_rubber_band_selects_nodes_but_never_wires(qtbot):
    canvas = make_canvas(qtbot)
    drag(qtbot, canvas, QPointF(180, -60), QPointF(560, 60))
    assert canvas.selected_node_ids() == ["double", "check"]
    assert canvas.graph_scene.selected_wires == set()
    canvas.delete_selection()
    assert [e.key() for e in canvas.workflow.edges][0] == ("big", "out", "join", "in")
