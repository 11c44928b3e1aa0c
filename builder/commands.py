"""Undo commands: one QUndoCommand per user action on the workflow.

Each command changes only the model, through `Workflow`'s public methods; the canvas items follow
the model's notifications. Pushing a command onto a QUndoStack performs it. Removals record list
positions so undo restores node and edge order exactly (the saved form is byte-identical).

Frames are the workflow's `Frame`s: AddFrameCommand, RemoveFrameCommand and EditFrameCommand change
one frame each through `add_frame`/`remove_frame`/`update_frame`, so only that frame's item is
redrawn; deleting nodes takes them out of their frames (a frame left empty goes too).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from PySide6.QtGui import QUndoCommand

from builder.arrange import align_moves, distribute_moves
from engine.connect import ConnectPlan, connect_plan
from engine.model import Edge, Frame, Node, Workflow
from engine.registry import Registry

NODE_SETTINGS = ("title", "retry", "timeout_s", "on_error")

_MOVE_ID = 1001
_PARAM_ID = 1002
_FIELD_ID = 1003


def _node_name(workflow: Workflow, node_id: str) -> str:
    node = workflow.nodes.get(node_id)
    return (node.title or node.id) if node is not None else node_id


# --- nodes ------------------------------------------------------------------------------------
class AddNodeCommand(QUndoCommand):
    def __init__(self, workflow: Workflow, node: Node, index: int | None = None) -> None:
        super().__init__(f"Add node {node.title or node.id}")
        self.workflow, self.node, self.index = workflow, node, index

    def redo(self) -> None:
        self.workflow.add_node(self.node, self.index)

    def undo(self) -> None:
        self.workflow.remove_node(self.node.id)


class RemoveNodesCommand(QUndoCommand):
    """Removes nodes, their edges and their frame memberships (frames left empty go too)."""

    def __init__(self, workflow: Workflow, node_ids: list[str]) -> None:
        names = ", ".join(_node_name(workflow, n) for n in node_ids[:3])
        more = f" and {len(node_ids) - 3} more" if len(node_ids) > 3 else ""
        super().__init__(f"Delete {names}{more}")
        self.workflow = workflow
        self.node_ids = list(dict.fromkeys(node_ids))
        self._removed: list[tuple[Node, int, list[tuple[Edge, int]]]] = []
        # Frame changes, in order: ("nodes", frame id, members before) or ("gone", frame, index).
        self._frames: list[tuple[str, Any, Any]] = []

    def redo(self) -> None:
        wf = self.workflow
        gone = set(self.node_ids)
        self._removed = [wf.remove_node(node_id) for node_id in self.node_ids]
        self._frames = []
        for frame in list(wf.frames.values()):
            if not gone & set(frame.nodes):
                continue
            members = [n for n in frame.nodes if n not in gone]
            if members:
                self._frames.append(("nodes", frame.id, wf.update_frame(frame.id,
                                                                        nodes=members)["nodes"]))
            else:
                self._frames.append(("gone", *wf.remove_frame(frame.id)))

    def undo(self) -> None:
        wf = self.workflow
        for what, subject, before in reversed(self._frames):
            if what == "gone":
                wf.add_frame(subject, before)
            else:
                wf.update_frame(subject, nodes=before)
        for node, index, edges in reversed(self._removed):
            wf.add_node(node, index)
            for edge, edge_index in edges:
                wf.add_edge(edge, edge_index)


class MoveNodesCommand(QUndoCommand):
    """Moves nodes: `moves` maps node id -> (old position, new position).

    Commands built with the same non-None `merge_key` merge into one entry (e.g. arrow-key nudges
    or a drag that pushes while it continues); a merged move that ends where it began is dropped.
    """

    def __init__(self, workflow: Workflow,
                 moves: dict[str, tuple[tuple[float, float], tuple[float, float]]],
                 merge_key: object | None = None, text: str = "") -> None:
        count = len(moves)
        label = _node_name(workflow, next(iter(moves))) if count == 1 else f"{count} nodes"
        super().__init__(text or f"Move {label}")
        self.workflow = workflow
        self.moves = {k: ((float(o[0]), float(o[1])), (float(n[0]), float(n[1])))
                      for k, (o, n) in moves.items()}
        self.merge_key = merge_key

    def redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.workflow.update_node(node_id, position=new)

    def undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.workflow.update_node(node_id, position=old)

    def id(self) -> int:
        return _MOVE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (not isinstance(other, MoveNodesCommand) or self.merge_key is None
                or other.merge_key != self.merge_key or other.workflow is not self.workflow):
            return False
        for node_id, (old, new) in other.moves.items():
            first = self.moves.get(node_id, (old, new))[0]
            self.moves[node_id] = (first, new)
        self.setObsolete(all(old == new for old, new in self.moves.values()))
        return True


class AlignNodesCommand(MoveNodesCommand):
    """Aligns nodes; `rects` gives each node's (x, y, width, height) as drawn."""

    def __init__(self, workflow: Workflow, rects: dict[str, tuple[float, float, float, float]],
                 edge: str) -> None:
        super().__init__(workflow, align_moves(rects, edge), text=f"Align {len(rects)} nodes "
                         f"({edge})")


