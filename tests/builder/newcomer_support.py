"""Shared pieces of the newcomer tests: a real window with its own settings and history, a
workflow file written from a model, a loop-pumping wait, and clicks on the real canvas."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from builder.mainwindow import MainWindow
from engine import fileformat
from engine.model import Workflow
from tests.builder.shell_support import Answers, make_registry, temp_settings


def make_window(qtbot, tmp_path: Path, answers: Answers | None = None,
                theme: str = "dark") -> MainWindow:
    window = MainWindow(make_registry(), temp_settings(tmp_path),
                        (answers or Answers()).prompts(), recover=False, theme_mode=theme)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.activateWindow()
    window.canvas.setFocus()
    # window shortcuts (F5, Ctrl+N…) reach only the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    return window


def press(qtbot, window: MainWindow, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press as a person makes it: into the focused widget of the active window."""
    target = window.focusWidget() or window.canvas
    qtbot.keyClick(target, key, modifier)


def write(tmp_path: Path, name: str, workflow: Workflow) -> Path:
    path = tmp_path / name
    fileformat.save(workflow, path)
    return path


def until(loop, condition, timeout: float = 10.0) -> None:
    """Pump the qasync loop until `condition()` holds (at most `timeout` seconds)."""
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    loop.run_until_complete(asyncio.wait_for(wait(), timeout))


def run_to_end(window: MainWindow, loop, timeout: float = 15.0):
    task = window.runner.task
    assert task is not None, window.statusBar().currentMessage()
    return loop.run_until_complete(asyncio.wait_for(task, timeout))


def click_scene(qtbot, window: MainWindow, scene_pos: QPointF,
                modifier=Qt.KeyboardModifier.NoModifier) -> None:
    canvas = window.canvas
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, modifier,
                     canvas.mapFromScene(scene_pos))


def click_node(qtbot, window: MainWindow, node_id: str) -> None:
    item = window.canvas.node_item(node_id)
    window.canvas.center_on_node(node_id)
    click_scene(qtbot, window, item.mapToScene(QPointF(item.width / 2, 12)))


def answer_run_inputs(button: str = "Run", within_ms: int = 5000) -> QTimer:
    """When the modal Run inputs dialog comes up, press its button (as a person would); the
    timer polls, since the dialog's own event loop blocks the test until it closes."""
    from PySide6.QtWidgets import QDialogButtonBox

    from builder.runview.inputs import InputsDialog

    timer = QTimer()
    deadline = [within_ms // 20]

    def look() -> None:
        deadline[0] -= 1
        dialog = next((w for w in QApplication.topLevelWidgets()
                       if isinstance(w, InputsDialog) and w.isVisible()), None)
        if dialog is not None:
            box = dialog.findChild(QDialogButtonBox)
            target = next(b for b in box.buttons() if b.text() == button)
            QTest.mouseClick(target, Qt.MouseButton.LeftButton)
        if dialog is not None or deadline[0] <= 0:
            timer.stop()

    timer.timeout.connect(look)
    timer.start(20)
    return timer


def press_run(qtbot, window: MainWindow) -> None:
    """F5, answering the Run inputs dialog with its defaults if the workflow declares any."""
    timer = answer_run_inputs()
    press(qtbot, window, Qt.Key.Key_F5)
    timer.stop()
