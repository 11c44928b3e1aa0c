"""Quick-add: a search popup at the cursor that places a node there (and maybe wires it).

Opened by double-click or Tab on empty canvas, or by releasing a new wire over empty space; in the
last case the list holds only node types with a port that fits the wire, and the new node is
connected to it. Placing and connecting is one undo entry. `QuickAddPopup` is the widget;
`QuickAddGesture` does the placing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from builder.canvas.edit_context import PendingWire
from builder.commands import ConnectPortsCommand
from builder.ranking import ranked
from engine.connect import connect_plan
from engine.model import Edge, Node
from engine.porttypes import compatible
from engine.validate import node_ports

if TYPE_CHECKING:
    from builder.canvas.edit_context import EditContext

__all__ = ["PendingWire", "QuickAddGesture", "QuickAddPopup"]


class QuickAddPopup(QFrame):
    chosen = Signal(str)
    dismissed = Signal()

    def __init__(self, entries: list[tuple[str, str, str]], parent=None) -> None:
        """`entries`: (type id, title, category) in display order."""
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.entries = entries
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add node…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(300, 340)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._accept)
        self.list.itemActivated.connect(lambda _item: self._accept())
        self._done = False
        self._filter("")

    def _filter(self, text: str) -> None:
        self.list.clear()
        # exact title, then prefix, then word start, then fuzzy (builder/ranking.py)
        for type_id, title, category in ranked(text, self.entries, lambda e: e[1],
                                               lambda e: f"{e[0]} {e[2]}"):
            item = QListWidgetItem(f"{title}    · {category}")
            item.setData(Qt.ItemDataRole.UserRole, type_id)
            item.setToolTip(type_id)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            row = max(0, min(self.list.count() - 1, self.list.currentRow() + step))
            self.list.setCurrentRow(row)
            return
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def _accept(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self._done = True
        type_id = item.data(Qt.ItemDataRole.UserRole)
        self.close()
        self.chosen.emit(type_id)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self._done:
            self._done = True
            self.dismissed.emit()
        super().closeEvent(event)

    def type_ids(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]


class QuickAddGesture:
    """The popup's placing: `done(self)` is called once it is over (placed or dismissed)."""

    def __init__(self, edit: EditContext, scene_pos: QPointF, pending: PendingWire | None,
                 parent: QWidget, global_pos: QPoint,
                 done: Callable[[QuickAddGesture], None] | None = None) -> None:
        self.edit = edit
        self.scene_pos = QPointF(scene_pos)
        self.pending = pending
        self._done = done
        entries = [(t.type_id, t.title or t.type_id, t.category)
                   for t in edit.registry if self._fits(t)]
        self.popup = QuickAddPopup(entries, parent)
        self.popup.chosen.connect(self.end)
        self.popup.dismissed.connect(self.cancel)
        self.popup.move(global_pos)
        self.popup.show()
        self.popup.search.setFocus()

    def _pending_type(self) -> str:
        node_id, side, port = self.pending
        item = self.edit.scene.nodes[node_id]
        return item.port_type(side, port)

    def _fits(self, node_type) -> bool:
        if self.pending is None:
            return True
        wanted = self._pending_type()
        ports = self._ports_of(node_type)
        return any(compatible(wanted, p.type) if self.pending[1] == "out"
                   else compatible(p.type, wanted) for p in ports)

    def _ports_of(self, node_type) -> list:
        inputs, outputs = node_ports(Node("_", node_type.type_id), node_type)
        return list((inputs if self.pending[1] == "out" else outputs).values())

    def end(self, type_id: str) -> str:
        """Place a node of `type_id` (and wire it to the pending port); returns its id."""
        edit = self.edit
        stack = edit.undo_stack
        title = edit.registry.get(type_id).title or type_id
        stack.beginMacro(f"Add node {title}" + (" and connect" if self.pending else ""))
        node_id = edit.add_node_at(type_id, self.scene_pos)
        if self.pending is not None:
            other, side, port = self.pending
            wf = edit.workflow
            for candidate in self._ports_of(edit.registry.get(type_id)):
                edge = (Edge(other, port, node_id, candidate.name) if side == "out"
                        else Edge(node_id, candidate.name, other, port))
                plan = connect_plan(wf, edit.registry, edge)
                if plan.ok:
                    stack.push(ConnectPortsCommand(wf, plan))
                    break
        stack.endMacro()
        edit.scene.select_nodes([node_id])
        self._finish()
        return node_id

    def cancel(self) -> None:
        self._finish()

    def _finish(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done(self)
