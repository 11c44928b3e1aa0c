"""What a value crossing a node's boundary may be: plain data.

Every value a node outputs is copied into the nodes that read it, recorded in the run history
and printed by the CLI, so it must be data, not a live object: null, booleans, numbers, text,
bytes, and lists, tuples, sets and dicts of those, nested at most MAX_VALUE_DEPTH deep (so
copying and recording it cannot exhaust the stack). `not_plain` finds the first part that is not,
in one iterative pass, and says where it is and what it is.
"""

from __future__ import annotations

from typing import Any

MAX_VALUE_DEPTH = 200  # deep enough for any real document; deepcopy and json stay in stack

_SCALARS = frozenset({type(None), bool, int, float, str, bytes})
_KEYS = frozenset({type(None), bool, int, float, str})
_CONTAINERS = (list, tuple, set, frozenset)
PLAIN = "null, true/false, numbers, text, bytes, lists and dicts"


def _where(path: list[Any]) -> str:
    return "".join(f"[{step!r}]" for step in path)


def not_plain(value: Any) -> str | None:
    """None if `value` is plain data, else what is wrong and where ("a dict_keys at [0]")."""
    if type(value) in _SCALARS:
        return None
    stack: list[tuple[Any, list[Any]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        kind = type(item)
        if kind in _SCALARS:
            continue
        if len(path) >= MAX_VALUE_DEPTH:
            return (f"a value nested more than {MAX_VALUE_DEPTH} levels deep (at "
                    f"{_where(path[:3])}...; the limit is MAX_VALUE_DEPTH in "
                    f"engine/plaindata.py)")
        if isinstance(item, dict):
            for key, child in item.items():
                if type(key) not in _KEYS:
                    return f"a dict key of type {type(key).__name__} at {_where(path) or 'top'}"
                if type(child) not in _SCALARS:
                    stack.append((child, path + [key]))
        elif isinstance(item, _CONTAINERS):
            for index, child in enumerate(item):
                if type(child) not in _SCALARS:
                    stack.append((child, path + [index]))
        elif isinstance(item, tuple(_SCALARS)):  # a subclass of a plain type (an IntEnum, ...)
            continue
        else:
            at = f" at {_where(path)}" if path else ""
            return f"a {kind.__name__}{at}"
    return None


def output_problem(outputs: dict[str, Any]) -> str | None:
    """The sentence that fails a node whose outputs are not all plain data, else None."""
    for port, value in outputs.items():
        if type(value) in _SCALARS:
            continue
        found = not_plain(value)
        if found is not None:
            hint = " (list(...) turns it into a list)" if " dict_" in found else ""
            return (f"output {port!r} is not plain data: it holds {found}{hint}; a node's "
                    f"outputs must be {PLAIN}")
    return None
