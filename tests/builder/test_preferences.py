"""#16: Edit ▸ Preferences… sets app-wide limits per LLM server host, and a run obeys them.

The dialog is driven with real clicks and keys (pytest-qt); the run goes to a real LLM test
server on 127.0.0.1 that counts how many chat requests it is serving at once.
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QSpinBox

from builder.host_limits import SETTING, check_rows, host_limits
from builder.mainwindow import MainWindow
from builder.preferences import HOST_COL, LIMIT_COL, PreferencesDialog
from engine.model import Edge, Node, Workflow
from tests.builder.shell_support import Answers, make_registry, temp_settings
from tests.servers.llm import LLMServer, reply


class CountingLLMServer(LLMServer):
    """The scripted LLM server, counting the chat requests it serves at one time."""

    def __init__(self) -> None:
        super().__init__()
        self.count_lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def handle(self, ex) -> None:
        chat = ex.request.path in ("/v1/chat/completions", "/api/chat")
        if chat:
            with self.count_lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
        try:
            super().handle(ex)
        finally:
            if chat:
                with self.count_lock:
                    self.in_flight -= 1


@pytest.fixture
def counting_server():
    with CountingLLMServer() as server:
        yield server


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def open_window(qtbot, tmp_path) -> MainWindow:
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    return window


def open_preferences(qtbot, window: MainWindow) -> PreferencesDialog:
    action = window.acts["preferences"]
    assert action.shortcut().toString() == "Ctrl+,"
    assert action in window.menus["&Edit"].actions()
    action.trigger()
    shown = [d for d in window.findChildren(PreferencesDialog) if d.isVisible()]
    assert len(shown) == 1
    dialog = shown[0]
    return dialog


def type_server(qtbot, dialog: PreferencesDialog, row: int, text: str) -> None:
    """Double-click the row's server cell, type, press Enter (as a person edits a cell)."""
    table = dialog.table
    rect = table.visualRect(table.model().index(row, HOST_COL))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: table.findChild(QLineEdit) is not None
                    and table.findChild(QLineEdit).isVisible(), timeout=3000)
    editor = table.findChild(QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.item(row, HOST_COL).text() == text, timeout=3000)


def set_limit(qtbot, dialog: PreferencesDialog, row: int, value: int) -> None:
    spin = dialog.table.cellWidget(row, LIMIT_COL)
    assert isinstance(spin, QSpinBox)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), str(value))
    assert spin.value() == value


def closed(dialog: PreferencesDialog) -> bool:
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def ok_button(dialog: PreferencesDialog):
    return dialog.box.button(QDialogButtonBox.StandardButton.Ok)


def test_rows_are_checked_with_one_sentence_naming_the_row():
    assert check_rows([("localhost:11434", 2), ("http://10.0.0.5:8000/v1", 1)]) == (
        {"localhost:11434": 2, "http://10.0.0.5:8000/v1": 1}, None)
    assert check_rows([("", 1)])[1].startswith("Row 1: the server is empty")
    assert "has a space" in check_rows([("local host", 1)])[1]
    assert "port that is not a number" in check_rows([("localhost:99999", 1)])[1]
    assert "http:// or https://" in check_rows([("ftp://x:1", 1)])[1]
    same = check_rows([("localhost:11434", 1), ("http://LOCALHOST:11434/", 3)])[1]
    assert same.startswith("Row 2:") and "same server as row 1" in same
    assert "whole number from 1 to" in check_rows([("a:1", 0)])[1]


