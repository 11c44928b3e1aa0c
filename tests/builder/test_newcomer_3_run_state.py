"""Point 3: run state belongs to the document that ran it — New, Open and Close clear the
inspector's Last run, the Log, Timeline and Charts; a fixed problem leaves the inspector."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from engine.model import Edge
from tests.builder.newcomer_support import click_node, make_window, press, run_to_end, write
from tests.builder.shell_support import small_workflow


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))


def last_run_shown(window) -> bool:
    return window.inspector.findChild(QWidget, "LastRun") is not None


def run_panels_empty(window) -> bool:
    panels = window.run_view.panels
    return (panels.log.model.rowCount() == 0 and not panels.timeline.model.bars
            and not panels.charts.bar_data() and not panels.charts.durations)


@pytest.mark.parametrize("how", ["new", "open", "close"])
def test_new_open_and_close_clear_the_run_state_of_the_workflow_before(
        qtbot, qloop, tmp_path, data_dir, how):
    first = write(tmp_path, "first.loom.json", small_workflow())
    second = write(tmp_path, "second.loom.json", small_workflow())  # the same node ids
    window = make_window(qtbot, tmp_path)
    assert window.open_path(first)
    press(qtbot, window, Qt.Key.Key_F5)
    result = run_to_end(window, qloop)
    assert result.status == "succeeded"
    click_node(qtbot, window, "b")
    assert last_run_shown(window)
    assert not run_panels_empty(window)

    if how == "new":
        press(qtbot, window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
        window.add_node_in_view("data.value")
    elif how == "open":
        assert window.open_path(second)
    else:
        press(qtbot, window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.document.path != first)
    assert run_panels_empty(window)
    assert window.run_view.overlay.views == {}
    for node_id in window.document.workflow.nodes:
        click_node(qtbot, window, node_id)
        assert window.inspector.node_id == node_id
        assert not last_run_shown(window), f"{node_id} shows the other workflow's last run"


def test_a_problem_fixed_by_a_wire_leaves_the_inspector(qtbot, tmp_path):
    workflow = small_workflow()
    workflow.remove_edge(Edge("b", "out", "c", "in"))
    window = make_window(qtbot, tmp_path)
    assert window.open_path(write(tmp_path, "broken.loom.json", workflow))
    click_node(qtbot, window, "c")

    def problem_text() -> str:
        return " ".join(label.text() for label in window.inspector.findChildren(QLabel)
                        if label.property("role") == "error" and label.isVisible())

    qtbot.waitUntil(lambda: "in" in problem_text())
    from builder.commands import ConnectPortsCommand

    window.document.undo_stack.push(ConnectPortsCommand(
        window.document.workflow, Edge("b", "out", "c", "in"), window.registry))
    qtbot.waitUntil(lambda: problem_text() == "")
