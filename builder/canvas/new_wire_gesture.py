"""New-wire gesture: dragging from a port (or a picked-up wire end) to another port.

While dragging, a live bezier follows the cursor and snaps to the port under it; ports of visible
nodes glow when the engine would accept the connection and dim when not. What a drop over a port
(or a node body: its first acceptable port) does is the engine's `connect_plan` — the same plan
marks the ports, refuses with its reason (said through the edit context), and is carried out by one
ConnectPortsCommand (replacing a single input's wire, removing a picked-up one). Released over
empty space, a new wire opens quick-add filtered to compatible types; a picked-up wire is removed.
Picking up a wire and dropping it elsewhere is one undo entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsSceneMouseEvent

from builder.canvas.node_item import NodeItem
from builder.canvas.wire_item import WireItem
from builder.commands import ConnectPortsCommand, DisconnectCommand
from engine.connect import ConnectPlan, connect_plan
from engine.model import Edge

if TYPE_CHECKING:
    from builder.canvas.edit_context import EditContext


class NewWireGesture:
    """`side` is the side of the fixed end: "out" drags toward inputs, "in" toward outputs."""

    def __init__(self, edit: EditContext, item: NodeItem, side: str, port: str,
                 detached: Edge | None = None) -> None:
        self.edit = edit
        self.item, self.side, self.port = item, side, port
        self.detached = detached
        scene = edit.scene
        self.hidden = scene.wires.get(detached.key()) if detached is not None else None
        if self.hidden is not None:
            self.hidden.setVisible(False)
        self.preview = WireItem(None, scene.look, item.port_type(side, port))
        self.preview.setZValue(5.0)
        scene.addItem(self.preview)
        self.marked: list[NodeItem] = []
        self._mark_ports()
        anchor = item.port_pos(side, port)
        self._draw(anchor)

    # --- helpers ------------------------------------------------------------------------------
    def _edge_to(self, other: NodeItem, other_port: str) -> Edge:
        if self.side == "out":
            return Edge(self.item.node_id, self.port, other.node_id, other_port)
        return Edge(other.node_id, other_port, self.item.node_id, self.port)

    def _plan(self, edge: Edge) -> ConnectPlan:
        return connect_plan(self.edit.workflow, self.edit.registry, edge, self.detached)

    def _problem(self, edge: Edge) -> str | None:
        return self._plan(edge).problem

    def _mark_ports(self) -> None:
        other_side = "in" if self.side == "out" else "out"
        for node in self.edit.visible_nodes():
            if node is self.item:
                continue
            ports = node.content.inputs if other_side == "in" else node.content.outputs
            marks = {(other_side, p.name): self._problem(self._edge_to(node, p.name)) is None
                     for p in ports}
            node.set_port_marks(marks)
            self.marked.append(node)

    def _target(self, scene_pos: QPointF) -> tuple[NodeItem | None, str | None, str | None]:
        """(node under the cursor, chosen port, why not) for a drop at `scene_pos`."""
        other_side = "in" if self.side == "out" else "out"
        node = self.edit.scene.node_at(scene_pos)
        if node is None:
            return None, None, None
        if node is self.item:
            return node, None, "a node cannot be wired to itself"
        hit = node.port_at(scene_pos)
        if hit is not None and hit[0] == other_side:
            return node, hit[1], self._problem(self._edge_to(node, hit[1]))
        ports = node.content.inputs if other_side == "in" else node.content.outputs
        if not ports:
            return node, None, f"{node.content.title} has no {other_side}puts"
        reasons = []
        for port in ports:
            problem = self._problem(self._edge_to(node, port.name))
            if problem is None:
                return node, port.name, None
            reasons.append(problem)
        return node, ports[0].name, reasons[0]

    def _draw(self, cursor: QPointF) -> None:
        anchor = self.item.port_pos(self.side, self.port)
        if self.side == "out":
            self.preview.set_ends(anchor, cursor)
        else:
            self.preview.set_ends(cursor, anchor)

    def _cleanup(self) -> None:
        scene = self.edit.scene
        scene.removeItem(self.preview)
        for node in self.marked:
            if node.scene() is scene:
                node.set_port_marks({})
        self.marked = []

    # --- gesture ------------------------------------------------------------------------------
    def move(self, event: QGraphicsSceneMouseEvent) -> None:
        pos = event.scenePos()
        node, port, problem = self._target(pos)
        if node is not None and port is not None and problem is None:
            other_side = "in" if self.side == "out" else "out"
            pos = node.port_pos(other_side, port)
        self._draw(pos)

    def end(self, event: QGraphicsSceneMouseEvent) -> None:
        self._cleanup()
        edit = self.edit
        pos = event.scenePos()
        node, port, problem = self._target(pos)
        if node is None:
            if self.hidden is not None:
                edit.undo_stack.push(DisconnectCommand(edit.workflow, [self.detached]))
                edit.say(f"Removed the wire {self.detached}")
            else:
                edit.open_quick_add(pos, (self.item.node_id, self.side, self.port))
            return
        edge = self._edge_to(node, port) if port is not None else None
        if problem is not None or edge is None:
            self._restore()
            what = f"{edge}" if edge is not None else "these nodes"
            edit.say(f"Cannot connect {what}: {problem}")
            return
        plan = self._plan(edge)
        if not plan.changes:  # dropped back where it was picked up
            self._restore()
            return
        text = ""
        if self.detached is not None:
            text = f"Reconnect {self.detached.source}.{self.detached.source_port}"
        edit.undo_stack.push(ConnectPortsCommand(edit.workflow, plan, text=text))
        if plan.replaced:
            edit.say(f"Connected {edge} (replacing {plan.replaced[0]})")
        else:
            edit.say(f"Connected {edge}")

    def _restore(self) -> None:
        if self.hidden is not None:
            self.hidden.setVisible(True)

    def cancel(self) -> None:
        self._cleanup()
        self._restore()

