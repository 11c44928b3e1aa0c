"""Reading and writing `.loom.json` workflow files — the only module that does either.

Reading: text -> JSON (one clear sentence if it is not JSON or not a workflow) -> version check
-> migration chain (MIGRATIONS[n] turns a version-n document into version n+1) -> records ->
`Workflow`. Entries that cannot be read (a node without an id, a duplicate id, an edge that is
not an object) are reported as problems while the rest loads; semantic checks (node types,
ports, params) are engine/validate.py's job and are added by `load()` when a registry is given.

Writing is canonical, so a file written by Flowloom and loaded again is written back byte for
byte: known keys in a fixed order, unknown keys (kept, never dropped) after them in sorted order,
parameters sorted by name, 2-space indentation, and a container that holds only scalars on one
line when it fits in 100 columns. Saves are atomic: temp file in the same folder, fsync, rename.

The JSON text itself is read within engine/limits.py by engine/jsonread.py; a usual file
(current version, ordinary nodes and edges, no problem) is read in one pass by
engine/fastload.py, which gives the Workflow this module's general reader gives (issue #17);
frames' records are in engine/frame_records.py.
"""

from __future__ import annotations

import json
import math
import operator
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import limits
from engine.errors import Problem, WorkflowFileError
from engine.fastload import usual_workflow
from engine.frame_records import FRAMES_KEY, frame_records, read_frames
from engine.jsonread import _colons_outside_strings as _colons_outside_strings
from engine.jsonread import _plain_numbers as _plain_numbers
from engine.jsonread import _Reader as _Reader
from engine.jsonread import _within_depth as _within_depth
from engine.jsonread import json_depth as json_depth
from engine.jsonread import read_json
from engine.model import Edge, Frame, Node, Workflow, new_edge
from engine.nodetype import NodeType, Port
from engine.registry import upgrade_type_ids
from engine.secretparams import secret_literal_problems
from engine.validate import check_details

FORMAT = "flowloom.workflow"
VERSION = 1
SUFFIX = ".loom.json"

# version n -> function turning a version-n document into a version-(n+1) one.
Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}

_DOC_KEYS = ("format", "version", "name", "description", "nodes", "edges")
_NODE_KEYS = ("id", "type", "title", "params", "position", "retry", "timeout_s", "on_error",
              "limits", "pool", "priority")
_EDGE_KEYS = ("source", "source_port", "target", "target_port")
_NODE_KEY_SET = frozenset(_NODE_KEYS)
_NODE_BASE_KEYS = frozenset(("id", "type", "title", "params", "position"))
_LINE_WIDTH = 100
_TYPE = operator.attrgetter("type")


@dataclass
class Loaded:
    """A workflow read from a file, the problems found in it, and what the check worked out."""

    workflow: Workflow
    problems: list[Problem] = field(default_factory=list)
    # With a registry: each known node's (inputs, outputs) as the check found them, for
    # compile_workflow(..., ports=...) to reuse while the workflow is unchanged.
    ports: dict[str, tuple[dict[str, Port], dict[str, Port]]] | None = field(default=None,
                                                                           repr=False)
    # With a registry, also each known node's type and its params with defaults filled
    # (compile_workflow(..., types=..., params=...); nodes with equal params share one dict).
    types: dict[str, type[NodeType]] | None = field(default=None, repr=False)
    params: dict[str, dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


# --- reading ------------------------------------------------------------------------------

def parse(text: str, source: str = "the workflow") -> dict[str, Any]:
    """JSON text -> a migrated document of the current version, or WorkflowFileError."""
    return _parse(text, source)[0]


def _parse(text: str, source: str) -> tuple[dict[str, Any], list[Problem]]:
    doc, problems = read_json(text, source)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise WorkflowFileError(
            f"{source} is not a Flowloom workflow: expected a JSON object with "
            f'"format": "{FORMAT}".'
        )
    return migrate(doc, source=source), problems


def migrate(doc: dict[str, Any], migrations: dict[int, Migration] | None = None,
            target: int = VERSION, source: str = "the workflow") -> dict[str, Any]:
    """Run the migration chain from the document's version up to `target`."""
    chain = MIGRATIONS if migrations is None else migrations
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise WorkflowFileError(f"{source} has no valid \"version\" (got {version!r}).")
    if version > target:
        raise WorkflowFileError(
            f"{source} was written by a newer Flowloom (format version {version}); "
            f"this version reads versions up to {target}."
        )
    while version < target:
        step = chain.get(version)
        if step is None:
            raise WorkflowFileError(f"{source} is format version {version}, which cannot be "
                                    f"migrated to {target}.")
        doc = step(dict(doc))
        version += 1
        doc["version"] = version
    return doc


def _number_pair(value: Any) -> bool:
    if type(value) is list and len(value) == 2:  # the usual [x, y]: plain ints, finite floats
        x, y = value
        if ((type(x) is int or type(x) is float and math.isfinite(x))
                and (type(y) is int or type(y) is float and math.isfinite(y))):
            return True
    return (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    and math.isfinite(v) for v in value))


