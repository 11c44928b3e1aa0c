"""Point 4: a wire is selected by clicking near its drawn line, never by a click in the empty
area its curve goes around (a loop's dashed back edge encloses the loop body)."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QPointF, Qt

from builder.canvas.node_item import NodeItem
from builder.canvas.wire_item import distance_to_curve
from engine import fileformat
from engine.model import Edge
from tests.builder.newcomer_support import click_scene, make_window, press
from tests.builder.shell_support import EXAMPLES

BACK = Edge("step", "out", "loop", "next")


def open_loop(qtbot, tmp_path):
    path = tmp_path / "while.loom.json"
    shutil.copy(EXAMPLES / "while.loom.json", path)
    window = make_window(qtbot, tmp_path)
    assert window.open_path(path)
    window.canvas.resetTransform()
    wire = window.canvas.graph_scene.wires[BACK.key()]
    assert wire.back
    window.canvas.centerOn(wire.boundingRect().center())
    return window, wire, path


def empty_point_inside_the_loop(window, wire, min_distance: float) -> QPointF:
    """A point of empty canvas inside the wire's filled area, far from its line."""
    scene = window.canvas.graph_scene
    rect = wire.boundingRect()
    for i in range(1, 40):
        for j in range(1, 40):
            pt = QPointF(rect.left() + rect.width() * i / 40, rect.top() + rect.height() * j / 40)
            if (wire.path().contains(pt) and distance_to_curve(wire.path(), pt) >= min_distance
                    and not any(isinstance(it, NodeItem) for it in scene.items(pt))):
                return pt
    raise AssertionError("no empty point inside the back edge's curve")


def test_a_click_inside_a_loops_back_edge_selects_nothing_and_delete_keeps_the_loop(
        qtbot, tmp_path):
    window, wire, path = open_loop(qtbot, tmp_path)
    spot = empty_point_inside_the_loop(window, wire, 60)
    click_scene(qtbot, window, spot)
    assert window.canvas.graph_scene.selected_wires == set()
    press(qtbot, window, Qt.Key.Key_Delete)
    assert BACK in window.document.workflow.edges
    press(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert BACK in fileformat.load(path).workflow.edges


def test_a_click_on_the_drawn_line_selects_the_wire(qtbot, tmp_path):
    window, wire, _path = open_loop(qtbot, tmp_path)
    on_line = wire.path().pointAtPercent(0.5)
    click_scene(qtbot, window, on_line + QPointF(0, 3))  # a few pixels off is still the wire
    assert window.canvas.graph_scene.selected_wires == {BACK.key()}
    press(qtbot, window, Qt.Key.Key_Delete)
    assert BACK not in window.document.workflow.edges


def test_distance_to_curve_measures_to_the_line_not_the_area():
    from PySide6.QtGui import QPainterPath

    path = QPainterPath(QPointF(0, 0))
    path.lineTo(100, 0)
    path.lineTo(100, 100)
    path.lineTo(0, 100)  # open: Qt fills it as if closed
    assert path.contains(QPointF(30, 50))
    assert distance_to_curve(path, QPointF(30, 50)) == 50.0  # not 0: the open side is no line
    assert distance_to_curve(path, QPointF(50, -4)) == 4.0
