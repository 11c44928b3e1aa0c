"""The graphs engine/compile.py plans over: one networkx.DiGraph per scope, written straight
into networkx's adjacency dicts (add_edges_from costs ~3 µs an edge), the topological order
generation by generation, and the cycle check. A workflow without loops or tools is planned
from `flat_wiring` alone, its graph made only when someone reads `Plan.graph` (issue #17).
"""

from __future__ import annotations

import operator
from typing import Any

import networkx as nx

from engine.errors import Problem
from engine.loops import LOOP_PORTS
from engine.model import Edge, Workflow
from engine.nodetype import NodeType
from engine.scopes import _back_ports


class _Wiring:
    """What the one pass over the edges of a loop-free workflow found besides the graph.
    (A plain class: a dataclass costs ~1 ms to create at import, on every run's path.)"""

    __slots__ = ("inputs_of", "one_edge_per_pair")

    def __init__(self, inputs_of: dict[str, dict[str, list[tuple[str, str]]]],
                 one_edge_per_pair: bool) -> None:
        self.inputs_of = inputs_of  # target -> port -> sources
        self.one_edge_per_pair = one_edge_per_pair  # no two edges join the same two nodes


def _scope_graphs(workflow: Workflow, types: dict[str, type[NodeType]],
                  scope_of: dict[str, str | None]
                  ) -> tuple[dict[str | None, nx.DiGraph], _Wiring | None]:
    """One graph per scope; for a workflow without loops, also its _Wiring (from the same pass
    over the edges, which _instantiate would otherwise make again)."""
    graphs: dict[str | None, nx.DiGraph] = {None: nx.DiGraph()}
    for nid, node_type in types.items():
        if node_type.kind in LOOP_PORTS:
            graphs[nid] = nx.DiGraph(loop=nid)
    if len(graphs) == 1:
        _add_nodes(graphs[None], workflow.nodes)
    else:
        for nid in workflow.nodes:
            graphs[scope_of[nid]].add_node(nid)
    back_ports = _back_ports(types)
    if not back_ports:  # no loop: one scope, every edge a graph edge
        return graphs, _add_edges(graphs[None], workflow.edges)
    # (u, v) -> the edges between them, per scope; added in one add_edges_from each (one
    # networkx add_edge call per edge cost more than everything else compile does per edge)
    wired: dict[str | None, dict[tuple[str, str], list[Edge | None]]] = {
        key: {} for key in graphs}
    for e in workflow.edges:
        if back_ports.get(e.target) == e.target_port:
            continue  # a back edge
        source_scope, target_scope = scope_of[e.source], scope_of[e.target]
        if source_scope == target_scope:
            pair, edge = (e.source, e.target), e
        else:
            # A value entering a body: the outermost loop around the target that sits in the
            # source's scope must wait for the source.
            holder = e.target
            while scope_of[holder] != source_scope:
                holder = scope_of[holder]  # type: ignore[assignment]
            if holder == e.source:
                continue
            pair, edge = (e.source, holder), None
        edges = wired[source_scope].get(pair)
        if edges is None:
            wired[source_scope][pair] = [edge]
        else:
            edges.append(edge)
    for key, pairs in wired.items():
        graphs[key].add_edges_from((u, v, {"edges": edges}) for (u, v), edges in pairs.items())
    return graphs, None


def _add_nodes(graph: nx.DiGraph, ids: dict[str, Any]) -> None:
    """`graph.add_nodes_from(ids)` for a new graph, written into networkx's dicts (its loop
    makes three dicts a node through factory attributes and checks each for tuples)."""
    if (graph._succ or graph.adjlist_inner_dict_factory is not dict
            or graph.node_attr_dict_factory is not dict):
        graph.add_nodes_from(ids)
        return
    graph._succ.update({nid: {} for nid in ids})
    graph._pred.update({nid: {} for nid in ids})
    graph._node.update({nid: {} for nid in ids})
    nx._clear_cache(graph)


def _add_edges(graph: nx.DiGraph, edges: list[Edge]) -> _Wiring:
    """Each edge into `graph` (whose nodes are all there) as the edge (source, target) with
    {"edges": [every Edge between them]}: what add_edges_from gives, in the same order, but
    written into networkx's adjacency dicts (add_edges_from costs ~3 µs an edge: most of
    compiling a dense graph). The same pass groups each target's inputs for _instantiate."""
    succ, pred = graph._succ, graph._pred
    inputs_of: dict[str, dict[str, list[tuple[str, str]]]] = {}
    one_edge_per_pair = True
    for e in edges:
        u, v, port = e.source, e.target, e.target_port
        targets = succ[u]
        data = targets.get(v)
        if data is None:
            targets[v] = pred[v][u] = {"edges": [e]}
        else:
            data["edges"].append(e)
            one_edge_per_pair = False
        by_port = inputs_of.get(v)
        if by_port is None:
            inputs_of[v] = {port: [(u, e.source_port)]}
            continue
        sources = by_port.get(port)
        if sources is None:
            by_port[port] = [(u, e.source_port)]
        else:
            sources.append((u, e.source_port))
    nx._clear_cache(graph)
    return _Wiring(inputs_of, one_edge_per_pair)


