"""The canvas run overlay: states from event batches, drawn by one layer item updated in place."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QHelpEvent, QImage, QPainter, QUndoStack
from PySide6.QtWidgets import QApplication, QToolTip

from builder.canvas import Canvas
from builder.runview.layer import RunLayer
from builder.runview.overlay import RunOverlay
from builder.theme import dark_theme
from engine import events as ev
from tests.builder.shell_support import make_registry, small_workflow


def make(qtbot) -> tuple[Canvas, RunOverlay]:
    wf = small_workflow()
    stack = QUndoStack()
    canvas = Canvas(wf, make_registry(), stack, dark_theme())
    # The canvas owns its stack, so the stack (and the commands a drag pushed) goes with it:
    # left to the garbage collector, the stack was freed in a cycle after its commands'
    # wrappers and QUndoStack::clear() crashed.
    stack.setParent(canvas)
    qtbot.addWidget(canvas)
    canvas.resize(900, 500)
    canvas.show()
    overlay = RunOverlay(canvas)
    overlay.reset(wf)
    return canvas, overlay


def render(canvas: Canvas) -> QImage:
    image = QImage(900, 500, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    canvas.graph_scene.render(painter)
    painter.end()
    return image


def layers(canvas: Canvas) -> list[RunLayer]:
    return [i for i in canvas.graph_scene.items() if isinstance(i, RunLayer)]


def test_states_follow_the_events_and_the_one_layer_is_updated_in_place(qtbot):
    canvas, overlay = make(qtbot)
    assert {overlay.state(n) for n in "abc"} == {"pending"}
    layer = overlay.layer
    assert layers(canvas) == [layer] and set(layer.rects) == {"a", "b", "c"}
    overlay.apply([ev.NodeStarted("b", (), 1, 1.0),
                   ev.NodeProgressed("b", (), 0.5, "halfway", 1.1)])
    assert overlay.state("b") == "running"
    assert overlay.views["b"].progress == 0.5 and overlay.tooltip("b") == "halfway"
    overlay.apply([ev.NodeRetrying("b", (), 1, 0.5, "HTTP 503", 1.2)])
    assert overlay.state("b") == "retrying" and overlay.views["b"].attempt == 2
    assert overlay.tooltip("b") == "HTTP 503"
    assert overlay.tooltip_at(layer.rects["b"].center()) == "HTTP 503"
    overlay.apply([ev.NodeStarted("b", (), 2, 1.7),
                   ev.NodeFinished("b", (), 0.25, {"out": 6}, 1.9)])
    assert overlay.state("b") == "succeeded" and overlay.views["b"].duration_s == 0.25
    assert overlay.layer is layer and layers(canvas) == [layer]  # repainted, not rebuilt
    render(canvas)  # every state paints without error


def render_area(canvas: Canvas, source: QRectF) -> QImage:
    image = QImage(int(source.width()), int(source.height()), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    canvas.graph_scene.render(painter, QRectF(image.rect()), source)  # 1:1, full detail
    painter.end()
    return image


def test_the_layer_paints_the_states(qtbot):
    canvas, overlay = make(qtbot)
    rect = overlay.layer.rects["b"]
    source = rect.adjusted(-10, -30, 10, 40)
    header = QPoint(int(rect.left() - source.left() + rect.width() / 2), 30 + 4)
    pending = render_area(canvas, source)
    overlay.apply([ev.NodeFailed("b", (), 0.1, "boom", 1, 1.0)])
    failed = render_area(canvas, source)
    assert failed.pixelColor(header) != pending.pixelColor(header)  # the failed tint
    badge = overlay.badge_rect("b").center() - source.topLeft()
    red = failed.pixelColor(QPoint(int(badge.x()) + 5, int(badge.y())))
    assert red.red() > 150 and red.green() < 120  # the badge is drawn


def test_skipped_and_cancelled_nodes_say_why(qtbot):
    canvas, overlay = make(qtbot)
    overlay.apply([ev.NodeSkipped("c", (), "input 'in' was not taken", 1.0),
                   ev.NodeCancelled("b", (), 1.0)])
    assert overlay.state("c") == "skipped"
    assert overlay.tooltip("c") == "input 'in' was not taken"
    assert overlay.state("b") == "cancelled"
    render(canvas)


def test_a_resized_or_moved_node_is_followed_by_the_layer(qtbot):
    canvas, overlay = make(qtbot)
    overlay.apply([ev.NodeStarted("a", (), 1, 1.0)])
    canvas.workflow.set_param("a", "value", 123456789012345)  # the item may grow
    canvas.workflow.update_node("a", position=(40.0, 300.0))  # as undoing a move does
    overlay.apply([ev.NodeFinished("a", (), 0.01, {"out": 5}, 1.1)])
    item = canvas.node_item("a")
    qtbot.waitUntil(lambda: overlay.layer.rects["a"] == item.mapRectToScene(item.rect),
                    timeout=2000)
    assert overlay.layer.rects["a"].topLeft() == QPointF(40.0, 300.0)
    assert overlay.layer.boundingRect().contains(overlay.layer.rects["a"])
    layer = overlay.layer
    overlay.clear()
    assert overlay.layer is None and layer.scene() is None and overlay.views == {}


def test_waiting_node_shows_approve_and_reject_until_answered(qtbot):
    canvas, overlay = make(qtbot)
    clicks: list[tuple[str, bool]] = []
    overlay.approve_clicked.connect(lambda nid, ok: clicks.append((nid, ok)))
    overlay.apply([ev.NodeStarted("b", (), 1, 1.0)])
    overlay.set_waiting("b", True)
    buttons = overlay.buttons("b")
    # (#13) beside Approve and Reject, "…" decides with a comment
    assert overlay.state("b") == "waiting" and set(buttons) == {"approve", "reject", "comment"}
    assert overlay.buttons("a") == {}
    buttons["reject"].on_click()
    assert clicks == [("b", False)]
    overlay.set_waiting("b", False)
    assert overlay.state("b") == "running" and not overlay.buttons("b")
    assert buttons["approve"].scene() is None


def view_point(canvas: Canvas, scene_point: QPointF) -> QPoint:
    return canvas.mapFromScene(scene_point)


def test_a_click_on_the_badge_shows_the_error_and_a_click_on_the_body_selects(qtbot):
    canvas, overlay = make(qtbot)
    errors: list[tuple[str, str]] = []
    overlay.error_clicked.connect(lambda nid, text: errors.append((nid, text)))
    overlay.apply([ev.NodeFailed("b", (), 0.1, "ZeroDivisionError: division by zero", 1, 1.0)])
    badge = overlay.badge_rect("b")
    assert badge is not None and overlay.badge_rect("a") is None
    assert "division" in overlay.tooltip_at(badge.center())
    canvas.centerOn(badge.center())
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=view_point(canvas, badge.center()))
    assert errors == [("b", "ZeroDivisionError: division by zero")]
    body = overlay.layer.rects["b"].center()
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=view_point(canvas, body))
    assert canvas.selected_node_ids() == ["b"]  # the layer let the click through
    assert len(errors) == 1


def test_hovering_a_node_shows_its_run_tooltip(qtbot):
    canvas, overlay = make(qtbot)
    overlay.apply([ev.NodeSkipped("c", (), "input 'in' was not taken", 1.0)])
    centre = overlay.layer.rects["c"].center()
    canvas.centerOn(centre)
    local = canvas.mapFromScene(centre)
    event = QHelpEvent(QEvent.Type.ToolTip, local, canvas.viewport().mapToGlobal(local))
    QApplication.sendEvent(canvas.viewport(), event)
    qtbot.waitUntil(lambda: QToolTip.text() == "input 'in' was not taken", timeout=2000)
    QToolTip.hideText()


def test_a_dragged_node_keeps_its_run_state_drawn_around_it(qtbot):
    canvas, overlay = make(qtbot)
    overlay.apply([ev.NodeStarted("a", (), 1, 1.0)])
    item = canvas.node_item("a")
    start = canvas.mapFromScene(overlay.layer.rects["a"].center())
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 6):
        qtbot.mouseMove(canvas.viewport(), start + QPoint(12 * step, 8 * step))
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton,
                       pos=start + QPoint(60, 40))
    assert canvas.workflow.nodes["a"].position != (0.0, 0.0)  # the drag moved it
    qtbot.waitUntil(lambda: overlay.layer.rects["a"] == item.mapRectToScene(item.rect),
                    timeout=2000)
    assert overlay.layer.boundingRect().contains(overlay.layer.rects["a"])
    render(canvas)


def test_a_node_paused_at_a_breakpoint_shows_continue_step_abort_until_it_goes_on(qtbot):
    canvas, overlay = make(qtbot)
    clicks: list[tuple[str, str]] = []
    overlay.pause_clicked.connect(lambda nid, action: clicks.append((nid, action)))
    overlay.apply([ev.NodeStarted("b", (), 1, 1.0)])
    overlay.set_paused("b", True)
    assert overlay.state("b") == "paused"
    buttons = overlay.buttons("b")
    assert set(buttons) == {"continue", "step", "abort"}
    for key in ("step", "continue"):
        buttons[key].on_click()
    assert clicks == [("b", "step"), ("b", "continue")]
    overlay.set_paused("b", False)
    assert overlay.state("b") == "running" and not overlay.buttons("b")
    overlay.set_paused("b", True)
    overlay.apply([ev.NodeFinished("b", (), 0.2, {"out": 1}, 1.3)])
    assert overlay.state("b") == "succeeded" and not overlay.buttons("b")
