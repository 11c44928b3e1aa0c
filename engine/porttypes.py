"""Port and parameter value types: their names, compatibility and runtime checks."""

from __future__ import annotations

from typing import Any

PORT_TYPES = ("any", "str", "number", "bool", "list", "dict", "bytes")

# Parameter types: the port types plus kinds of text the editor shows differently.
PARAM_TYPES = PORT_TYPES + ("int", "text", "expression", "code")

_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "text": str,
    "expression": str,
    "code": str,
    "number": (int, float),
    "int": int,
    "bool": bool,
    "list": list,
    "dict": dict,
    "bytes": bytes,
}


def compatible(source_type: str, target_type: str) -> bool:
    """Can a value from an output of `source_type` flow into an input of `target_type`?"""
    return source_type == target_type or source_type == "any" or target_type == "any"


def matches(value: Any, type_name: str) -> bool:
    """Does a runtime value fit a declared type? `None` fits nothing but `any`."""
    if type_name == "any":
        return True
    expected = _PY_TYPES.get(type_name)
    if expected is None:
        return False
    if isinstance(value, bool) and type_name in ("number", "int"):
        return False
    return isinstance(value, expected)


def describe(value: Any) -> str:
    """A short name for a value's type, in the words of PORT_TYPES."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    for name in ("str", "list", "dict", "bytes"):
        if isinstance(value, _PY_TYPES[name]):
            return name
    return type(value).__name__
