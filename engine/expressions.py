"""Safe expressions: parsed once per node, evaluated many times, within the run's budget.

Evaluation goes through simpleeval (no `eval`): arithmetic, comparisons, boolean logic, indexing,
literals and comprehensions, plus a small set of functions. Names starting with `_` and imports are
refused by simpleeval itself; operations that would build something huge are refused by
engine/bounded.py; CPU time and memory are bounded by engine/budget.py. Errors quote the
expression.
"""

from __future__ import annotations

import ast
import functools
from typing import Any

from engine import budget
from engine.bounded import (
    FUNCTIONS,
    MAX_RANGE,
    EvalFailed,
    evaluate_expression,
    evaluate_many,
    has_loops,
)
from engine.errors import ExpressionError
from engine.limits import MAX_EXPRESSION_CHARS, amount

__all__ = ["FUNCTIONS", "MAX_RANGE", "Expression", "check_syntax"]


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


@functools.lru_cache(maxsize=65536)
def _has_loops(source: str) -> bool:
    """Whether a well-formed source holds a comprehension (a walk of its tree: cached with
    the parse, so 10 000 nodes with the same text walk it once)."""
    return has_loops(_parse(source)[1])


def check_syntax(source: str) -> str | None:
    """None if `source` is one well-formed expression, else a sentence saying what is wrong."""
    if not isinstance(source, str):
        return "the expression must be text"
    return _parse(source)[0]


class Expression:
    """One parsed expression, evaluated many times with different names."""

    __slots__ = ("source", "_parsed", "_loops")

    def __init__(self, source: str) -> None:
        problem = check_syntax(source)
        if problem is not None:
            raise ExpressionError(problem)
        self.source = source
        self._parsed = _parse(source)[1]
        self._loops = _has_loops(source)  # only comprehensions need a step-by-step slice

    def evaluate(self, names: dict[str, Any]) -> Any:
        mode = budget.CURRENT.get()
        try:
            if mode is None:
                return evaluate_expression(self.source, self._parsed, names)
            if type(mode) is budget.Slice:
                return evaluate_expression(self.source, self._parsed, names, budget.deadline(),
                                           self._loops)
            return mode.call("expression", (self.source, names), f"expression `{self.source}`")
        except EvalFailed as exc:
            raise ExpressionError(str(exc)) from None

    def evaluate_many(self, names_list: list[dict[str, Any]]) -> list[Any]:
        """The value over each name set, in one evaluation (so one worker round trip when it
        runs off the loop); an error says which item failed."""
        mode = budget.CURRENT.get()
        try:
            if mode is None:
                return evaluate_many(self.source, self._parsed, names_list)
            if type(mode) is budget.Slice:
                return evaluate_many(self.source, self._parsed, names_list, budget.deadline(),
                                     loops=self._loops)
            return mode.call("expressions", (self.source, names_list),
                             f"expression `{self.source}`")
        except EvalFailed as exc:
            raise ExpressionError(str(exc)) from None

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"
