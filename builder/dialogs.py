"""The editor's dialogs, behind small injectable functions so tests can answer them.

`Prompts` bundles every question the File operations ask (unsaved changes, which file, an error
to show, restore after a crash). `Prompts.default()` uses Qt's standard dialogs; tests build a
`Prompts` with plain functions. `ShortcutsDialog` is Help → Shortcuts.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.recovery import Recovery

FILE_FILTER = "Flowloom workflows (*.loom.json);;JSON files (*.json);;All files (*)"

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def ask_unsaved(parent: QWidget | None, name: str) -> str:
    """Save / Discard / Cancel for a document with unsaved changes."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Unsaved changes")
    box.setText(f"Save the changes to “{name}”?")
    box.setInformativeText("Your changes will be lost if you don't save them.")
    box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                           | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return SAVE
    if answer == QMessageBox.StandardButton.Discard:
        return DISCARD
    return CANCEL


def ask_open_path(parent: QWidget | None, start: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open workflow", start, FILE_FILTER)
    return path or None


def ask_save_path(parent: QWidget | None, suggestion: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save workflow as", suggestion, FILE_FILTER)
    return path or None


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    QMessageBox.warning(parent, title, message)


def ask_restore(parent: QWidget | None, recoveries: list[Recovery]) -> bool:
    lines = []
    for r in recoveries:
        when = datetime.datetime.fromtimestamp(r.saved_at).strftime("%Y-%m-%d %H:%M")
        lines.append(f"• {r.display_name} (autosaved {when})")
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Restore unsaved work")
    box.setText("Flowloom did not close properly last time. Restore the unsaved work?")
    box.setInformativeText("\n".join(lines))
    restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(restore)
    box.exec()
    return box.clickedButton() is restore


@dataclass
class Prompts:
    """Every question the editor asks the user; replace any of them in tests."""

    unsaved: Callable[[QWidget | None, str], str] = ask_unsaved
    open_path: Callable[[QWidget | None, str], str | None] = ask_open_path
    save_path: Callable[[QWidget | None, str], str | None] = ask_save_path
    error: Callable[[QWidget | None, str, str], None] = show_error
    restore: Callable[[QWidget | None, list], bool] = ask_restore

    @classmethod
    def default(cls) -> Prompts:
        return cls()


def _shortcut_text(action: QAction) -> str:
    return ", ".join(s.toString() for s in action.shortcuts() if not s.isEmpty())


class ShortcutsDialog(QDialog):
    """Help → Shortcuts: every action that has a keyboard shortcut, by menu."""

    def __init__(self, entries: Iterable[tuple[str, QAction]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = [(menu, action.text().replace("&", "").replace("…", ""), _shortcut_text(action))
                for menu, action in entries if _shortcut_text(action)]
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 560)

    def shortcuts(self) -> dict[str, str]:
        """Action name -> shortcut text, as listed (for tests and docs)."""
        return {self.table.item(r, 1).text(): self.table.item(r, 2).text()
                for r in range(self.table.rowCount())}