def _read_node(raw: Any, index: int, problems: list[Problem]) -> Node | None:
    where = f"node #{index + 1}"
    if not isinstance(raw, dict):
        problems.append(Problem(f"{where} is not a JSON object; it was left out"))
        return None
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not node_id:
        problems.append(Problem(f'{where} has no "id" string; it was left out'))
        return None
    node_type = raw.get("type")
    if not isinstance(node_type, str) or not node_type:
        problems.append(Problem('has no "type" string; it was left out', node_id=node_id))
        return None
    node = Node(id=node_id, type=node_type,
                extra={} if raw.keys() <= _NODE_KEY_SET
                else {k: v for k, v in raw.items() if k not in _NODE_KEYS})
    title = raw.get("title", "")
    if isinstance(title, str):
        node.title = title
    else:
        problems.append(Problem('"title" must be a string', node_id=node_id))
    params = raw.get("params", {})
    if isinstance(params, dict):
        node.params = params
    else:
        problems.append(Problem('"params" must be an object', node_id=node_id))
    position = raw.get("position", [0, 0])
    if _number_pair(position):
        node.position = (position[0], position[1])
    else:
        problems.append(Problem('"position" must be [x, y] numbers', node_id=node_id))
    if raw.keys() <= _NODE_BASE_KEYS:  # the usual node: none of the settings below
        return node
    if "retry" in raw:
        node.retry = raw["retry"]  # shape checked by validate.py, kept as written
    if "timeout_s" in raw:
        node.timeout_s = raw["timeout_s"]
    if "on_error" in raw:
        node.on_error = raw["on_error"]
    if "limits" in raw:
        node.limits = raw["limits"]  # shape checked by validate.py, kept as written
    if "pool" in raw:
        node.pool = raw["pool"]  # checked by validate.py against the workflow's "pools"
    if "priority" in raw:
        node.priority = raw["priority"]
    return node


def _usual_node(raw: Any) -> Node | None:
    """The node of an entry with only the usual keys, each of the usual type (an id and a
    type string, a title string, a params object, an [x, y] of plain numbers), else None:
    _read_node reads that entry and says what is wrong with it."""
    if type(raw) is not dict or not raw.keys() <= _NODE_BASE_KEYS:
        return None
    node_id, node_type = raw.get("id"), raw.get("type")
    title, params = raw.get("title", ""), raw.get("params", {})
    position = raw.get("position", _ORIGIN)
    if (type(node_id) is str and node_id and type(node_type) is str and node_type
            and type(title) is str and type(params) is dict and type(position) is list
            and len(position) == 2):
        x, y = position
        if ((type(x) is int or type(x) is float and math.isfinite(x))
                and (type(y) is int or type(y) is float and math.isfinite(y))):
            return Node(node_id, node_type, title, params, (x, y))
    return None


_ORIGIN = [0, 0]


def _edge_key(raw: Any) -> tuple[str, str, str, str] | None:
    """(source, source_port, target, target_port) of a raw edge, if each is a non-empty str."""
    if not isinstance(raw, dict):
        return None
    key = (raw.get("source"), raw.get("source_port"), raw.get("target"), raw.get("target_port"))
    for part in key:
        if not isinstance(part, str) or not part:
            return None
    return key  # type: ignore[return-value]


