"""check_workflow proves most workflows' edges fine at once, with set operations over the whole
file, and looks at each edge only when that proof fails. The proof must never pass a workflow
whose edges, looked at one by one, have a problem: shipped files with their edges rewired at
random check that."""

from __future__ import annotations

import random

import pytest

from engine import Edge, Node, Workflow, fileformat
from engine.validate import _edge_problems, _edges_all_fine, check_workflow, checked_workflow
from nodes import default_registry
from tests.engine.fuzzing import SHIPPED


@pytest.fixture(scope="module")
def registry():
    return default_registry(plugins=False)


def _rewired(workflow: Workflow, rng: random.Random) -> Workflow:
    """`workflow` with one to three edges changed the way a hand-edited file goes wrong."""
    edges = list(workflow.edges)
    ids = list(workflow.nodes)
    for _ in range(rng.randint(1, 3)):
        how = rng.choice(("drop", "repeat_input", "port", "self", "source_port", "unknown",
                          "any_pair"))
        if not edges and how != "any_pair":
            how = "any_pair"
        e = rng.choice(edges) if edges else None
        if how == "drop":
            edges.remove(e)
        elif how == "repeat_input":
            edges.append(Edge(rng.choice(ids), e.source_port, e.target, e.target_port))
        elif how == "port":
            edges[edges.index(e)] = Edge(e.source, e.source_port, e.target,
                                         rng.choice(("x", "in", "nope", "items", "tools")))
        elif how == "self":
            edges.append(Edge(e.target, e.source_port, e.target, e.target_port))
        elif how == "source_port":
            edges[edges.index(e)] = Edge(e.source, rng.choice(("out", "true", "x", "results")),
                                         e.target, e.target_port)
        elif how == "unknown":
            edges.append(Edge("ghost", "out", e.target, e.target_port))
        else:
            edges.append(Edge(rng.choice(ids), "out", rng.choice(ids), "in"))
    return Workflow(workflow.name, nodes=workflow.nodes.values(), edges=edges)


def test_the_proof_at_once_never_passes_edges_that_have_a_problem(registry):
    rng = random.Random(17)
    proved = worded = 0
    for path in SHIPPED:
        original = fileformat.load(path).workflow
        for attempt in range(25):
            workflow = original if attempt == 0 else _rewired(original, rng)
            _, _, ports = checked_workflow(workflow, registry)
            one_by_one = _edge_problems(workflow, ports)
            if _edges_all_fine(workflow.edges, ports):
                proved += 1
                assert one_by_one == [], (path.name, [str(p) for p in one_by_one])
            elif one_by_one:
                worded += 1
                # the problems found one by one are what check_workflow reports
                found = [str(p) for p in check_workflow(workflow, registry)]
                assert all(str(p) in found for p in one_by_one)
    assert proved >= len(SHIPPED) // 2  # the shipped files themselves mostly take the fast path
    assert worded > 60  # and the rewiring made plenty of files with problems


def test_a_dense_layered_workflow_is_proved_fine_and_a_repeated_input_is_not(registry):
    nodes = [Node(f"a{j}", "data.expression", params={"expr": str(j), "inputs": []})
             for j in range(5)]
    nodes.append(Node("sum", "data.expression",
                                 params={"expr": "a0 + a1", "inputs": ["a0", "a1", "a2"]}))
    edges = [Edge(f"a{k}", "out", "sum", f"a{k}") for k in range(3)]
    workflow = Workflow("dense", nodes=nodes, edges=edges)
    _, _, ports = checked_workflow(workflow, registry)
    assert _edges_all_fine(workflow.edges, ports)
    assert check_workflow(workflow, registry) == []

    repeated = Workflow("dense", nodes=nodes, edges=[*edges, Edge("a4", "out", "sum", "a0")])
    _, _, ports = checked_workflow(repeated, registry)
    assert not _edges_all_fine(repeated.edges, ports)
    assert [str(p) for p in check_workflow(repeated, registry)] == [
        "node 'sum': input 'a0' takes one edge but has 2 (a0.out, a4.out); use a flow.merge "
        "node to join branches"]
