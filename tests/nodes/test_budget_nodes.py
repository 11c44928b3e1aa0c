"""Every node that evaluates what a person typed does it within the budget: list nodes, the
calculator, templates (text.template, flow.log, HTTP's are covered by their own tests)."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.model import Node
from tests.nodes.flowrun import run_flow, value, wf

HEAVY = "sum([sum(range(1000000)) for i in range(150)])"
TIGHT = {"cpu_s": 0.3}


def sentence(what: str) -> str:
    return f"{what} used more than 0.3 s of CPU (the node's cpu limit)"


@pytest.mark.asyncio
@pytest.mark.parametrize("node_type, param", [("data.filter", "condition"),
                                              ("data.map", "expr"), ("data.sort", "key")])
async def test_a_heavy_list_expression_fails_the_node_naming_the_limit(node_type, param):
    workflow = wf(value("v", [1, 2, 3]),
                  Node("l", node_type, params={param: f"{HEAVY} + item"}, limits=TIGHT),
                  edges="v.out->l.items")
    t0 = time.monotonic()
    result, _ = await run_flow(workflow)
    assert result.nodes["l"].error == sentence(f"expression `{HEAVY} + item`")
    assert time.monotonic() - t0 < 15


@pytest.mark.asyncio
async def test_a_long_list_goes_to_a_worker_in_one_round_trip_and_keeps_its_results():
    items = list(range(60_000))  # more than a slice inline, little in a worker
    workflow = wf(value("v", items), Node("m", "data.map", params={"expr": "item * 2"}),
                  Node("f", "data.filter", params={"condition": "item % 3 == 0"}),
                  edges="v.out->m.items, m.out->f.items")
    result, _ = await run_flow(workflow)
    assert result.nodes["f"].outputs["out"] == [i * 2 for i in items if (i * 2) % 3 == 0]


@pytest.mark.asyncio
async def test_a_list_error_still_names_the_item():
    workflow = wf(value("v", [1, 0]), Node("m", "data.map", params={"expr": "1 / item"}),
                  edges="v.out->m.items")
    result, _ = await run_flow(workflow)
    assert result.nodes["m"].error == ("item 1: expression `1 / item` failed: "
                                       "ZeroDivisionError: division by zero")


@pytest.mark.asyncio
@pytest.mark.parametrize("formula", ["4000000**4000000", "9**9**9", "'%01000000000d' % 1"])
async def test_the_calculator_refuses_a_huge_single_operation_at_once(formula):
    workflow = wf(Node("c", "tool.calculator", params={"expression": formula}))
    t0 = time.monotonic()
    result, _ = await run_flow(workflow)
    assert "over the limit of" in result.nodes["c"].error
    assert time.monotonic() - t0 < 5


@pytest.mark.asyncio
@pytest.mark.parametrize("template", [
    "{{ 'x'|center(1000000000) }}", "{{ '%01000000000d'|format(1) }}",
    "{{ 'x' * 1000000000 }}", "{{ 'x'.ljust(1000000000) }}", "{{ '{:>1000000000}'.format(1) }}",
    "{{ ('x' * 100000)|replace('x', 'y' * 1000) }}", "{{ 'x'|indent(1000000000) }}",
])
async def test_a_template_that_builds_a_huge_string_fails_with_a_sentence(template):
    workflow = wf(Node("t", "text.template", params={"template": template}))
    t0 = time.monotonic()
    result, _ = await run_flow(workflow)
    error = result.nodes["t"].error
    assert error.startswith("the template failed: ") and "long, over the limit of " in error
    assert time.monotonic() - t0 < 5


@pytest.mark.asyncio
async def test_a_looping_template_has_the_cpu_budget_and_a_parallel_delay_overlaps_it():
    template = ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                "{% endfor %}")
    workflow = wf(Node("t", "text.template", params={"template": template}, limits=TIGHT),
                  value("v", 1), Node("d", "util.delay", params={"seconds": 0.2}),
                  edges="v.out->d.in")
    result, events = await run_flow(workflow)
    assert result.nodes["t"].error == sentence(f"template `{template[:57]}...`")
    assert result.nodes["d"].status == "succeeded"
    assert result.nodes["d"].ended_t < result.nodes["t"].ended_t


@pytest.mark.asyncio
async def test_templates_and_expressions_that_are_fine_render_as_before():
    workflow = wf(value("v", {"name": "Ada", "n": [1, 2, 3]}),
                  Node("t", "text.template", params={
                      "template": "{{ name|center(9) }}|{% for i in n %}{{ i }}{% endfor %}|"
                                  "{{ '%03d'|format(7) }}|{{ 'ab' * 2 }}"}),
                  Node("c", "tool.calculator", params={"expression": "sqrt(16) + 2**10"}),
                  edges="v.out->t.in")
    result, _ = await run_flow(workflow)
    assert result.nodes["t"].outputs["text"] == "   Ada   |123|007|abab"
    assert result.nodes["c"].outputs["result"] == 1028.0


@pytest.mark.asyncio
async def test_a_template_joins_long_inputs_as_before():
    workflow = wf(value("v", {"a": "x" * 200_000, "b": "y" * 200_000}),
                  Node("t", "text.template", params={
                      "template": "{{ a + b }}|{{ '%s'|format(a) }}|{{ [a, b]|join('-') }}"}),
                  edges="v.out->t.in")
    result, _ = await run_flow(workflow)
    assert len(result.nodes["t"].outputs["text"]) == 400_000 + 1 + 200_000 + 1 + 400_001


@pytest.mark.asyncio
async def test_a_sub_workflow_mapping_is_evaluated_within_the_budget(tmp_path):
    child = tmp_path / "child.loom.json"
    child.write_text('{"format": "flowloom.workflow", "version": 1, "name": "c", "nodes": ['
                     '{"id": "s", "type": "flow.start", "params": {"inputs": {"n": 0}}}], '
                     '"edges": []}', encoding="utf-8")
    workflow = wf(value("v", 1), Node("sub", "flow.subworkflow", params={
        "path": str(child), "inputs": {"n": HEAVY}}, limits=TIGHT), edges="v.out->sub.in")
    result, _ = await asyncio.wait_for(run_flow(workflow), 30)
    assert result.nodes["sub"].error == sentence(f"expression `{HEAVY}`")
