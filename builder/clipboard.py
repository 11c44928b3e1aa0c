"""Copy and paste of nodes as workflow JSON text, through the system clipboard.

What is copied is an ordinary workflow document (the selected nodes, the edges among them and the
frames around them), so it pastes into another window, another Flowloom, or a text editor and
back. Pasting accepts that, a bare `{"nodes": [...], "edges": [...]}` object, a list of nodes or a
single node object; every pasted node gets a fresh id in the target workflow and is offset.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from typing import Any

from PySide6.QtGui import QGuiApplication

from builder.commands import frames_of, new_frame_id
from engine import fileformat
from engine.errors import WorkflowFileError
from engine.model import Edge, Node, Workflow

_TRAILING_DIGITS = re.compile(r"\d+$")


def selection_text(workflow: Workflow, node_ids: list[str]) -> str:
    """The nodes `node_ids`, the edges among them and their frames, as workflow JSON."""
    chosen = [n for n in workflow.nodes if n in set(node_ids)]
    inside = set(chosen)
    part = workflow.copy()
    nodes = [part.nodes[n] for n in chosen]
    edges = [e for e in part.edges if e.source in inside and e.target in inside]
    frames = []
    for frame in frames_of(workflow):
        members = [n for n in frame.get("nodes", []) if n in inside]
        if members:
            frames.append({**copy.deepcopy(frame), "nodes": members})
    extra = {"frames": frames} if frames else {}
    return fileformat.dumps(Workflow(name=workflow.name, nodes=nodes, edges=edges, extra=extra))


def _document(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowFileError(f"The clipboard does not hold workflow JSON ({exc.msg} at line "
                                f"{exc.lineno}).") from None
    if isinstance(value, list):
        value = {"nodes": value}
    elif isinstance(value, dict) and "nodes" not in value and "type" in value:
        value = {"nodes": [value]}
    if not isinstance(value, dict) or not isinstance(value.get("nodes"), list):
        raise WorkflowFileError('The clipboard holds JSON but no nodes (expected a workflow or '
                                'an object with a "nodes" list).')
    value.setdefault("format", fileformat.FORMAT)
    value.setdefault("version", fileformat.VERSION)
    for index, node in enumerate(value["nodes"]):
        if isinstance(node, dict) and "id" not in node:
            node["id"] = f"n{index + 1}"
    return value


def _fresh_id(workflow: Workflow, old_id: str, taken: set[str]) -> str:
    prefix = _TRAILING_DIGITS.sub("", old_id) or "n"
    candidate = workflow.new_node_id(prefix)
    number = int(candidate[len(prefix):])
    while candidate in taken or candidate in workflow.nodes:
        number += 1
        candidate = f"{prefix}{number}"
    taken.add(candidate)
    return candidate


def parse_paste(workflow: Workflow, text: str, offset: tuple[float, float] = (40.0, 40.0)
                ) -> tuple[list[Node], list[Edge], list[dict[str, Any]]]:
    """Nodes (fresh ids, offset), edges among them and frames to paste into `workflow`.

    Raises WorkflowFileError with one sentence when `text` is not pasteable.
    """
    loaded = fileformat.from_document(fileformat.migrate(_document(text), source="the clipboard"))
    source = loaded.workflow
    if not source.nodes:
        raise WorkflowFileError("The clipboard holds a workflow without nodes.")
    taken: set[str] = set()
    ids = {old: _fresh_id(workflow, old, taken) for old in source.nodes}
    dx, dy = offset
    nodes = [replace(node, id=ids[node.id],
                     position=(node.position[0] + dx, node.position[1] + dy))
             for node in source.nodes.values()]
    edges = [replace(e, source=ids[e.source], target=ids[e.target])
             for e in source.edges if e.source in ids and e.target in ids]
    frames = []
    scratch = workflow.copy()
    for frame in frames_of(source):
        members = [ids[n] for n in frame.get("nodes", []) if n in ids]
        if not members:
            continue
        fresh = {**copy.deepcopy(frame), "id": new_frame_id(scratch), "nodes": members}
        scratch.extra["frames"] = frames_of(scratch) + [fresh]
        frames.append(fresh)
    return nodes, edges, frames


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def clipboard_text() -> str:
    return QGuiApplication.clipboard().text()
