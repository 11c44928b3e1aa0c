"""Point 7: History shows a newcomer's own runs (an unsaved workflow's under its title), names
saved workflows after their file, says "1 run", and Analytics never shows another workflow."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.builder.newcomer_support import make_window, press, run_to_end, write
from tests.builder.shell_support import Answers, small_workflow


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    monkeypatch.setenv("FLOWLOOM_DOCUMENTS_DIR", str(tmp_path / "Documents"))


def workflow_cells(window) -> list[str]:
    panels = window.run_view.panels
    dock = panels.dock("HistoryDock")
    dock.show()
    dock.raise_()  # the tab a person clicks: a panel behind another tab redraws when shown
    QApplication.processEvents()
    runs = panels.history.runs
    return [runs.item(r, 1).text() for r in range(runs.rowCount())]


def run_once(qtbot, qloop, window) -> None:
    press(qtbot, window, Qt.Key.Key_F5)
    assert run_to_end(window, qloop).status == "succeeded"


def test_unsaved_runs_show_under_their_title_and_saved_ones_under_their_file(
        qtbot, qloop, tmp_path, data_dir):
    answers = Answers(save_paths=[str(tmp_path / "mine.loom.json")])
    window = make_window(qtbot, tmp_path, answers)
    panels = window.run_view.panels
    assert window.open_path(write(tmp_path, "other.loom.json", small_workflow()))
    run_once(qtbot, qloop, window)
    assert workflow_cells(window) == ["other.loom.json"]

    press(qtbot, window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.document.path is None)
    assert panels.analytics.node_values() == {}  # not other.loom.json's nodes
    assert "other" not in panels.analytics.summary.text()
    window.add_node_in_view("data.value")
    run_once(qtbot, qloop, window)
    assert workflow_cells(window) == ["Untitled (unsaved)"]  # shown by default, own runs only

    press(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.document.path is not None)
    run_once(qtbot, qloop, window)
    assert workflow_cells(window) == ["mine.loom.json"]
    dock = panels.dock("AnalyticsDock")
    dock.show()
    dock.raise_()
    QApplication.processEvents()
    analytics = panels.analytics
    assert analytics.workflow_box.currentText() == "mine.loom.json"
    assert "<b>1</b> run," in analytics.summary.text()
    assert set(analytics.node_values()) == set(window.document.workflow.nodes)
    run_once(qtbot, qloop, window)
    QApplication.processEvents()
    assert "<b>2</b> runs," in analytics.summary.text()
