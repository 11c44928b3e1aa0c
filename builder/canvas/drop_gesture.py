"""Drop gesture: a node type dragged from the palette onto the canvas.

The palette's drag carries MIME `application/x-flowloom-node-type` whose payload is the type id
(UTF-8). While it hovers, the gesture says whether the type is known; on drop it places a node of
that type at the drop point (one AddNodeCommand) and selects it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QPointF

if TYPE_CHECKING:
    from builder.canvas.edit_context import EditContext

NODE_TYPE_MIME = "application/x-flowloom-node-type"


def type_id_of(mime: QMimeData) -> str | None:
    if not mime.hasFormat(NODE_TYPE_MIME):
        return None
    text = bytes(mime.data(NODE_TYPE_MIME).data()).decode("utf-8", "replace").strip()
    return text or None


class DropGesture:
    def __init__(self, edit: EditContext, mime: QMimeData) -> None:
        self.edit = edit
        self.type_id = type_id_of(mime)
        self.known = self.type_id is not None and self.type_id in edit.registry
        if self.type_id is not None and not self.known:
            edit.say(f"Unknown node type {self.type_id!r}; it cannot be added")

    def end(self, scene_pos: QPointF) -> str | None:
        """Place the node; returns its id (None when the type is unknown)."""
        if not self.known:
            return None
        node_id = self.edit.add_node_at(self.type_id, scene_pos)
        self.edit.scene.select_nodes([node_id])
        return node_id

    def cancel(self) -> None:
        """Nothing was placed while hovering, so there is nothing to undo."""
