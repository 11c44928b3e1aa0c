"""The usual workflow file read in one pass (issue #17): what engine/fileformat.py's general
reader gives for it, without the text scans and parser hooks the general reader needs to be
safe with any text.

A usual file: a current-version document with only the known top-level keys; every node an
object with only id, type, title, params and position, each of its usual type; params whose
values are plain JSON; every edge its four strings, none repeated. For such a document the
checks the general reader makes on the text (nesting depth, numbers its hooks would refuse,
repeated keys) are made on the parsed value instead, during the walk that builds the model:
the depth is bounded by the shape, every number is looked at, and the keys are counted.
Anything else (any doubt at all) returns None and the general reader reads the text again,
problems and error sentences included, so a file the fast path takes gives exactly the
Workflow the general path gives, and every other file is read by the general path alone.
"""

from __future__ import annotations

import math
import operator
from itertools import chain
from typing import Any

import orjson

from engine import limits
from engine.jsonread import _colons_outside_strings, _strings_suspect
from engine.model import Edge, Node, Workflow, new_edge, new_node

_DOC_KEYS = frozenset(("format", "version", "name", "description", "nodes", "edges"))
_NODE_KEYS = frozenset(("id", "type", "title", "params", "position"))
_INT_BOUND = 10 ** limits.MAX_INT_DIGITS  # an int with more digits is refused by the reader
# orjson reads an integer past 64 bits as a float (json: an int): a float this large may have
# been one, so the general reader reads the file
_FLOAT_BOUND = 2.0 ** 63
_PARAMS_LEVEL = 4  # the document, its nodes list, a node, its params: a value sits deeper
_STR_ONLY = frozenset((str,))
_STR, _DICT, _LIST = {str}, {dict}, {list}
_TWO, _FOUR, _FIVE = {2}, {4}, {5}
_NUMBERS = frozenset((int, float))
_LEAVES = frozenset((str, bool, type(None)))  # params values with nothing to check
_LEAVES_AND_LIST = _LEAVES | {list}
_FIELDS = operator.itemgetter("id", "type", "title", "params", "position")
_EDGE_FIELDS = operator.itemgetter("source", "source_port", "target", "target_port")
_ORIGIN = [0, 0]


def usual_workflow(text: str, format_name: str, version: int) -> Workflow | None:
    """The Workflow of `text` when it is a usual file (see the module docstring) that loads
    without a single problem, else None."""
    if len(text) > limits.MAX_FILE_BYTES or _strings_suspect(text):
        return None
    try:  # orjson: the same values as json.loads for what it takes, in about half the time
        doc = orjson.loads(text)
    except Exception:  # not JSON, NaN, too deep, an integer past 64 bits, a lone surrogate
        return None
    if (type(doc) is not dict or doc.get("format") != format_name
            or type(doc.get("version")) is not int or doc["version"] != version
            or not doc.keys() <= _DOC_KEYS):
        return None
    name, description = doc.get("name", ""), doc.get("description", "")
    raw_nodes, raw_edges = doc.get("nodes", []), doc.get("edges", [])
    if (type(name) is not str or type(description) is not str or type(raw_nodes) is not list
            or type(raw_edges) is not list or len(raw_nodes) > limits.MAX_NODES
            or len(raw_edges) > limits.MAX_EDGES):
        return None
    nodes = _nodes(raw_nodes)
    if nodes is None:
        return None
    edges = _edges(raw_edges)
    if edges is None:
        return None
    # Every object's keys: as many as the text has key/value pairs means no key repeats (the
    # general reader counts the same way, with a hook on every object)
    kept = len(doc) + nodes[1] + 4 * len(edges)
    if kept != text.count(":") and kept != _colons_outside_strings(text):
        return None
    return Workflow(name=name, description=description, nodes=nodes[0].values(), edges=edges)


def _nodes(raw_nodes: list[Any]) -> tuple[dict[str, Node], int] | None:
    """The nodes by id and the number of keys their objects hold, or None."""
    if raw_nodes and set(map(type, raw_nodes)) == _DICT and set(map(len, raw_nodes)) == _FIVE \
            and all(map(_NODE_KEYS.issuperset, raw_nodes)):
        return _node_columns(raw_nodes)  # every node with its five keys (as saved)
    return _node_by_node(raw_nodes)


