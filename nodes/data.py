"""Data nodes: JSON text in and out, fields by path, list filter / map / sort by expression.

A *path* names a place inside nested dicts and lists: `user.name`, `items[0].id`, `items.0.id`,
`["key with.dots"].x`. Expressions (filter/map/sort) are the engine's safe expressions over
`item` and `index`.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from engine.errors import ExpressionError, NodeFailure
from engine.expressions import Expression, check_syntax
from engine.nodetype import NodeType, Param, Port
from engine.porttypes import describe

_TOKEN = re.compile(r"""\s*(?:\[\s*(-?\d+)\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[\s*'([^']*)'\s*\]
                    |\.?([^.\[\]]+))""", re.VERBOSE)


def parse_path(path: str) -> list[str | int]:
    """`a.b[0]["c.d"]` -> ['a', 'b', 0, 'c.d']. Raises ValueError naming the bad spot."""
    if not isinstance(path, str):
        raise ValueError("the path must be text")
    steps: list[str | int] = []
    pos = 0
    path = path.strip()
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"path {path!r} cannot be read at column {pos + 1}")
        index, dq, sq, word = m.groups()
        if index is not None:
            steps.append(int(index))
        elif dq is not None:
            steps.append(json.loads(f'"{dq}"'))
        elif sq is not None:
            steps.append(sq)
        else:
            word = word.strip()
            steps.append(int(word) if re.fullmatch(r"-?\d+", word) else word)
        pos = m.end()
    return steps


def _path_text(steps: list[str | int]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps).lstrip(".")


def get_path(value: Any, steps: list[str | int]) -> Any:
    """The value at `steps`; KeyError with a sentence when a step is missing."""
    for depth, step in enumerate(steps):
        here = _path_text(steps[:depth]) or "the input"
        if isinstance(value, dict):
            key = step if step in value else str(step)
            if key not in value:
                keys = ", ".join(map(str, list(value)[:10])) or "none"
                raise KeyError(f"{here} has no key {step!r} (keys: {keys})")
            value = value[key]
        elif isinstance(value, list) and isinstance(step, int):
            if not -len(value) <= step < len(value):
                raise KeyError(f"{here} has {len(value)} items, so there is no item {step}")
            value = value[step]
        else:
            raise KeyError(f"{here} is {describe(value)}, so it has no {step!r}")
    return value


def set_path(root: Any, steps: list[str | int], new: Any) -> Any:
    """A copy of `root` with `new` at `steps`; missing dict keys are created."""
    if not steps:
        return new
    root = copy.deepcopy(root)
    value = root
    for depth, step in enumerate(steps[:-1]):
        nxt = steps[depth + 1]
        here = _path_text(steps[:depth]) or "the input"
        if isinstance(value, dict):
            key = step if isinstance(step, str) else str(step)
            if key not in value:
                value[key] = [] if isinstance(nxt, int) and nxt == 0 else {}
            value = value[key]
        elif isinstance(value, list) and isinstance(step, int):
            if not -len(value) <= step < len(value):
                raise KeyError(f"{here} has {len(value)} items, so there is no item {step}")
            value = value[step]
        else:
            raise KeyError(f"{here} is {describe(value)}, so {step!r} cannot be set in it")
    last = steps[-1]
    here = _path_text(steps[:-1]) or "the input"
    if isinstance(value, dict):
        value[last if isinstance(last, str) else str(last)] = new
    elif isinstance(value, list) and isinstance(last, int):
        if last == len(value):
            value.append(new)
        elif -len(value) <= last < len(value):
            value[last] = new
        else:
            raise KeyError(f"{here} has {len(value)} items, so item {last} cannot be set")
    else:
        raise KeyError(f"{here} is {describe(value)}, so {last!r} cannot be set in it")
    return root


def _path_problems(params: dict[str, Any], name: str = "path") -> list[str]:
    try:
        parse_path(params[name])
    except ValueError as exc:
        return [str(exc)]
    return []


class JsonParse(NodeType):
    type_id = "data.json_parse"
    title = "Parse JSON"
    category = "Data"
    description = "Turns JSON text into data."
    inputs = (Port("text", "str"),)
    outputs = (Port("out"),)
    pure = True

    def run(self, ctx: Any, text: str) -> dict[str, Any]:
        try:
            return {"out": json.loads(text)}
        except json.JSONDecodeError as exc:
            snippet = text[max(0, exc.pos - 20): exc.pos + 20].replace("\n", "\\n")
            raise NodeFailure(f"the text is not valid JSON: {exc.msg} at line {exc.lineno}, "
                              f"column {exc.colno} (near {snippet!r})") from None


class JsonFormat(NodeType):
    type_id = "data.json_format"
    title = "Format JSON"
    category = "Data"
    description = "Turns data into JSON text."
    inputs = (Port("in"),)
    outputs = (Port("text", "str"),)
    parameters = (Param("indent", "int", default=2, minimum=0,
                        help="spaces per level; 0 writes one line"),
                  Param("sort_keys", "bool", default=False, help="sort the keys of objects"))
    pure = True

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        indent = self.params["indent"] or None
        try:
            text = json.dumps(inputs["in"], indent=indent, sort_keys=self.params["sort_keys"],
                              ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise NodeFailure(f"the value cannot be written as JSON: {exc}") from None
        return {"text": text}


class _PathNode(NodeType):
    """A node that works at the place `path` names in its input (parsed once, at setup)."""

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        return _path_problems(params)

    def setup(self) -> None:
        self.steps = parse_path(self.params["path"])


class GetField(_PathNode):
    type_id = "data.get"
    title = "Get field"
    category = "Data"
    description = "Picks the value at a path (e.g. user.name or items[0].id)."
    inputs = (Port("in"),)
    outputs = (Port("out"),)
    parameters = (
        Param("path", "str", default="", help="e.g. user.name, items[0].id; empty = the input"),
        Param("default", "any", default=None, help="the value when the path is missing"),
        Param("fail_if_missing", "bool", default=False,
              help="fail the node instead of using the default"),
    )
    pure = True
    cheap = True
    summary_param = "path"

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        try:
            return {"out": get_path(inputs["in"], self.steps)}
        except KeyError as exc:
            if self.params["fail_if_missing"]:
                raise NodeFailure(f"path {self.params['path']!r} not found: {exc.args[0]}"
                                  ) from None
            return {"out": copy.deepcopy(self.params["default"])}


class SetField(_PathNode):
    type_id = "data.set"
    title = "Set field"
    category = "Data"
    description = "A copy of `in` with `value` put at a path (missing keys are created)."
    inputs = (Port("in"), Port("value"))
    outputs = (Port("out"),)
    parameters = (Param("path", "str", default="", required=True,
                        help="e.g. user.name, items[0].id"),)
    pure = True
    cheap = True
    summary_param = "path"

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        try:
            return {"out": set_path(inputs["in"], self.steps, inputs["value"])}
        except KeyError as exc:
            raise NodeFailure(f"cannot set {self.params['path']!r}: {exc.args[0]}") from None


class _ListNode(NodeType):
    """Shared by filter/map/sort: one expression over `item` and `index`, per item."""

    category = "Data"
    inputs = (Port("items", "list"),)
    outputs = (Port("out", "list"),)
    pure = True
    expr_param = "expr"

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        problem = check_syntax(params[cls.expr_param])
        return [problem] if problem else []

    def setup(self) -> None:
        self.expression = Expression(self.params[self.expr_param])

    def each(self, items: list[Any]) -> list[Any]:
        # One evaluation over every item: inline in a slice, else one worker round trip
        try:
            return self.expression.evaluate_many([{"item": item, "index": index}
                                                  for index, item in enumerate(items)])
        except ExpressionError as exc:
            raise NodeFailure(str(exc)) from None


class Filter(_ListNode):
    type_id = "data.filter"
    title = "Filter list"
    description = "Keeps the items for which a condition holds."
    parameters = (Param("condition", "expression", default="item", required=True,
                        help="over item and index, e.g. item['score'] > 0.5"),)
    expr_param = "condition"
    summary_param = "condition"

    def run(self, ctx: Any, items: list[Any]) -> dict[str, Any]:
        keep = self.each(items)
        return {"out": [item for item, ok in zip(items, keep) if ok]}


class Map(_ListNode):
    type_id = "data.map"
    title = "Map list"
    description = "Turns each item into the value of an expression."
    parameters = (Param("expr", "expression", default="item", required=True,
                        help="over item and index, e.g. item['name'].upper()"),)
    summary_param = "expr"

    def run(self, ctx: Any, items: list[Any]) -> dict[str, Any]:
        return {"out": self.each(items)}


class Sort(_ListNode):
    type_id = "data.sort"
    title = "Sort list"
    description = "Sorts the items by the value of a key expression."
    parameters = (Param("key", "expression", default="item", required=True,
                        help="over item and index, e.g. item['date']"),
                  Param("reverse", "bool", default=False, help="largest first"))
    expr_param = "key"
    summary_param = "key"

    def run(self, ctx: Any, items: list[Any]) -> dict[str, Any]:
        keys = self.each(items)
        order = list(range(len(items)))
        try:
            order.sort(key=lambda i: keys[i], reverse=self.params["reverse"])
        except TypeError as exc:
            raise NodeFailure(f"the sort keys cannot be compared: {exc} (make the key "
                              f"`{self.params['key']}` give values of one type)") from None
        return {"out": [items[i] for i in order]}


TYPES: tuple[type[NodeType], ...] = (JsonParse, JsonFormat, GetField, SetField, Filter, Map, Sort)
