"""Text templates: `text.template`, and the sandboxed template helper other nodes reuse.

Templates use jinja2's SandboxedEnvironment (no access to Python internals such as
`__class__`), with StrictUndefined so that a misspelt name fails the node instead of
rendering as nothing, and bounded operations (engine/bounded.py); each render has the run's
CPU and memory budget (engine/budget.py). Names: `x` is the node's input; when `x` is a dict,
its keys are names too (`{{ name }}` as well as `{{ x.name }}`).
"""

from __future__ import annotations

from typing import Any

from engine import budget
from engine.bounded import EvalFailed, compiled_template, has_loop, render_template
from engine.bounded import template_problem as _template_problem
from engine.errors import NodeFailure
from engine.nodetype import NodeType, Param, Port


def template_problem(source: Any, what: str = "template") -> str | None:
    """None if `source` is a template that parses, else a sentence saying why not."""
    return _template_problem(source, what)


class Template:
    """A template compiled once, rendered many times over `x`, within the run's budget."""

    __slots__ = ("source", "_loops")

    def __init__(self, source: str, what: str = "template") -> None:
        problem = template_problem(source, what)
        if problem is not None:
            raise NodeFailure(problem)
        self.source = source
        compiled_template(source)
        # A `for` loop's steps are out of a slice's sight: such a template renders off the loop
        self._loops = has_loop(source)

    def render(self, x: Any = None, **extra: Any) -> str:
        names: dict[str, Any] = {}
        if isinstance(x, dict):
            names.update({k: v for k, v in x.items() if isinstance(k, str)})
        names.update(extra)
        names["x"] = x
        mode = budget.CURRENT.get()
        try:
            if mode is None:
                return render_template(self.source, names)
            if type(mode) is budget.Slice and not self._loops:
                return render_template(self.source, names, deadline=budget.deadline())
            if type(mode) is budget.Slice:
                raise budget.Offload
            return mode.call("template", (self.source, names), f"template `{_short(self.source)}`")
        except EvalFailed as exc:
            raise NodeFailure(str(exc)) from None


class MessageNode(NodeType):
    """A node whose `message` param is a template over its input: checked when the file is
    validated, compiled once at setup into `self.message`."""

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        problem = template_problem(params["message"], "message")
        return [problem] if problem else []

    def setup(self) -> None:
        self.message = Template(self.params["message"], "message")


def _short(source: str) -> str:
    line = source.strip().replace("\n", " ")
    return line if len(line) <= 60 else line[:57] + "..."


class TextTemplate(NodeType):
    type_id = "text.template"
    title = "Template"
    category = "Text"
    description = "Renders a sandboxed Jinja template over its input (prompts, messages, reports)."
    inputs = (Port("in", required=False, help="available as x (and its keys, if a dict)"),)
    outputs = (Port("text", "str"),)
    parameters = (Param("template", "text", default="{{ x }}", required=True,
                        help="Jinja syntax: {{ x.name }}, {% for i in x %}...{% endfor %}"),)
    pure = True  # not `cheap`: rendering in a thread keeps big outputs off the loop
    summary_param = "template"

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        problem = template_problem(params["template"])
        return [problem] if problem else []

    def setup(self) -> None:
        self.template = Template(self.params["template"])

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        return {"text": self.template.render(inputs.get("in"))}


TYPES: tuple[type[NodeType], ...] = (TextTemplate,)