class DistributeNodesCommand(MoveNodesCommand):
    def __init__(self, workflow: Workflow, rects: dict[str, tuple[float, float, float, float]],
                 axis: str) -> None:
        word = "horizontally" if axis == "h" else "vertically"
        super().__init__(workflow, distribute_moves(rects, axis),
                         text=f"Distribute {len(rects)} nodes {word}")


# --- edges ------------------------------------------------------------------------------------
class ConnectPortsCommand(QUndoCommand):
    """Carries out a connect plan (engine/connect.py): removes the wires it names (a picked-up
    wire, the wire a single input held), then adds the new edge — one undo entry.

    Given a bare edge and a `registry`, the plan is made here and a connection the engine
    refuses raises ValueError; given a bare edge and no registry, the edge is added as is."""

    def __init__(self, workflow: Workflow, edge: Edge | ConnectPlan,
                 registry: Registry | None = None, text: str = "") -> None:
        if isinstance(edge, ConnectPlan):
            plan = edge
        elif registry is not None:
            plan = connect_plan(workflow, registry, edge)
        else:
            plan = ConnectPlan(edge, add=(edge,))
        if plan.problem is not None:
            raise ValueError(f"cannot connect {plan.edge}: {plan.problem}")
        new = plan.edge
        super().__init__(text or f"Connect {new.source}.{new.source_port} to "
                         f"{new.target}.{new.target_port}")
        self.workflow, self.edge, self.plan = workflow, new, plan
        self._removed: list[tuple[Edge, int]] = []

    def redo(self) -> None:
        wf = self.workflow
        self._removed = [(old, wf.remove_edge(old)) for old in self.plan.remove]
        for edge in self.plan.add:
            wf.add_edge(edge)

    def undo(self) -> None:
        wf = self.workflow
        for edge in reversed(self.plan.add):
            wf.remove_edge(edge)
        for old, index in reversed(self._removed):
            wf.add_edge(old, index)


class DisconnectCommand(QUndoCommand):
    def __init__(self, workflow: Workflow, edges: list[Edge]) -> None:
        text = f"Disconnect {edges[0]}" if len(edges) == 1 else f"Disconnect {len(edges)} wires"
        super().__init__(text)
        self.workflow, self.edges = workflow, list(edges)
        self._removed: list[tuple[Edge, int]] = []

    def redo(self) -> None:
        self._removed = [(e, self.workflow.remove_edge(e)) for e in self.edges]

    def undo(self) -> None:
        for edge, index in reversed(self._removed):
            self.workflow.add_edge(edge, index)


# --- node contents ----------------------------------------------------------------------------
class SetParamCommand(QUndoCommand):
    """Sets one parameter (None removes it); consecutive edits of the same parameter merge."""

    def __init__(self, workflow: Workflow, node_id: str, name: str, value: Any) -> None:
        super().__init__(f"Set {name} of {_node_name(workflow, node_id)}")
        self.workflow, self.node_id, self.name, self.value = workflow, node_id, name, value
        self._before: dict[str, Any] | None = None

    def redo(self) -> None:
        node = self.workflow.node(self.node_id)
        if self._before is None:
            self._before = copy.deepcopy(node.params)
        self.workflow.set_param(self.node_id, self.name, copy.deepcopy(self.value))

    def undo(self) -> None:
        self.workflow.update_node(self.node_id, params=copy.deepcopy(self._before))

    def id(self) -> int:
        return _PARAM_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (isinstance(other, SetParamCommand) and other.workflow is self.workflow
                and other.node_id == self.node_id and other.name == self.name):
            return False
        self.value = other.value
        self.setObsolete(self.workflow.node(self.node_id).params == self._before)
        return True