def _read_edge(raw: Any, index: int, problems: list[Problem],
               key: tuple[str, str, str, str] | None = None) -> Edge | None:
    """`key`: `_edge_key(raw)`, when the caller has it."""
    if (key or _edge_key(raw)) is None:
        problems.append(Problem(
            f"edge #{index + 1} must be an object with string fields source, source_port, "
            f"target, target_port; it was left out"))
        return None
    return Edge(raw["source"], raw["source_port"], raw["target"], raw["target_port"],
                extra={} if len(raw) == 4  # the four keys only (checked just above)
                else {k: v for k, v in raw.items() if k not in _EDGE_KEYS})


def _read_nodes(raw_nodes: list[Any], problems: list[Problem]) -> dict[str, Node]:
    """The nodes by id, entry by entry: each problem noted, the entries in error left out."""
    nodes: dict[str, Node] = {}
    for index, raw in enumerate(raw_nodes):
        node = _usual_node(raw)
        if node is None:
            node = _read_node(raw, index, problems)
            if node is None:
                continue
        if node.id in nodes:
            problems.append(Problem(f"duplicate node id (node #{index + 1} repeats it); "
                                    f"the repeat was left out", node_id=node.id))
            continue
        nodes[node.id] = node
    return nodes


def _read_edges(raw_edges: list[Any], problems: list[Problem]) -> list[Edge]:
    """The edges, entry by entry: each problem noted, the entries in error left out."""
    edges: list[Edge] = []
    seen: set[tuple[str, str, str, str]] = set()
    for index, raw in enumerate(raw_edges):
        if type(raw) is dict and len(raw) == 4:  # the usual edge: its four strings only
            key = (raw.get("source"), raw.get("source_port"), raw.get("target"),
                   raw.get("target_port"))
            source, source_port, target, target_port = key
            if (type(source) is str and type(source_port) is str and type(target) is str
                    and type(target_port) is str and source and source_port and target
                    and target_port and key not in seen):
                seen.add(key)
                edges.append(new_edge(source, source_port, target, target_port))
                continue
        key = _edge_key(raw)
        if key is not None and key in seen:  # (a repeat is not built only to be dropped)
            problems.append(Problem("the same edge is listed twice; the repeat was left out",
                                    edge=key))
            continue
        edge = _read_edge(raw, index, problems, key)
        if edge is None:
            continue
        seen.add(key)  # type: ignore[arg-type]
        edges.append(edge)
    return edges


def from_document(doc: dict[str, Any]) -> Loaded:
    """A current-version document -> Workflow, with the problems of entries left out."""
    problems: list[Problem] = []
    name = doc.get("name", "")
    description = doc.get("description", "")
    if not isinstance(name, str):
        problems.append(Problem('"name" must be a string'))
        name = str(name)
    if not isinstance(description, str):
        problems.append(Problem('"description" must be a string'))
        description = str(description)
    raw_nodes = doc.get("nodes", [])
    raw_edges = doc.get("edges", [])
    if not isinstance(raw_nodes, list):
        problems.append(Problem('"nodes" must be a list'))
        raw_nodes = []
    if not isinstance(raw_edges, list):
        problems.append(Problem('"edges" must be a list'))
        raw_edges = []
    for entries, what, limit_name, limit in (
            (raw_nodes, "nodes", "MAX_NODES", limits.MAX_NODES),
            (raw_edges, "edges", "MAX_EDGES", limits.MAX_EDGES)):
        if len(entries) > limit:  # refused whole: loading a part would lose the rest on save
            raise WorkflowFileError(f"the workflow has {limits.amount(len(entries))} {what}; "
                                    f"the limit is {limit_name} = {limits.amount(limit)} "
                                    f"(engine/limits.py).")
    nodes = _read_nodes(raw_nodes, problems)
    edges = _read_edges(raw_edges, problems)
    extra = {k: v for k, v in doc.items() if k not in _DOC_KEYS}
    frames: list[Frame] = []
    if isinstance(extra.get(FRAMES_KEY), list):
        frames = read_frames(extra.pop(FRAMES_KEY), problems)
    elif FRAMES_KEY in extra:  # kept as written (and saved back), but not shown
        problems.append(Problem('"frames" must be a list; the frames were not read'))
    workflow = Workflow(name=name, description=description, nodes=nodes.values(),
                        edges=edges, extra=extra, frames=frames)
    return Loaded(workflow, problems)


