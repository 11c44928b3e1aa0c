"""check_details works out what depends only on a node's type and params once per distinct
(type, params). Every node must still get exactly the problems, ports and params a check of
that node alone gives: same messages, its own id, its own error port, nothing borrowed from a
node whose params only look alike (True vs 1, -0.0 vs 0.0, a tuple vs a list)."""

from __future__ import annotations

import pytest

from engine import Edge, Node, Workflow, compile_workflow, fileformat
from engine.compile import compile_problems
from engine.errors import CompileError, Problem
from engine.validate import ERROR_PORT, check_details, node_ports
from nodes import default_registry
from tests.engine.fuzzing import SHIPPED


@pytest.fixture(scope="module")
def registry():
    return default_registry(plugins=False)


def _own(problems: list[Problem], node_id: str) -> list[Problem]:
    return [p for p in problems if p.node_id == node_id and p.edge is None
            and "is not connected" not in p.message]


def _alone(node: Node, registry) -> list[Problem]:
    """The node's problems when it is checked in a workflow of its own (a fresh memo)."""
    return _own(check_details(Workflow("alone", nodes=[node]), registry).problems, node.id)


def _look_alikes() -> list[Node]:
    """Nodes of a few types whose params are equal, or equal only to `==` and hash."""
    param_sets = [
        {"expr": "x + 1", "inputs": ["x"]},
        {"expr": "x + 1", "inputs": ["x"]},
        {"expr": "x +", "inputs": ["x"]},  # does not parse
        {"expr": "x + 1", "inputs": ["x", "x"]},  # a repeated input name
        {"expr": "x + 1", "inputs": ("x",)},  # a tuple is not a list
        {"expr": 1, "inputs": ["x"]},  # not text
        {"expr": True, "inputs": ["x"]},  # True == 1, but it is a bool
        {"expr": "x", "inputs": ["x"], "extra": 0.0},
        {"expr": "x", "inputs": ["x"], "extra": -0.0},  # -0.0 == 0.0
        {"inputs": ["x"], "expr": "x"},  # same items, another order
        {"expr": "x", "inputs": ["1x"]},
        {},
    ]
    nodes = []
    for i, params in enumerate(param_sets * 3):
        nodes.append(Node(f"e{i}", "data.expression", params=dict(params),
                          on_error="continue" if i % 4 == 0 else None))
    nodes.append(Node("w1", "util.delay", params={"seconds": -1}))
    nodes.append(Node("w2", "util.delay", params={"seconds": -1}))
    nodes.append(Node("w3", "util.delay", params={"seconds": True}))
    nodes.append(Node("ghost", "no.such_type", params={"seconds": -1}))
    return nodes


def test_every_node_gets_the_problems_and_ports_of_its_own_check(registry):
    workflows = [Workflow("look-alikes", nodes=_look_alikes())]
    workflows += [fileformat.load(path).workflow for path in SHIPPED]
    for workflow in workflows:
        found = check_details(workflow, registry)
        for node in workflow.nodes.values():
            assert _own(found.problems, node.id) == _alone(node, registry), node.id
            if node.type not in registry:
                assert node.id not in found.ports
                continue
            node_type = registry.get(node.type)
            assert found.ports[node.id] == node_ports(node, node_type), node.id
            assert found.params[node.id] == node_type.with_defaults(node.params)
            assert ("error" in found.ports[node.id][1]) == (node.on_error == "continue")


def test_look_alike_params_are_told_apart(registry):
    found = check_details(Workflow("look-alikes", nodes=_look_alikes()), registry)
    said = {p.node_id: p.message for p in found.problems if "is not connected" not in p.message}
    assert "e0" not in said and "e1" not in said  # the usual node: nothing to say
    assert "does not parse" in said["e2"]
    assert said["e5"] != said["e6"]  # 1 and True are worded as what they are
    assert said["w3"] != said["w1"] and "w2" in said
    assert found.ports["e4"][0] != found.ports["e1"][0]  # a tuple names no input ports


def test_a_node_with_the_error_port_does_not_give_it_to_its_look_alikes(registry):
    nodes = [Node("a", "data.expression", params={"expr": "x", "inputs": ["x"]},
                  on_error="continue"),
             Node("b", "data.expression", params={"expr": "x", "inputs": ["x"]})]
    found = check_details(Workflow("w", nodes=nodes), registry)
    assert found.ports["a"][1]["error"] is ERROR_PORT
    assert "error" not in found.ports["b"][1]


def test_compiled_nodes_get_their_own_params_from_a_shared_check(registry):
    nodes = [Node(f"n{i}", "data.expression", params={"expr": "1", "inputs": []})
             for i in range(3)]
    workflow = Workflow("w", nodes=nodes)
    found = check_details(workflow, registry)
    assert found.params["n0"] is found.params["n1"]  # shared by the check
    compiled = compile_workflow(workflow, registry, checked=found.problems, ports=found.ports,
                                types=found.types, params=found.params)
    impls = [compiled.nodes[f"n{i}"].impl for i in range(3)]
    assert impls[0].params is not impls[1].params
    for i, impl in enumerate(impls):  # each node's own values, not the first node's objects
        assert impl.params["inputs"] is nodes[i].params["inputs"]
        assert impl.params == registry.get("data.expression").with_defaults(nodes[i].params)


def _compile_outcome(workflow: Workflow, registry, plan: bool) -> list[Problem]:
    try:
        if plan:
            return compile_workflow(workflow, registry).warnings
        return compile_problems(workflow, registry)
    except CompileError as exc:
        return ["raised", *exc.problems]


def test_compile_problems_says_what_compile_says_without_building_the_plan(registry):
    broken = [
        Workflow("cycle", nodes=[Node("a", "data.expression"), Node("b", "data.expression")],
                 edges=[Edge("a", "out", "b", "x"), Edge("b", "out", "a", "x")]),
        Workflow("lonely", nodes=[Node("a", "data.expression", params={"inputs": [],
                                                                         "expr": "1"}),
                                  Node("b", "data.expression", params={"inputs": [],
                                                                         "expr": "2"})]),
        Workflow("setup", nodes=[Node("a", "data.expression",
                                      params={"inputs": [], "expr": "x +"})]),
    ]
    workflows = broken + [fileformat.load(path).workflow for path in SHIPPED]
    saw_raise = saw_warning = 0
    for workflow in workflows:
        planned = _compile_outcome(workflow, registry, plan=True)
        assert _compile_outcome(workflow, registry, plan=False) == planned, workflow.name
        saw_raise += bool(planned) and planned[0] == "raised"
        saw_warning += bool(planned) and planned[0] != "raised"
    assert saw_raise >= 2 and saw_warning >= 1
