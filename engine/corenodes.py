"""The engine's own node types: start/output, values and expressions, conditions, merge, loops,
delay. Their type ids, ports and params are a public contract (files written by hand rely on
them). The executor gives `merge`, `foreach` and `while` their scheduling (engine/scope.py).
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from engine.errors import NodeFailure
from engine.expressions import Expression, check_syntax
from engine.nodetype import NAME_RE, NodeType, Param, Port
from engine.registry import Registry


class Start(NodeType):
    type_id = "flow.start"
    title = "Start"
    category = "Flow"
    description = "The workflow's inputs, as a dict (each with a default)."
    outputs = (Port("out", "dict"),)
    parameters = (Param("inputs", "dict", default={},
                        help="input name -> default value; `flowloom run --input` overrides"),)
    pure = True
    cheap = True
    kind = "start"
    summary_param = "inputs"

    @classmethod
    def summary(cls, params: dict[str, Any]) -> str:
        names = params.get("inputs") or {}
        return ", ".join(names) if isinstance(names, dict) else ""

    def run(self, ctx: Any) -> dict[str, Any]:
        return {"out": dict(ctx.run_inputs)}


class Output(NodeType):
    type_id = "flow.output"
    title = "Output"
    category = "Flow"
    description = "Its input becomes the workflow result under `name`."
    inputs = (Port("in"),)
    outputs = ()
    parameters = (Param("name", "str", default="result", required=True,
                        help="the key of this value in the workflow's outputs"),)
    pure = True
    cheap = True
    kind = "output"
    summary_param = "name"

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        ctx.set_output(self.params["name"], inputs["in"])
        return {}


class Value(NodeType):
    type_id = "data.value"
    title = "Value"
    category = "Data"
    description = "A constant JSON value."
    outputs = (Port("out"),)
    parameters = (Param("value", "any", default=None, help="any JSON value"),)
    pure = True
    cheap = True
    summary_param = "value"

    def run(self, ctx: Any) -> dict[str, Any]:
        return {"out": self.params["value"]}


@functools.lru_cache(maxsize=1024)
def _any_ports(names: tuple[str, ...]) -> tuple[Port, ...]:
    """Ports are immutable, so nodes with the same input names share one tuple of them."""
    return tuple(Port(n) for n in names)


# Workflows repeat the same input names over thousands of expression nodes: the ports and the
# checks of one list of names are computed once. Only lists of str use the caches (1 and True
# would be one key there, though their messages differ).
_STR = {str}


@functools.lru_cache(maxsize=4096)
def _input_ports(names: tuple[str, ...]) -> tuple[Port, ...]:
    return _any_ports(tuple(dict.fromkeys(names)))


def _name_problems(names: Any) -> list[str]:
    problems = [f"input name {n!r} is not a valid name" for n in names
                if not isinstance(n, str) or not NAME_RE.match(n) or n.startswith("_")]
    if len(set(map(str, names))) != len(names):
        problems.append(f"input names repeat: {list(names)}")
    return problems


@functools.lru_cache(maxsize=4096)
def _input_name_problems(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_name_problems(names))


def _expression_problem(name: str, source: Any) -> str | None:
    if not isinstance(source, str):
        return f"{name} must be a string expression"
    return check_syntax(source)


class ExpressionNode(NodeType):
    type_id = "data.expression"
    title = "Expression"
    category = "Data"
    description = "Computes a safe expression over its inputs."
    outputs = (Port("out"),)
    parameters = (
        Param("expr", "expression", default="x", required=True,
              help="e.g. x['n'] * 2; names are the input ports"),
        Param("inputs", "list", default=["x"], help="names of the input ports"),
    )
    pure = True
    cheap = True
    summary_param = "expr"

    @classmethod
    def input_ports(cls, params: dict[str, Any]) -> tuple[Port, ...]:
        names = params.get("inputs", ["x"])
        if not isinstance(names, list):
            return ()
        if set(map(type, names)) <= _STR:  # names only (the cache's keys must be exact)
            return _input_ports(tuple(names))
        return _any_ports(tuple(n for n in dict.fromkeys(names) if isinstance(n, str)))

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        names = params["inputs"]
        if set(map(type, names)) <= _STR:
            return list(_input_name_problems(tuple(names)))
        return _name_problems(names)

    def setup(self) -> None:
        self.expression = Expression(self.params["expr"])

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        return {"out": self.expression.evaluate(inputs)}


class If(NodeType):
    type_id = "flow.if"
    title = "If"
    category = "Flow"
    description = "Sends its input out of `true` or `false`, by a condition over x."
    inputs = (Port("in"),)
    outputs = (Port("true"), Port("false"))
    parameters = (Param("condition", "expression", default="x", required=True,
                        help="an expression over x, the input"),)
    pure = True
    cheap = True
    summary_param = "condition"

    def setup(self) -> None:
        self.condition = Expression(self.params["condition"])

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        value = inputs["in"]
        return {"true" if self.condition.evaluate({"x": value}) else "false": value}


class Switch(NodeType):
    type_id = "flow.switch"
    title = "Switch"
    category = "Flow"
    description = "Sends its input out of the first case whose condition holds, else `default`."
    inputs = (Port("in"),)
    outputs = (Port("default"),)
    parameters = (Param("cases", "list", default=["x"], required=True,
                        help="expressions over x; case0 is the first"),)
    pure = True
    cheap = True
    summary_param = "cases"

    @classmethod
    def output_ports(cls, params: dict[str, Any]) -> tuple[Port, ...]:
        cases = params.get("cases")
        count = len(cases) if isinstance(cases, list) else 0
        return tuple(Port(f"case{i}") for i in range(count)) + (Port("default"),)

    @classmethod
    def summary(cls, params: dict[str, Any]) -> str:
        cases = params.get("cases")
        return " | ".join(map(str, cases)) if isinstance(cases, list) else ""

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        return [f"case{i}: {problem}" for i, case in enumerate(params["cases"])
                if (problem := _expression_problem(f"case{i}", case)) is not None]

    def setup(self) -> None:
        self.cases = [Expression(c) for c in self.params["cases"]]

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        value = inputs["in"]
        names = {"x": value}
        for i, case in enumerate(self.cases):
            if case.evaluate(names):
                return {f"case{i}": value}
        return {"default": value}


class Merge(NodeType):
    type_id = "flow.merge"
    title = "Merge"
    category = "Flow"
    description = ("Joins branches: `all` waits for every branch that ran and outputs their "
                   "values in edge order; `first` outputs the first value to arrive.")
    inputs = (Port("in", multi=True),)
    outputs = (Port("out"),)
    parameters = (Param("mode", "str", default="all", choices=("all", "first"),
                        help="all: list of every branch that ran; first: the first value"),)
    pure = True
    cheap = True
    kind = "merge"
    summary_param = "mode"

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        return {"out": inputs["in"]}


class ForEach(NodeType):
    type_id = "flow.foreach"
    title = "For each"
    category = "Flow"
    description = ("Runs the body (wired from `item`, back into `result`) once per item; "
                   "`results` lists the body results in item order.")
    inputs = (Port("items", "list"), Port("result", help="wire the body's last node back here"))
    outputs = (Port("item"), Port("results", "list"))
    parameters = (Param("parallel", "int", default=1, minimum=1,
                        help="how many items may be in flight at once (1 = one after another)"),)
    kind = "foreach"
    summary_param = "parallel"

    @classmethod
    def summary(cls, params: dict[str, Any]) -> str:
        n = params.get("parallel", 1)
        return "sequential" if n == 1 else f"{n} in parallel"


class While(NodeType):
    type_id = "flow.while"
    title = "While"
    category = "Flow"
    description = ("Repeats the body (wired from `body`, back into `next`) while the condition "
                   "over the state x holds; `done` carries the final state.")
    inputs = (Port("in", help="the initial state"), Port("next", help="the body's new state"))
    outputs = (Port("body"), Port("done"))
    parameters = (
        Param("condition", "expression", default="x", required=True,
              help="an expression over x, the state; checked before every iteration"),
        Param("max_iterations", "int", default=100, required=True, minimum=1,
              help="the node fails if the condition still holds after this many iterations"),
    )
    kind = "while"
    summary_param = "condition"

    def setup(self) -> None:
        self.condition = Expression(self.params["condition"])


class Delay(NodeType):
    type_id = "util.delay"
    title = "Delay"
    category = "Utility"
    description = "Passes `in` to `out` after a delay (cancellable)."
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (Param("seconds", "number", default=1.0, minimum=0,
                        help="how long to wait"),)
    pure = True
    summary_param = "seconds"

    @classmethod
    def summary(cls, params: dict[str, Any]) -> str:
        return f"{params.get('seconds')} s"

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        seconds = float(self.params["seconds"])
        if seconds < 0:
            raise NodeFailure("seconds must not be negative")
        # Sleep until the monotonic deadline, not just once: an event loop may wake a timer
        # early (qasync's Qt timers are coarse: a 2 s sleep ended after 1.91 s in the editor
        # while the same workflow took 2.006 s headless).
        if seconds:  # (0 s waits for nothing)
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                await asyncio.sleep(left)
        return {"out": inputs.get("in")}


CORE_TYPES: tuple[type[NodeType], ...] = (Start, Output, Value, ExpressionNode, If, Switch,
                                           Merge, ForEach, While, Delay)


def register_core(registry: Registry) -> Registry:
    for node_type in CORE_TYPES:
        registry.register(node_type)
    return registry


def core_registry() -> Registry:
    """A registry with just the engine's own node types."""
    return register_core(Registry())
