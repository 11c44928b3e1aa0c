"""The node palette dock: a search box over a category tree of node types.

Typing filters by title, type id and description (case-insensitive; categories with a match stay,
expanded), ranked by builder.ranking (exact title, prefix, word start, then fuzzy). Drag a type
onto the canvas to place it there, or double-click / press Enter to ask
the window to add it in the middle of the view (`node_activated(type_id)`).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeView, QVBoxLayout, QWidget

from builder.icons import icon
from builder.palette_model import SEARCH_ROLE, TYPE_ID_ROLE, PaletteModel
from builder.ranking import match


class PaletteFilter(QSortFilterProxyModel):
    """Keeps the node types that match the search (and their categories), ranked by
    builder.ranking: best match first within a category, and the category holding the best
    match first (so Enter adds the best one)."""

    def __init__(self) -> None:
        super().__init__()
        self._query = ""
        self._scores: dict[str, tuple] = {}  # type id -> ranking key, while searching
        self.setRecursiveFilteringEnabled(True)

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self._query = text.strip()
        self._scores = self._score_all() if self._query else {}
        self.endFilterChange()
        self.sort(0 if self._query else -1)

    def _score_all(self) -> dict[str, tuple]:
        model, scores = self.sourceModel(), {}
        for row in range(model.rowCount()):
            parent = model.index(row, 0)
            for r in range(model.rowCount(parent)):
                index = model.index(r, 0, parent)
                key = match(self._query, index.data() or "", index.data(SEARCH_ROLE) or "")
                if key is not None:
                    scores[index.data(TYPE_ID_ROLE)] = key
        return scores

    def _key(self, index: QModelIndex | QPersistentModelIndex) -> tuple:
        type_id = index.data(TYPE_ID_ROLE)
        if type_id:
            return self._scores.get(type_id, (99,))
        model = self.sourceModel()  # a category: as good as its best node type
        keys = [self._scores[t] for r in range(model.rowCount(index))
                if (t := model.index(r, 0, index).data(TYPE_ID_ROLE)) in self._scores]
        return min(keys, default=(99,))

    def filterAcceptsRow(self, row: int,  # noqa: N802 - Qt override
                         parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self._query:
            return True
        index = self.sourceModel().index(row, 0, parent)
        if not index.data(TYPE_ID_ROLE):
            return False  # categories stay only through their matching children
        return index.data(TYPE_ID_ROLE) in self._scores

    def lessThan(self, left: QModelIndex | QPersistentModelIndex,  # noqa: N802 - Qt override
                 right: QModelIndex | QPersistentModelIndex) -> bool:
        if not self._query:
            return left.row() < right.row()
        return (self._key(left), left.row()) < (self._key(right), right.row())


class _Tree(QTreeView):
    activated_type = Signal(str)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            type_id = self.currentIndex().data(TYPE_ID_ROLE)
            if type_id:
                self.activated_type.emit(type_id)
                return
        super().keyPressEvent(event)


class Palette(QWidget):
    node_activated = Signal(str)

    def __init__(self, registry: Iterable[type], parent: QWidget | None = None,
                 category_colors: dict[str, QColor] | None = None,
                 text_color: QColor | None = None) -> None:
        super().__init__(parent)
        # the theme's colours from the start: icons are drawn once, not again by set_colors
        self.model = PaletteModel(registry, category_colors,
                                  text_color if text_color is not None else "#c8ccd4")
        self.proxy = PaletteFilter()
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search)
        self.search.returnPressed.connect(self._activate_first)
        self._search_icon = self.search.addAction(
            icon("search", text_color) if text_color is not None else icon("search"),
                                                  QLineEdit.ActionPosition.LeadingPosition)
        self.tree = _Tree(self)
        self.tree.setModel(self.proxy)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setAnimated(True)
        self.tree.setIndentation(14)
        self.tree.doubleClicked.connect(self._on_double_click)
        self.tree.activated_type.connect(self.node_activated)
        self.tree.expandAll()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)

    def set_registry(self, registry: Iterable[type]) -> None:
        self.model.set_registry(registry)
        self.tree.expandAll()

    def set_colors(self, category_colors: dict[str, QColor], text_color: QColor) -> None:
        self.model.set_colors(category_colors, text_color)
        self._search_icon.setIcon(icon("search", text_color))

    def _on_search(self, text: str) -> None:
        self.proxy.set_search(text)
        self.tree.expandAll()

    def visible_type_ids(self) -> list[str]:
        """The type ids the tree shows now (after the search filter), top to bottom."""
        found = []
        for row in range(self.proxy.rowCount()):
            parent = self.proxy.index(row, 0)
            for r in range(self.proxy.rowCount(parent)):
                found.append(self.proxy.index(r, 0, parent).data(TYPE_ID_ROLE))
        return found

    def visible_categories(self) -> list[str]:
        return [self.proxy.index(r, 0).data() for r in range(self.proxy.rowCount())]

    def _on_double_click(self, index: QModelIndex) -> None:
        type_id = index.data(TYPE_ID_ROLE)
        if type_id:
            self.node_activated.emit(type_id)

    def _activate_first(self) -> None:
        found = self.visible_type_ids()
        if found:
            self.node_activated.emit(found[0])
