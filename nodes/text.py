"""Text templates: `text.template`, and the sandboxed template helper other nodes reuse.

Templates use jinja2's SandboxedEnvironment (no access to Python internals such as
`__class__`), with StrictUndefined so that a misspelt name fails the node instead of
rendering as nothing. Names: `x` is the node's input; when `x` is a dict, its keys are
names too (`{{ name }}` as well as `{{ x.name }}`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from engine.errors import NodeFailure
from engine.nodetype import NodeType, Param, Port

if TYPE_CHECKING:  # pragma: no cover - jinja2 is imported when a template is first checked,
    from jinja2.sandbox import SandboxedEnvironment  # not when the node types are listed


def _environment() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                               keep_trailing_newline=True)
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent,
                                                                  ensure_ascii=False)
    return env


def template_problem(source: Any, what: str = "template") -> str | None:
    """None if `source` is a template that parses, else a sentence saying why not."""
    if not isinstance(source, str):
        return f"{what} must be text"
    from jinja2 import TemplateSyntaxError

    try:
        _environment().parse(source)
    except TemplateSyntaxError as exc:
        return f"{what} does not parse: {exc.message} (line {exc.lineno})"
    return None


class Template:
    """A template compiled once, rendered many times over `x`."""

    __slots__ = ("source", "_template")

    def __init__(self, source: str, what: str = "template") -> None:
        problem = template_problem(source, what)
        if problem is not None:
            raise NodeFailure(problem)
        self.source = source
        self._template = _environment().from_string(source)

    def render(self, x: Any = None, **extra: Any) -> str:
        names: dict[str, Any] = {}
        if isinstance(x, dict):
            names.update({k: v for k, v in x.items() if isinstance(k, str)})
        names.update(extra)
        names["x"] = x
        try:
            return self._template.render(names)
        except Exception as exc:
            raise NodeFailure(_render_failure(exc)) from None


def _render_failure(exc: Exception) -> str:
    from jinja2 import TemplateError
    from jinja2.sandbox import SecurityError

    if isinstance(exc, SecurityError):
        return f"the template tried something the sandbox forbids: {exc}"
    if isinstance(exc, TemplateError):
        return f"the template failed: {exc.message or exc}"
    # an error inside an expression of the template
    return f"the template failed: {type(exc).__name__}: {exc}"


class TextTemplate(NodeType):
    type_id = "text.template"
    title = "Template"
    category = "Text"
    description = "Renders a sandboxed Jinja template over its input (prompts, messages, reports)."
    inputs = (Port("in", required=False, help="available as x (and its keys, if a dict)"),)
    outputs = (Port("text", "str"),)
    parameters = (Param("template", "text", default="{{ x }}", required=True,
                        help="Jinja syntax: {{ x.name }}, {% for i in x %}...{% endfor %}"),)
    pure = True  # not `cheap`: a template can loop for a while, so it renders in a thread
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
