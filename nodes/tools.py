"""`tool.calculator`: safe arithmetic and math functions (simpleeval, never `eval`).

Meant for people and for AI agents alike: the expression can come from the parameter or, for
an agent's tool call, from the `expression` input. Huge powers and long strings are refused by
simpleeval's own limits.
"""

from __future__ import annotations

import math
from typing import Any

import simpleeval

from engine.errors import NodeFailure
from engine.nodetype import NodeType, Param, Port

FUNCTIONS: dict[str, Any] = {
    name: getattr(math, name) for name in (
        "sqrt", "exp", "log", "log10", "log2", "sin", "cos", "tan", "asin", "acos", "atan",
        "atan2", "sinh", "cosh", "tanh", "floor", "ceil", "trunc", "factorial", "gcd", "hypot",
        "degrees", "radians", "isclose",
    )
}
FUNCTIONS.update({"abs": abs, "round": round, "min": min, "max": max, "sum": sum,
                  "int": int, "float": float})
CONSTANTS: dict[str, Any] = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}
MAX_FACTORIAL = 170  # the largest whose value still fits a float
MAX_INT_BITS = 4096


def _factorial(n: Any) -> int:
    if isinstance(n, int) and n > MAX_FACTORIAL:
        raise ValueError(f"factorial({n}) is larger than the limit of {MAX_FACTORIAL}")
    return math.factorial(n)


FUNCTIONS["factorial"] = _factorial


def calculate(expression: str, x: Any = None) -> Any:
    """Evaluate `expression` (with `x` bound, when given); ValueError with a sentence if bad."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError("the expression is empty")
    names = dict(CONSTANTS)
    if x is not None:
        names["x"] = x
    evaluator = simpleeval.SimpleEval(functions=FUNCTIONS, names=names)
    try:
        return evaluator.eval(expression.strip())
    except SyntaxError as exc:
        raise ValueError(f"`{expression}` is not a formula: {exc.msg}") from None
    except simpleeval.NameNotDefined as exc:
        known = ", ".join(sorted(names)) + ", " + ", ".join(sorted(FUNCTIONS))
        raise ValueError(f"`{expression}`: unknown name {exc.name!r} (known: {known})") from None
    except simpleeval.InvalidExpression as exc:
        raise ValueError(f"`{expression}`: {exc}") from None
    except ZeroDivisionError:
        raise ValueError(f"`{expression}` divides by zero") from None
    except Exception as exc:  # math domain errors, overflow, wrong argument types
        raise ValueError(f"`{expression}` failed: {type(exc).__name__}: {exc}") from None


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
