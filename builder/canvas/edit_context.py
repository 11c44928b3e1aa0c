"""`EditContext`: the few things a canvas gesture edits through, instead of the whole view.

A gesture (new wire, move, drop, quick-add) needs the workflow and the registry (read from the
scene, which follows the workflow shown), the undo stack its one entry goes on, the scene's item
lookups, a way to say something in the status bar, the zoom and the visible nodes, grid snapping,
and quick-add for a wire released over empty space. The Canvas builds one context and keeps it in
step (New/Open give it another undo stack); gestures hold it for as long as they last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF
from PySide6.QtGui import QUndoCommand, QUndoStack

from builder.canvas.look import DROP_OFFSET, GRID
from builder.commands import AddNodeCommand
from engine.model import Node, Workflow
from engine.registry import Registry

if TYPE_CHECKING:
    from builder.canvas.node_item import NodeItem
    from builder.canvas.scene import GraphScene

# (node id, side of that node's port: "out" or "in", port name): a wire waiting for a node.
PendingWire = tuple[str, str, str]


@dataclass
class EditContext:
    """What the canvas's editing gestures need from the view: scene, undo stack, status line."""

    scene: GraphScene  # item lookups: nodes, wires, frames, node_at, selection
    undo_stack: QUndoStack
    say: Callable[[str], None]  # a line for the status bar
    zoom: Callable[[], float]
    visible_nodes: Callable[[], list[NodeItem]]
    open_quick_add: Callable[[QPointF, PendingWire | None], Any]
    snap_to_grid: bool = True

    @property
    def workflow(self) -> Workflow:
        return self.scene.workflow

    @property
    def registry(self) -> Registry:
        return self.scene.registry

    def push(self, commands: list[QUndoCommand], text: str = "") -> None:
        """Push `commands` as one undo entry (a macro named `text` when there are several)."""
        if not commands:
            return
        if len(commands) == 1:
            self.undo_stack.push(commands[0])
            return
        self.undo_stack.beginMacro(text)
        for command in commands:
            self.undo_stack.push(command)
        self.undo_stack.endMacro()

    def snapped(self, x: float, y: float) -> tuple[float, float]:
        if not self.snap_to_grid:
            return x, y
        return round(x / GRID) * GRID, round(y / GRID) * GRID

    def add_node_at(self, type_id: str, scene_pos: QPointF) -> str:
        """Add a node of `type_id` with its header under `scene_pos` (one undo entry)."""
        node_type = self.registry.get(type_id)
        node_id = self.workflow.new_node_id(type_id.rsplit(".", 1)[-1])
        x, y = self.snapped(scene_pos.x() + DROP_OFFSET[0], scene_pos.y() + DROP_OFFSET[1])
        node = Node(node_id, type_id, title=node_type.title or "", position=(x, y))
        self.undo_stack.push(AddNodeCommand(self.workflow, node))
        return node_id
