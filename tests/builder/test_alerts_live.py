"""Alerts in the editor's live view: a banner over the canvas and a marker on the node;
recorded in a real history file."""

from __future__ import annotations

import json

from builder.mainwindow import MainWindow
from engine.history import HistoryStore
from engine.history.alerts import list_alerts
from tests.builder.shell_support import Answers, make_registry, temp_settings
from tests.builder.test_run_live import until

DOC = {
    "format": "flowloom.workflow", "version": 1, "name": "slow", "description": "",
    "alerts": [{"metric": "duration_s", "node": "wait", "over": 0.05},
               {"metric": "duration_s", "over": 600},
               {"metric": "failure_rate", "over": 0.5, "window": 5}],
    "nodes": [
        {"id": "start", "type": "flow.start", "params": {"inputs": {}}, "position": [0, 0]},
        {"id": "wait", "type": "util.delay", "params": {"seconds": 0.3}, "position": [300, 0]},
        {"id": "out", "type": "flow.output", "params": {"name": "x"}, "position": [600, 0]}],
    "edges": [
        {"source": "start", "source_port": "out", "target": "wait", "target_port": "in"},
        {"source": "wait", "source_port": "out", "target": "out", "target_port": "in"}]}


def test_a_firing_alert_shows_a_banner_and_marks_its_node(qtbot, qloop, tmp_path,
                                                          monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    path = tmp_path / "slow.loom.json"
    path.write_text(json.dumps(DOC), encoding="utf-8")
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    assert window.session.open_file(path)
    window.show()
    display = window.run_view.alerts
    assert display.banner.isHidden()
    assert window.run_view.run() is None
    until(qloop, lambda: not window.runner.running, timeout=20)
    assert window.runner.result.status == "succeeded"
    assert [e.metric for e in display.fired] == ["duration_s"]
    assert not display.banner.isHidden()
    assert "node 'wait' duration" in display.banner.text()
    marker = display.markers["wait"]
    assert marker.parentItem() is window.canvas.graph_scene.nodes["wait"]
    assert "over 0.05" in marker.toolTip()
    with HistoryStore.open(tmp_path / "history.db") as store:
        recorded = list_alerts(store, workflow=path)
    assert [(a.metric, a.node_id) for a in recorded] == [("duration_s", "wait")]
    window.apply_theme("light")  # the banner follows the theme
    assert window.theme.state_color("waiting").name() in display.banner.styleSheet()
    # The next run starts with a clean slate.
    DOC["alerts"] = []
    path.write_text(json.dumps(DOC), encoding="utf-8")
    assert window.session.open_file(path)
    assert display.banner.isHidden() and display.markers == {}
