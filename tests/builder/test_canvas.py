"""The canvas as a view of the workflow: moves, selection, delete, frames, drops, badges, zoom."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from builder.canvas import NODE_TYPE_MIME
from builder.canvas.look import DROP_OFFSET, GRID
from builder.commands import AddNodeCommand
from engine.errors import Problem
from engine.model import Node
from tests.builder.canvas_helpers import drag, header, make_canvas, saved, to_view


def test_the_scene_shows_every_node_and_edge_of_the_workflow(qtbot):
    canvas = make_canvas(qtbot)
    assert set(canvas.graph_scene.nodes) == set(canvas.workflow.nodes)
    assert set(canvas.graph_scene.wires) == {e.key() for e in canvas.workflow.edges}
    item = canvas.node_item("check")
    assert [p.name for p in item.content.outputs] == ["true", "false"]
    assert item.content.summary == "x > 5"
    assert item.pos() == QPointF(440, 0)


def test_moving_a_node_with_the_mouse_is_one_undo_entry(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    start = header(canvas, "double")
    drag(qtbot, canvas, start, start + QPointF(63, 118), steps=6)
    assert canvas.workflow.node("double").position == (280.0, 120.0), "snapped to the grid"
    assert canvas.undo_stack.count() == 1
    wire = canvas.graph_scene.wires[("start", "out", "double", "x")]
    assert wire.path().pointAtPercent(1.0) == canvas.node_item("double").port_pos("in", "x")
    canvas.undo_stack.undo()
    assert saved(canvas) == before
    assert canvas.node_item("double").pos() == QPointF(220, 0)


def test_moving_without_snapping_keeps_the_exact_offset(qtbot):
    canvas = make_canvas(qtbot)
    canvas.set_snap_to_grid(False)
    start = header(canvas, "double")
    drag(qtbot, canvas, start, start + QPointF(33, 7))
    assert canvas.workflow.node("double").position == (253.0, 7.0)


def test_ctrl_click_adds_to_the_selection_and_a_drag_moves_all_selected(qtbot):
    canvas = make_canvas(qtbot)
    viewport = canvas.viewport()
    big = to_view(canvas, header(canvas, "big"))
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=big)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     to_view(canvas, header(canvas, "small")))
    assert sorted(canvas.selected_node_ids()) == ["big", "small"]
    start = header(canvas, "big")
    drag(qtbot, canvas, start, start + QPointF(40, 20))
    assert canvas.workflow.node("big").position == (700.0, -60.0)
    assert canvas.workflow.node("small").position == (700.0, 100.0)
    assert canvas.undo_stack.count() == 1


def test_rubber_band_selects_the_nodes_it_touches(qtbot):
    canvas = make_canvas(qtbot)
    seen: list[list[str]] = []
    canvas.selection_changed.connect(seen.append)
    drag(qtbot, canvas, QPointF(620, -140), QPointF(860, 200))
    assert sorted(canvas.selected_node_ids()) == ["big", "small"]
    assert sorted(seen[-1]) == ["big", "small"]
    assert canvas.undo_stack.count() == 0, "selection never enters the undo stack"


def test_select_all_delete_and_undo_restores_nodes_and_wires_in_order(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    canvas.select_nodes(["check"])
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert "check" not in canvas.workflow.nodes
    assert not any("check" in key for key in canvas.graph_scene.wires)
    canvas.undo_stack.undo()
    assert saved(canvas) == before
    assert ("check", "true", "big", "x") in canvas.graph_scene.wires
    qtbot.keyClick(canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(canvas.selected_node_ids()) == len(canvas.workflow.nodes)


def test_duplicate_copies_nodes_with_fresh_ids_and_their_inner_wires(qtbot):
    canvas = make_canvas(qtbot)
    canvas.select_nodes(["big", "join"])
    qtbot.keyClick(canvas, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    new = canvas.selected_node_ids()
    assert sorted(new) == ["big1", "join1"]
    assert canvas.workflow.node("big1").position == (700.0, -40.0)
    assert [e.key() for e in canvas.workflow.edges_into("join1")] == [("big1", "out", "join1",
                                                                      "in")]


def test_a_frame_moves_its_nodes_and_is_kept_in_the_workflow(qtbot):
    canvas = make_canvas(qtbot)
    canvas.select_nodes(["big", "small"])
    frame_id = canvas.frame_selection()
    made = canvas.workflow.frame(frame_id)
    assert list(canvas.workflow.frames) == [frame_id]
    assert (made.title, made.nodes) == ("Frame", ["big", "small"]) and made.color
    frame = canvas.graph_scene.frames[frame_id]
    assert frame.rect.contains(canvas.node_item("big").sceneBoundingRect().center())
    canvas.graph_scene.clearSelection()
    title = frame.title_rect().center()
    drag(qtbot, canvas, title, title + QPointF(100, 60))
    assert canvas.workflow.node("big").position == (760.0, -20.0)
    assert canvas.workflow.node("small").position == (760.0, 140.0)
    assert canvas.workflow.node("check").position == (440.0, 0.0), "non-members stay"
    assert frame.rect.contains(canvas.node_item("small").sceneBoundingRect().center())
    assert canvas.undo_stack.count() == 2


def test_a_drop_from_the_palette_creates_a_node_at_the_drop_point(qtbot):
    canvas = make_canvas(qtbot)
    mime = QMimeData()
    mime.setData(NODE_TYPE_MIME, b"data.expression")
    at = to_view(canvas, QPointF(400, 300))
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(at, actions, mime, buttons, mods)
    QApplication.sendEvent(canvas.viewport(), enter)
    assert enter.isAccepted()
    QApplication.sendEvent(canvas.viewport(), QDropEvent(QPointF(at), actions, mime, buttons,
                                                         mods))
    node = canvas.workflow.node("expression1")
    expected = (round((400 + DROP_OFFSET[0]) / GRID) * GRID, round((300 + DROP_OFFSET[1]) / GRID)
                * GRID)
    assert node.type == "data.expression" and node.position == expected
    assert canvas.selected_node_ids() == ["expression1"]
    assert canvas.undo_stack.count() == 1


def test_a_drag_of_an_unknown_type_is_refused_with_a_reason(qtbot):
    canvas = make_canvas(qtbot)
    mime = QMimeData()
    mime.setData(NODE_TYPE_MIME, b"no.such_type")
    messages: list[str] = []
    canvas.status_message.connect(messages.append)
    enter = QDragEnterEvent(QPoint(100, 100), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), enter)
    assert not enter.isAccepted()
    assert canvas.undo_stack.count() == 0
    assert "no.such_type" in messages[-1]


def test_problems_put_a_badge_with_a_tooltip_on_their_nodes(qtbot):
    canvas = make_canvas(qtbot)
    canvas.set_problems([Problem("parameter 'expr' is required", node_id="double"),
                         Problem("type mismatch", edge=("check", "true", "big", "x"))])
    assert canvas.node_item("double").problems == ["parameter 'expr' is required"]
    assert "required" in canvas.node_item("double").toolTip()
    assert canvas.graph_scene.wires[("check", "true", "big", "x")].problem == "type mismatch"
    canvas.set_problems([])
    assert canvas.node_item("double").problems == []


def test_the_scene_follows_model_changes_made_by_anyone(qtbot):
    canvas = make_canvas(qtbot)
    canvas.undo_stack.push(AddNodeCommand(canvas.workflow, Node("v", "data.value",
                                                                params={"value": 3})))
    assert canvas.node_item("v").content.summary == "3"
    canvas.workflow.set_param("v", "value", "hello")
    assert canvas.node_item("v").content.summary == "hello"
    canvas.workflow.set_param("double", "inputs", ["x", "y"])
    assert [p.name for p in canvas.node_item("double").content.inputs] == ["x", "y"]
    canvas.undo_stack.undo()
    assert canvas.node_item("v") is None


def test_zoom_and_fit_change_the_view_not_the_workflow(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    canvas.zoom_in()
    assert abs(canvas.zoom() - 1.25) < 1e-9
    canvas.zoom_out()
    assert abs(canvas.zoom() - 1.0) < 1e-9
    canvas.fit_all()
    area = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    for item in canvas.graph_scene.nodes.values():
        assert area.contains(item.sceneBoundingRect())
    canvas.select_nodes(["out"])
    canvas.fit_selection()
    assert canvas.zoom() == 1.5
    assert saved(canvas) == before and canvas.undo_stack.count() == 0


def test_align_and_distribute_the_selection(qtbot):
    canvas = make_canvas(qtbot)
    canvas.select_nodes(["big", "small", "join"])
    canvas.align_selection("top")
    assert {canvas.workflow.node(n).position[1] for n in ("big", "small", "join")} == {-80.0}
    canvas.undo_stack.undo()
    canvas.select_nodes(["start", "double", "big"])
    canvas.distribute_selection("h")
    xs = sorted(canvas.workflow.node(n).position[0] for n in ("start", "double", "big"))
    widths = [canvas.node_item(n).width for n in ("start", "double", "big")]
    assert xs[0] == 0.0 and abs((xs[1] - xs[0] - widths[0]) - (xs[2] - xs[1] - widths[1])) < 1e-6
    assert canvas.undo_stack.count() == 1, "the undone align was replaced"


def test_the_wheel_zooms_around_the_cursor(qtbot):
    from PySide6.QtCore import QPoint as P
    from PySide6.QtGui import QWheelEvent
    canvas = make_canvas(qtbot)
    at = to_view(canvas, header(canvas, "check"))
    before = canvas.mapToScene(at)
    event = QWheelEvent(QPointF(at), QPointF(canvas.viewport().mapToGlobal(at)), P(0, 0),
                        P(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), event)
    assert canvas.zoom() > 1.3
    after = canvas.mapToScene(at)
    assert abs(after.x() - before.x()) < 2 and abs(after.y() - before.y()) < 2
    assert canvas.undo_stack.count() == 0


def test_middle_drag_and_space_drag_pan_the_view(qtbot):
    canvas = make_canvas(qtbot)
    viewport = canvas.viewport()
    centre = canvas.mapToScene(viewport.rect().center())
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(600, 300))
    qtbot.mouseMove(viewport, QPoint(500, 250))
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(500, 250))
    moved = canvas.mapToScene(viewport.rect().center())
    assert (moved.x() - centre.x(), moved.y() - centre.y()) == (100, 50)
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(600, 300))
    qtbot.mouseMove(viewport, QPoint(650, 300))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(650, 300))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    again = canvas.mapToScene(viewport.rect().center())
    assert again.x() - moved.x() == -50
    assert canvas.selected_node_ids() == [] and canvas.undo_stack.count() == 0


def test_hovering_a_node_raises_it_and_highlights_its_wires(qtbot):
    canvas = make_canvas(qtbot)
    item = canvas.node_item("check")
    qtbot.mouseMove(canvas.viewport(), to_view(canvas, header(canvas, "check")))
    qtbot.waitUntil(lambda: item.hovered, timeout=2000)
    assert item.zValue() > canvas.node_item("big").zValue()
    assert all(w.highlighted for w in canvas.graph_scene.wires_of("check"))
    assert not canvas.graph_scene.wires[("start", "out", "double", "x")].highlighted


def test_switching_theme_keeps_the_items_and_the_selection(qtbot):
    from builder.theme import light_theme
    canvas = make_canvas(qtbot)
    canvas.select_nodes(["big"])
    canvas.set_theme(light_theme())
    assert canvas.graph_scene.look.theme.name == "light"
    assert set(canvas.graph_scene.nodes) == set(canvas.workflow.nodes)
    assert canvas.selected_node_ids() == ["big"]


def test_a_change_to_one_frame_updates_that_frame_item_only(qtbot):
    from builder.commands import EditFrameCommand, RemoveFrameCommand

    canvas = make_canvas(qtbot)
    canvas.select_nodes(["big"])
    first = canvas.frame_selection()
    canvas.select_nodes(["small", "check"])
    second = canvas.frame_selection()
    items = dict(canvas.graph_scene.frames)
    members = list(items[second].node_ids)
    assert set(members) == {"small", "check"}
    painted: list[str] = []
    for frame_id, item in items.items():  # what each item is told to redraw
        original = item.set_frame
        item.set_frame = lambda frame, f=frame_id, o=original: (painted.append(f), o(frame))
    canvas.undo_stack.push(EditFrameCommand(canvas.workflow, second, title="Branches",
                                            nodes=["small"]))
    assert painted == [second]
    assert canvas.graph_scene.frames == items, "the same items, none rebuilt"
    assert items[second].frame.title == "Branches" and items[second].node_ids == ["small"]
    check_rect = canvas.node_item("check").sceneBoundingRect()
    assert not items[second].rect.intersects(check_rect), "refitted to its one member"
    canvas.undo_stack.push(RemoveFrameCommand(canvas.workflow, first))
    assert set(canvas.graph_scene.frames) == {second}
    assert canvas.graph_scene.frames[second] is items[second]
    canvas.undo_stack.undo()
    canvas.undo_stack.undo()
    assert painted == [second, second]
    assert canvas.graph_scene.frames[second] is items[second]
    assert items[second].node_ids == members