def _topological_order(graph: nx.DiGraph) -> list[str] | None:
    """The nodes generation by generation — the order nx.topological_sort gives — or None on
    a cycle. (Kahn over networkx's adjacency dicts, read directly: this walks every edge once,
    where the cycle check by strongly connected components cost several times more.)"""
    succ = graph._succ
    indegree = {nid: len(preds) for nid, preds in graph._pred.items()}
    generation = [nid for nid, count in indegree.items() if count == 0]
    order: list[str] = []
    while generation:
        order += generation
        following = []
        for nid in generation:
            for v in succ[nid]:
                indegree[v] -= 1
                if indegree[v] == 0:
                    following.append(v)
        generation = following
    return order if len(order) == len(indegree) else None


_SOURCE = operator.attrgetter("source")
_TARGET = operator.attrgetter("target")


def _acyclic(workflow: Workflow) -> bool:
    """Whether the edges, every one a dependency, leave the nodes without a cycle (False
    also for an edge to or from a node not in the workflow: the graph's check words it)."""
    # Every edge from an earlier node in the file to a later one cannot close a cycle: proved
    # at C speed (maps over the whole list); else Kahn's count below
    position = dict(zip(workflow.nodes, range(len(workflow.nodes))))
    try:
        if all(map(operator.lt, map(position.__getitem__, map(_SOURCE, workflow.edges)),
                   map(position.__getitem__, map(_TARGET, workflow.edges)))):
            return True
    except KeyError:
        return False
    indegree = dict.fromkeys(workflow.nodes, 0)
    succ: dict[str, list[str]] = {}
    for e in workflow.edges:
        if e.source not in indegree or e.target not in indegree:
            return False
        indegree[e.target] += 1
        targets = succ.get(e.source)
        if targets is None:
            succ[e.source] = [e.target]
        else:
            targets.append(e.target)
    ready = [nid for nid, count in indegree.items() if count == 0]
    settled = 0
    while ready:
        nid = ready.pop()
        settled += 1
        for v in succ.get(nid, ()):
            indegree[v] -= 1
            if indegree[v] == 0:
                ready.append(v)
    return settled == len(indegree)


def _cycle_problems(graph: nx.DiGraph) -> list[Problem]:
    problems = []
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(graph.subgraph(component))
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        problems.append(Problem(
            f"cycle with no loop node: {path}; repeat work with flow.foreach or flow.while",
            node_id=sorted(component)[0]))
    return problems


class Flat:
    """A workflow without loops in one pass over its edges: what planning it needs, with no
    networkx graph (`graph()` makes the one `_scope_graphs` would have, when it is read)."""

    __slots__ = ("ids", "edges", "succ", "preds", "inputs_of", "one_edge_per_pair")

    def __init__(self, ids: tuple[str, ...], edges: list[Edge],
                 succ: dict[str, dict[str, int]], preds: dict[str, int],
                 inputs_of: dict[str, dict[str, list[tuple[str, str]]]],
                 one_edge_per_pair: bool) -> None:
        self.ids = ids  # the nodes, in workflow order
        self.edges = edges  # the edges, in order (a copy: the workflow may change later)
        self.succ = succ  # source -> each target -> edges between them, in first-edge order
        self.preds = preds  # every node -> how many distinct nodes feed it
        self.inputs_of = inputs_of  # target -> port -> sources
        self.one_edge_per_pair = one_edge_per_pair  # no two edges join the same two nodes

    def graph(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        _add_nodes(graph, dict.fromkeys(self.ids))
        _add_edges(graph, self.edges)
        return graph


def flat_wiring(workflow: Workflow) -> Flat:
    """`Flat` of a workflow whose every edge joins two of its nodes and none is a back edge."""
    ids = tuple(workflow.nodes)
    edges = list(workflow.edges)
    succ: dict[str, dict[str, int]] = {}
    preds = dict.fromkeys(ids, 0)
    inputs_of: dict[str, dict[str, list[tuple[str, str]]]] = {}
    one_edge_per_pair = True
    for e in edges:
        u, v, port = e.source, e.target, e.target_port
        targets = succ.get(u)
        if targets is None:
            succ[u] = {v: 1}
            preds[v] += 1
        elif v in targets:
            targets[v] += 1
            one_edge_per_pair = False
        else:
            targets[v] = 1
            preds[v] += 1
        by_port = inputs_of.get(v)
        if by_port is None:
            inputs_of[v] = {port: [(u, e.source_port)]}
            continue
        sources = by_port.get(port)
        if sources is None:
            by_port[port] = [(u, e.source_port)]
        else:
            sources.append((u, e.source_port))
    return Flat(ids, edges, succ, preds, inputs_of, one_edge_per_pair)


def flat_order(flat: Flat) -> list[str] | None:
    """What `_topological_order(flat.graph())` gives, from `flat` alone."""
    succ = flat.succ
    indegree = dict(flat.preds)
    generation = [nid for nid, count in indegree.items() if count == 0]
    order: list[str] = []
    none: dict[str, int] = {}
    while generation:
        order += generation
        following = []
        for nid in generation:
            for v in succ.get(nid, none):
                indegree[v] -= 1
                if indegree[v] == 0:
                    following.append(v)
        generation = following
    return order if len(order) == len(indegree) else None
