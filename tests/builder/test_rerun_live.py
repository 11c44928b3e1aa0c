"""Re-run from here: unchanged upstream nodes replay the last run's outputs instead of running."""

from __future__ import annotations

import asyncio

import pytest

from builder.mainwindow import MainWindow
from engine import events as ev
from engine.model import Edge, Node
from tests.builder.shell_support import Answers, make_registry, temp_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))


def open_window(qtbot, tmp_path) -> MainWindow:
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    wf = window.document.workflow
    for node in (Node("slow", "util.delay", "Slow", {"seconds": 0.05}, (0, 0)),
                 Node("a", "data.expression", "Ten", {"expr": "10"}, (200, 0)),
                 Node("b", "data.expression", "Double", {"expr": "x * 2"}, (400, 0)),
                 Node("out", "flow.output", "Result", {"name": "result"}, (600, 0))):
        wf.add_node(node)
    for edge in (Edge("slow", "out", "a", "x"), Edge("a", "out", "b", "x"),
                 Edge("b", "out", "out", "in")):
        wf.add_edge(edge)
    window.show()
    return window


def run(window: MainWindow, qloop, rerun_from: str | None = None) -> tuple[object, list]:
    events: list = []
    window.run_view.bridge.events.connect(events.extend)
    try:
        assert window.run_workflow(rerun_from=rerun_from)
        result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 10))
    finally:
        window.run_view.bridge.events.disconnect(events.extend)
    return result, events


def starts(events: list, node_id: str) -> list[int]:
    return [e.attempt for e in events if isinstance(e, ev.NodeStarted) and e.node_id == node_id]


def test_rerun_from_a_changed_node_reuses_its_unchanged_upstream(qtbot, qloop, tmp_path,
                                                                data_dir):
    window = open_window(qtbot, tmp_path)
    result, events = run(window, qloop)
    assert result.outputs == {"result": 20}
    assert starts(events, "a") == [1] and starts(events, "slow") == [1]
    window.document.workflow.set_param("b", "expr", "x * 3")
    result, events = run(window, qloop, rerun_from="b")
    assert result.status == "succeeded" and result.outputs == {"result": 30}
    assert all(attempt == 0 for attempt in starts(events, "a"))  # not run again
    assert all(attempt == 0 for attempt in starts(events, "slow"))
    assert starts(events, "b") == [1]
    assert set(window.runner.reused) == {"slow", "a"}
    cached = [e for e in events if isinstance(e, ev.NodeFinished) and e.node_id == "a"]
    assert cached and cached[0].cached
    assert window.run_view.overlay.views["a"].cached
    assert window.run_view.overlay.state("a") == "succeeded"


def test_rerun_runs_a_changed_upstream_node_again(qtbot, qloop, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    run(window, qloop)
    window.document.workflow.set_param("a", "expr", "7")
    result, events = run(window, qloop, rerun_from="b")
    assert result.outputs == {"result": 14}
    assert starts(events, "a") == [1]  # its fingerprint changed since the last run
    assert all(attempt == 0 for attempt in starts(events, "slow"))


def test_rerun_from_here_action_uses_the_selected_node(qtbot, qloop, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    run(window, qloop)
    window.canvas.select_nodes(["b"])
    events: list = []
    window.run_view.bridge.events.connect(events.extend)
    window.acts["rerun_from"].trigger()
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 10))
    assert result.outputs == {"result": 20}
    assert all(attempt == 0 for attempt in starts(events, "a"))
    assert starts(events, "b") == [1]
    menu = window.run_view.node_menu("b")
    assert [a.text() for a in menu.actions()][:1] == ["Re-run from here"]
