"""What keeps the loop free during big runs: the run layer kept from run to run, wire
previews set when asked for, full GC passes held while a run is live, the Log fed when shown."""

from __future__ import annotations

import gc
import shutil

from PySide6.QtCore import QEvent
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication

from builder.mainwindow import MainWindow
from builder.runview.layer import RunLayer
from engine import events as ev
from tests.builder.shell_support import EXAMPLES, Answers, make_registry, temp_settings
from tests.builder.test_overlay import make
from tests.builder.test_run_live import data_dir, until  # noqa: F401 - fixture

_ = data_dir


def test_wire_previews_wait_for_a_tooltip_or_the_end_of_the_run(qtbot):
    canvas, overlay = make(qtbot)
    wire = next(w for w in canvas.graph_scene.wires.values() if w.edge.source == "a")
    before = wire.toolTip()
    overlay.apply([ev.NodeStarted("a", (), 1, 1.0),
                   ev.NodeFinished("a", (), 0.1, {"out": 41}, 1.1)])
    assert wire.toolTip() == before  # nothing per batch
    local = canvas.mapFromScene(wire.path().pointAtPercent(0.5))
    QApplication.sendEvent(canvas.viewport(), QHelpEvent(
        QEvent.Type.ToolTip, local, canvas.viewport().mapToGlobal(local)))
    assert "= 41" in wire.toolTip()  # asked for: set before Qt shows it
    overlay.apply([ev.NodeStarted("a", (), 1, 2.0),
                   ev.NodeFinished("a", (), 0.1, {"out": 42}, 2.1)])
    assert "= 41" in wire.toolTip()
    overlay.apply([ev.RunFinished("r", "succeeded", {}, None, 1.5, 2.2)])
    assert "= 42" in wire.toolTip()  # the run ended: every preview is set


def open_example(qtbot, tmp_path, name: str) -> MainWindow:
    path = tmp_path / name
    shutil.copy(EXAMPLES / name, path)
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    assert window.session.open_file(path)
    window.run_view.ask_inputs = lambda _parent, declared: declared  # (its inputs as declared)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_runs_in_a_row_keep_one_layer_and_hold_full_collections_while_live(
        qtbot, qloop, tmp_path, data_dir):  # noqa: F811 - the fixture
    window = open_example(qtbot, tmp_path, "parallel.loom.json")
    before = gc.get_threshold()
    during: list[tuple[int, int, int]] = []
    window.runner.started.connect(lambda *_: during.append(gc.get_threshold()))
    layers = []
    for _ in range(2):
        assert window.run_workflow()
        until(qloop, lambda: not window.runner.running, timeout=20)
        assert window.runner.result is not None and window.runner.result.ok
        layers.append(window.run_view.overlay.layer)
        assert {window.run_view.overlay.state(n) for n in window.document.workflow.nodes} \
            == {"succeeded"}
    scene_layers = [i for i in window.canvas.graph_scene.items() if isinstance(i, RunLayer)]
    assert layers[0] is layers[1] and scene_layers == [layers[0]]
    assert len(during) == 2 and all(t[:2] == before[:2] and t[2] > 10**6 for t in during)
    assert gc.get_threshold() == before  # put back when the run ended


def test_a_hidden_log_is_fed_when_shown_with_every_line(qtbot, qloop, tmp_path,
                                                        data_dir):  # noqa: F811
    window = open_example(qtbot, tmp_path, "parallel.loom.json")
    panels = window.run_view.panels
    panels.dock("TimelineDock").raise_()  # the Log's tab is behind the Timeline's
    qtbot.waitUntil(lambda: panels.dock("LogDock").visibleRegion().isEmpty(), timeout=3000)
    panels.panel("log")
    assert window.run_workflow()
    until(qloop, lambda: not window.runner.running, timeout=20)
    log = panels._panels["log"]
    assert log.model.lines == []  # nothing appended while out of sight
    panels.dock("LogDock").raise_()
    qtbot.waitUntil(lambda: bool(log.model.lines), timeout=3000)
    messages = [line.message for line in log.model.lines]
    assert messages[0].startswith("run ") and "started" in messages[0]
    assert messages[-1].startswith("run succeeded")
    nodes = window.document.workflow.nodes
    assert {line.node_id for line in log.model.lines if line.node_id} == set(nodes)


def test_after_a_big_runs_end_the_previews_are_set_a_slice_a_turn(qtbot, monkeypatch):
    from builder.runview import overlay as overlay_module

    monkeypatch.setattr(overlay_module, "PREVIEW_SLICE", 1)  # (the two wires' nodes: "big")
    canvas, overlay = make(qtbot)
    wires = {w.edge.source: w for w in canvas.graph_scene.wires.values()}
    overlay.apply([ev.NodeStarted("a", (), 1, 1.0), ev.NodeFinished("a", (), 0.1, {"out": 3}, 1.1),
                   ev.NodeStarted("b", (), 1, 1.2), ev.NodeFinished("b", (), 0.1, {"out": 6}, 1.3),
                   ev.RunFinished("r", "succeeded", {}, None, 1.5, 1.4)])
    previewed = lambda: ["= 3" in wires["a"].toolTip(), "= 6" in wires["b"].toolTip()]  # noqa: E731
    assert previewed() != [True, True]  # not all in the turn the run ended
    qtbot.waitUntil(lambda: previewed() == [True, True], timeout=3000)
    assert not overlay._previews.isActive()


