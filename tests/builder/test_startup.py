"""Start-up: the first frame comes before the run panels, the history and the first check;
panels behind another tab are redrawn when they are shown."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QApplication

from builder.mainwindow import MainWindow
from builder.panels import RunPanels
from engine import events as ev
from tests.builder.shell_support import EXAMPLES, Answers, make_registry, temp_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    return tmp_path / "data"


def new_window(qtbot, tmp_path) -> MainWindow:
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    return window


def test_the_panels_history_and_check_come_after_the_first_frame(qtbot, tmp_path, data_dir):
    window = new_window(qtbot, tmp_path)
    assert window.session.open_file(EXAMPLES / "hello.loom.json")
    panels = window.run_view.panels
    # built, docked and named, but empty: nothing the first frame does not show
    assert [d.objectName() for d in panels.docks] == ["LogDock", "TimelineDock", "ChartsDock",
                                                       "HistoryDock", "AnalyticsDock"]
    assert not any(panels.built(name) for name in panels.names)
    assert window.runner.store is None and window.problems.pending()
    window.show()
    qtbot.waitUntil(lambda: window.first_frame.painted_at is not None, timeout=10000)
    qtbot.waitUntil(lambda: window.run_view.warmed, timeout=20000)
    assert all(panels.built(name) for name in panels.names)
    assert window.runner.store is not None and not window.problems.pending()
    assert "ready to run" in window.problems.summary.text()


def test_a_run_before_the_first_check_checks_first(qtbot, tmp_path, data_dir):
    window = new_window(qtbot, tmp_path)
    path = tmp_path / "bad.loom.json"
    text = (EXAMPLES / "hello.loom.json").read_text(encoding="utf-8")
    path.write_text(text.replace('"x[\'n\'] * 2"', '"x[\'n\'] *"'), encoding="utf-8")
    assert window.session.open_file(path)
    assert window.problems.pending()  # never shown: the check after the first frame is due
    assert not window.run_workflow()
    assert "Cannot run" in window.statusBar().currentMessage()
    assert window.problems.errors()


def test_a_panel_is_built_when_its_dock_is_shown(qtbot, tmp_path, data_dir):
    window = new_window(qtbot, tmp_path)
    window.run_view.warm_up = lambda: None  # only what the user opens gets built
    window.show()
    qtbot.waitUntil(lambda: window.first_frame.painted_at is not None, timeout=10000)
    panels = window.run_view.panels
    assert not panels.built("charts")
    panels.dock("ChartsDock").toggleViewAction().trigger()  # View ▸ Panels ▸ Charts: hides it
    panels.dock("ChartsDock").toggleViewAction().trigger()  # … and shows it again
    panels.dock("ChartsDock").raise_()
    qtbot.waitUntil(lambda: panels.built("charts"), timeout=5000)
    assert panels.dock("ChartsDock").widget() is panels.charts
    assert not panels.built("analytics")


def _events(node_ids: list[str]) -> list[object]:
    t = time.monotonic()
    batch: list[object] = [ev.RunStarted("r1", "w", len(node_ids), {}, t, time.time())]
    for i, nid in enumerate(node_ids):
        batch.append(ev.NodeStarted(nid, (), 1, t + i * 0.01))
        batch.append(ev.NodeFinished(nid, (), 0.005, {}, t + i * 0.01 + 0.005))
    return batch


def test_a_timeline_behind_another_tab_is_redrawn_when_it_is_shown(qtbot, tmp_path, data_dir):
    window = new_window(qtbot, tmp_path)
    assert window.session.open_file(EXAMPLES / "hello.loom.json")
    window.show()
    qtbot.waitUntil(lambda: window.run_view.warmed, timeout=20000)
    panels: RunPanels = window.run_view.panels
    window.problems_dock.raise_()  # the Timeline tab is behind Problems
    qtbot.waitUntil(lambda: panels._hidden("timeline"), timeout=5000)
    from engine.compile import compile_workflow

    panels.on_run_started(compile_workflow(window.document.workflow, window.registry), "r1")

    def drawn_bars() -> int:
        return sum(len(rects) for _color, rects in panels.timeline.bars.groups)

    assert drawn_bars() == 0
    panels.on_events(_events(["start", "double"]))
    panels.refresh()
    assert drawn_bars() == 0  # fed, but not redrawn behind the Problems tab
    panels.dock("TimelineDock").raise_()
    qtbot.waitUntil(lambda: drawn_bars() == 2, timeout=5000)
    QApplication.processEvents()
