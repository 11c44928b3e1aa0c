"""The main window: title marker, tooltips, panels wired to the canvas, Run, prompts, layout."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from builder.commands import SetParamCommand
from builder.mainwindow import MainWindow
from engine.fileformat import save
from tests.builder.newcomer_support import until
from tests.builder.shell_support import (
    EXAMPLES,
    Answers,
    make_registry,
    small_workflow,
    temp_settings,
)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(folder))
    return folder


def open_window(qtbot, tmp_path, answers=None, path=None) -> MainWindow:
    answers = answers or Answers()
    window = MainWindow(make_registry(), temp_settings(tmp_path), answers.prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    if path is not None:
        assert window.session.open_file(path)
    window.show()
    return window


def saved_small(tmp_path):
    path = tmp_path / "small.loom.json"
    save(small_workflow(), path)
    return path


def test_title_shows_the_file_name_and_a_marker_tied_to_the_clean_state(qtbot, tmp_path,
                                                                       data_dir):
    window = open_window(qtbot, tmp_path, path=saved_small(tmp_path))
    assert window.windowTitle() == "small.loom.json — Flowloom"
    stack = window.document.undo_stack
    stack.push(SetParamCommand(window.document.workflow, "a", "value", 5))
    assert window.windowTitle() == "small.loom.json • — Flowloom"
    assert window.acts["undo"].isEnabled() and "Ctrl+Z" in window.acts["undo"].toolTip()
    stack.undo()
    assert window.windowTitle() == "small.loom.json — Flowloom"
    stack.redo()
    assert window.session.save()
    assert "•" not in window.windowTitle()


def test_every_toolbar_action_has_a_tooltip_with_its_shortcut(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    toolbar_actions = [a for a in window.toolbar.actions() if not a.isSeparator()]
    assert len(toolbar_actions) >= 10
    for action in toolbar_actions:
        keys = action.shortcut().toString()
        assert keys and action.toolTip().endswith(f"({keys})"), action.toolTip()
    assert window.acts["run"].toolTip() == "Run (F5)"
    assert window.acts["save"].shortcut().toString() == "Ctrl+S"
    dialog = window.show_shortcuts()
    listed = dialog.shortcuts()
    assert listed["Save As"] == "Ctrl+Shift+S" and listed["Fit all"] == "F"
    assert listed["Redo"].startswith("Ctrl+Shift+Z") and listed["Duplicate"] == "Ctrl+D"
    assert listed["Close"] == "Ctrl+W" and listed["Run"] == "F5" and listed["Stop"] == "Shift+F5"
    assert listed["Frame selection"] == "Ctrl+G" and listed["Fit selection"] == "Shift+F"
    dialog.close()


def test_selecting_on_the_canvas_fills_the_inspector(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path, path=saved_small(tmp_path))
    window.canvas.select_nodes(["b"])
    assert window.inspector.node_id == "b"
    assert window.inspector.fields["expr"].widget.text() == "x * 2"
    window.inspector.fields["expr"].widget.setText("x * 5")
    window.inspector.fields["expr"].widget.editingFinished.emit()
    assert window.document.workflow.node("b").params["expr"] == "x * 5"
    assert window.document.modified
    window.acts["undo"].trigger()
    assert window.document.workflow.node("b").params["expr"] == "x * 2"


def test_clicking_a_problem_selects_and_centres_its_node(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path, path=saved_small(tmp_path))
    window.canvas.select_nodes([])
    window.document.undo_stack.push(SetParamCommand(window.document.workflow, "b", "expr", "x +"))
    qtbot.waitUntil(lambda: window.problems.errors() != [], timeout=2000)
    assert window.problems.errors()[0].node_id == "b"
    window.canvas.centerOn(-5000, -5000)
    window.problems.select_problem(0)
    assert window.canvas.selected_node_ids() == ["b"]
    centre = window.canvas.mapToScene(window.canvas.viewport().rect().center())
    node_centre = window.canvas.node_item("b").sceneBoundingRect().center()
    assert abs(centre.x() - node_centre.x()) < 50 and abs(centre.y() - node_centre.y()) < 50
    assert window.inspector.node_id == "b"


def test_run_refuses_with_the_reason_while_there_are_errors(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path, path=saved_small(tmp_path))
    window.document.workflow.set_param("b", "expr", "x +")
    assert not window.run_workflow()  # validated now, not after the debounce
    message = window.statusBar().currentMessage()
    assert message.startswith("Cannot run:") and "'b'" in message
    assert window.runner.task is None


def test_run_executes_on_the_loop_and_reports_in_the_status_bar(qtbot, qloop, tmp_path,
                                                                data_dir):
    window = open_window(qtbot, tmp_path, path=saved_small(tmp_path))
    assert window.run_workflow()
    assert window.acts["stop"].isEnabled() and not window.acts["run"].isEnabled()
    result = qloop.run_until_complete(window.runner.task)
    assert result.status == "succeeded" and result.outputs == {"result": 6}
    assert window.statusBar().currentMessage().startswith("Run succeeded")
    assert "result = 6" in window.statusBar().currentMessage()
    assert any("Double done" in line for line in window.runner.lines)
    assert window.acts["run"].isEnabled() and not window.acts["stop"].isEnabled()


def test_closing_the_window_asks_about_unsaved_changes(qtbot, tmp_path, data_dir):
    answers = Answers(unsaved=["cancel", "discard"])
    window = open_window(qtbot, tmp_path, answers, path=saved_small(tmp_path))
    window.document.undo_stack.push(SetParamCommand(window.document.workflow, "a", "value", 1))
    assert not window.close()
    assert window.isVisible() and answers.count("unsaved") == 1
    assert window.close()
    assert answers.count("unsaved") == 2


def test_palette_activation_adds_a_node_in_view_as_one_undo_step(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.palette.node_activated.emit("data.value")
    workflow = window.document.workflow
    assert [n.type for n in workflow.nodes.values()] == ["data.value"]
    window.acts["undo"].trigger()
    assert workflow.nodes == {}


def test_dropping_a_workflow_file_on_the_window_opens_it(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(EXAMPLES / "hello.loom.json"))])
    event = QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.document.path is not None, timeout=2000)
    assert window.document.workflow.name == "Hello Flowloom"
    assert window.canvas.acceptDrops()  # node drops are the canvas's, files the window's


def test_dock_layout_and_theme_are_remembered(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.problems_dock.hide()
    window.acts["theme_light"].trigger()
    assert QApplication.instance().palette().window().color().lightness() > 200
    window.close()
    again = open_window(qtbot, tmp_path)
    assert again.problems_dock.isHidden()
    again.acts["theme_dark"].trigger()
    assert QApplication.instance().palette().window().color().lightness() < 80
    assert again.settings.value("theme") == "dark"


def test_a_node_dragged_from_the_palette_lands_on_the_canvas_at_the_drop_point(
        qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    proxy = window.palette.proxy
    index = proxy.mapFromSource(window.palette.model.index_of("flow.if"))
    mime = proxy.mimeData([index])  # exactly what the palette's drag carries
    point = QPointF(200, 150)
    event = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.canvas.dropEvent(event)
    nodes = list(window.document.workflow.nodes.values())
    assert [n.type for n in nodes] == ["flow.if"]
    target = window.canvas.mapToScene(point.toPoint())
    x, y = nodes[0].position
    assert abs(x - target.x()) < 120 and abs(y - target.y()) < 120
    assert window.document.modified


def test_open_recent_lists_opened_files_and_reopens_them(qtbot, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path, path=saved_small(tmp_path))
    window.session.new()
    entries = [a for a in window.recent_menu.actions() if a.toolTip().endswith(".json")]
    assert [a.toolTip() for a in entries] == [str((tmp_path / "small.loom.json").resolve())]
    entries[0].trigger()
    assert window.document.path.name == "small.loom.json"
    clear = next(a for a in window.recent_menu.actions() if a.text() == "Clear list")
    clear.trigger()
    assert window.session.recent.paths() == []


def test_recent_files_with_the_same_name_are_told_apart_by_folder(qtbot, tmp_path, data_dir):
    first, second = tmp_path / "alpha" / "small.loom.json", tmp_path / "beta" / "small.loom.json"
    for path in (first, second):
        path.parent.mkdir()
        save(small_workflow(), path)
    window = open_window(qtbot, tmp_path, path=first)
    window.session.open(str(second))
    window.session.new()
    texts = [a.text() for a in window.recent_menu.actions() if a.toolTip().endswith(".json")]
    assert texts == ["&1  small.loom.json — beta", "&2  small.loom.json — alpha"]


def test_stop_cancels_a_running_workflow(qtbot, qloop, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.add_node_in_view("util.delay")
    node_id = next(iter(window.document.workflow.nodes))
    window.document.workflow.set_param(node_id, "seconds", 30)
    assert window.run_workflow()
    until(qloop, lambda: window.run_view.overlay.state(node_id) == "running")
    assert window.runner.running
    window.acts["stop"].trigger()
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 5))
    assert result.status == "cancelled"
    assert window.statusBar().currentMessage() == "Run cancelled"


def test_a_start_that_opens_a_file_fits_the_view_once(qtbot, tmp_path, data_dir, monkeypatch):
    from builder.canvas.view import Canvas

    fits, real_fit = [], Canvas.fit_all
    monkeypatch.setattr(Canvas, "fit_all", lambda view: (fits.append(1), real_fit(view)))
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    assert window.session.open_file(saved_small(tmp_path))  # the empty document came first
    marker = []
    QTimer.singleShot(0, lambda: marker.append(1))  # (queued after every fit asked for so far)
    window.show()
    qtbot.waitUntil(lambda: marker == [1])
    assert fits == [1]
    window.session.new()  # a later document is fitted again
    qtbot.waitUntil(lambda: fits == [1, 1])
