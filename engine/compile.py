"""Compile a drawn workflow into an execution plan of nested DAGs.

Rules:
* A loop node (`flow.foreach`, `flow.while`) owns a *body*: every node reachable from its
  `item`/`body` output without passing through the loop node again. The body ends in an edge
  back into the loop's `result`/`next` input (the *back edge*). Bodies nest; two loops' bodies
  either nest or are disjoint.
* Values may flow into a body from outside it; a body node may not feed a node outside its loop
  (results leave a loop through `results`/`done`). A `flow.output` cannot sit in a loop body.
* With back edges set aside, each scope (the top level and each body) must be a DAG; any other
  cycle is an error listing its nodes. Each scope becomes one `Plan` over a `networkx.DiGraph`.
* A loop waits, in its own scope, for every outside node its body reads (an implied edge).
* Nodes with no edges at all, in a workflow of several nodes, are warnings.
All problems are collected and raised together as one CompileError.
"""

from __future__ import annotations

import gc
import operator
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

import networkx as nx

from engine.compile_graph import (
    Flat,
    _acyclic,
    _cycle_problems,
    _scope_graphs,
    _topological_order,
    _Wiring,
    flat_order,
    flat_wiring,
)
from engine.errors import CompileError, Problem
from engine.expressions import Expression
from engine.limits import MAX_RETRY_DELAY_S
from engine.loops import LOOP_PORTS
from engine.model import Edge, Workflow
from engine.nodetype import NodeType, Port
from engine.registry import Registry
from engine.scopes import _back_ports, _check_scope_crossings, _find_loop_scopes
from engine.validate import check_details, node_ports


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a failing node is tried again, and how long it waits between tries."""

    max_attempts: int = 3
    backoff_s: float = 1.0
    factor: float = 2.0

    @classmethod
    def from_setting(cls, setting: dict[str, Any] | None) -> RetryPolicy | None:
        if not setting:
            return None
        return cls(**{k: setting[k] for k in ("max_attempts", "backoff_s", "factor")
                      if k in setting})

    def delay(self, failed_attempt: int) -> float:
        """The base delay before the next attempt (jitter is added by the executor), never
        more than MAX_RETRY_DELAY_S however large the factor grows it."""
        try:
            delay = self.backoff_s * self.factor ** (failed_attempt - 1)
        except OverflowError:
            delay = MAX_RETRY_DELAY_S
        return min(float(delay), MAX_RETRY_DELAY_S)


@dataclass(slots=True, eq=False)
class PlanNode:
    """One node as the scheduler runs it: its implementation, how it runs, its wiring."""

    id: str
    label: str
    impl: NodeType
    kind: str
    mode: str  # async | thread | inline
    # (port, ((source id, source port), ...), multi, type) for each connected input port
    in_ports: tuple[tuple[str, tuple[tuple[str, str], ...], bool, str], ...]
    out_ports: tuple[str, ...]
    consumers: list[PlanNode] = field(default_factory=list)  # one entry per edge / implied edge
    retry: RetryPolicy | None = None
    timeout_s: float | None = None
    pool: str | None = None
    priority: int = 0
    on_error: str = "fail"
    merge_first: bool = False
    body: Plan | None = None
    back_source: tuple[str, str] | None = None  # what feeds the loop's result/next
    tools: tuple[tuple[str, str], ...] = ()  # (tools port, tool node id) wired into this node
    limits: dict[str, float] | None = None  # the node's evaluation budget, as written

    @property
    def runs_inline(self) -> bool:
        return (self.mode == "inline" and self.retry is None and self.timeout_s is None
                and self.pool is None
                and self.body is None)


@dataclass(slots=True, eq=False)
class Plan:
    """The nodes of one scope (the workflow, or a loop's body) and the order they may run in."""

    loop_id: str | None
    built: nx.DiGraph | None  # the scope's graph; None until `graph` is first read
    nodes: dict[str, PlanNode]
    indegree: dict[str, int]
    sources: tuple[str, ...]
    # merge-first nodes of this plan that read a value from outside it (a loop body reading
    # from around the loop): that value is there from the start, so it may be the first.
    first_from_outside: tuple[str, ...] = ()
    # what makes the graph when `built` is None (a workflow without loops is planned without
    # one: running it never reads it, only rerun and --reuse-from do)
    make_graph: Callable[[], nx.DiGraph] | None = field(default=None, repr=False)

    @property
    def graph(self) -> nx.DiGraph:
        """The scope's nodes and edges (with {"edges": [each Edge between the two]})."""
        if self.built is None:
            assert self.make_graph is not None
            self.built, self.make_graph = self.make_graph(), None
        return self.built


@dataclass(slots=True, eq=False)
class Compiled:
    """A checked workflow ready to run: its top-level plan, every node's scope and warnings."""

    workflow: Workflow
    plan: Plan
    scope_of: dict[str, str | None]  # node id -> id of the loop whose body holds it
    nodes: dict[str, PlanNode]  # every node, tool nodes included
    warnings: list[Problem]
    tool_nodes: frozenset[str] = frozenset()  # nodes that run only when an agent calls them


def compile_workflow(workflow: Workflow, registry: Registry, *,
                     checked: list[Problem] | None = None,
                     ports: dict[str, tuple[dict[str, Port], dict[str, Port]]] | None = None,
                     types: dict[str, type[NodeType]] | None = None,
                     params: dict[str, dict[str, Any]] | None = None) -> Compiled:
    """The execution plan of `workflow`, or CompileError listing every problem.

    `checked`: the problems `check_workflow(workflow, registry)` already returned for this very
    workflow (engine.fileformat.load with a registry runs it), so it is not run a second time;
    `ports`: the ports that check found for each node (`Loaded.ports`), so they are not built
    again either; `types` and `params`: each node's type and params with defaults filled, as
    that check found them (`Loaded.types`, `Loaded.params`), likewise.
    """
    # Compiling allocates a few objects per node and keeps them all; CPython's cyclic GC would
    # rescan the growing heap again and again (half the time at 10 000 nodes). Nothing made
    # here is garbage, so the collector is paused for the duration.
    paused = gc.isenabled()
    gc.disable()
    try:
        compiled = _compile(workflow, registry, checked, ports, types, params)
    finally:
        if paused:
            gc.enable()
    assert isinstance(compiled, Compiled)
    return compiled


def compile_problems(workflow: Workflow, registry: Registry, *,
                     checked: list[Problem] | None = None,
                     ports: dict[str, tuple[dict[str, Port], dict[str, Port]]] | None = None,
                     types: dict[str, type[NodeType]] | None = None,
                     params: dict[str, dict[str, Any]] | None = None) -> list[Problem]:
    """The warnings of `compile_workflow(workflow, registry, ...)` (same arguments), or the
    CompileError it raises, without building the plan: every node is still set up (a setup
    that rejects its params is a problem), but no PlanNode or Plan is made (`validate`)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        found = _compile(workflow, registry, checked, ports, types, params, build=False)
    finally:
        if paused:
            gc.enable()
    assert isinstance(found, list)
    return found


def _compile(workflow: Workflow, registry: Registry, checked: list[Problem] | None,
             checked_ports: dict[str, tuple[dict[str, Port], dict[str, Port]]] | None,
             checked_types: dict[str, type[NodeType]] | None = None,
             params: dict[str, dict[str, Any]] | None = None, *,
             build: bool = True) -> Compiled | list[Problem]:
    """The plan; with `build` False only the warnings (each node set up, nothing built)."""
    if checked is None:  # check, and keep the types, ports and params the check found
        found = check_details(workflow, registry)
        problems, types, ports, params = found.problems, found.types, found.ports, found.params
    else:
        problems, types, ports = list(checked), {}, {}
    if any(p.is_error for p in problems):
        raise CompileError(problems)
    warnings = [p for p in problems if not p.is_error]
    if checked is not None:
        types = checked_types if checked_types is not None else {
            nid: registry.get(n.type) for nid, n in workflow.nodes.items()}
        # Every node's ports, built once (node_ports makes Port objects; the checks below and
        # _instantiate each used to build them again).
        ports = checked_ports if checked_ports is not None else {
            nid: node_ports(n, types[nid]) for nid, n in workflow.nodes.items()}
    original = workflow
    tools_of, tool_nodes, problems = _find_tools(workflow, types, ports)
    if problems:
        raise CompileError(problems + warnings)
    if tool_nodes:  # tools are not scheduled: plan over the workflow without them
        workflow = Workflow(original.name, nodes=[n for nid, n in original.nodes.items()
                                                  if nid not in tool_nodes],
                            edges=[e for e in original.edges if e.source not in tool_nodes])
    scope_of, loop_problems = _find_loop_scopes(workflow, types)
    problems = loop_problems
    if not problems:
        problems += _check_scope_crossings(workflow, types, scope_of)
    if problems:
        raise CompileError(problems + warnings)
    graphs: dict[str | None, nx.DiGraph] = {}
    wiring: _Wiring | None = None
    orders: dict[str | None, list[str]] = {}
    flat: Flat | None = None
    if build and not _back_ports(types):  # one scope: planned without a graph (compile_graph)
        flat = flat_wiring(workflow)
        order = flat_order(flat)
        if order is None:
            problems += _cycle_problems(flat.graph())
        else:
            orders[None] = order
        wiring = _Wiring(flat.inputs_of, flat.one_edge_per_pair)
    # Only the problems wanted, no loop, no tools, no cycle: no graph is needed
    elif build or tool_nodes or _back_ports(types) or not _acyclic(workflow):
        graphs, wiring = _scope_graphs(workflow, types, scope_of)
    for key, graph in graphs.items():
        order = _topological_order(graph)
        if order is None:
            problems += _cycle_problems(graph)
        else:
            orders[key] = order
    nodes, build_problems = _instantiate(workflow, types, ports,
                                         None if wiring is None else wiring.inputs_of, params,
                                         build=build)
    tools, tool_build_problems = _instantiate(
        Workflow(nodes=[original.nodes[nid] for nid in tool_nodes]), types, ports,
        checked_params=params, build=build)
    problems += build_problems + tool_build_problems
    if problems:
        raise CompileError(problems + warnings)
    if len(original.nodes) > 1:
        if flat is not None and not tool_nodes:  # every edge in the one pass: ask it
            succ, preds = flat.succ, flat.preds
            lonely = [nid for nid in original.nodes if nid not in succ and not preds[nid]]
        elif wiring is not None and not tool_nodes:  # one graph holding every edge: ask it
            succ, pred = graphs[None]._succ, graphs[None]._pred
            lonely = [nid for nid in original.nodes if not succ[nid] and not pred[nid]]
        else:
            linked = {e.source for e in original.edges}
            linked.update([e.target for e in original.edges])
            lonely = [nid for nid in original.nodes if nid not in linked]
        warnings += [Problem("is not connected to anything", node_id=nid, severity="warning")
                     for nid in lonely]
    if not build:
        return warnings
    plans = {key: _make_plan(key, graph, nodes, orders[key],
                             wiring is not None and wiring.one_edge_per_pair)
             for key, graph in graphs.items()} if flat is None else {
        None: _make_flat_plan(flat, nodes, orders[None])}
    for loop_id, plan in plans.items():
        if loop_id is not None:
            nodes[loop_id].body = plan
    for agent_id, wired in tools_of.items():
        nodes[agent_id].tools = tuple(wired)
    for nid in tool_nodes:
        scope_of[nid] = None
    nodes.update(tools)
    return Compiled(original, plans[None], scope_of, nodes, warnings, frozenset(tool_nodes))


_NOT_TOOLS = ("foreach", "while", "output", "start", "merge")


def _find_tools(workflow: Workflow, types: dict[str, type[NodeType]],
                ports: dict[str, tuple[dict[str, Port], dict[str, Port]]]
                ) -> tuple[dict[str, list[tuple[str, str]]], set[str], list[Problem]]:
    """Edges into tools ports: {agent: [(port, tool node)]}, the tool nodes, and problems."""
    tools_of: dict[str, list[tuple[str, str]]] = {}
    tool_nodes: set[str] = set()
    if not any(p.tools for inputs, _ in ports.values() for p in inputs.values()):
        return tools_of, tool_nodes, []  # no node takes tools: no edge to look at
    for e in workflow.edges:
        port = ports[e.target][0].get(e.target_port)
        if port is not None and port.tools:
            tools_of.setdefault(e.target, []).append((e.target_port, e.source))
            tool_nodes.add(e.source)
    problems: list[Problem] = []
    if not tool_nodes:
        return tools_of, tool_nodes, problems
    wired_pairs = {(a, t) for a, wired in tools_of.items() for _, t in wired}
    fed_of: dict[str, list[Edge]] = {}
    out_of: dict[str, list[Edge]] = {}
    for e in workflow.edges:
        if e.target in tool_nodes:
            fed_of.setdefault(e.target, []).append(e)
        if e.source in tool_nodes:
            out_of.setdefault(e.source, []).append(e)
    for nid in sorted(tool_nodes):
        users = sorted(a for a, wired in tools_of.items() if any(t == nid for _, t in wired))
        if types[nid].kind in _NOT_TOOLS:
            problems.append(Problem(f"a {workflow.nodes[nid].type} node cannot be a tool "
                                    f"(it is wired into the tools of {', '.join(users)})",
                                    node_id=nid))
        fed = fed_of.get(nid, [])
        if fed:
            problems.append(Problem(
                f"is a tool of {', '.join(users)}, so the model gives all its inputs; remove "
                f"the edge from {fed[0].source}.{fed[0].source_port}", node_id=nid,
                edge=fed[0].key()))
        for e in out_of.get(nid, []):
            if (e.target, e.source) not in wired_pairs:
                problems.append(Problem(
                    f"is a tool of {', '.join(users)} and cannot also feed {e.target!r}; its "
                    f"results go back to the model that calls it", node_id=nid, edge=e.key()))
    return tools_of, tool_nodes, problems


def _instantiate(workflow: Workflow, types: dict[str, type[NodeType]],
                 ports: dict[str, tuple[dict[str, Port], dict[str, Port]]],
                 grouped: dict[str, dict[str, list[tuple[str, str]]]] | None = None,
                 checked_params: dict[str, dict[str, Any]] | None = None, *,
                 build: bool = True) -> tuple[dict[str, PlanNode], list[Problem]]:
    """A PlanNode per node; `grouped`: the inputs_of below, when _add_edges made it;
    `checked_params`: each node's params with defaults filled, as the check found them
    (shared between nodes with equal params, so each node gets its own copy). With `build`
    False each node is only set up, for its problems: no PlanNode is made."""
    problems: list[Problem] = []
    # target -> its input port -> the (source, source port) of each edge into it, in order
    inputs_of: dict[str, dict[str, list[tuple[str, str]]]] = grouped or {}
    for e in workflow.edges if grouped is None and build else ():
        by_port = inputs_of.get(e.target)
        if by_port is None:
            inputs_of[e.target] = {e.target_port: [(e.source, e.source_port)]}
            continue
        sources = by_port.get(e.target_port)
        if sources is None:
            by_port[e.target_port] = [(e.source, e.source_port)]
        else:
            sources.append((e.source, e.source_port))
    # run_mode() inspects the class, out_ports are the same tuple for the same outputs dict:
    # both once per type / per dict, not per node
    run_modes: dict[type[NodeType], str] = {}
    out_names: dict[int, tuple[str, ...]] = {}
    no_ports: tuple[tuple[str, tuple[tuple[str, str], ...], bool, str], ...] = ()
    nodes: dict[str, PlanNode] = {}
    # Without `build`: what setting up one of Flowloom's own pure types said about params the
    # check found equal (one shared dict) holds for each node with them: (type, id) -> problem
    set_up: dict[tuple[type[NodeType], int], str | None] = {}
    # (type, id of params found equal) -> the first node's instance, when the rest may copy it
    made: dict[tuple[type[NodeType], int], NodeType | None] = {}
    for nid, node in workflow.nodes.items():
        node_type = types[nid]
        found = checked_params.get(nid) if checked_params is not None else None
        memo = None
        if not build and found is not None and node_type.pure and _own_type(node_type):
            memo = (node_type, id(found))
            if memo in set_up:
                said = set_up[memo]
                if said is not None:
                    problems.append(Problem(said, node_id=nid))
                continue
        if found is None:
            params = node_type.with_defaults(node.params)
        else:  # the defaults as found, then the node's own values (its own objects)
            params = dict(found)
            params.update(node.params)
        shared = None if found is None else (node_type, id(found))
        template = _UNSEEN if shared is None else made.get(shared, _UNSEEN)
        if template is not _UNSEEN and template is not None:  # (see _template)
            impl = _new(node_type)
            impl.__dict__.update(template.__dict__)
            impl.params = params
            impl.node_id = nid
        else:
            try:
                impl = node_type(params, nid)
            except Exception as exc:  # setup() rejecting its params
                problems.append(Problem(f"cannot be set up: {exc}", node_id=nid))
                if memo is not None:
                    set_up[memo] = problems[-1].message
                continue
            if shared is not None and template is _UNSEEN:
                made[shared] = _template(impl)
        if not build:
            if memo is not None:
                set_up[memo] = None
            continue
        in_spec, out_spec = ports[nid]
        wired = inputs_of.get(nid)
        back_source = None
        kind = node_type.kind
        if wired is None:
            in_ports = no_ports
        elif len(wired) == 1 and kind not in LOOP_PORTS:  # (most nodes: one input wired)
            for port_name, sources in wired.items():
                port = in_spec.get(port_name)
                in_ports = ((port_name, tuple(sources), port.multi, port.type),) \
                    if port is not None else no_ports
        elif kind not in LOOP_PORTS:
            in_ports = tuple([(port_name, tuple(sources), port.multi, port.type)
                              for port_name, port in in_spec.items()
                              if (sources := wired.get(port_name))])
        else:
            back_port = LOOP_PORTS[kind][1]
            found_ports = []
            for port_name, port in in_spec.items():
                sources = wired.get(port_name)
                if not sources:
                    continue
                if port_name == back_port:
                    back_source = sources[0]
                    continue
                found_ports.append((port_name, tuple(sources), port.multi, port.type))
            in_ports = tuple(found_ports)
        mode = run_modes.get(node_type)
        if mode is None:
            mode = run_modes[node_type] = node_type.run_mode()
        outs = out_names.get(id(out_spec))
        if outs is None:  # (the dict is alive in `ports` meanwhile, so its id is its own)
            outs = out_names[id(out_spec)] = tuple(out_spec)
        plan_node = PlanNode(nid, f"{nid} ({node.title})" if node.title else nid, impl, kind,
                             mode, in_ports, outs)
        # the usual node keeps PlanNode's defaults for every setting below
        if node.retry:
            plan_node.retry = RetryPolicy.from_setting(node.retry)
        if node.timeout_s is not None:
            plan_node.timeout_s = node.timeout_s
        if node.pool is not None:
            plan_node.pool = node.pool
        if node.priority != 0 or type(node.priority) is not int:  # (kept as written)
            plan_node.priority = node.priority
        if node.on_error:
            plan_node.on_error = node.on_error
        if kind == "merge" and params.get("mode") == "first":
            plan_node.merge_first = True
        if back_source is not None:
            plan_node.back_source = back_source
        if node.limits:
            plan_node.limits = node.limits
        nodes[nid] = plan_node
    return nodes, problems


_MERGE_FIRST = operator.attrgetter("merge_first")
_UNSEEN = object()
_new = object.__new__
# What setup() of one of Flowloom's own pure types may make for the copies to share
_IMMUTABLE = frozenset((Expression, str, int, float, bool, type(None)))


def _template(impl: NodeType) -> NodeType | None:
    """`impl`, when other nodes of its type with equal params may be copies of it instead of
    running setup() again (~1 µs a node of a 10 000-node file), else None: only Flowloom's
    own pure types, whose setup() reads nothing but the params, whose __init__ is
    NodeType's, and only when all setup() made is immutable (a compiled Expression, plain
    values), so no copy can see another's state. A copy gets its own params and node id."""
    node_type = type(impl)
    if not (node_type.pure and type(node_type).__call__ is type.__call__
            and node_type.__init__ is NodeType.__init__ and node_type.__new__ is object.__new__
            and _own_type(node_type)):
        return None
    for name, value in impl.__dict__.items():
        if name not in ("params", "node_id") and type(value) not in _IMMUTABLE:
            return None
    return impl


