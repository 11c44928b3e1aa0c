"""Quick-add: a search popup at the cursor that places a node there (and maybe wires it).

Opened by double-click or Tab on empty canvas, or by releasing a new wire over empty space; in the
last case the list holds only node types with a port that fits the wire, and the new node is
connected to it. Placing and connecting is one undo entry. `QuickAddPopup` is the widget;
`QuickAddGesture` does the placing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from builder.commands import ConnectPortsCommand
from builder.ranking import ranked
from engine.model import Edge, Node
from engine.porttypes import compatible
from engine.validate import connection_problem, node_ports

if TYPE_CHECKING:
    from builder.canvas.view import Canvas

# (node id, side of that node's port: "out" or "in", port name)
PendingWire = tuple[str, str, str]


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
    def __init__(self, canvas: Canvas, scene_pos: QPointF, pending: PendingWire | None = None,
                 global_pos: QPoint | None = None) -> None:
        self.canvas = canvas
        self.scene_pos = QPointF(scene_pos)
        self.pending = pending
        entries = [(t.type_id, t.title or t.type_id, t.category)
                   for t in canvas.registry if self._fits(t)]
        self.popup = QuickAddPopup(entries, canvas)
        self.popup.chosen.connect(self.end)
        self.popup.dismissed.connect(self.cancel)
        if global_pos is None:
            global_pos = canvas.viewport().mapToGlobal(canvas.mapFromScene(scene_pos))
        self.popup.move(global_pos)
        self.popup.show()
        self.popup.search.setFocus()

    def _pending_type(self) -> str:
        node_id, side, port = self.pending
        item = self.canvas.graph_scene.nodes[node_id]
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
        canvas = self.canvas
        stack = canvas.undo_stack
        title = canvas.registry.get(type_id).title or type_id
        stack.beginMacro(f"Add node {title}" + (" and connect" if self.pending else ""))
        node_id = canvas.add_node_at(type_id, self.scene_pos)
        if self.pending is not None:
            other, side, port = self.pending
            wf = canvas.workflow
            for candidate in self._ports_of(canvas.registry.get(type_id)):
                edge = (Edge(other, port, node_id, candidate.name) if side == "out"
                        else Edge(node_id, candidate.name, other, port))
                if connection_problem(wf, canvas.registry, edge) is None:
                    stack.push(ConnectPortsCommand(wf, edge, canvas.registry))
                    break
        stack.endMacro()
        canvas.select_nodes([node_id])
        canvas.quick_add = None
        return node_id

    def cancel(self) -> None:
        if self.canvas.quick_add is self:
            self.canvas.quick_add = None