def test_a_tooltip_asked_for_after_the_end_sets_every_preview_at_once(qtbot, monkeypatch):
    from builder.runview import overlay as overlay_module

    monkeypatch.setattr(overlay_module, "PREVIEW_SLICE", 1)
    canvas, overlay = make(qtbot)
    wires = {w.edge.source: w for w in canvas.graph_scene.wires.values()}
    overlay.apply([ev.NodeStarted("a", (), 1, 1.0), ev.NodeFinished("a", (), 0.1, {"out": 3}, 1.1),
                   ev.NodeStarted("b", (), 1, 1.2), ev.NodeFinished("b", (), 0.1, {"out": 6}, 1.3),
                   ev.RunFinished("r", "succeeded", {}, None, 1.5, 1.4)])
    wire = wires["b"]
    local = canvas.mapFromScene(wire.path().pointAtPercent(0.5))
    QApplication.sendEvent(canvas.viewport(), QHelpEvent(
        QEvent.Type.ToolTip, local, canvas.viewport().mapToGlobal(local)))
    assert "= 3" in wires["a"].toolTip() and "= 6" in wires["b"].toolTip()


def test_the_panels_final_redraw_comes_after_the_batch_that_ends_the_run(qtbot, monkeypatch):
    from builder.panels import RunPanels

    panels = RunPanels()
    redraws: list[int] = []
    monkeypatch.setattr(panels, "refresh", lambda: redraws.append(len(redraws)))
    panels.on_run_started(None, "r")
    panels.on_events([ev.RunStarted("r", "w", 0, {}, 1.0, 0.0),
                      ev.RunFinished("r", "succeeded", {}, None, 0.1, 1.1)])
    assert redraws == []  # not in the engine's last step
    qtbot.waitUntil(lambda: redraws == [0], timeout=3000)
    panels.on_run_started(None, "r2")  # a new run before the turn came: nothing redrawn
    panels.on_events([ev.RunStarted("r2", "w", 0, {}, 2.0, 0.0),
                      ev.RunFinished("r2", "succeeded", {}, None, 0.1, 2.1)])
    panels.on_run_started(None, "r3")
    panels.timer.stop()  # (its live redraws are not what is looked at here)
    qtbot.wait(50)
    assert redraws == [0]


def test_charts_behind_another_tab_are_drawn_when_shown_not_at_the_runs_start(
        qtbot, qloop, tmp_path, data_dir):  # noqa: F811 - the fixture
    window = open_example(qtbot, tmp_path, "parallel.loom.json")
    panels = window.run_view.panels
    panels.dock("TimelineDock").raise_()
    qtbot.waitUntil(lambda: panels.dock("ChartsDock").visibleRegion().isEmpty(), timeout=3000)
    charts = panels.panel("charts")
    drawn: list[int] = []
    real = charts.refresh
    charts.refresh = lambda: (drawn.append(1), real())[1]
    panels.on_run_started(None, "r")
    assert drawn == [] and "charts" in panels._stale
    panels.timer.stop()
    panels.dock("ChartsDock").raise_()
    qtbot.waitUntil(lambda: bool(drawn), timeout=3000)
    assert not charts.dirty  # drawn, the reset's curves and ranges included


def test_the_first_run_keeps_the_layer_made_ahead_which_shows_nothing_before(
        qtbot, qloop, tmp_path, data_dir):  # noqa: F811 - the fixture
    from PySide6.QtGui import QImage, QPainter

    window = open_example(qtbot, tmp_path, "parallel.loom.json")
    scene = window.canvas.graph_scene
    source = scene.itemsBoundingRect().adjusted(-60, -60, 60, 60)  # (the layer's is larger)

    def render() -> QImage:
        image = QImage(900, 500, QImage.Format.Format_ARGB32)
        image.fill(0)  # (the margins the aspect ratio leaves are not painted)
        painter = QPainter(image)
        scene.render(painter, source=source)
        painter.end()
        return image

    overlay = window.run_view.overlay
    assert overlay.layer is None
    before = render()
    overlay.warm(window.document.workflow)
    made = overlay.layer
    assert isinstance(made, RunLayer) and made.scene() is scene
    assert render() == before  # no run shown: nothing painted
    assert window.run_workflow()
    until(qloop, lambda: not window.runner.running, timeout=20)
    assert overlay.layer is made
    assert {overlay.state(n) for n in window.document.workflow.nodes} == {"succeeded"}
    assert render() != before