def loads(text: str, registry: Any = None, source: str = "the workflow") -> Loaded:
    """Parse workflow text. With a registry, nodes of a renamed type get its current id and
    node types, ports and params are checked too."""
    workflow = usual_workflow(text, FORMAT, VERSION)  # the usual file: one pass, no problem
    if workflow is not None:
        loaded = Loaded(workflow)
    else:
        doc, problems = _parse(text, source)
        loaded = from_document(doc)
        loaded.problems[:0] = problems
    if registry is not None:
        current = registry.current_id  # a former type id is rare: look at each type once
        if any(current(t) != t for t in set(map(_TYPE, loaded.workflow.nodes.values()))):
            upgrade_type_ids(loaded.workflow, registry)
        found = check_details(loaded.workflow, registry)
        loaded.ports, loaded.types, loaded.params = found.ports, found.types, found.params
        loaded.problems.extend(found.problems)
    return loaded


def load(path: str | os.PathLike[str], registry: Any = None) -> Loaded:
    path = Path(path)
    try:
        size = path.stat().st_size  # before reading: a huge file is refused unread
        if size > limits.MAX_FILE_BYTES:
            raise WorkflowFileError(f"{path} is {limits.amount(size)} bytes; the limit is "
                                    f"MAX_FILE_BYTES = {limits.amount(limits.MAX_FILE_BYTES)} "
                                    f"(engine/limits.py).")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowFileError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise WorkflowFileError(f"{path} is a folder, not a workflow file.") from None
    except UnicodeDecodeError:
        raise WorkflowFileError(f"{path} is not UTF-8 text.") from None
    except OSError as exc:
        raise WorkflowFileError(f"{path} cannot be read: {exc.strerror}.") from None
    return loads(text, registry, source=str(path))


# --- writing ------------------------------------------------------------------------------
def _position(value: float) -> int | float:
    value = round(float(value), 2)
    return int(value) if value.is_integer() else value


def to_document(workflow: Workflow) -> dict[str, Any]:
    nodes = []
    for node in workflow.nodes.values():
        entry: dict[str, Any] = {
            "id": node.id, "type": node.type, "title": node.title,
            "params": {k: node.params[k] for k in sorted(node.params)},
            "position": [_position(node.position[0]), _position(node.position[1])],
        }
        if node.retry is not None:
            entry["retry"] = ({k: node.retry[k] for k in sorted(node.retry)}
                              if isinstance(node.retry, dict) else node.retry)
        if node.timeout_s is not None:
            entry["timeout_s"] = node.timeout_s
        if node.on_error is not None:
            entry["on_error"] = node.on_error
        if node.limits is not None:
            entry["limits"] = ({k: node.limits[k] for k in sorted(node.limits)}
                               if isinstance(node.limits, dict) else node.limits)
        if node.pool is not None:
            entry["pool"] = node.pool
        if node.priority != 0:
            entry["priority"] = node.priority
        for key in sorted(node.extra):
            entry[key] = node.extra[key]
        nodes.append(entry)
    edges = []
    for edge in workflow.edges:
        entry = {"source": edge.source, "source_port": edge.source_port,
                 "target": edge.target, "target_port": edge.target_port}
        for key in sorted(edge.extra):
            entry[key] = edge.extra[key]
        edges.append(entry)
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": workflow.name,
                           "description": workflow.description, "nodes": nodes, "edges": edges}
    extra = workflow.extra
    if workflow.frames:  # written among the other top-level keys, in their sorted order
        extra = {**extra, FRAMES_KEY: frame_records(workflow)}
    for key in sorted(extra):
        doc[key] = extra[key]
    return doc


def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list)) or not value


