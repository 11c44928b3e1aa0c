"""The shortcuts `flowloom validate` and `run` take when loading and compiling (issue 17) give
what the full passes give:

* compile_problems (no plan) builds no graph when the workflow has no loop, no tools and no
  cycle, and sets up one node of Flowloom's own pure types per distinct params: its answer is
  compile_workflow's (its warnings, or its CompileError's problems), which builds everything;
* check_details runs the pools and placement passes only when some node could give them
  something to say: every problem those passes find is among check_details' problems.
"""

from __future__ import annotations

import random

import pytest

from engine import CompileError, Edge, Node, Workflow, compile_workflow, fileformat
from engine import compile as compile_module
from engine.compile import compile_problems
from engine.nodetype import NodeType, Param, Port
from engine.seam import placement_problems
from engine.slots import pool_problems
from engine.validate import check_details
from nodes import default_registry
from tests.engine.fuzzing import SHIPPED


@pytest.fixture(scope="module")
def registry():
    return default_registry(plugins=False)


def _spec(workflow: Workflow, registry) -> tuple[str, list[tuple]]:
    """compile_workflow's answer: ("ok", warnings) or ("error", problems)."""
    try:
        found = compile_workflow(workflow, registry).warnings
        kind = "ok"
    except CompileError as exc:
        found, kind = exc.problems, "error"
    return kind, [(p.message, p.node_id, p.edge, p.severity) for p in found]


def _fast(workflow: Workflow, registry) -> tuple[str, list[tuple]]:
    loaded_check = check_details(workflow, registry)
    try:
        found = compile_problems(workflow, registry, checked=loaded_check.problems,
                                 ports=loaded_check.ports, types=loaded_check.types,
                                 params=loaded_check.params)
        kind = "ok"
    except CompileError as exc:
        found, kind = exc.problems, "error"
    return kind, [(p.message, p.node_id, p.edge, p.severity) for p in found]


def _changed(workflow: Workflow, rng: random.Random) -> Workflow:
    """`workflow` with a cycle, a lonely node, a dropped edge or copies of its nodes."""
    nodes = list(workflow.nodes.values())
    edges = list(workflow.edges)
    how = rng.choice(("cycle", "lonely", "drop", "copies", "none"))
    if how == "cycle" and edges:
        e = rng.choice(edges)
        edges.append(Edge(e.target, "out", e.source, "in"))
    elif how == "lonely":
        nodes.append(Node("lonely1", "data.expression", params={"expr": "1", "inputs": []}))
    elif how == "drop" and edges:
        edges.remove(rng.choice(edges))
    elif how == "copies":
        for node in list(nodes)[:5]:
            nodes.append(Node(node.id + "_copy", node.type, params=dict(node.params)))
    return Workflow(workflow.name, nodes=nodes, edges=edges, extra=workflow.extra)


def test_problems_without_a_plan_are_compile_workflows_for_shipped_files_changed(registry):
    rng = random.Random(11)
    errors = fine = 0
    for path in SHIPPED:
        original = fileformat.load(path).workflow
        for attempt in range(8):
            workflow = original if attempt == 0 else _changed(original, rng)
            expected = _spec(workflow, registry)
            assert _fast(workflow, registry) == expected, (path.name, attempt)
            errors += expected[0] == "error"
            fine += expected[0] == "ok"
    assert errors > 10 and fine > 10


def test_a_long_chain_with_a_cycle_is_found_without_the_plan(registry):
    nodes = [Node(f"n{i}", "data.expression", params={"expr": "x + 1", "inputs": ["x"]})
             for i in range(200)]
    edges = [Edge(f"n{i}", "out", f"n{i + 1}", "x") for i in range(199)]
    edges.append(Edge("n199", "out", "n0", "x"))
    workflow = Workflow("ring", nodes=nodes, edges=edges)
    kind, problems = _fast(workflow, registry)
    assert (kind, problems) == _spec(workflow, registry)
    assert kind == "error" and "cycle" in problems[0][0]


class _Picky(NodeType):
    """A pure type whose setup refuses some params the check lets through."""

    type_id = "test.picky"
    inputs = (Port("x", required=False),)
    parameters = (Param("word", "str", default="fine"),)
    pure = True
    cheap = True

    def setup(self) -> None:
        if self.params["word"].startswith("bad"):
            raise ValueError(f"{self.params['word']} is not a word I take")

    def run(self, ctx, **inputs):
        return {"out": inputs.get("x")}


def test_a_setup_said_once_per_params_is_said_for_every_node_with_them(monkeypatch):
    registry = default_registry(plugins=False)
    registry.register(_Picky)
    rng = random.Random(3)
    refused = 0
    for _ in range(30):
        nodes = [Node(f"p{i}", "test.picky",
                      params={"word": rng.choice(["fine", "ok", "bad", "bad2"])})
                 for i in range(rng.randint(1, 12))]
        edges = [Edge(f"p{i - 1}", "out", f"p{i}", "x") for i in range(1, len(nodes))]
        workflow = Workflow("picky", nodes=nodes, edges=edges)
        monkeypatch.setattr(compile_module, "_own_type", lambda node_type: True)
        remembered = _fast(workflow, registry)
        monkeypatch.setattr(compile_module, "_own_type", lambda node_type: False)
        assert remembered == _fast(workflow, registry) == _spec(workflow, registry)
        refused += remembered[0] == "error"
    assert refused > 10


def test_the_pools_and_placement_passes_are_skipped_only_when_they_find_nothing(registry):
    rng = random.Random(5)
    for path in SHIPPED:
        original = fileformat.load(path).workflow
        for _ in range(6):
            workflow = Workflow(original.name, nodes=[
                Node(n.id, n.type, n.title, dict(n.params), n.position, n.retry, n.timeout_s,
                     n.on_error, n.limits, n.pool, n.priority, dict(n.extra))
                for n in original.nodes.values()], edges=original.edges,
                extra=dict(original.extra))
            for node in workflow.nodes.values():
                roll = rng.random()
                if roll < 0.05:
                    node.pool = rng.choice(["llm", "nope", 3])
                elif roll < 0.1:
                    node.priority = rng.choice([1, "high", 2.5, True])
                elif roll < 0.15:
                    node.extra["placement"] = rng.choice(["local", "moon", 7])
            if rng.random() < 0.3:
                workflow.extra["pools"] = rng.choice([{"llm": 1}, {"llm": 0}, [1]])
            found = check_details(workflow, registry)
            messages = [(p.message, p.node_id) for p in found.problems]
            expected = pool_problems(workflow, found.types) + placement_problems(workflow)
            for problem in expected:
                assert (problem.message, problem.node_id) in messages, (path.name, problem)
