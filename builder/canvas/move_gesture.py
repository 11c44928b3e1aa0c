"""Move gesture: dragging selected nodes (or a frame's nodes) by the mouse.

Items move on screen while the mouse moves (wires and frames follow); the model changes once, on
release, through one MoveNodesCommand, so a drag is one undo entry. Grid snapping snaps the grabbed
node and moves the others by the same amount, keeping the group's shape. Escape puts them back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication, QGraphicsSceneMouseEvent

from builder.canvas.node_item import NodeItem
from builder.commands import MoveNodesCommand

if TYPE_CHECKING:
    from builder.canvas.edit_context import EditContext


class MoveGesture:
    def __init__(self, edit: EditContext, items: list[NodeItem], anchor: NodeItem | None,
                 event: QGraphicsSceneMouseEvent) -> None:
        self.edit = edit
        self.items = items
        self.anchor = anchor if anchor is not None else (items[0] if items else None)
        self.origins = {item.node_id: QPointF(item.pos()) for item in items}
        self.start = QPointF(event.scenePos())
        self.screen_start = event.screenPos()
        self.started = False

    def move(self, event: QGraphicsSceneMouseEvent) -> None:
        if not self.items:
            return
        if not self.started:
            travel = (event.screenPos() - self.screen_start).manhattanLength()
            if travel < QApplication.startDragDistance():
                return
            self.started = True
        delta = event.scenePos() - self.start
        if self.edit.snap_to_grid and self.anchor is not None:
            origin = self.origins[self.anchor.node_id]
            target = origin + delta
            delta = QPointF(*self.edit.snapped(target.x(), target.y())) - origin
        self._place(delta)

    def _place(self, delta: QPointF) -> None:
        scene = self.edit.scene
        for item in self.items:
            item.setPos(self.origins[item.node_id] + delta)
        for item in self.items:
            scene.node_geometry_changed(item.node_id)

    def end(self, event: QGraphicsSceneMouseEvent) -> None:
        self.move(event)
        if not self.started:
            return
        moves = {}
        for item in self.items:
            old, new = self.origins[item.node_id], item.pos()
            if old != new:
                moves[item.node_id] = ((old.x(), old.y()), (new.x(), new.y()))
        if moves:
            self.edit.undo_stack.push(MoveNodesCommand(self.edit.workflow, moves))

    def cancel(self) -> None:
        self._place(QPointF(0.0, 0.0))
