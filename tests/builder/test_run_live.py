"""Running an example workflow in the editor: node states on the canvas, panels, Stop, history."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from PySide6.QtCore import Qt

from builder.mainwindow import MainWindow
from builder.runview.layer import RunLayer
from engine.history import HistoryStore, get_run, list_runs
from engine.model import Node
from tests.builder.shell_support import EXAMPLES, Answers, make_registry, temp_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    return tmp_path / "data"


def open_example(qtbot, tmp_path, name: str) -> MainWindow:
    path = tmp_path / name
    shutil.copy(EXAMPLES / name, path)
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    assert window.session.open_file(path)
    window.show()
    return window


def until(loop, condition, timeout: float = 5.0) -> None:
    """Run the qasync loop until `condition()` holds (at most `timeout` seconds)."""
    async def wait():
        while not condition():
            await asyncio.sleep(0.01)

    loop.run_until_complete(asyncio.wait_for(wait(), timeout))


def record_states(window: MainWindow) -> dict[str, list[str]]:
    """Each node's overlay state after every batch, without repeats (connected after the
    overlay, so it sees what the canvas shows)."""
    seen: dict[str, list[str]] = {}
    overlay = window.run_view.overlay

    def snapshot(_batch=None):
        for nid in window.document.workflow.nodes:
            states = seen.setdefault(nid, [])
            state = overlay.state(nid)
            if not states or states[-1] != state:
                states.append(state)

    window.runner.started.connect(lambda *_: snapshot())
    window.run_view.bridge.events.connect(snapshot)
    return seen


def test_run_shows_node_states_in_order_and_feeds_the_panels(qtbot, qloop, tmp_path,
                                                            data_dir):
    window = open_example(qtbot, tmp_path, "conditions.loom.json")
    asked: list[dict] = []
    window.run_view.ask_inputs = lambda _parent, declared: asked.append(declared) or {
        "temperature": 12}
    seen = record_states(window)
    assert window.run_workflow()
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 10))
    assert result.status == "succeeded" and result.outputs == {"verdict": "mild: 12 C"}
    assert asked == [{"temperature": 30}]  # the dialog offered the declared default
    assert seen["temp"][:1] == ["pending"] and seen["temp"][-1] == "succeeded"
    assert "running" in seen["temp"] or seen["temp"] == ["pending", "succeeded"]
    assert seen["hot"] == ["pending", "skipped"]
    assert seen["mild"][0] == "pending" and seen["mild"][-1] == "succeeded"
    overlay = window.run_view.overlay
    hot = window.canvas.node_item("hot")
    assert isinstance(overlay.layer, RunLayer)
    assert overlay.layer.rects["hot"] == hot.mapRectToScene(hot.rect)
    assert "not taken" in overlay.tooltip("hot") or overlay.tooltip("hot")  # the skip reason
    assert overlay.tooltip_at(overlay.layer.rects["hot"].center()) == overlay.tooltip("hot")
    assert overlay.views["join"].rule == "all"
    assert overlay.views["temp"].duration_s is not None
    wire = next(w for w in window.canvas.graph_scene.wires.values() if w.edge.source == "mild")
    assert "mild: 12 C" in wire.toolTip()  # hover preview of the value that crossed it
    panels = window.run_view.panels
    if panels is not None:  # the panels package is integrated: it got the same batches
        bars = {bar.node_id for bar in panels.timeline.model.bars}
        assert {"temp", "mild", "first"} <= bars and "hot" not in bars
        assert {d.objectName() for d in window.run_view.docks} >= {
            "LogDock", "TimelineDock", "ChartsDock", "HistoryDock", "AnalyticsDock"}


def test_running_node_shows_running_then_cancelled_when_stopped(qtbot, qloop, tmp_path,
                                                               data_dir):
    window = open_example(qtbot, tmp_path, "parallel.loom.json")
    for nid in ("wait_a", "wait_b", "wait_c"):
        window.document.workflow.set_param(nid, "seconds", 30)
    window.run_view.ask_inputs = lambda _parent, declared: declared
    assert window.run_workflow()
    overlay = window.run_view.overlay
    until(qloop, lambda: overlay.state("wait_a") == "running")
    assert overlay.state("n") == "succeeded"
    assert overlay._frame.isActive()  # running nodes pulse
    loop_time = qloop.time()
    window.acts["stop"].trigger()
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 5))
    assert qloop.time() - loop_time < 2.0  # promptly, not after the 30 s waits
    assert result.status == "cancelled"
    for nid in ("wait_a", "wait_b", "wait_c", "double", "join", "out_total"):
        assert overlay.state(nid) == "cancelled", nid
    until(qloop, lambda: not overlay._frame.isActive(), 2.0)  # stops at its next frame tick
    assert window.acts["run"].isEnabled() and not window.acts["stop"].isEnabled()


def test_failed_node_gets_a_badge_with_the_error_and_the_inspector_shows_its_last_run(
        qtbot, qloop, tmp_path, data_dir):
    window = open_example(qtbot, tmp_path, "conditions.loom.json")
    window.run_view.ask_inputs = lambda _parent, declared: declared
    window.document.workflow.set_param("hot", "expr", "x / 0")
    shown: list[tuple[str, str]] = []
    window.run_view.show_error = lambda _parent, nid, text: shown.append((nid, text))
    assert window.run_workflow()
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 10))
    assert result.status == "failed"
    overlay = window.run_view.overlay
    assert overlay.state("hot") == "failed"
    badge = overlay.badge_rect("hot")
    assert badge is not None and "division" in overlay.tooltip_at(badge.center()).lower()
    canvas = window.canvas
    canvas.centerOn(badge.center())
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=canvas.mapFromScene(badge.center()))  # a click on the badge
    assert shown and shown[0][0] == "hot" and "division" in shown[0][1].lower()
    window.canvas.select_nodes(["temp"])
    window.inspector.show_node("temp")
    status = window.inspector.findChild(type(window.status_label), "LastRunStatus")
    assert status is not None and status.text().startswith("succeeded")
    outputs = window.inspector.findChild(object, "LastRunOutputs")
    assert outputs is not None and "30" in outputs.toPlainText()


def test_every_editor_run_is_recorded_in_the_history_db(qtbot, qloop, tmp_path, data_dir):
    window = open_example(qtbot, tmp_path, "hello.loom.json")
    window.run_view.ask_inputs = lambda _parent, declared: declared
    for _ in range(2):
        assert window.run_workflow()
        result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 10))
        assert result.status == "succeeded"
    store = HistoryStore.open(tmp_path / "history.db")
    try:
        runs = list_runs(store, workflow=tmp_path / "hello.loom.json")
        assert len(runs) == 2 and {r.status for r in runs} == {"succeeded"}
        detail = get_run(store, runs[0].id)
        assert detail is not None and set(detail.per_node()) >= {"start", "double", "out"}
    finally:
        store.close()


def test_loop_node_counts_its_iterations(qtbot, qloop, tmp_path, data_dir):
    window = open_example(qtbot, tmp_path, "foreach.loom.json")
    window.run_view.ask_inputs = lambda _parent, declared: declared
    assert window.run_workflow()
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 10))
    assert result.status == "succeeded"
    loops = [n for n in window.document.workflow.nodes.values() if n.type == "flow.foreach"]
    assert loops
    text = window.run_view.overlay.views[loops[0].id].iterations
    done, total = text.split("/")
    assert done == total and int(total) > 1


def test_cancelling_the_inputs_dialog_does_not_run(qtbot, qloop, tmp_path, data_dir):
    window = open_example(qtbot, tmp_path, "hello.loom.json")
    window.run_view.ask_inputs = lambda _parent, _declared: None
    assert not window.run_workflow()
    assert window.runner.task is None
    assert "no inputs" in window.statusBar().currentMessage()
    window.document.workflow.add_node(Node("extra", "data.value", "", {"value": 1}, (0, 400)))
    assert window.run_view.overlay.state("extra") == ""


def test_stop_while_the_run_compiles_keeps_it_from_starting(qtbot, qloop, tmp_path, data_dir):
    window = open_example(qtbot, tmp_path, "hello.loom.json")
    window.run_view.ask_inputs = lambda _parent, declared: declared
    started: list[str] = []
    window.runner.started.connect(lambda _compiled, run_id: started.append(run_id))
    assert window.run_workflow()  # compiling happens off the loop, in the run's task
    assert window.runner.running and window.acts["stop"].isEnabled()
    window.acts["stop"].trigger()
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 5))
    assert result is None and started == [] and window.runner.run is None
    assert window.runner.lines[-1] == "Run cancelled"
    assert window.acts["run"].isEnabled() and not window.acts["stop"].isEnabled()
    assert window.run_workflow()  # and the next run goes ahead
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 10))
    assert result.status == "succeeded" and len(started) == 1
