"""A workflow without loops is planned from one pass over its edges (engine/compile_graph.py
`flat_wiring`), its networkx graph made only when `Plan.graph` is read: the plan, the graph,
the warnings and the errors are the ones the graph path gives (forced here by making compile
believe there is a loop, so `_scope_graphs` builds every graph first, as it used to)."""

from __future__ import annotations

import random

import pytest

from engine import CompileError, Edge, Node, Workflow, compile_workflow, fileformat
from engine import compile as compile_module
from nodes import default_registry
from tests.engine.fuzzing import SHIPPED


@pytest.fixture(scope="module")
def registry():
    return default_registry(plugins=False)


def _plan_view(plan) -> list:
    graph = plan.graph
    return [
        plan.loop_id, list(plan.nodes), list(plan.indegree.items()), plan.sources,
        plan.first_from_outside,
        [(pn.id, pn.label, pn.kind, pn.mode, pn.in_ports, pn.out_ports,
          [c.id for c in pn.consumers], pn.retry, pn.timeout_s, pn.pool, pn.priority,
          pn.on_error, pn.merge_first, pn.back_source, pn.tools, pn.limits, type(pn.impl),
          pn.impl.params, None if pn.body is None else _plan_view(pn.body))
         for pn in plan.nodes.values()],
        dict(graph.graph), list(graph.nodes(data=True)),
        [(u, v, [None if e is None else e.key() for e in d["edges"]])
         for u, v, d in graph.edges(data=True)],
        [(v, list(graph.pred[v])) for v in graph],
    ]


def _answer(workflow: Workflow, registry) -> tuple:
    try:
        compiled = compile_workflow(workflow, registry)
    except CompileError as exc:
        return "error", [(p.message, p.node_id, p.edge, p.severity) for p in exc.problems]
    return "ok", ([(p.message, p.node_id, p.severity) for p in compiled.warnings],
                  _plan_view(compiled.plan), sorted(compiled.nodes), compiled.scope_of,
                  compiled.tool_nodes)


def _both(workflow: Workflow, registry, monkeypatch) -> tuple:
    flat = _answer(workflow, registry)
    with monkeypatch.context() as patch:
        real = compile_module._back_ports
        # (a loop seen by the flat-path test only: _scope_graphs still sees none)
        patch.setattr(compile_module, "_back_ports", lambda types: real(types) or {"-": "-"})
        graph = _answer(workflow, registry)
    return flat, graph


def _random_dag(rng: random.Random) -> Workflow:
    count = rng.randrange(1, 40)
    nodes, edges = [], []
    for i in range(count):
        kind = rng.random()
        if kind < 0.15 and i:
            nodes.append(Node(f"m{i}", "flow.merge", params={"mode": rng.choice(["all",
                                                                                 "first"])}))
            for j in rng.sample(range(i), min(i, rng.randrange(1, 4))):
                edges.append(Edge(nodes[j].id, "out", f"m{i}", "in"))
            continue
        names = [f"a{k}" for k in range(rng.randrange(0, 4) if i else 0)]
        nodes.append(Node(f"n{i}", "data.expression", title=rng.choice(["", "T"]),
                          params={"expr": " + ".join(names) or str(i), "inputs": names}))
        for name in names:
            # often the same source twice: two edges between one pair
            j = rng.randrange(i) if rng.random() < 0.6 or not edges else \
                int(edges[-1].source[1:]) if edges[-1].source[1:].isdigit() and \
                int(edges[-1].source[1:]) < i else rng.randrange(i)
            edges.append(Edge(nodes[j].id, "out", f"n{i}", name))
    if rng.random() < 0.15 and len(edges) > 1:  # a cycle
        e = rng.choice(edges)
        edges.append(Edge(e.target, "out", e.source, "extra"))
        source = next(n for n in nodes if n.id == e.source)
        if source.type == "data.expression":
            source.params = {"expr": "1", "inputs": source.params["inputs"] + ["extra"]}
    rng.shuffle(edges)
    return Workflow("dag", nodes=nodes, edges=edges)


def test_random_dags_plan_alike_by_both_paths(registry, monkeypatch):
    rng = random.Random(3)
    kinds = {"ok": 0, "error": 0}
    multi = 0
    for _ in range(150):
        workflow = _random_dag(rng)
        flat, graph = _both(workflow, registry, monkeypatch)
        assert flat == graph
        kinds[flat[0]] += 1
        pairs = [(e.source, e.target) for e in workflow.edges]
        multi += len(set(pairs)) != len(pairs)
    assert kinds["ok"] >= 50 and kinds["error"] >= 5 and multi >= 20


def test_shipped_files_plan_alike_by_both_paths(registry, monkeypatch):
    flat_planned = 0
    for path in SHIPPED:
        workflow = fileformat.load(path).workflow
        flat, graph = _both(workflow, registry, monkeypatch)
        assert flat == graph, path.name
        flat_planned += flat[0] == "ok" and not any(
            registry.get(n.type).kind in ("foreach", "while")
            for n in workflow.nodes.values())
    assert flat_planned >= 3


def test_the_graph_is_made_once_when_read_and_not_before(registry):
    workflow = Workflow("w", nodes=[Node("a", "data.expression",
                                         params={"expr": "1", "inputs": []}),
                                    Node("b", "data.expression",
                                         params={"expr": "x", "inputs": ["x"]})],
                        edges=[Edge("a", "out", "b", "x")])
    plan = compile_workflow(workflow, registry).plan
    assert plan.built is None
    workflow.add_node(Node("c", "data.expression", params={"expr": "1", "inputs": []}))
    graph = plan.graph  # the compiled workflow's, not the one changed since
    assert list(graph.nodes) == ["a", "b"] and list(graph.edges) == [("a", "b")]
    assert plan.graph is graph and plan.built is graph
