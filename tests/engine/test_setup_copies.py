"""compile_workflow sets up one node per distinct params of Flowloom's own pure types and makes
the other nodes with those params copies of it, when what setup() made is immutable: every
node's instance still holds what its own setup() would make, its own params and its own id,
and nothing mutable is ever shared (issue #17)."""

from __future__ import annotations

import asyncio

import pytest

from engine import Edge, Node, Run, Workflow, compile_workflow
from engine.compile import _template
from engine.expressions import Expression
from engine.nodetype import NodeType
from nodes import default_registry


@pytest.fixture(scope="module")
def registry():
    return default_registry(plugins=False)


def _chain(count: int) -> Workflow:
    nodes = [Node("n0", "data.expression", params={"expr": "0", "inputs": []})]
    nodes += [Node(f"n{i}", "data.expression", params={"expr": "x + 1", "inputs": ["x"]})
              for i in range(1, count)]
    nodes.append(Node("s", "flow.switch", params={"cases": ["x > 1", "x > 2"]}))
    nodes.append(Node("s2", "flow.switch", params={"cases": ["x > 1", "x > 2"]}))
    nodes.append(Node("out", "flow.output", params={"name": "result"}))
    edges = [Edge(f"n{i - 1}", "out", f"n{i}", "x") for i in range(1, count)]
    edges += [Edge(f"n{count - 1}", "out", "s", "in"), Edge(f"n{count - 1}", "out", "s2", "in"),
              Edge(f"n{count - 1}", "out", "out", "in")]
    return Workflow("chain", nodes=nodes, edges=edges)


def _state(impl: NodeType) -> dict:
    return {name: (value.source if isinstance(value, Expression) else
                   [c.source for c in value] if name == "cases" else value)
            for name, value in vars(impl).items()}


def test_copies_hold_what_their_own_setup_makes(registry):
    compiled = compile_workflow(_chain(50), registry)
    impls = {nid: pn.impl for nid, pn in compiled.nodes.items()}
    for nid, impl in impls.items():
        own = type(impl)(dict(impl.params), nid)  # what its own setup makes
        assert _state(impl) == _state(own)
        assert list(vars(impl)) == list(vars(own))
        assert impl.node_id == nid
    params = [id(impl.params) for impl in impls.values()]
    assert len(set(params)) == len(params)  # each node its own params dict
    inner = [id(impl.params["inputs"]) for nid, impl in impls.items() if nid.startswith("n")]
    assert len(set(inner)) == len(inner)  # holding its own values, as loaded
    expressions = {id(impls[f"n{i}"].expression) for i in range(1, 50)}
    assert len(expressions) == 1  # the copies share the one immutable Expression
    assert impls["s"].cases is not impls["s2"].cases  # a list is never shared


def test_a_copied_chain_runs_as_one_set_up_node_by_node(registry):
    compiled = compile_workflow(_chain(30), registry)
    result = asyncio.run(Run(compiled).execute())
    assert result.status == "succeeded"
    assert result.outputs == {"result": 29}


def test_only_own_pure_types_with_immutable_setups_are_templates(registry):
    expression = registry.get("data.expression")({"expr": "x", "inputs": ["x"]}, "a")
    assert _template(expression) is expression
    switch = registry.get("flow.switch")({"cases": ["x"]}, "b")
    assert _template(switch) is None  # its cases are a list

    class Plugin(NodeType):  # not one of Flowloom's own (this test module's)
        type_id = "test.plugin"
        pure = True

        def setup(self) -> None:
            self.expression = Expression("1")

    assert _template(Plugin({}, "c")) is None

    class Counting(NodeType):
        type_id = "test.counting"
        pure = True

    Counting.__module__ = "engine.fake"
    assert _template(Counting({}, "d")) is not None
    Counting.pure = False
    assert _template(Counting({}, "e")) is None
