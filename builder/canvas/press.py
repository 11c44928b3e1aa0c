"""What a left press on the canvas starts: a new wire, a picked-up wire, a move, or Qt's default.

`GestureFactory.for_press` looks at the topmost item under the press and makes the gesture, giving
it the edit context (builder/canvas/edit_context.py); the scene hands the gesture every move and
the release while it lasts. A port dot starts a new wire (an input that already has a wire picks
that wire up instead); a wire grabbed near one of its ends is picked up; a node or a frame's title
bar starts a move of the selection (or the frame's nodes). Anything else returns None, and Qt does
the rest: Ctrl-click toggles, empty space starts Qt's rubber band (the view's RubberBandDrag; wires
keep out of it). A click on a wire body selects it (Ctrl toggles); wires keep their own selection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtWidgets import QGraphicsSceneMouseEvent

from builder.canvas.frame_item import FrameItem
from builder.canvas.node_item import PORT_HIT_PX, NodeItem
from builder.canvas.wire_item import WireItem, distance_to_curve

if TYPE_CHECKING:
    from builder.canvas.edit_context import EditContext
    from builder.canvas.scene import Gesture

WIRE_END_GRAB = 24.0  # scene units from a wire's end that pick the wire up
PORT_GRAB = 10.0
WIRE_GRIP = 6.0


class GestureFactory:
    """Picks the gesture a left press starts, for the scene of `edit`."""

    def __init__(self, edit: EditContext) -> None:
        self.edit = edit

    def for_press(self, event: QGraphicsSceneMouseEvent) -> Gesture | None:
        return _gesture_for_press(self.edit, event)


def _gesture_for_press(edit: EditContext, event: QGraphicsSceneMouseEvent) -> Gesture | None:
    # the gestures load with the first press: not start-up work
    from builder.canvas.move_gesture import MoveGesture
    from builder.canvas.new_wire_gesture import NewWireGesture

    scene = edit.scene
    pos = event.scenePos()
    toggling = bool(event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                         | Qt.KeyboardModifier.MetaModifier))
    # Qt's items(pos) counts a wire hit anywhere inside its filled path (the area a loop's
    # back edge curves around): wires count only by their distance to the drawn line.
    under = [i for i in scene.items(pos) if not isinstance(i, WireItem)
             or distance_to_curve(i.path(), pos) <= WIRE_GRIP]
    # Zoomed out, a port's dot is a few pixels: a press within PORT_HIT_PX of it, just
    # outside the node's shape, still grabs it.
    near = _node_with_port_near(scene, pos, edit.zoom())
    if near is not None and near not in under:
        under.insert(0, near)
    for item in under or _wires_near(scene, pos):
        if isinstance(item, NodeItem):
            grab = item.port_slack(edit.zoom())  # >= PORT_GRAB scene units, >= 6 px on screen
            hit = item.port_at(pos, grab)
            if hit is not None and _near_dot(item, hit, pos, grab):
                side, name = hit
                if side == "in":
                    existing = edit.workflow.edges_into(item.node_id, name)
                    source = scene.nodes.get(existing[-1].source) if existing else None
                    if source is not None:
                        edge = existing[-1]
                        return NewWireGesture(edit, source, "out", edge.source_port, edge)
                return NewWireGesture(edit, item, side, name)
            if toggling:
                return None
            scene.select_wire(None)
            if not item.isSelected():
                scene.clearSelection()
                item.setSelected(True)
            selected = [i for i in scene.selectedItems() if isinstance(i, NodeItem)]
            return MoveGesture(edit, selected, item, event)
        if isinstance(item, WireItem) and item.edge is not None and item.isVisible():
            edge = item.edge
            path = item.path()
            if QLineF(pos, path.pointAtPercent(1.0)).length() <= WIRE_END_GRAB:
                source = scene.nodes.get(edge.source)
                return NewWireGesture(edit, source, "out", edge.source_port, edge)
            if QLineF(pos, path.pointAtPercent(0.0)).length() <= WIRE_END_GRAB:
                target = scene.nodes.get(edge.target)
                return NewWireGesture(edit, target, "in", edge.target_port, edge)
            if not toggling:
                scene.clearSelection()
            scene.select_wire(edge.key(), add=toggling)
            return _CLICK
        if isinstance(item, FrameItem) and item.title_rect().contains(pos):
            if toggling:
                return None
            if not item.isSelected():
                scene.clearSelection()
                item.setSelected(True)
            members = {n: scene.nodes[n] for n in item.node_ids if n in scene.nodes}
            for other in scene.selectedItems():
                if isinstance(other, NodeItem):
                    members.setdefault(other.node_id, other)
                elif isinstance(other, FrameItem) and other is not item:
                    members.update({n: scene.nodes[n] for n in other.node_ids
                                    if n in scene.nodes})
            return MoveGesture(edit, list(members.values()), None, event)
    if not toggling:
        scene.select_wire(None)
    return None


class _Click:
    """A press that did its work on press (selecting a wire); the drag after it does nothing."""

    def move(self, event: QGraphicsSceneMouseEvent) -> None:
        pass

    def end(self, event: QGraphicsSceneMouseEvent) -> None:
        pass

    def cancel(self) -> None:
        pass


_CLICK = _Click()


def _wires_near(scene, pos: QPointF) -> list[WireItem]:
    """Wires passing within a few scene units of `pos` (wires are thin; this is the grip)."""
    grip = QRectF(pos.x() - WIRE_GRIP, pos.y() - WIRE_GRIP, 2 * WIRE_GRIP, 2 * WIRE_GRIP)
    near = [(distance_to_curve(i.path(), pos), n, i) for n, i in enumerate(scene.items(grip))
            if isinstance(i, WireItem)]
    return [i for d, _n, i in sorted(near) if d <= WIRE_GRIP]


def _node_with_port_near(scene, pos: QPointF, zoom: float) -> NodeItem | None:
    reach = max(PORT_GRAB, PORT_HIT_PX / 2 / max(zoom, 0.01)) + 2.0
    box = QRectF(pos.x() - reach, pos.y() - reach, 2 * reach, 2 * reach)
    for item in scene.items(box):
        if isinstance(item, NodeItem):
            hit = item.port_at(pos, item.port_slack(zoom))
            if hit is not None and _near_dot(item, hit, pos, item.port_slack(zoom)):
                return item
    return None


def _near_dot(item: NodeItem, hit: tuple[str, str], pos, grab: float = PORT_GRAB) -> bool:
    dot = item.port_pos(*hit)
    return QLineF(dot, pos).length() <= grab + 2.0