def _own_type(node_type: type[NodeType]) -> bool:
    """One of Flowloom's own node types (engine/, nodes/), not a plugin's."""
    return node_type.__module__.partition(".")[0] in ("engine", "nodes")


def _make_plan(loop_id: str | None, graph: nx.DiGraph, nodes: dict[str, PlanNode],
               order: list[str], one_edge_per_pair: bool = False) -> Plan:
    members = dict(zip(order, map(nodes.__getitem__, order)))
    if one_edge_per_pair:  # a consumer per successor; the in-degree is the predecessors'
        for u, targets in graph._succ.items():
            if targets:
                members[u].consumers.extend(map(members.__getitem__, targets))
        indegree = dict(zip(members, map(len, map(graph._pred.__getitem__, members))))
        return _plan(loop_id, graph, members, indegree)
    # networkx's adjacency, read directly (edges() builds a view tuple per edge): each node's
    # consumers, one entry per edge, then each node's in-degree as its count among them
    everyone: list[PlanNode] = []
    for u, targets in graph._succ.items():
        if targets:
            consumers = [members[v] for v, data in targets.items() for _ in data["edges"]]
            members[u].consumers.extend(consumers)
            everyone += consumers
    counts = Counter(everyone)  # PlanNode hashes by identity (eq=False)
    return _plan(loop_id, graph, members, {nid: counts[pn] for nid, pn in members.items()})


