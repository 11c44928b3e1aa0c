"""Safe expressions: parsed once per node, evaluated many times.

Evaluation goes through simpleeval (no `eval`): arithmetic, comparisons, boolean logic, indexing,
literals and comprehensions, plus a small set of functions. Names starting with `_` and imports are
refused by simpleeval itself. Errors quote the expression.
"""

from __future__ import annotations

import ast
from typing import Any

import simpleeval

from engine.errors import ExpressionError

MAX_RANGE = 1_000_000


def _safe_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise ExpressionError(f"range() of {len(r)} items is larger than the limit of {MAX_RANGE}")
    return r


FUNCTIONS: dict[str, Any] = {
    "len": len,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "round": round,
    "sorted": sorted,
    "str": str,
    "int": int,
    "float": float,
    "range": _safe_range,
    "bool": bool,
    "list": list,
    "any": any,
    "all": all,
}


def check_syntax(source: str) -> str | None:
    """None if `source` is one well-formed expression, else a sentence saying what is wrong."""
    if not isinstance(source, str) or not source.strip():
        return "the expression is empty"
    try:
        ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        detail = exc.msg
        if exc.offset:
            detail += f" at column {exc.offset}"
        return f"expression `{source}` does not parse: {detail}"
    return None


class Expression:
    """One compiled expression over a fixed set of names."""

    __slots__ = ("source", "_parsed", "_evaluator")

    def __init__(self, source: str) -> None:
        problem = check_syntax(source)
        if problem is not None:
            raise ExpressionError(problem)
        self.source = source
        self._evaluator = simpleeval.EvalWithCompoundTypes(functions=FUNCTIONS)
        self._parsed = self._evaluator.parse(source.strip())

    def evaluate(self, names: dict[str, Any]) -> Any:
        ev = self._evaluator
        ev.names = names
        try:
            return ev.eval(self.source, previously_parsed=self._parsed)
        except ExpressionError as exc:
            raise ExpressionError(f"expression `{self.source}` failed: {exc}") from None
        except simpleeval.NameNotDefined as exc:
            available = ", ".join(sorted(names)) or "none"
            raise ExpressionError(
                f"expression `{self.source}` failed: name '{exc.name}' is not defined "
                f"(available: {available})"
            ) from None
        except Exception as exc:  # any error inside the user's expression becomes a node error
            raise ExpressionError(
                f"expression `{self.source}` failed: {type(exc).__name__}: {exc}"
            ) from None

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"
