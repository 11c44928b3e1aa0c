"""Point 2: the canvas reads from 30 % zoom up — whole titles (elided only with a tooltip),
port names at the default zoom, port hit targets of >= 10 px with a name-and-type tooltip,
and Fit never zooms out past where titles read (in a 1024x700 window too)."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from builder.canvas.look import ICON, PAD
from builder.canvas.node_item import LOOP_KINDS, LOOP_RIGHT, TITLE_GAP
from builder.canvas.view import FIT_MIN_ZOOM
from builder.commands import SetNodeFieldCommand
from tests.builder.newcomer_support import make_window
from tests.builder.shell_support import EXAMPLES


def open_example(qtbot, tmp_path, name="hello.loom.json", size=(1280, 800)):
    path = tmp_path / name
    shutil.copy(EXAMPLES / name, path)
    window = make_window(qtbot, tmp_path)
    window.resize(*size)
    assert window.open_path(path)
    QApplication.processEvents()  # the Fit queued on open runs before the test moves the view
    return window


def title_room(item) -> float:
    right = LOOP_RIGHT if item.content.kind in LOOP_KINDS else PAD
    return item.width - ICON - right - PAD - TITLE_GAP


def test_every_title_fits_its_header_at_full_detail(qtbot, tmp_path):
    for name in ("hello.loom.json", "while.loom.json", "switch.loom.json"):
        window = open_example(qtbot, tmp_path, name)
        for item in window.canvas.graph_scene.nodes.values():
            metrics = item.look.title_metrics
            assert item.title_text == item.content.title
            assert metrics.horizontalAdvance(item.title_text) <= title_room(item), item.node_id


def test_a_very_long_title_is_elided_and_the_tooltip_gives_it_whole(qtbot, tmp_path):
    window = open_example(qtbot, tmp_path)
    long_title = "Say it calmly and at length to everyone who is listening today " * 2
    window.document.undo_stack.push(SetNodeFieldCommand(
        window.document.workflow, "big", "title", long_title.strip()))
    item = window.canvas.node_item("big")
    assert item.title_elided and item.title_text.endswith("…")
    assert item.look.title_metrics.horizontalAdvance(item.title_text) <= title_room(item)
    assert long_title.strip() in item.toolTip()


def test_zoomed_out_titles_are_elided_with_a_tooltip_never_cut(qtbot, tmp_path):
    window = open_example(qtbot, tmp_path)
    item = window.canvas.node_item("double")
    image = QImage(400, 200, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    painter.scale(0.35, 0.35)  # the item paints for the level of detail of its painter
    from PySide6.QtWidgets import QStyleOptionGraphicsItem

    item.paint(painter, QStyleOptionGraphicsItem())
    painter.end()
    assert "Double n" in item.toolTip()  # too wide for its header at 35 %: elided, with a tip


def test_port_tooltip_names_and_types_and_a_small_zoom_still_grabs_ports(qtbot, tmp_path):
    window = open_example(qtbot, tmp_path)
    canvas = window.canvas
    canvas.resetTransform()
    item = canvas.node_item("double")
    canvas.center_on_node("double")
    dot = item.port_pos("out", "out")
    qtbot.mouseMove(canvas.viewport(), canvas.mapFromScene(dot))
    qtbot.waitUntil(lambda: item.toolTip().startswith("out: "))
    assert "output" in item.toolTip()

    canvas.scale(0.3, 0.3)  # 30 %: a port dot is under 3 px across
    canvas.center_on_node("double")
    before = len(window.document.workflow.edges)
    start = canvas.mapFromScene(item.port_pos("out", "out")) + QPointF(5, 0).toPoint()
    target = canvas.node_item("small")
    end = canvas.mapFromScene(target.port_pos("in", "x"))
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 5):
        qtbot.mouseMove(viewport, start + (end - start) * i / 4)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    edges = window.document.workflow.edges
    assert len(edges) >= before  # (small.x had a wire from check: the new one replaces it)
    assert any(e.source == "double" and e.target == "small" for e in edges)


def test_fit_in_a_small_window_stays_where_titles_read(qtbot, tmp_path):
    window = open_example(qtbot, tmp_path, "foreach_parallel.loom.json", size=(1024, 700))
    window.canvas.fit_all()
    assert window.canvas.zoom() >= FIT_MIN_ZOOM
    assert FIT_MIN_ZOOM >= 0.5  # node items paint full detail (titles, port names) from 0.5
