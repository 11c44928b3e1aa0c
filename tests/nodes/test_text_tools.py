"""text.template (sandboxed Jinja), util.log, flow.fail and tool.calculator."""

from __future__ import annotations

import pytest

from engine.compile import compile_workflow
from engine.errors import CompileError
from engine.model import Node
from tests.nodes.flowrun import REGISTRY, error_of, logs, run_flow, run_one, value, wf


@pytest.mark.asyncio
async def test_template_renders_over_x_and_dict_keys():
    tpl = "Hi {{ name }} ({{ x.tags | join(', ') }}){% for t in tags %}!{% endfor %}"
    result, _ = await run_one("text.template", {"template": tpl},
                              {"in": {"name": "Ada", "tags": ["a", "b"]}})
    assert result.outputs["text"] == "Hi Ada (a, b)!!"


@pytest.mark.asyncio
async def test_template_misspelt_name_fails_instead_of_rendering_empty():
    result, _ = await run_one("text.template", {"template": "Hi {{ nmae }}"},
                              {"in": {"name": "Ada"}})
    assert not result.ok
    assert "'nmae' is undefined" in error_of(result)


@pytest.mark.asyncio
async def test_template_sandbox_refuses_python_internals():
    result, _ = await run_one("text.template",
                              {"template": "{{ x.__class__.__mro__[1].__subclasses__() }}"},
                              {"in": "s"})
    assert not result.ok
    assert "undefined" in error_of(result) or "sandbox" in error_of(result)
    assert "subprocess" not in error_of(result)


def test_template_syntax_error_is_a_validation_problem():
    workflow = wf(Node("t", "text.template", params={"template": "{% for %}"}))
    with pytest.raises(CompileError) as info:
        compile_workflow(workflow, REGISTRY)
    assert "node 't'" in str(info.value) and "does not parse" in str(info.value)


@pytest.mark.asyncio
async def test_log_writes_the_rendered_message_and_passes_the_value_on():
    workflow = wf(value("v", {"n": 3}),
                  Node("l", "util.log", params={"message": "n is {{ n }}", "level": "warning"}),
                  Node("o", "flow.output", params={"name": "r"}),
                  edges="v.out->l.in, l.out->o.in")
    result, events = await run_flow(workflow)
    assert result.outputs["r"] == {"n": 3}
    assert logs(events, "l") == [("warning", "n is 3")]


@pytest.mark.asyncio
async def test_fail_fails_the_run_with_its_message():
    workflow = wf(value("v", {"code": 42}),
                  Node("f", "flow.fail", params={"message": "bad code {{ code }}"}),
                  edges="v.out->f.in")
    result, _ = await run_flow(workflow)
    assert result.status == "failed"
    assert result.nodes["f"].error == "bad code 42"
    assert "bad code 42" in result.error


@pytest.mark.asyncio
async def test_calculator_math_with_x_and_agent_supplied_expression():
    result, _ = await run_one("tool.calculator", {"expression": "sqrt(x) * 2 + floor(pi)"},
                              {"x": 16})
    assert result.outputs["result"] == 11.0
    result, _ = await run_one("tool.calculator", {"expression": "1"},
                              {"expression": "(2 + 3) * 4 ** 2 % 7"})
    assert result.outputs["result"] == (2 + 3) * 4 ** 2 % 7


@pytest.mark.asyncio
@pytest.mark.parametrize("expression, says", [
    ("1 / 0", "divides by zero"),
    ("__import__('os').system('true')", "not defined"),
    ("open('/etc/passwd')", "not defined"),
    ("9 ** 9 ** 9", "9 ** 387420489"),
    ("sqrt(-1)", "math domain error"),
    ("'a' * 3", "not a number"),
    ("2 +", "not a formula"),
    ("factorial(5000)", "larger than the limit"),
])
async def test_calculator_refuses_unsafe_or_broken_formulas(expression, says):
    result, _ = await run_one("tool.calculator", inputs={"expression": expression})
    assert not result.ok
    assert says in error_of(result)


def test_calculator_formula_that_does_not_parse_is_a_validation_problem():
    workflow = wf(Node("c", "tool.calculator", params={"expression": "2 +"}))
    with pytest.raises(CompileError, match="node 'c'.*does not parse"):
        compile_workflow(workflow, REGISTRY)
