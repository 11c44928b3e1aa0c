"""The command palette (Ctrl+Shift+P) and the search popup it shares with Find node (Ctrl+F).

`SearchPopup` is a small frameless list under a search box: typing ranks the entries with
builder.ranking (exact title, prefix, word start, fuzzy), Up/Down move, Enter picks, Escape
closes. The command palette lists every menu action of the window by its menu path
("File ▸ Save As") and runs the one picked; disabled actions are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from builder.ranking import ranked

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.mainwindow import MainWindow

# (shown text, keywords, what picking it does)
Entry = tuple[str, str, Callable[[], Any]]


class SearchPopup(QFrame):
    def __init__(self, entries: list[Entry], placeholder: str, parent=None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.entries = entries
        self.search = QLineEdit()
        self.search.setPlaceholderText(placeholder)
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(420, 360)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self.accept)
        self.list.itemActivated.connect(lambda _item: self.accept())
        self._shown: list[Entry] = []
        self._filter("")

    def _filter(self, text: str) -> None:
        self.list.clear()
        self._shown = ranked(text, self.entries, lambda e: e[0], lambda e: e[1])
        for shown, _keywords, _pick in self._shown:
            self.list.addItem(QListWidgetItem(shown))
        if self._shown:
            self.list.setCurrentRow(0)

    def shown(self) -> list[str]:
        return [entry[0] for entry in self._shown]

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            self.list.setCurrentRow(max(0, min(self.list.count() - 1,
                                               self.list.currentRow() + step)))
            return
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def accept(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self._shown):
            return
        pick = self._shown[row][2]
        self.close()
        pick()

    def open_over(self, widget) -> None:
        top = widget.mapToGlobal(widget.rect().topLeft())
        self.move(top.x() + max(0, (widget.width() - self.width()) // 2), top.y() + 40)
        self.show()
        self.search.setFocus()


def command_entries(window: MainWindow) -> list[Entry]:
    entries: list[Entry] = []
    for menu, action in window.listed_actions:
        if not action.isEnabled():
            continue
        name = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        label = f"{name}    {menu} · {keys}" if keys else f"{name}    {menu}"
        entries.append((label, menu, action.trigger))
    return entries


def open_command_palette(window: MainWindow) -> SearchPopup:
    popup = SearchPopup(command_entries(window), "Run a command…", window)
    popup.setObjectName("CommandPalette")
    popup.open_over(window.canvas)
    window.command_popup = popup
    return popup
