"""Editing actions on the canvas selection, each one undo entry on the canvas's stack.

Delete (nodes with their wires, selected wires, selected frames), copy/cut/paste through the
system clipboard as workflow JSON, duplicate, align, distribute, and framing. Functions take the
`Canvas` so the view module stays about viewing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog

from builder import clipboard
from builder.canvas.frame_item import DEFAULT_FRAME_COLOR, FrameItem
from builder.canvas.node_item import NodeItem
from builder.canvas.wire_item import WireItem
from builder.commands import (
    AddFrameCommand,
    AlignNodesCommand,
    DisconnectCommand,
    DistributeNodesCommand,
    EditFrameCommand,
    PasteCommand,
    RemoveFrameCommand,
    RemoveNodesCommand,
)
from engine.errors import WorkflowFileError
from engine.model import Frame

if TYPE_CHECKING:
    from builder.canvas.view import Canvas

PASTE_STEP = 40.0
FRAME_COLORS = ("#5a6f8c", "#5f8467", "#8a6a4f", "#7a5a86", "#4f7f86", "#86705a")


def _selection(canvas: Canvas) -> tuple[list[str], list[WireItem], list[FrameItem]]:
    items = canvas.graph_scene.selectedItems()
    nodes = [i.node_id for i in items if isinstance(i, NodeItem)]
    scene = canvas.graph_scene
    wires = [scene.wires[k] for k in scene.selected_wires if k in scene.wires]
    frames = [i for i in items if isinstance(i, FrameItem)]
    return nodes, wires, frames


def delete_selection(canvas: Canvas) -> None:
    node_ids, wires, frames = _selection(canvas)
    gone = set(node_ids)
    edges = [w.edge for w in wires if w.edge.source not in gone and w.edge.target not in gone]
    commands = []
    if frames:
        commands += [RemoveFrameCommand(canvas.workflow, f.frame_id) for f in frames]
    if edges:
        commands.append(DisconnectCommand(canvas.workflow, edges))
    if node_ids:
        commands.append(RemoveNodesCommand(canvas.workflow, node_ids))
    _push_all(canvas, commands, "Delete selection")


def _push_all(canvas: Canvas, commands: list, text: str) -> None:
    if not commands:
        return
    if len(commands) == 1:
        canvas.undo_stack.push(commands[0])
        return
    canvas.undo_stack.beginMacro(text)
    for command in commands:
        canvas.undo_stack.push(command)
    canvas.undo_stack.endMacro()


def copy_selection(canvas: Canvas) -> bool:
    node_ids = canvas.selected_node_ids()
    if not node_ids:
        canvas.status_message.emit("Nothing to copy: select nodes first")
        return False
    clipboard.copy_text(clipboard.selection_text(canvas.workflow, node_ids))
    canvas.status_message.emit(f"Copied {len(node_ids)} node{'s' if len(node_ids) > 1 else ''}")
    return True


def cut_selection(canvas: Canvas) -> None:
    node_ids = canvas.selected_node_ids()
    if copy_selection(canvas):
        command = RemoveNodesCommand(canvas.workflow, node_ids)
        command.setText(f"Cut {len(node_ids)} node{'s' if len(node_ids) > 1 else ''}")
        canvas.undo_stack.push(command)


def paste_text(canvas: Canvas, text: str, offset: tuple[float, float]) -> list[str]:
    """Paste workflow JSON `text`; returns the new node ids (and selects them)."""
    try:
        nodes, edges, frames = clipboard.parse_paste(canvas.workflow, text, offset)
    except WorkflowFileError as exc:
        canvas.status_message.emit(f"Cannot paste: {exc}")
        return []
    canvas.undo_stack.push(PasteCommand(canvas.workflow, nodes, edges, frames))
    ids = [n.id for n in nodes]
    canvas.select_nodes(ids)
    return ids


def paste(canvas: Canvas) -> list[str]:
    text = clipboard.clipboard_text()
    if not text.strip():
        canvas.status_message.emit("Nothing to paste: the clipboard is empty")
        return []
    # Pasting the same text again steps further, so repeated pastes do not pile up.
    count = canvas.property("flowloom_paste_count") or 0
    if canvas.property("flowloom_paste_text") != text:
        count = 0
    count += 1
    canvas.setProperty("flowloom_paste_text", text)
    canvas.setProperty("flowloom_paste_count", count)
    return paste_text(canvas, text, (PASTE_STEP * count, PASTE_STEP * count))


def duplicate_selection(canvas: Canvas) -> list[str]:
    node_ids = canvas.selected_node_ids()
    if not node_ids:
        return []
    text = clipboard.selection_text(canvas.workflow, node_ids)
    return paste_text(canvas, text, (PASTE_STEP, PASTE_STEP))


def node_rects(canvas: Canvas, node_ids: list[str]) -> dict[str, tuple[float, float, float, float]]:
    rects = {}
    for node_id in node_ids:
        item = canvas.graph_scene.nodes[node_id]
        pos = item.pos()
        rects[node_id] = (pos.x(), pos.y(), item.width, item.height)
    return rects


def align_selection(canvas: Canvas, edge: str) -> None:
    node_ids = canvas.selected_node_ids()
    if len(node_ids) < 2:
        canvas.status_message.emit("Select two or more nodes to align them")
        return
    command = AlignNodesCommand(canvas.workflow, node_rects(canvas, node_ids), edge)
    if any(old != new for old, new in command.moves.values()):
        canvas.undo_stack.push(command)


def distribute_selection(canvas: Canvas, axis: str) -> None:
    node_ids = canvas.selected_node_ids()
    if len(node_ids) < 3:
        canvas.status_message.emit("Select three or more nodes to distribute them")
        return
    command = DistributeNodesCommand(canvas.workflow, node_rects(canvas, node_ids), axis)
    if any(old != new for old, new in command.moves.values()):
        canvas.undo_stack.push(command)


def frame_selection(canvas: Canvas, title: str = "Frame") -> str | None:
    node_ids = canvas.selected_node_ids()
    if not node_ids:
        canvas.status_message.emit("Select nodes to put in a frame")
        return None
    frame_id = canvas.workflow.new_frame_id()
    color = FRAME_COLORS[(int(frame_id[1:]) - 1) % len(FRAME_COLORS)]
    frame = Frame(frame_id, title=title, color=color or DEFAULT_FRAME_COLOR, nodes=node_ids)
    canvas.undo_stack.push(AddFrameCommand(canvas.workflow, frame))
    return frame_id


def rename_frame(canvas: Canvas, frame_id: str) -> None:
    item = canvas.graph_scene.frames.get(frame_id)
    if item is None:
        return
    title, ok = QInputDialog.getText(canvas, "Rename frame", "Title:", text=item.frame.title)
    if ok and title != item.frame.title:
        canvas.undo_stack.push(EditFrameCommand(canvas.workflow, frame_id, title=title))