def test_add_edit_remove_rows_then_ok_saves_to_the_setting_and_the_window(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    assert window.runner.host_slots is None
    dialog = open_preferences(qtbot, window)
    assert dialog.table.rowCount() == 0
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.table.rowCount() == 1
    # an empty server is refused with a sentence, and OK cannot be pressed
    assert not ok_button(dialog).isEnabled()
    assert dialog.problem.text().startswith("Row 1: the server is empty")
    type_server(qtbot, dialog, 0, "localhost:11434")
    assert ok_button(dialog).isEnabled() and dialog.problem.text() == ""
    set_limit(qtbot, dialog, 0, 2)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    type_server(qtbot, dialog, 1, "http://localhost:11434/v1")
    assert not ok_button(dialog).isEnabled()
    assert "same server as row 1" in dialog.problem.text()
    type_server(qtbot, dialog, 1, "127.0.0.1:8080")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    type_server(qtbot, dialog, 2, "gone.example:1")
    # remove the third row: select it, click Remove
    table = dialog.table
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     pos=table.visualRect(table.model().index(2, HOST_COL)).center())
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert dialog.rows() == [("localhost:11434", 2), ("127.0.0.1:8080", 1)]
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=3000)
    assert json.loads(window.settings.value(SETTING)) == {"localhost:11434": 2,
                                                          "127.0.0.1:8080": 1}
    assert window.runner.host_slots.limits == {"localhost:11434": 2, "127.0.0.1:8080": 1}
    # reopened, the dialog shows what was saved; Cancel after an edit keeps it
    again = open_preferences(qtbot, window)
    assert sorted(again.rows()) == [("127.0.0.1:8080", 1), ("localhost:11434", 2)]
    set_limit(qtbot, again, 0, 9)
    qtbot.mouseClick(again.box.button(QDialogButtonBox.StandardButton.Cancel),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(again), timeout=3000)
    assert host_limits(window.settings) == {"localhost:11434": 2, "127.0.0.1:8080": 1}
    window.close()


def test_removing_every_row_removes_the_limits(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.settings.setValue(SETTING, json.dumps({"localhost:11434": 1}))
    dialog = open_preferences(qtbot, window)
    assert dialog.rows() == [("localhost:11434", 1)]
    table = dialog.table
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     pos=table.visualRect(table.model().index(0, HOST_COL)).center())
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=3000)
    assert window.settings.value(SETTING) is None and window.runner.host_slots is None
    window.close()


def _two_chats(url: str) -> Workflow:
    """Two chat nodes fed by one value: with no limit they ask the server at the same time."""
    params = {"provider": "openai", "base_url": url, "model": "test-model"}
    return Workflow("chats", nodes=[
        Node("p", "data.value", "Prompt", {"value": "hi"}, (0, 0)),
        Node("a", "ai.chat", "Ask A", dict(params), (260, -80)),
        Node("b", "ai.chat", "Ask B", dict(params), (260, 80)),
    ], edges=[Edge("p", "out", "a", "prompt"), Edge("p", "out", "b", "prompt")])


def _run(qloop, window: MainWindow) -> None:
    assert window.run_workflow(), window.statusBar().currentMessage()
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 20))
    assert result is not None and result.ok, result and result.error


def test_a_limit_saved_in_preferences_reaches_the_next_run(qtbot, qloop, tmp_path, data_dir,
                                                           counting_server):
    window = open_window(qtbot, tmp_path)
    window.session.new()
    flow = _two_chats(counting_server.url)
    for node in flow.nodes.values():
        window.document.workflow.add_node(node)
    for edge in flow.edges:
        window.document.workflow.add_edge(edge)
    # without a limit both chats are at the server together (so the check below can fail)
    counting_server.script(reply("one", first_delay_s=0.4), reply("two", first_delay_s=0.4))
    _run(qloop, window)
    assert counting_server.peak == 2
    dialog = open_preferences(qtbot, window)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    type_server(qtbot, dialog, 0, counting_server.url)
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=3000)
    counting_server.peak = 0
    counting_server.script(reply("one", first_delay_s=0.4), reply("two", first_delay_s=0.4))
    _run(qloop, window)
    assert len(counting_server.chat_bodies()) == 4
    assert counting_server.peak == 1  # one request at a time to that host
    window.close()
