"""Start-up, fifth pass (issue 17): a big file's wires out of view are built after the first
paint, in slices; the result is what a one-pass build makes, and nothing done meanwhile is lost."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainterPath, QUndoStack

from builder.canvas import Canvas
from builder.canvas.look import Look
from builder.canvas.scene import DEFER_WIRES_FROM, GraphScene
from builder.commands import RemoveNodesCommand
from builder.theme import dark_theme
from engine.errors import Problem
from engine.model import Edge, Node, Workflow
from nodes import default_registry

COLUMN, DX, DY = 20, 240.0, 130.0


def grid(n: int = 700) -> Workflow:
    """bench/startup_editor.py's grid: each node wired to the one above and to its left."""
    nodes, edges = [], []
    for i in range(n):
        col, row = divmod(i, COLUMN)
        nodes.append(Node(f"n{i}", "data.expression", title=f"Step {i}",
                          params={"expr": "x + y" if i else "1",
                                  "inputs": ["x", "y"] if i else []},
                          position=(col * DX, row * DY)))
        if row:
            edges.append(Edge(f"n{i - 1}", "out", f"n{i}", "x"))
        if col:
            edges.append(Edge(f"n{i - COLUMN}", "out", f"n{i}", "y"))
    # a long wire back across the whole grid, whose ends are both far from the middle
    edges.append(Edge(f"n{n - 1}", "out", "n0", "x"))
    return Workflow("grid", nodes=nodes, edges=edges)


def _elements(path: QPainterPath) -> list[tuple[float, float]]:
    return [(round(path.elementAt(i).x, 6), round(path.elementAt(i).y, 6))
            for i in range(path.elementCount())]


def _picture(scene: GraphScene) -> dict:
    return {key: (_elements(w.path()), w.pen().color().name(), w.pen().widthF(), w.problem)
            for key, w in scene.wires.items()}


def _scene(workflow: Workflow, defer: bool) -> GraphScene:
    scene = GraphScene(Workflow("empty"), default_registry(plugins=False), Look(dark_theme()))
    scene.set_workflow(workflow, defer=defer)
    return scene


def _drop(*scenes: GraphScene) -> None:
    for scene in scenes:
        scene.detach()
        shiboken6.delete(scene)


def test_a_deferred_build_ends_with_the_wires_of_a_one_pass_build_in_its_order(qtbot):
    workflow = grid()
    assert len(workflow.edges) >= DEFER_WIRES_FROM
    whole, deferred = _scene(workflow, False), _scene(workflow, True)
    finished = []
    deferred.wires_built.connect(lambda: finished.append(1))
    assert deferred.wires_pending and len(deferred.nodes) == len(whole.nodes)
    assert 0 < deferred.build_wires_in(QRectF(2000, 600, 900, 500)) < len(workflow.edges)
    while deferred.build_wires_slice(97):
        pass
    assert finished == [1] and not deferred.wires_pending
    assert list(deferred.wires) == list(whole.wires)  # the same keys, in edge order
    assert deferred._node_wires == whole._node_wires
    assert _picture(deferred) == _picture(whole)
    _drop(whole, deferred)


def test_a_small_file_or_a_build_not_deferred_makes_every_wire_at_once(qtbot):
    small = _scene(grid(40), True)
    assert not small.wires_pending and len(small.wires) == len(small.workflow.edges)
    _drop(small)


def test_the_wires_a_rect_shows_are_all_built_with_it(qtbot):
    workflow = grid()
    whole, deferred = _scene(workflow, False), _scene(workflow, True)
    for rect in (QRectF(2000, 600, 900, 500), QRectF(-300, -200, 400, 300),
                 QRectF(1500, 2000, 200, 200)):
        deferred.build_wires_in(rect)
        shown = {key for key, wire in whole.wires.items()
                 if wire.sceneBoundingRect().intersects(rect)}
        assert shown and shown <= set(deferred.wires)
    assert ("n699", "out", "n0", "x") in deferred.wires  # the long wire crosses them all
    _drop(whole, deferred)


