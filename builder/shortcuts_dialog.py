"""Help → Shortcuts: every action that has a keyboard shortcut, by menu (imported when the
dialog first opens, not at start-up)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


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
