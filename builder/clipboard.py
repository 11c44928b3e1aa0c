"""Copy and paste of nodes as workflow JSON text, through the system clipboard.

What is copied is an ordinary workflow document (the selected nodes, the edges among them and the
frames around them), so it pastes into another window, another Flowloom, or a text editor and
back. Pasting accepts that, a bare `{"nodes": [...], "edges": [...]}` object, a list of nodes or a
single node object; every pasted node gets a fresh id in the target workflow and is offset.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Any

from PySide6.QtGui import QGuiApplication

from engine import fileformat, limits
from engine.errors import WorkflowFileError
from engine.model import Edge, Frame, Node, Workflow

_TRAILING_DIGITS = re.compile(r"\d+$")
_ID_PARTS = re.compile(r"^(.*?)(\d+)$")


def selection_text(workflow: Workflow, node_ids: list[str]) -> str:
    """The nodes `node_ids`, the edges among them and their frames, as workflow JSON."""
    chosen = [n for n in workflow.nodes if n in set(node_ids)]
    inside = set(chosen)
    part = workflow.copy()
    nodes = [part.nodes[n] for n in chosen]
    edges = [e for e in part.edges if e.source in inside and e.target in inside]
    frames = [replace(frame, nodes=[n for n in frame.nodes if n in inside])
              for frame in part.frames.values() if inside & set(frame.nodes)]
    return fileformat.dumps(Workflow(name=workflow.name, nodes=nodes, edges=edges,
                                     frames=frames))


def _document(text: str) -> dict[str, Any]:
    if len(text) > limits.MAX_PASTE_CHARS:  # before parsing: reading it is what would hang
        raise WorkflowFileError(f"The clipboard holds {limits.amount(len(text))} characters; "
                                f"the editor pastes at most MAX_PASTE_CHARS = "
                                f"{limits.amount(limits.MAX_PASTE_CHARS)} (engine/limits.py).")
    value, _ = fileformat.read_json(text, "the clipboard")  # NaN, huge numbers, depth: refused
    if isinstance(value, list):
        value = {"nodes": value}
    elif isinstance(value, dict) and "nodes" not in value and "type" in value:
        value = {"nodes": [value]}
    if not isinstance(value, dict) or not isinstance(value.get("nodes"), list):
        raise WorkflowFileError('The clipboard holds JSON but no nodes (expected a workflow or '
                                'an object with a "nodes" list).')
    if len(value["nodes"]) > limits.MAX_PASTE_NODES:
        raise WorkflowFileError(f"The clipboard holds {limits.amount(len(value['nodes']))} "
                                f"nodes; the editor pastes at most MAX_PASTE_NODES = "
                                f"{limits.amount(limits.MAX_PASTE_NODES)} at once "
                                f"(engine/limits.py).")
    value.setdefault("format", fileformat.FORMAT)
    value.setdefault("version", fileformat.VERSION)
    for index, node in enumerate(value["nodes"]):
        if isinstance(node, dict) and "id" not in node:
            node["id"] = f"n{index + 1}"
    return value


def _fresh_ids(workflow: Workflow, old_ids: list[str]) -> dict[str, str]:
    """A fresh id for each pasted node: its prefix and the next number free in `workflow`
    (one pass over the workflow's ids, so pasting many nodes stays linear)."""
    highest: dict[str, int] = {}
    for node_id in workflow.nodes:
        match = _ID_PARTS.match(node_id)
        if match:
            prefix, number = match.group(1), int(match.group(2))
            highest[prefix] = max(highest.get(prefix, 0), number)
    fresh = {}
    for old in old_ids:
        prefix = _TRAILING_DIGITS.sub("", old) or "n"
        number = highest.get(prefix, 0) + 1
        while f"{prefix}{number}" in workflow.nodes:
            number += 1
        highest[prefix] = number
        fresh[old] = f"{prefix}{number}"
    return fresh


def parse_paste(workflow: Workflow, text: str, offset: tuple[float, float] = (40.0, 40.0)
                ) -> tuple[list[Node], list[Edge], list[Frame]]:
    """Nodes (fresh ids, offset), edges among them and frames to paste into `workflow`.

    Raises WorkflowFileError with one sentence when `text` is not pasteable.
    """
    loaded = fileformat.from_document(fileformat.migrate(_document(text), source="the clipboard"))
    source = loaded.workflow
    if not source.nodes:
        raise WorkflowFileError("The clipboard holds a workflow without nodes.")
    ids = _fresh_ids(workflow, list(source.nodes))
    dx, dy = offset
    nodes = [replace(node, id=ids[node.id],
                     position=(node.position[0] + dx, node.position[1] + dy))
             for node in source.nodes.values()]
    edges = [replace(e, source=ids[e.source], target=ids[e.target])
             for e in source.edges if e.source in ids and e.target in ids]
    frames = []
    scratch = Workflow(frames=[Frame(f) for f in workflow.frames])  # the ids taken so far
    for frame in source.frames.values():
        members = [ids[n] for n in frame.nodes if n in ids]
        if not members:
            continue
        fresh = replace(frame, id=scratch.new_frame_id(), nodes=members,
                        extra=copy.deepcopy(frame.extra))
        scratch.add_frame(fresh)
        frames.append(fresh)
    return nodes, edges, frames


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def clipboard_text() -> str:
    return QGuiApplication.clipboard().text()