class SetNodeFieldCommand(QUndoCommand):
    """Sets one node setting (title, retry, timeout_s, on_error); repeated edits merge."""

    def __init__(self, workflow: Workflow, node_id: str, field: str, value: Any) -> None:
        if field not in NODE_SETTINGS:
            settable = ", ".join(NODE_SETTINGS)
            raise ValueError(f"cannot set {field!r} of a node; settable: {settable}")
        super().__init__(f"Set {field} of {_node_name(workflow, node_id)}")
        self.workflow, self.node_id, self.field, self.value = workflow, node_id, field, value
        self._before: Any = None
        self._captured = False

    def redo(self) -> None:
        before = self.workflow.update_node(self.node_id, **{self.field: copy.deepcopy(self.value)})
        if not self._captured:
            self._before, self._captured = before[self.field], True

    def undo(self) -> None:
        self.workflow.update_node(self.node_id, **{self.field: copy.deepcopy(self._before)})

    def id(self) -> int:
        return _FIELD_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (isinstance(other, SetNodeFieldCommand) and other.workflow is self.workflow
                and other.node_id == self.node_id and other.field == self.field):
            return False
        self.value = other.value
        self.setObsolete(getattr(self.workflow.node(self.node_id), self.field) == self._before)
        return True


# --- paste and frames -------------------------------------------------------------------------
class AddFrameCommand(QUndoCommand):
    def __init__(self, workflow: Workflow, frame: Frame, index: int | None = None) -> None:
        super().__init__(f"Add frame {frame.title or frame.id}")
        self.workflow, self.index = workflow, index
        self.frame = replace(frame, nodes=list(frame.nodes), extra=copy.deepcopy(frame.extra))

    def redo(self) -> None:
        self.workflow.add_frame(self.frame, self.index)

    def undo(self) -> None:
        self.workflow.remove_frame(self.frame.id)


class RemoveFrameCommand(QUndoCommand):
    """Removes a frame (its nodes stay)."""

    def __init__(self, workflow: Workflow, frame_id: str) -> None:
        super().__init__(f"Remove frame {frame_id}")
        self.workflow, self.frame_id = workflow, frame_id
        self._removed: tuple[Frame, int] | None = None

    def redo(self) -> None:
        self._removed = self.workflow.remove_frame(self.frame_id)

    def undo(self) -> None:
        frame, index = self._removed
        self.workflow.add_frame(frame, index)


class EditFrameCommand(QUndoCommand):
    """Changes a frame's fields (title, color, nodes)."""

    def __init__(self, workflow: Workflow, frame_id: str, **changes: Any) -> None:
        unknown = set(changes) - {"title", "color", "nodes"}
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)} of a frame")
        super().__init__(f"Edit frame {', '.join(changes)}")
        self.workflow, self.frame_id, self.changes = workflow, frame_id, copy.deepcopy(changes)
        self._before: dict[str, Any] = {}

    def redo(self) -> None:
        self._before = self.workflow.update_frame(self.frame_id, **copy.deepcopy(self.changes))

    def undo(self) -> None:
        self.workflow.update_frame(self.frame_id, **self._before)


class PasteCommand(QUndoCommand):
    """Adds pasted nodes (ids already fresh), the edges among them and their frames."""

    def __init__(self, workflow: Workflow, nodes: list[Node], edges: list[Edge],
                 frames: list[Frame] | None = None, text: str = "") -> None:
        super().__init__(text or f"Paste {len(nodes)} node{'s' if len(nodes) != 1 else ''}")
        self.workflow, self.nodes, self.edges = workflow, list(nodes), list(edges)
        self.frames = list(frames or [])

    def redo(self) -> None:
        wf = self.workflow
        for node in self.nodes:
            wf.add_node(node)
        for edge in self.edges:
            wf.add_edge(edge)
        for frame in self.frames:
            wf.add_frame(frame)

    def undo(self) -> None:
        wf = self.workflow
        for frame in reversed(self.frames):
            wf.remove_frame(frame.id)
        for edge in reversed(self.edges):
            wf.remove_edge(edge)
        for node in reversed(self.nodes):
            wf.remove_node(node.id)
