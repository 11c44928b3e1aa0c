"""Ctrl+F finds a node by title or id and centres it; Ctrl+Shift+P runs a menu action by name."""

from __future__ import annotations

import shutil

from PySide6.QtCore import Qt

from tests.builder.newcomer_support import make_window, press
from tests.builder.shell_support import EXAMPLES


def test_ctrl_f_finds_a_node_by_title_and_centres_it(qtbot, tmp_path):
    path = tmp_path / "hello.loom.json"
    shutil.copy(EXAMPLES / "hello.loom.json", path)
    window = make_window(qtbot, tmp_path)
    assert window.open_path(path)
    press(qtbot, window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(window, "find_popup", None) is not None
                    and window.find_popup.isVisible())
    popup = window.find_popup
    qtbot.keyClicks(popup.search, "say small")
    assert popup.shown()[0].startswith("Say small")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert window.canvas.selected_node_ids() == ["small"]
    canvas = window.canvas
    centre = canvas.mapToScene(canvas.viewport().rect().center())
    assert canvas.node_item("small").sceneBoundingRect().adjusted(-5, -5, 5, 5).contains(centre)


def test_ctrl_shift_p_runs_a_menu_action_by_name(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    press(qtbot, window, Qt.Key.Key_P,
          Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: getattr(window, "command_popup", None) is not None
                    and window.command_popup.isVisible())
    popup = window.command_popup
    qtbot.keyClicks(popup.search, "light")
    assert popup.shown()[0].startswith("Light")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert window.theme_mode == "light"
