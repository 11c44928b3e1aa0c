"""Quick-add: the search popup places a node at the cursor, and wires it when opened by a wire."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from builder.canvas.look import DROP_OFFSET, GRID
from engine.model import Edge
from tests.builder.canvas_helpers import drag, make_canvas, port, saved, to_view


def test_double_click_on_empty_canvas_opens_quick_add_and_enter_places_the_node(qtbot):
    canvas = make_canvas(qtbot)
    at = QPointF(400, 300)
    qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=to_view(canvas, at))
    popup = canvas.quick_add.popup
    assert popup.isVisible()
    qtbot.keyClicks(popup.search, "delay")
    assert popup.type_ids() == ["util.delay"]
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    node = canvas.workflow.node("delay1")
    assert node.type == "util.delay"
    expected = [round((a + d) / GRID) * GRID for a, d in zip((at.x(), at.y()), DROP_OFFSET)]
    assert node.position == tuple(expected), "under the cursor, on the grid"
    assert canvas.selected_node_ids() == ["delay1"]
    assert canvas.quick_add is None and not popup.isVisible()
    assert canvas.undo_stack.count() == 1


def test_tab_opens_quick_add_and_escape_closes_it_without_a_change(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Tab)
    popup = canvas.quick_add.popup
    assert popup.isVisible() and len(popup.type_ids()) > 5
    qtbot.keyClick(popup.search, Qt.Key.Key_Escape)
    assert canvas.quick_add is None and saved(canvas) == before


def test_a_wire_released_on_empty_space_offers_compatible_types_and_connects(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    drag(qtbot, canvas, port(canvas, "start", "out", "out"), QPointF(300, 300))
    popup = canvas.quick_add.popup
    offered = popup.type_ids()
    assert "data.expression" in offered and "flow.output" in offered
    assert "data.value" not in offered and "flow.start" not in offered, "they have no inputs"
    qtbot.keyClicks(popup.search, "expression")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert Edge("start", "out", "expression1", "x") in canvas.workflow.edges
    assert ("start", "out", "expression1", "x") in canvas.graph_scene.wires
    assert canvas.undo_stack.count() == 1, "placing and connecting is one undo entry"
    canvas.undo_stack.undo()
    assert saved(canvas) == before


def test_a_wire_from_a_list_output_only_offers_types_that_take_a_list(qtbot):
    canvas = make_canvas(qtbot)
    foreach = canvas.add_node_at("flow.foreach", QPointF(300, 300))
    canvas.open_quick_add(QPointF(600, 400), (foreach, "out", "results"))
    offered = canvas.quick_add.popup.type_ids()
    assert "flow.foreach" in offered
    canvas.quick_add.end("flow.foreach")
    new = [n for n in canvas.workflow.nodes if n != foreach and n.startswith("foreach")][0]
    assert Edge(foreach, "results", new, "items") in canvas.workflow.edges, \
        "the list goes to the port that takes a list"
