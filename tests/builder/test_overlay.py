"""The canvas run overlay: states from event batches, drawn by decorations updated in place."""

from __future__ import annotations

from PySide6.QtGui import QImage, QPainter, QUndoStack

from builder.canvas import Canvas
from builder.canvas.run_overlay import RunOverlay
from builder.theme import dark_theme
from engine import events as ev
from tests.builder.shell_support import make_registry, small_workflow


def make(qtbot) -> tuple[Canvas, RunOverlay]:
    wf = small_workflow()
    canvas = Canvas(wf, make_registry(), QUndoStack(), dark_theme())
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


def test_states_follow_the_events_and_decorations_are_updated_in_place(qtbot):
    canvas, overlay = make(qtbot)
    assert {overlay.state(n) for n in "abc"} == {"pending"}
    deco = overlay.decorations["b"]
    overlay.apply([ev.NodeStarted("b", (), 1, 1.0),
                   ev.NodeProgressed("b", (), 0.5, "halfway", 1.1)])
    assert overlay.state("b") == "running"
    assert overlay.views["b"].progress == 0.5 and deco.toolTip() == "halfway"
    overlay.apply([ev.NodeRetrying("b", (), 1, 0.5, "HTTP 503", 1.2)])
    assert overlay.state("b") == "retrying" and overlay.views["b"].attempt == 2
    assert deco.toolTip() == "HTTP 503"
    overlay.apply([ev.NodeStarted("b", (), 2, 1.7),
                   ev.NodeFinished("b", (), 0.25, {"out": 6}, 1.9)])
    assert overlay.state("b") == "succeeded" and overlay.views["b"].duration_s == 0.25
    assert overlay.decorations["b"] is deco  # same item, repainted, not rebuilt
    render(canvas)  # every state paints without error


def test_skipped_and_cancelled_nodes_say_why(qtbot):
    canvas, overlay = make(qtbot)
    overlay.apply([ev.NodeSkipped("c", (), "input 'in' was not taken", 1.0),
                   ev.NodeCancelled("b", (), 1.0)])
    assert overlay.state("c") == "skipped"
    assert overlay.decorations["c"].toolTip() == "input 'in' was not taken"
    assert overlay.state("b") == "cancelled"
    render(canvas)


def test_a_rebuilt_node_item_gets_a_new_decoration(qtbot):
    canvas, overlay = make(qtbot)
    overlay.apply([ev.NodeStarted("a", (), 1, 1.0)])
    canvas.workflow.set_param("a", "value", 5)  # the scene may rebuild or resize the item
    overlay.apply([ev.NodeFinished("a", (), 0.01, {"out": 5}, 1.1)])
    deco = overlay.decorations["a"]
    assert deco.parentItem() is canvas.node_item("a")
    assert deco.node_rect == canvas.node_item("a").rect
    overlay.clear()
    assert overlay.decorations == {} and deco.scene() is None


def test_waiting_node_shows_approve_and_reject_until_answered(qtbot):
    canvas, overlay = make(qtbot)
    clicks: list[tuple[str, bool]] = []
    overlay.approve_clicked.connect(lambda nid, ok: clicks.append((nid, ok)))
    overlay.apply([ev.NodeStarted("b", (), 1, 1.0)])
    overlay.set_waiting("b", True)
    deco = overlay.decorations["b"]
    assert overlay.state("b") == "waiting" and set(deco.buttons) == {"approve", "reject"}
    deco.buttons["reject"].on_click()
    assert clicks == [("b", False)]
    overlay.set_waiting("b", False)
    assert overlay.state("b") == "running" and not deco.buttons
