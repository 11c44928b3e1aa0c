"""Shared set-up for the canvas tests: a real Canvas on the hello example, and mouse helpers."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QUndoStack

from builder.canvas import Canvas
from builder.theme import dark_theme
from engine import fileformat
from engine.corenodes import register_core
from engine.registry import Registry

EXAMPLE = "resources/examples/hello.loom.json"


def make_canvas(qtbot, path: str = EXAMPLE) -> Canvas:
    workflow = fileformat.load(path).workflow
    stack = QUndoStack()
    canvas = Canvas(workflow, register_core(Registry()), stack, dark_theme())
    # The stack (and the commands it owns) goes with the canvas, in Qt's order, as a Document's
    # does in the editor: left to the cyclic collector, a command's C++ side could be deleted
    # while its Python side was half torn down (a segfault in gc at teardown).
    stack.setParent(canvas)
    qtbot.addWidget(canvas)
    canvas.resize(1300, 700)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.resetTransform()
    canvas.centerOn(QPointF(600, 40))
    return canvas


def to_view(canvas: Canvas, scene_pos: QPointF) -> QPoint:
    return canvas.mapFromScene(scene_pos)


def drag(qtbot, canvas: Canvas, start: QPointF, end: QPointF, steps: int = 4,
         modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Press at `start`, move in steps, release at `end` (scene coordinates), on the viewport."""
    viewport = canvas.viewport()
    a, b = to_view(canvas, start), to_view(canvas, end)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, modifier, a)
    for i in range(1, steps + 1):
        qtbot.mouseMove(viewport, a + (b - a) * i / steps)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, modifier, b)


def port(canvas: Canvas, node_id: str, side: str, name: str) -> QPointF:
    return canvas.node_item(node_id).port_pos(side, name)


def header(canvas: Canvas, node_id: str) -> QPointF:
    item = canvas.node_item(node_id)
    return item.mapToScene(QPointF(item.width / 2, 12))


def saved(canvas: Canvas) -> str:
    return fileformat.dumps(canvas.workflow)
