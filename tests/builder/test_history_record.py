"""The editor's History panel and run records (issue #14): Replay re-executes a recorded run
live on the canvas (its server stopped), Diff marks the first divergence on the canvas, Re-run
reusing asks with the plan first, and the Alerts column marks runs that fired an alert."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from engine import events as ev
from tests.builder.newcomer_support import make_window, run_to_end
from tests.record.conftest import edge, node, workflow, write
from tests.servers.web import WebServer

pytest_plugins = ["tests.servers.fixtures"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_DOCUMENTS_DIR", str(tmp_path / "Documents"))
    return tmp_path


def fetch_workflow(url: str, factor: int = 2) -> dict:
    return workflow("fetch", [
        node("start", "flow.start"),  # no inputs: the editor would ask for them
        node("fetch", "net.http", 200, url=url + "/echo?n=3"),
        node("scale", "data.expression", 400, expr=f"int(x['json']['query']['n']) * {factor}"),
        node("out", "flow.output", 600, name="value"),
    ], [edge("start", "fetch"), edge("fetch", "scale", "response", "x"),
        edge("scale", "out")])


def open_and_run(window, qloop, path) -> object:
    assert window.open_path(path)
    assert window.trust.trust()  # the person trusts the file (its net.http calls 127.0.0.1)
    assert window.run_workflow()
    result = run_to_end(window, qloop)
    assert result is not None and result.status == "succeeded", result and result.error
    return result


def history(window):
    panels = window.run_view.panels
    dock = panels.dock("HistoryDock")
    dock.show()
    dock.raise_()
    QApplication.processEvents()
    panel = panels.history
    panel.refresh()
    return panel


def select_rows(panel, *rows: int) -> None:
    panel.runs.clearSelection()
    for row in rows:
        panel.runs.selectRow(row) if len(rows) == 1 else panel.runs.item(row, 0).setSelected(True)


def test_history_replay_runs_the_record_live_on_the_canvas_with_the_server_down(
        qtbot, qloop, home):
    server = WebServer().start()
    window = make_window(qtbot, home)
    first = open_and_run(window, qloop, write(home / "fetch.loom.json",
                                              fetch_workflow(server.url)))
    server.stop()
    panel = history(window)
    select_rows(panel, 0)
    seen: list = []
    window.run_view.bridge.events.connect(seen.extend)

    qtbot.mouseClick(panel.replay_button, Qt.MouseButton.LeftButton)
    replayed = run_to_end(window, qloop)

    assert replayed.status == "succeeded", replayed.error
    assert replayed.run_id != first.run_id
    assert json.dumps(replayed.outputs) == json.dumps(first.outputs) == '{"value": 6}'
    overlay = window.run_view.overlay
    assert {nid: overlay.state(nid) for nid in ("fetch", "scale")} == {
        "fetch": "succeeded", "scale": "succeeded"}
    assert any(isinstance(e, ev.NodeFinished) and e.node_id == "fetch" for e in seen)
    assert len(server.requests_to("/echo")) == 1
    store = window.run_view.controller.history_store()
    from engine.record.store import load_record

    assert load_record(store, replayed.run_id).replay_of == first.run_id


def test_history_diff_marks_the_first_divergence_on_the_canvas(qtbot, qloop, home):
    def calc(factor: int) -> dict:  # no HTTP: a response's Date header differs run to run
        return workflow("calc", [
            node("three", "data.value", 0, value=3),
            node("scale", "data.expression", 200, expr=f"x * {factor}"),
            node("out", "flow.output", 400, name="value"),
        ], [edge("three", "scale", "out", "x"), edge("scale", "out")])

    window = make_window(qtbot, home)
    path = home / "calc.loom.json"
    open_and_run(window, qloop, write(path, calc(2)))
    open_and_run(window, qloop, write(path, calc(5)))
    actions = window.run_view.record_actions
    shown: list = []
    actions.show_diff = lambda parent, diff, title: shown.append(diff)
    panel = history(window)
    select_rows(panel, 0, 1)

    qtbot.mouseClick(panel.diff_button, Qt.MouseButton.LeftButton)

    (diff,) = shown
    assert diff["first_divergence"] == "scale" and diff["params_changed"] == ["scale"]
    assert set(actions.marks.items) == {"scale"}
    assert actions.marks.items["scale"].text().startswith("① first divergence · Δ params")
    assert actions.marks.items["scale"].parentItem() is window.canvas.graph_scene.nodes["scale"]


def test_rerun_reusing_shows_the_plan_asks_and_reuses_the_request(qtbot, qloop, home):
    with WebServer() as server:
        window = make_window(qtbot, home)
        path = home / "fetch.loom.json"
        open_and_run(window, qloop, write(path, fetch_workflow(server.url, 2)))
        assert window.open_path(write(path, fetch_workflow(server.url, 7)))
        assert window.trust.trust()
        asked: list = []
        actions = window.run_view.record_actions
        actions.confirm_reuse = lambda parent, plan, run_id: asked.append(plan) or True
        panel = history(window)
        select_rows(panel, 0)

        qtbot.mouseClick(panel.reuse_button, Qt.MouseButton.LeftButton)
        result = run_to_end(window, qloop)

        assert len(server.requests_to("/echo")) == 1  # fetch reused, not sent again
    (plan,) = asked
    assert plan.actions == {"start": "reuse", "fetch": "reuse", "scale": "run", "out": "run"}
    assert result.outputs == {"value": 21}
    assert result.nodes["fetch"].cached and not result.nodes["scale"].cached


def test_cancelling_the_reuse_question_runs_nothing(qtbot, qloop, home):
    with WebServer() as server:
        window = make_window(qtbot, home)
        open_and_run(window, qloop, write(home / "f.loom.json", fetch_workflow(server.url)))
        actions = window.run_view.record_actions
        actions.confirm_reuse = lambda parent, plan, run_id: False
        panel = history(window)
        select_rows(panel, 0)
        qtbot.mouseClick(panel.reuse_button, Qt.MouseButton.LeftButton)
        assert not window.run_view.controller.running
        assert len(server.requests_to("/echo")) == 1


def test_the_alerts_column_marks_runs_that_fired_an_alert(qtbot, qloop, home):
    from engine.history.alerts import record_alerts

    with WebServer() as server:
        window = make_window(qtbot, home)
        path = write(home / "f.loom.json", fetch_workflow(server.url))
        quiet = open_and_run(window, qloop, path)
        loud = open_and_run(window, qloop, path)
    store = window.run_view.controller.history_store()
    record_alerts(store, loud.run_id, path, [ev.AlertFired(
        loud.run_id, "duration_s", None, 9.0, 1.0, None, "the run took 9 s, over 1 s", 0.0)])

    panel = history(window)

    assert panel.alert_counts() == {loud.run_id: 1, quiet.run_id: 0}
    col = panel.runs.columnCount() - 2
    assert panel.runs.item(0, col).text() == "⚠ 1"
    assert "the run took 9 s" in panel.runs.item(0, col).toolTip()
    assert panel.runs.item(0, col + 1).text() == "kept"
