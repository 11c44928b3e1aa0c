"""`tool.calculator`: safe arithmetic and math functions (simpleeval, never `eval`).

Meant for people and for AI agents alike: the expression can come from the parameter or, for
an agent's tool call, from the `expression` input. Huge powers and long strings are refused by
simpleeval's own limits and engine/bounded.py; CPU and memory by the run's budget.
"""

from __future__ import annotations

from typing import Any

from engine import budget
from engine.bounded import CALC_FUNCTIONS as FUNCTIONS
from engine.bounded import CONSTANTS, MAX_FACTORIAL, EvalFailed
from engine.bounded import calculate as _calculate
from engine.errors import NodeFailure
from engine.nodetype import NodeType, Param, Port

__all__ = ["CONSTANTS", "FUNCTIONS", "MAX_FACTORIAL", "MAX_INT_BITS", "Calculator", "calculate"]
MAX_INT_BITS = 4096


def calculate(expression: str, x: Any = None) -> Any:
    """Evaluate `expression` (with `x` bound, when given) within the run's budget; ValueError
    with a sentence if bad (engine/bounded.py holds the formula language)."""
    mode = budget.CURRENT.get()
    try:
        if mode is None:
            return _calculate(expression, x)
        if type(mode) is budget.Slice:
            return _calculate(expression, x, budget.deadline())
        return mode.call("calculate", (expression, x), f"formula `{expression}`")
    except EvalFailed as exc:
        raise ValueError(str(exc)) from None


class Calculator(NodeType):
    type_id = "tool.calculator"
    title = "Calculator"
    category = "Tools"
    description = "Evaluates a formula: + - * / ** %, sqrt, log, sin, pi, ... (safe, no eval)."
    inputs = (Port("x", required=False, help="a value the formula can use as x"),
              Port("expression", "str", required=False,
                   help="a formula to use instead of the parameter (e.g. from an agent)"))
    outputs = (Port("result", "number"),)
    parameters = (Param("expression", "expression", default="x", help="e.g. sqrt(x) * 2 + pi"),)
    pure = True
    cheap = True
    summary_param = "expression"

    def run(self, ctx: Any, x: Any = None, expression: str | None = None) -> dict[str, Any]:
        source = expression if expression is not None else self.params["expression"]
        try:
            value = calculate(source, x)
        except ValueError as exc:
            raise NodeFailure(str(exc)) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise NodeFailure(f"`{source}` gave {value!r}, which is not a number")
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise NodeFailure(f"`{source}` gives a number with more than {MAX_INT_BITS} bits, "
                              f"too large to pass on")
        return {"result": value}


TYPES: tuple[type[NodeType], ...] = (Calculator,)
