"""#13: the canvas minimap — an overview in the corner that shows and moves the view, follows
the theme, hides from the View menu, stays small, and renders only when the model changes."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QUndoStack

from builder.canvas import Canvas
from builder.canvas.minimap import MINIMAP_KEY
from builder.mainwindow import MainWindow
from builder.theme import dark_theme, light_theme
from engine.corenodes import register_core
from engine.model import Edge, Node, Workflow
from engine.registry import Registry
from tests.builder.shell_support import Answers, make_registry, temp_settings


def grid_workflow(columns: int, rows: int) -> Workflow:
    """columns x rows value nodes, 260 x 140 apart, each row chained by wires."""
    wf = Workflow("grid")
    for r in range(rows):
        for c in range(columns):
            wf.add_node(Node(f"n{r}_{c}", "data.value", f"Value {r}.{c}", {"value": c},
                             (c * 260.0, r * 140.0)))
            if c:
                wf.add_edge(Edge(f"n{r}_{c - 1}", "out", f"n{r}_{c}", "in"))
    return wf


def make(qtbot, workflow: Workflow, size=(1100, 700)) -> Canvas:
    canvas = Canvas(workflow, register_core(Registry()), QUndoStack(), dark_theme())
    qtbot.addWidget(canvas)
    canvas.resize(*size)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.resetTransform()
    canvas.centerOn(QPointF(0, 0))
    qtbot.waitUntil(lambda: canvas.minimap.isVisible() and canvas.minimap.renders >= 1,
                    timeout=3000)
    return canvas


def view_centre(canvas: Canvas) -> QPointF:
    return canvas.mapToScene(canvas.viewport().rect().center())


def test_minimap_sits_in_the_bottom_right_corner_and_shows_the_visible_area(qtbot):
    canvas = make(qtbot, grid_workflow(12, 8))
    mm = canvas.minimap
    viewport = canvas.viewport().geometry()
    assert viewport.contains(mm.geometry())
    assert viewport.right() - mm.geometry().right() < 20
    assert viewport.bottom() - mm.geometry().bottom() < 20
    assert mm.width() <= 220 and mm.height() <= 150
    # the rectangle is the canvas's visible area, mapped into the minimap
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    rect = mm.view_rect()
    assert abs(mm.to_scene(rect.topLeft()).x() - visible.left()) < 1
    assert abs(mm.to_scene(rect.bottomRight()).y() - visible.bottom()) < 1
    # and it follows a pan of the canvas
    before = mm.view_rect()
    canvas.centerOn(QPointF(2000, 900))
    qtbot.waitUntil(lambda: mm.view_rect() != before, timeout=3000)
    assert mm.view_rect().center().x() > before.center().x()


def test_clicking_the_minimap_centres_the_view_there(qtbot):
    canvas = make(qtbot, grid_workflow(12, 8))
    mm = canvas.minimap
    target = canvas.node_item("n7_11").sceneBoundingRect().center()
    point = mm.to_minimap(target).toPoint()
    assert mm.rect().contains(point) and not mm.view_rect().contains(QPointF(point))
    qtbot.mouseClick(mm, Qt.MouseButton.LeftButton, pos=point)
    centre = view_centre(canvas)
    tolerance = 2 / mm._scale  # two minimap pixels
    assert abs(centre.x() - target.x()) < tolerance and abs(centre.y() - target.y()) < tolerance


def test_dragging_the_rectangle_moves_the_view_by_the_same_amount(qtbot):
    canvas = make(qtbot, grid_workflow(16, 10), size=(900, 600))
    mm = canvas.minimap
    start_centre = view_centre(canvas)
    grip = mm.view_rect().center().toPoint() + QPoint(3, 2)  # not its exact centre
    qtbot.mousePress(mm, Qt.MouseButton.LeftButton, pos=grip)
    # grabbing the rectangle does not make the view jump
    assert abs(view_centre(canvas).x() - start_centre.x()) < 2 / mm._scale
    for step in range(1, 6):
        qtbot.mouseMove(mm, grip + QPoint(6 * step, 3 * step))
    qtbot.mouseRelease(mm, Qt.MouseButton.LeftButton, pos=grip + QPoint(30, 15))
    moved = view_centre(canvas) - start_centre
    assert abs(moved.x() - 30 / mm._scale) < 2 / mm._scale
    assert abs(moved.y() - 15 / mm._scale) < 2 / mm._scale


def test_the_overview_is_rendered_on_model_change_not_on_every_paint(qtbot):
    canvas = make(qtbot, grid_workflow(40, 50))  # 2 000 nodes
    mm = canvas.minimap
    renders = mm.renders
    for x in (500, 1500, 3000):  # pans and zooms repaint canvas and minimap...
        canvas.centerOn(QPointF(x, 600))
        canvas.zoom_out()
        mm.repaint()
        canvas.viewport().repaint()
    assert mm.renders == renders  # ...from the cached overview
    # a model change renders again, once for a burst of changes
    for i in range(50):
        canvas.workflow.add_node(Node(f"extra{i}", "data.value", "Extra", {"value": i},
                                      (20000.0 + i * 200, 0.0)))
    qtbot.waitUntil(lambda: mm.renders > renders, timeout=3000)
    mm.repaint()
    assert mm.renders == renders + 1
    # the new nodes widened the overview: its bounds reach them
    assert mm._bounds.right() >= 20000.0 + 49 * 200


def test_minimap_follows_the_theme(qtbot):
    canvas = make(qtbot, grid_workflow(2, 1))  # in the middle: nothing under the minimap
    mm = canvas.minimap
    # a small view rectangle on the right node, so the panel's left margin shows bare
    canvas.scale(3, 3)
    canvas.center_on_node("n0_1")
    qtbot.waitUntil(lambda: mm.view_rect().left() > 10, timeout=3000)

    def panel_colour():
        image = mm.grab().toImage()
        return image.pixelColor(3, image.height() // 2)  # the panel's margin, left of the graph

    dark = panel_colour()
    assert abs(dark.lightness() - dark_theme().node_body.lightness()) < 25
    renders = mm.renders
    canvas.set_theme(light_theme())
    qtbot.waitUntil(lambda: mm.renders > renders or abs(
        panel_colour().lightness() - light_theme().node_body.lightness()) < 25, timeout=3000)
    light = panel_colour()
    assert abs(light.lightness() - light_theme().node_body.lightness()) < 25
    assert light.lightness() > dark.lightness() + 80


def test_view_menu_hides_it_and_the_choice_is_remembered(qtbot, tmp_path):
    settings = temp_settings(tmp_path)
    window = MainWindow(make_registry(), settings, Answers().prompts(), recover=False,
                        theme_mode="dark")
    qtbot.addWidget(window)
    window.session.new()
    for node in grid_workflow(3, 2).nodes.values():
        window.document.workflow.add_node(node)
    window.show()
    mm = window.canvas.minimap
    action = window.acts["minimap"]
    assert action.isCheckable() and action.isChecked()
    assert action in window.menus["&View"].actions()
    qtbot.waitUntil(mm.isVisible, timeout=3000)
    action.trigger()
    assert not mm.isVisible() and settings.value(MINIMAP_KEY) in (False, "false")
    window.canvas.viewport().repaint()  # a repaint does not bring it back
    assert not mm.isVisible()
    window.close()
    again = MainWindow(make_registry(), settings, Answers().prompts(), recover=False,
                       theme_mode="dark")
    qtbot.addWidget(again)
    again.show()
    assert not again.acts["minimap"].isChecked() and not again.canvas.minimap.isVisible()
    again.acts["minimap"].trigger()
    assert settings.value(MINIMAP_KEY) in (True, "true")
    again.close()


def test_small_window_gets_a_smaller_minimap_and_an_empty_graph_none(qtbot):
    big = make(qtbot, grid_workflow(6, 4), size=(1400, 860))
    small = make(qtbot, grid_workflow(6, 4), size=(520, 420))
    assert small.minimap.width() < big.minimap.width()
    viewport = small.viewport().rect()
    assert small.minimap.width() * small.minimap.height() < 0.1 * viewport.width() \
        * viewport.height()
    empty = Canvas(Workflow("empty"), register_core(Registry()), QUndoStack(), dark_theme())
    qtbot.addWidget(empty)
    empty.resize(1000, 700)
    empty.show()
    qtbot.waitExposed(empty)
    empty.viewport().repaint()
    assert not empty.minimap.isVisible()


def test_it_fades_while_nodes_are_under_it(qtbot):
    canvas = make(qtbot, grid_workflow(2, 1))
    mm = canvas.minimap
    assert not mm.covering
    opaque = mm.grab().toImage().pixelColor(mm.width() - 4, 3)
    # move the view so a node sits under the minimap's corner
    corner = canvas.mapToScene(mm.geometry().center() - canvas.viewport().geometry().topLeft())
    node = canvas.node_item("n0_0")
    canvas.centerOn(canvas.mapToScene(canvas.viewport().rect().center())
                    + node.sceneBoundingRect().center() - corner)
    qtbot.waitUntil(lambda: mm.covering, timeout=3000)
    faded = mm.grab().toImage().pixelColor(mm.width() - 4, 3)
    # the graph shows through the panel
    assert max(abs(faded.red() - opaque.red()), abs(faded.green() - opaque.green()),
               abs(faded.blue() - opaque.blue())) > 12, (faded.name(), opaque.name())
    canvas.centerOn(QPointF(130, 0))
    qtbot.waitUntil(lambda: not mm.covering, timeout=3000)