def test_the_canvas_paints_its_view_with_its_wires_and_builds_the_rest_after(qtbot):
    workflow = grid()
    stack = QUndoStack()
    canvas = Canvas(Workflow("empty"), default_registry(plugins=False), stack, dark_theme())
    stack.setParent(canvas)
    qtbot.addWidget(canvas)
    canvas.resize(900, 600)
    canvas.set_workflow(workflow, stack)
    scene = canvas.graph_scene
    assert scene.wires_pending and not scene.wires
    canvas.show()
    canvas.centerOn(QPointF(2400, 1200))
    canvas.viewport().grab()  # one paint, no event-loop turn after it
    view = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    reference = _scene(workflow, False)
    shown = {key for key, wire in reference.wires.items()
             if wire.sceneBoundingRect().intersects(view)}
    assert shown and shown <= set(scene.wires) and scene.wires_pending
    assert not canvas.minimap.isVisible()  # the overview waits for the whole graph
    qtbot.waitUntil(lambda: not scene.wires_pending, timeout=10000)
    assert _picture(scene) == _picture(reference)
    qtbot.waitUntil(canvas.minimap.isVisible, timeout=5000)
    _drop(reference)


def test_a_change_during_the_deferred_build_meets_every_wire_and_undoes(qtbot):
    workflow = grid()
    scene = _scene(workflow, True)
    scene.build_wires_in(QRectF(0, 0, 500, 300))
    before = {e.key() for e in workflow.edges}
    stack = QUndoStack()
    stack.push(RemoveNodesCommand(workflow, ["n25"]))  # touches built and unbuilt wires
    assert not scene.wires_pending
    assert set(scene.wires) == {e.key() for e in workflow.edges} != before
    stack.undo()
    assert set(scene.wires) == before
    reference = _scene(workflow, False)
    assert _picture(scene).keys() == _picture(reference).keys()
    _drop(scene, reference)


def test_problems_reported_before_a_wire_is_built_show_on_it(qtbot):
    workflow = grid()
    scene = _scene(workflow, True)
    far = ("n690", "out", "n691", "x")
    near = ("n0", "out", "n1", "x")
    scene.build_wires_in(QRectF(-100, -100, 400, 300))
    assert near in scene.wires and far not in scene.wires
    scene.set_problems([Problem("bad wire", edge=far), Problem("bad too", edge=near)])
    assert scene.wires[near].problem == "bad too"
    scene.finish_wires()
    assert scene.wires[far].problem == "bad wire"
    _drop(scene)


def test_selecting_a_wire_not_built_yet_builds_them_and_selects_it(qtbot):
    scene = _scene(grid(), True)
    key = ("n690", "out", "n691", "x")
    scene.select_wire(key)
    assert not scene.wires_pending and scene.wires[key].selected
    _drop(scene)


def test_the_bounds_of_a_deferred_build_are_those_of_the_whole_scene(qtbot):
    workflow = grid()
    whole, deferred = _scene(workflow, False), _scene(workflow, True)
    deferred.build_wires_in(QRectF(2000, 600, 900, 500))
    assert deferred.items_bounds() == whole.itemsBoundingRect()
    assert deferred.wires_pending  # (only the wires that could reach out were built)
    _drop(whole, deferred)


def test_the_held_back_wires_boxes_worked_out_once_stay_those_of_the_wires_left(qapp):
    scene = _scene(grid(), defer=True)
    first = scene._pending_boxes()  # worked out here and kept
    assert len(first) == len(scene._pending) > 0
    scene.build_wires_in(QRectF(0, 0, 800, 600))
    scene.build_wires_slice(100)
    kept = scene._pending_boxes()
    fresh = list(scene._work_out_boxes().values())
    assert kept == fresh and len(kept) == len(scene._pending) < len(first)
    scene.finish_wires()
    assert scene._pending_boxes() == []
    _drop(scene)
