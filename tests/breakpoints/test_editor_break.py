"""Breakpoints in the editor, on a real window: F9 and the condition editor set them (undoably,
in the file's view state), the canvas marks them, and a run pauses at the third foreach item,
the value is edited in the Breakpoint panel, Continue runs on and the result shows the edit."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from builder.mainwindow import MainWindow
from engine.breakpoints import Breakpoint
from tests.builder.shell_support import EXAMPLES, Answers, make_registry, temp_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    monkeypatch.setenv("FLOWLOOM_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "data"


def open_foreach(qtbot, tmp_path, theme="dark") -> MainWindow:
    path = tmp_path / "foreach.loom.json"
    shutil.copy(EXAMPLES / "foreach.loom.json", path)
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode=theme)
    qtbot.addWidget(window)
    assert window.session.open_file(path)
    window.resize(1280, 800)
    window.show()
    window.activateWindow()
    window.canvas.setFocus()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)  # window shortcuts: F9…
    window.run_view.ask_inputs = lambda _parent, declared: declared
    return window


def press(qtbot, window, key) -> None:
    """A key press as a person makes it: into the focused widget of the active window."""
    qtbot.keyClick(window.focusWidget() or window.canvas, key)


def until(loop, condition, timeout: float = 10.0) -> None:
    async def wait():
        while not condition():
            await asyncio.sleep(0.01)

    loop.run_until_complete(asyncio.wait_for(wait(), timeout))


def set_conditional_breakpoint(qtbot, window, node_id="square", condition="index == 2"):
    views = window.run_view.breakpoints
    window.canvas.select_nodes([node_id])
    press(qtbot, window, Qt.Key.Key_F9)
    assert views.breakpoints() == [Breakpoint(node=node_id)]
    views.ask_condition = lambda _parent, where, current: condition
    assert views.edit_selected()
    return views


def test_f9_and_the_condition_editor_set_an_undoable_breakpoint_marked_on_the_canvas(
        qtbot, qloop, tmp_path, data_dir):
    window = open_foreach(qtbot, tmp_path)
    views = set_conditional_breakpoint(qtbot, window)
    assert views.breakpoints() == [Breakpoint(node="square", condition="index == 2")]
    dot = views.marks.dots[views.breakpoints()[0]]
    item = window.canvas.node_item("square")
    assert dot.scene() is window.canvas.graph_scene
    assert dot.pos() == item.mapToScene(item.rect.topLeft())
    assert "index == 2" in dot.toolTip()
    assert window.document.modified
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert views.breakpoints() == [] and views.marks.dots == {}
    window.document.undo_stack.redo()
    assert views.breakpoints() == [Breakpoint(node="square")]
    window.session.save()
    saved = json.loads(window.document.path.read_text(encoding="utf-8"))
    assert saved["ui"] == {"breakpoints": [{"node": "square"}]}
    assert [n["id"] for n in saved["nodes"]][:3] == ["start", "numbers", "each"]


def test_a_run_pauses_at_the_third_item_the_edit_is_used_and_the_result_shows_it(
        qtbot, qloop, tmp_path, data_dir):
    window = open_foreach(qtbot, tmp_path)
    views = set_conditional_breakpoint(qtbot, window)
    assert window.run_workflow()
    until(qloop, lambda: bool(views.waiting))
    stop = views.waiting[0][0]
    assert (stop.node_id, stop.index) == ("square", 2)
    panel = views.panel
    assert views.dock.isVisible()
    assert "item 2" in panel.title.text()
    assert json.loads(panel.editor.toPlainText()) == {"x": 3}
    ring = views.marks.rings["square"]
    assert ring.hit and ring.scene() is window.canvas.graph_scene
    assert window.runner.running
    panel.editor.setPlainText('{"x": oops}')
    qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
    assert "not JSON" in panel.problem.text() and views.waiting, "a bad edit resumes nothing"
    panel.editor.setPlainText('{"x": 10}')
    press(qtbot, window, Qt.Key.Key_F8)  # Continue
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 10))
    assert result.status == "succeeded"
    assert result.outputs == {"squares": [1, 4, 100, 16, 25], "sum": 146}
    assert views.marks.rings == {} and not views.waiting


def test_step_then_abort_from_the_panel(qtbot, qloop, tmp_path, data_dir):
    window = open_foreach(qtbot, tmp_path)
    views = set_conditional_breakpoint(qtbot, window, condition="index == 4")
    assert window.run_workflow()
    until(qloop, lambda: bool(views.waiting))
    views.actions["step"].trigger()
    until(qloop, lambda: bool(views.waiting) and views.waiting[0][0].reason == "step")
    assert views.waiting[0][0].node_id in ("sum", "out_squares")
    qtbot.mouseClick(views.panel.abort_button, Qt.MouseButton.LeftButton)
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 10))
    assert result.status == "cancelled"
    assert "run ended" in views.panel.title.text()


def test_the_node_context_menu_and_the_pause_setting_change_the_file_view_state(
        qtbot, qloop, tmp_path, data_dir):
    window = open_foreach(qtbot, tmp_path)
    views = window.run_view.breakpoints
    menu = window.run_view.node_menu("sum")
    add = next(a for a in menu.actions() if a.text() == "Add breakpoint")
    add.trigger()
    assert views.breakpoints() == [Breakpoint(node="sum")]
    menu = window.run_view.node_menu("sum")
    assert "Remove breakpoint" in [a.text() for a in menu.actions()]
    window.canvas.graph_scene.select_wire(("each", "results", "sum", "x"))
    views.toggle_selected()
    assert Breakpoint(wire=("each", "results", "sum", "x")) in views.breakpoints()
    assert views.marks.dots[Breakpoint(wire=("each", "results", "sum", "x"))].scene() \
        is window.canvas.graph_scene
    views.actions["pause_all"].setChecked(True)
    assert window.document.workflow.extra["ui"]["break_mode"] == "all"
    window.document.undo_stack.undo()
    assert "break_mode" not in window.document.workflow.extra["ui"]
    assert not views.actions["pause_all"].isChecked()


def test_a_right_click_on_a_wire_offers_its_breakpoint(qtbot, qloop, tmp_path, data_dir):
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QContextMenuEvent

    window = open_foreach(qtbot, tmp_path)
    key = ("each", "results", "sum", "x")
    wire = window.canvas.graph_scene.wires[key]
    at = window.canvas.mapFromScene(wire.mapToScene(wire.path().pointAtPercent(0.5)))
    chosen = []
    poll = QTimer()
    poll.setInterval(10)

    def choose():  # waits for the menu to be up (exec() runs its own loop), then picks
        menu = QApplication.activePopupWidget()
        if menu is None:
            return
        poll.stop()
        try:
            action = next(a for a in menu.actions() if a.text() == "Add breakpoint")
            chosen.append(action.text())
            action.trigger()
        finally:
            menu.close()

    poll.timeout.connect(choose)
    poll.start()
    viewport = window.canvas.viewport()
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at,
                                                       viewport.mapToGlobal(at)))
    assert chosen == ["Add breakpoint"]
    assert window.run_view.breakpoints.breakpoints() == [Breakpoint(wire=key)]
    assert window.canvas.graph_scene.selected_wires == {key}
