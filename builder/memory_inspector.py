"""The memory inspector (View ▸ Memory…): list, search and delete long-term memory entries.

One memory key at a time (the keys in the store are offered; any other can be typed). An empty
search lists the newest entries; otherwise the entries are ranked by full-text search (BM25), as
`memory.recall` ranks them in `fts` mode. Deleting asks first (memory has no undo). The store is
nodes/memory_store.py; this dialog holds no logic of its own beyond showing it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nodes.memory_store import Memory, MemoryStore, MemoryStoreError

COLUMNS = ("Id", "Text", "Metadata", "Saved", "Score")
LIST_LIMIT = 1000


def ask_yes_no(parent: QWidget, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text)
    return answer == QMessageBox.StandardButton.Yes


class MemoryInspector(QDialog):
    def __init__(self, store: MemoryStore | None = None, parent: QWidget | None = None,
                 confirm: Callable[[QWidget, str, str], bool] = ask_yes_no) -> None:
        super().__init__(parent)
        self.setWindowTitle("Memory")
        self.resize(820, 480)
        self._confirm = confirm
        self.store: MemoryStore | None = None
        self.shown: list[Memory] = []

        self.key_box = QComboBox(editable=True)
        self.key_box.setMinimumWidth(180)
        self.key_box.setToolTip("the memory key (agents and memory nodes name one)")
        self.search_box = QLineEdit(placeholderText="Search this key's memories…")
        self.search_box.setClearButtonEnabled(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Key:"))
        top.addWidget(self.key_box)
        top.addWidget(self.search_box, 1)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)

        self.status = QLabel()
        self.delete_button = QPushButton("Delete")
        self.delete_button.setEnabled(False)
        self.refresh_button = QPushButton("Refresh")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.refresh_button)
        bottom.addWidget(self.delete_button)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)

        buttons.rejected.connect(self.reject)
        self.refresh_button.clicked.connect(self.reload)
        self.delete_button.clicked.connect(self.delete_selected)
        self.key_box.currentTextChanged.connect(lambda _text: self.refresh())
        self.search_box.textChanged.connect(lambda _text: self.refresh())
        self.table.itemSelectionChanged.connect(
            lambda: self.delete_button.setEnabled(bool(self.selected_ids())))

        try:
            self.store = store if store is not None else MemoryStore()
        except MemoryStoreError as exc:
            self.status.setText(str(exc))
        self.reload()

    @property
    def key(self) -> str:
        return self.key_box.currentText().strip()

    def reload(self) -> None:
        """Re-read the keys, keep the current one, and show its entries."""
        keys = self._safe(lambda s: s.keys(), [])
        current = self.key
        self.key_box.blockSignals(True)
        self.key_box.clear()
        self.key_box.addItems(keys)
        self.key_box.setEditText(current or (keys[0] if keys else ""))
        self.key_box.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        key, query = self.key, self.search_box.text().strip()
        if not key:
            found: list[Memory] = []
        elif query:
            found = self._safe(lambda s: s.search(key, query, LIST_LIMIT), [])
        else:
            found = self._safe(lambda s: s.entries(key, LIST_LIMIT), [])
        self.shown = found
        self.table.setRowCount(len(found))
        for row, memory in enumerate(found):
            saved = datetime.datetime.fromtimestamp(memory.created).strftime("%Y-%m-%d %H:%M")
            cells = (str(memory.id), memory.text,
                     json.dumps(memory.metadata, ensure_ascii=False) if memory.metadata else "",
                     saved, "" if memory.score is None else f"{memory.score:.3f}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text if column == 1 else "")
                if column in (0, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                          Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        total = self._safe(lambda s: s.count(key), 0) if key else 0
        what = f"{len(found)} matching" if query else f"{len(found)}"
        self.status.setText(f"{what} of {total} memories under {key!r}" if key
                            else "No memory key chosen")
        self.delete_button.setEnabled(bool(self.selected_ids()))

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.shown[r].id for r in rows if r < len(self.shown)]

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if not ids or self.store is None:
            return
        noun = "this memory" if len(ids) == 1 else f"these {len(ids)} memories"
        if not self._confirm(self, "Delete memories",
                             f"Delete {noun} of {self.key!r}? This cannot be undone."):
            return
        key = self.key
        self._safe(lambda s: [s.delete(key, i) for i in ids], None)
        self.reload()

    def _safe(self, read: Callable[[MemoryStore], object], fallback: object):
        if self.store is None:
            return fallback
        try:
            return read(self.store)
        except MemoryStoreError as exc:
            self.status.setText(str(exc))
            return fallback


def show_for(window: QWidget) -> MemoryInspector:
    """Open the inspector beside `window` (View ▸ Memory…); it is deleted when closed."""
    dialog = MemoryInspector(parent=window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