def _node_columns(raw_nodes: list[dict[str, Any]]) -> tuple[dict[str, Node], int] | None:
    """`_node_by_node(raw_nodes)` for nodes that each have the five keys, checked a column at
    a time (a C loop over every node per check, where the loop makes a dozen checks a node in
    Python): ids, types, titles, params, positions."""
    ids, types, titles, params, positions = zip(*map(_FIELDS, raw_nodes))
    if not (set(map(type, ids)) == _STR and all(ids) and set(map(type, types)) == _STR
            and all(types) and set(map(type, titles)) == _STR
            and set(map(type, params)) == _DICT and set(map(type, positions)) == _LIST
            and set(map(len, positions)) == _TWO):
        return None
    for column in zip(*positions):
        kinds = set(map(type, column))
        if not kinds <= _NUMBERS:
            return None
        if int in kinds:
            ints = column if len(kinds) == 1 else [v for v in column if type(v) is int]
            if not -_INT_BOUND < min(ints) or not max(ints) < _INT_BOUND:
                return None
        if float in kinds:
            floats = column if len(kinds) == 1 else [v for v in column if type(v) is float]
            if not (all(map(math.isfinite, floats)) and -_FLOAT_BOUND < min(floats)
                    and max(floats) < _FLOAT_BOUND):
                return None
    keys = 5 * len(raw_nodes) + sum(map(len, params))
    values = list(chain.from_iterable(map(dict.values, params)))
    kinds = set(map(type, values))
    if not kinds <= _LEAVES:
        lists = [v for v in values if type(v) is list] if list in kinds else []
        if kinds <= _LEAVES_AND_LIST and set(map(type, chain.from_iterable(lists))) <= _STR:
            pass  # (the usual lists: names)
        else:
            for value in values:
                if type(value) not in _LEAVES:
                    found = _plain(value, _PARAMS_LEVEL + 1)
                    if found is None:
                        return None
                    keys += found
    nodes = dict(zip(ids, map(new_node, ids, types, titles, params, map(tuple, positions))))
    if len(nodes) != len(ids):
        return None  # a repeated id
    return nodes, keys


def _node_by_node(raw_nodes: list[Any]) -> tuple[dict[str, Node], int] | None:
    """The nodes by id and the number of keys their objects hold, or None."""
    nodes: dict[str, Node] = {}
    keys = 0
    base, bound, str_only = _NODE_KEYS, _INT_BOUND, _STR_ONLY
    for raw in raw_nodes:
        if type(raw) is not dict or not raw.keys() <= base:
            return None
        node_id, node_type = raw.get("id"), raw.get("type")
        title, params = raw.get("title", ""), raw.get("params", {})
        position = raw.get("position", _ORIGIN)
        if not (type(node_id) is str and node_id and type(node_type) is str and node_type
                and type(title) is str and type(params) is dict and type(position) is list
                and len(position) == 2) or node_id in nodes:
            return None
        x, y = position
        if not ((type(x) is int and -bound < x < bound or _number(x))
                and (type(y) is int and -bound < y < bound or _number(y))):
            return None
        keys += len(raw) + len(params)
        for value in params.values():
            kind = type(value)
            if kind is str or kind is bool or value is None:
                continue
            if kind is list and set(map(type, value)) <= str_only:
                continue  # (the usual list: names)
            found = _plain(value, _PARAMS_LEVEL + 1)
            if found is None:
                return None
            keys += found
        nodes[node_id] = new_node(node_id, node_type, title, params, (x, y))
    return nodes, keys


def _number(value: Any) -> bool:
    """An int or float the general reader takes as it is (not a bool: the position's check)."""
    kind = type(value)
    if kind is int:
        return -_INT_BOUND < value < _INT_BOUND
    return kind is float and -_FLOAT_BOUND < value < _FLOAT_BOUND  # (not inf, not NaN)


def _plain(value: Any, level: int) -> int | None:
    """The number of keys in the objects of `value` (a params value at nesting `level`, as
    the general reader's depth counts it), or None when the general reader must look at it:
    a number it refuses, nesting past MAX_DEPTH."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return 0
    if kind is int or kind is float:
        return 0 if _number(value) else None
    if level > limits.MAX_DEPTH:
        return None
    keys = 0
    if kind is dict:
        keys = len(value)
        items = value.values()
    elif kind is list:
        items = value
    else:  # pragma: no cover - json makes nothing else
        return None
    for item in items:
        found = _plain(item, level + 1)
        if found is None:
            return None
        keys += found
    return keys


def _edges(raw_edges: list[Any]) -> list[Edge] | None:
    """Each edge, when every one is an object of its four non-empty strings and none repeats
    (checked a column at a time: a C loop over every edge per check)."""
    if not raw_edges:
        return []
    if set(map(type, raw_edges)) != _DICT or set(map(len, raw_edges)) != _FOUR:
        return None
    try:
        columns = list(zip(*map(_EDGE_FIELDS, raw_edges)))
    except KeyError:  # another key in place of one of the four
        return None
    for column in columns:
        if set(map(type, column)) != _STR or not all(column):
            return None
    if len(set(zip(*columns))) != len(raw_edges):
        return None  # a repeated edge
    return list(map(new_edge, *columns))