# Leaves and one-line containers go through CPython's C JSON encoder, configured as
# `json.dumps(value, ensure_ascii=False, allow_nan=False)` (separators ", " and ": "): a
# container of scalars on one line is exactly what it writes for that container, so most of a
# file is one C call per line. The encoder is built once (json.dumps builds one per call) and
# without a circular-reference check; when it raises, the full encoder runs again to say why.
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_encode_str = json.encoder.encode_basestring  # what `_encode` uses for a str


def _no_default(value: Any) -> Any:
    raise TypeError(f"{value!r:.60} is not JSON serializable")


_c_make = json.encoder.c_make_encoder
_c_encode = (_c_make(None, _no_default, _encode_str, None, ": ", ", ", False, False, False)
             if _c_make is not None else None)


def _fast(value: Any) -> str:
    if _c_encode is None:  # pragma: no cover - a Python without the _json accelerator
        return _encode(value)
    return "".join(_c_encode(value, 0))


def _leaf(value: Any) -> str:
    if type(value) is str:
        return _encode_str(value)
    try:
        return _fast(value)
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return _encode(value)  # a RecursionError of real depth propagates, as json.dumps's
    except (TypeError, ValueError):
        raise WorkflowFileError(f"cannot write {value!r:.60}: not a JSON value") from None


def _line(container: dict[str, Any] | list[Any], values: Any) -> str:
    """The one-line form of a container of scalars; the first bad value names the error."""
    try:
        return _fast(container)
    except (TypeError, ValueError, RecursionError):
        for value in values:
            _leaf(value)  # raises for the first value JSON cannot write
        return _encode(container)  # pragma: no cover - some value above raised


def _render(value: Any, indent: int) -> str:
    if isinstance(value, dict):
        if not value:
            return "{}"
        flat = True  # every value a scalar or an empty container
        for key, item in value.items():
            if not isinstance(key, str):  # json would write `{1: ...}`, which is not JSON
                raise WorkflowFileError(f"cannot write the key {key!r:.60}: JSON object keys "
                                        f"must be strings")
            if flat and isinstance(item, (dict, list)) and item:
                flat = False
        if flat:
            line = _line(value, value.values())
            if indent + len(line) <= _LINE_WIDTH:
                return line
        pad = " " * (indent + 2)
        inner = indent + 2
        body = ",\n".join(
            f"{pad}{_encode_str(k)}: "
            f"{_render(v, inner) if isinstance(v, (dict, list)) else _leaf(v)}"
            for k, v in value.items())
        return "{\n" + body + "\n" + " " * indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        for item in value:
            if isinstance(item, (dict, list)) and item:
                break
        else:
            line = _line(value, value)
            if indent + len(line) <= _LINE_WIDTH:
                return line
        pad = " " * (indent + 2)
        inner = indent + 2
        body = ",\n".join(
            pad + (_render(v, inner) if isinstance(v, (dict, list)) else _leaf(v))
            for v in value)
        return "[\n" + body + "\n" + " " * indent + "]"
    return _leaf(value)


def dumps(workflow: Workflow) -> str:
    return _render(to_document(workflow), 0) + "\n"


def save(workflow: Workflow, path: str | os.PathLike[str], registry: Any = None) -> None:
    """Write atomically: the file at `path` is either the old one or the complete new one.

    Refuses, writing nothing, a secret parameter that holds the secret itself instead of a
    credential name, as the editor does (engine/secretparams.py; `registry` tells which
    parameters are secret, else their names do)."""
    path = Path(path)
    literal = secret_literal_problems(workflow, registry)
    if literal:
        raise WorkflowFileError(f"{path.name} was not written, a secret never goes into a "
                                f"workflow file: " + "; ".join(map(str, literal)))
    text = dumps(workflow)  # render first: a value that cannot be written never touches disk
    write_atomic(path, text)


def write_atomic(path: Path, text: str) -> None:
    try:
        data = text.encode("utf-8")  # first: text UTF-8 cannot hold never touches the disk
    except UnicodeEncodeError as exc:
        raise WorkflowFileError(f"cannot write {path.name}: it holds a lone surrogate "
                                f"(\\u{ord(text[exc.start]):04x}) in "
                                f"{text[max(0, exc.start - 30):exc.end + 10]!a}, which is not "
                                f"valid Unicode") from None
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.chmod(tmp_name, os.stat(path).st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
