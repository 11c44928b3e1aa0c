"""The editor's dialogs, behind small injectable functions so tests can answer them.

`Prompts` bundles every question the File operations ask (unsaved changes, which file, an error
to show, restore after a crash). `Prompts.default()` uses Qt's standard dialogs; tests build a
`Prompts` with plain functions. Help → Shortcuts is builder/shortcuts_dialog.py.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from PySide6.QtWidgets import QWidget

    from builder.recovery import Recovery

# Qt's dialog classes are imported where a dialog opens: naming them at import made PySide6
# build their types (and a dozen enums) before the editor's first frame, ~10-15 ms of it.

FILE_FILTER = "Flowloom workflows (*.loom.json);;JSON files (*.json);;All files (*)"

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def ask_unsaved(parent: QWidget | None, name: str) -> str:
    """Save / Discard / Cancel for a document with unsaved changes."""
    from PySide6.QtWidgets import QMessageBox

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
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getOpenFileName(parent, "Open workflow", start, FILE_FILTER)
    return path or None


def ask_save_path(parent: QWidget | None, suggestion: str) -> str | None:
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getSaveFileName(parent, "Save workflow as", suggestion, FILE_FILTER)
    return path or None


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    from PySide6.QtWidgets import QMessageBox

    QMessageBox.warning(parent, title, message)


def ask_restore(parent: QWidget | None, recoveries: list[Recovery]) -> bool:
    from PySide6.QtWidgets import QMessageBox

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


def __getattr__(name: str) -> object:  # ShortcutsDialog lived here: its old import still works
    if name == "ShortcutsDialog":
        from builder.shortcuts_dialog import ShortcutsDialog

        return ShortcutsDialog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