def _make_flat_plan(flat: Flat, nodes: dict[str, PlanNode], order: list[str]) -> Plan:
    """What `_make_plan(None, flat.graph(), ...)` gives, the graph made only when read."""
    members = dict(zip(order, map(nodes.__getitem__, order)))
    if flat.one_edge_per_pair:
        for u, targets in flat.succ.items():
            members[u].consumers.extend(map(members.__getitem__, targets))
        indegree = dict(zip(members, map(flat.preds.__getitem__, members)))
    else:  # a consumer per edge; the in-degree is the edges into the node
        for u, targets in flat.succ.items():
            members[u].consumers.extend(
                [members[v] for v, count in targets.items() for _ in range(count)])
        inputs_of, none = flat.inputs_of, {}
        indegree = {nid: sum(map(len, inputs_of.get(nid, none).values())) for nid in members}
    return _plan(None, None, members, indegree, flat.graph)


def _plan(loop_id: str | None, graph: nx.DiGraph | None, members: dict[str, PlanNode],
          indegree: dict[str, int],
          make_graph: Callable[[], nx.DiGraph] | None = None) -> Plan:
    sources = tuple(compress(indegree, map(operator.not_, indegree.values())))
    first_from_outside = tuple(
        nid for nid, pn in members.items()
        if pn.merge_first and any(src not in members
                                  for _, keys, _, _ in pn.in_ports for src, _ in keys)
    ) if any(map(_MERGE_FIRST, members.values())) else ()
    return Plan(loop_id, graph, members, indegree, sources, first_from_outside,
                make_graph)
