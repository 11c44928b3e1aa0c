"""The one Qt adapter that turns the node registry into an item model for the palette.

Top-level rows are categories (in the order people look for them, unknown ones after, by name);
their children are node types, sorted by title, carrying the type id in `TYPE_ID_ROLE`. Dragging
a node type out of the model produces MIME data of type `NODE_MIME` whose payload is the type
id (UTF-8) — what the canvas accepts as a drop.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QMimeData, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel

from builder.icons import category_icon

NODE_MIME = "application/x-flowloom-node-type"
TYPE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2  # lower-case text the search box matches against
CATEGORY_ORDER = ("Flow", "Data", "Network", "AI", "Files", "Human", "Text", "Code", "Tools",
                  "Utility")


def _category_key(name: str) -> tuple[int, str]:
    try:
        return (CATEGORY_ORDER.index(name), name)
    except ValueError:
        return (len(CATEGORY_ORDER), name.lower())


class PaletteModel(QStandardItemModel):
    """Categories -> node types of a registry. Rebuild with `set_registry` when it changes."""

    def __init__(self, registry: Iterable[type], category_colors: dict[str, QColor] | None = None,
                 icon_color: QColor | str = "#c8ccd4") -> None:
        super().__init__()
        self._registry = registry
        self._category_colors = category_colors or {}
        self._icon_color = icon_color
        self.rebuild()

    def set_registry(self, registry: Iterable[type]) -> None:
        self._registry = registry
        self.rebuild()

    def set_colors(self, category_colors: dict[str, QColor], icon_color: QColor | str) -> None:
        self._category_colors = category_colors
        self._icon_color = icon_color
        for row in range(self.rowCount()):
            item = self.item(row)
            item.setIcon(self._icon_for(item.text()))

    def _icon_for(self, category: str):
        color = self._category_colors.get(category)
        # Category colours are muted header tints; lighten them so the icon reads as a colour.
        if color is not None:
            color = QColor(color).lighter(170) if QColor(color).lightness() < 128 else \
                QColor(color).darker(150)
        return category_icon(category, color if color is not None else self._icon_color)

    def rebuild(self) -> None:
        self.clear()
        by_category: dict[str, list[type]] = {}
        for node_type in self._registry:
            by_category.setdefault(node_type.category or "Other", []).append(node_type)
        for category in sorted(by_category, key=_category_key):
            parent = QStandardItem(self._icon_for(category), category)
            parent.setEditable(False)
            parent.setDragEnabled(False)
            parent.setData(category.lower(), SEARCH_ROLE)
            parent.setToolTip(f"{len(by_category[category])} node types")
            types = sorted(by_category[category], key=lambda t: (t.title or t.type_id).lower())
            for node_type in types:
                parent.appendRow(self._type_item(node_type))
            self.appendRow(parent)

    @staticmethod
    def _type_item(node_type: type) -> QStandardItem:
        title = node_type.title or node_type.type_id
        item = QStandardItem(title)
        item.setEditable(False)
        item.setDragEnabled(True)
        item.setData(node_type.type_id, TYPE_ID_ROLE)
        description = (node_type.description or "").strip()
        item.setData(f"{title} {node_type.type_id} {description}".lower(), SEARCH_ROLE)
        tip = f"<b>{title}</b> <code>{node_type.type_id}</code>"
        if description:
            tip += f"<br>{description}"
        item.setToolTip(tip + "<br><i>Drag onto the canvas, or double-click to add.</i>")
        return item

    # --- drag ------------------------------------------------------------------------------
    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt override
        return [NODE_MIME]

    def mimeData(self, indexes: list[QModelIndex | QPersistentModelIndex]  # noqa: N802
                 ) -> QMimeData | None:
        type_ids = [i.data(TYPE_ID_ROLE) for i in indexes if i.data(TYPE_ID_ROLE)]
        if not type_ids:
            return None
        mime = QMimeData()
        mime.setData(NODE_MIME, type_ids[0].encode("utf-8"))
        mime.setText(type_ids[0])
        return mime

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802 - Qt override
        return Qt.DropAction.CopyAction

    # --- lookups ---------------------------------------------------------------------------
    def categories(self) -> list[str]:
        return [self.item(row).text() for row in range(self.rowCount())]

    def type_ids(self, category: str | None = None) -> list[str]:
        found = []
        for row in range(self.rowCount()):
            parent = self.item(row)
            if category is not None and parent.text() != category:
                continue
            found += [parent.child(r).data(TYPE_ID_ROLE) for r in range(parent.rowCount())]
        return found

    def index_of(self, type_id: str) -> QModelIndex:
        for row in range(self.rowCount()):
            parent = self.item(row)
            for r in range(parent.rowCount()):
                if parent.child(r).data(TYPE_ID_ROLE) == type_id:
                    return parent.child(r).index()
        return QModelIndex()
