"""Safe expressions: parsed once per node, evaluated many times.

Evaluation goes through simpleeval (no `eval`): arithmetic, comparisons, boolean logic, indexing,
literals and comprehensions, plus a small set of functions. Names starting with `_` and imports are
refused by simpleeval itself. Errors quote the expression.
"""

from __future__ import annotations

import ast
import functools
import threading
from typing import Any

import simpleeval

from engine.errors import ExpressionError
from engine.limits import MAX_EXPRESSION_CHARS, amount

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


@functools.lru_cache(maxsize=65536)
def _parse(source: str) -> tuple[str | None, ast.expr | None]:
    """(problem, tree) for one source text. Cached: a workflow often repeats an expression, and
    validation, compile and every node holding the same text share one parse."""
    if not source.strip():
        return "the expression is empty", None
    if len(source) > MAX_EXPRESSION_CHARS:  # checked first: parsing is what would blow up
        return (f"expression `{source[:40]}...` is {amount(len(source))} characters long; the "
                f"limit is MAX_EXPRESSION_CHARS = {amount(MAX_EXPRESSION_CHARS)} "
                f"(engine/limits.py)"), None
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        detail = exc.msg
        if exc.offset:
            detail += f" at column {exc.offset}"
        return f"expression `{source[:200]}` does not parse: {detail}", None
    except (MemoryError, RecursionError):  # Python's parser ran out of stack
        return (f"expression `{source[:40]}...` nests too deeply (or chains too many "
                f"operators) for Python to parse; split it into steps"), None
    return None, tree.body


def check_syntax(source: str) -> str | None:
    """None if `source` is one well-formed expression, else a sentence saying what is wrong."""
    if not isinstance(source, str):
        return "the expression must be text"
    return _parse(source)[0]


class _Evaluators(threading.local):
    """One simpleeval evaluator per thread (building one costs ~30 µs; evaluating ~2 µs).

    Evaluation is never re-entrant within a thread (no function in FUNCTIONS evaluates another
    expression), so sharing one evaluator per thread is safe; `names` is set on every call."""

    def __init__(self) -> None:
        self.evaluator = simpleeval.EvalWithCompoundTypes(functions=dict(FUNCTIONS))


_evaluators = _Evaluators()


class Expression:
    """One parsed expression, evaluated many times with different names."""

    __slots__ = ("source", "_parsed")

    def __init__(self, source: str) -> None:
        problem = check_syntax(source)
        if problem is not None:
            raise ExpressionError(problem)
        self.source = source
        self._parsed = _parse(source)[1]

    def evaluate(self, names: dict[str, Any]) -> Any:
        ev = _evaluators.evaluator
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
