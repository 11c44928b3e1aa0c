"""Static checks of a workflow against a registry: types, params, ports and edges.

Everything found is returned at once as `Problem`s naming the node or edge. Graph-level checks
(cycles, loop bodies, reachability) are in engine/compile.py, which runs these first.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from dataclasses import dataclass
from typing import Any

from engine.alerts import alert_problems
from engine.budget import limits_problem
from engine.errors import Problem, RegistryError
from engine.expressions import check_syntax
from engine.limits import MAX_RETRY_ATTEMPTS, MAX_RETRY_DELAY_S
from engine.model import Edge, Node, Workflow
from engine.nodetype import NodeType, Port
from engine.porttypes import compatible
from engine.registry import Registry
from engine.seam import placement_problems
from engine.slots import pool_problems
from engine.workflow_settings import settings_problems

ERROR_PORT = Port("error", "dict", help="the error, as data, when on_error is 'continue'")
ON_ERROR_MODES = ("fail", "continue")
RETRY_KEYS = {"max_attempts": int, "backoff_s": (int, float), "factor": (int, float)}
_REQUIRED = operator.attrgetter("required")


def node_ports(node: Node, node_type: type[NodeType], params: dict[str, Any] | None = None,
               error_port: bool = True) -> tuple[dict[str, Port], dict[str, Port]]:
    """The input and output ports of one node, by name (the error port included when on,
    unless `error_port` is False). `params`: the node's params with defaults filled, when the
    caller has them already."""
    if params is None:
        params = node_type.with_defaults(node.params)
    try:
        inputs = {p.name: p for p in node_type.input_ports(params)}
        outputs = {p.name: p for p in node_type.output_ports(params)}
    except Exception:  # a dynamic-port function choking on bad params: the params check says why
        inputs = {p.name: p for p in node_type.inputs}
        outputs = {p.name: p for p in node_type.outputs}
    if error_port and node.on_error == "continue":
        outputs["error"] = ERROR_PORT
    return inputs, outputs


def _retry_over_limits(retry: dict[str, Any]) -> list[str]:
    """A retry policy that would retry for ever or wait for ages (a hostile 1e300 backoff)."""
    found = []
    for key, name, limit in (("max_attempts", "MAX_RETRY_ATTEMPTS", MAX_RETRY_ATTEMPTS),
                             ("backoff_s", "MAX_RETRY_DELAY_S", MAX_RETRY_DELAY_S)):
        value = retry.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > limit:
            found.append(f'"retry.{key}" is {value:g}; the limit is {name} = {limit} '
                         f"(engine/limits.py)")
    return found


def _check_settings(node: Node) -> list[Problem]:
    problems = []
    if node.on_error is not None and node.on_error not in ON_ERROR_MODES:
        problems.append(Problem(f'"on_error" must be "fail" or "continue", got {node.on_error!r}',
                                node_id=node.id))
    t = node.timeout_s
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))
                          or not math.isfinite(t) or t <= 0):
        problems.append(Problem(f'"timeout_s" must be a positive number of seconds, got {t!r}',
                                node_id=node.id))
    retry = node.retry
    if retry is not None:
        if not isinstance(retry, dict):
            problems.append(Problem('"retry" must be an object like {"max_attempts": 3, '
                                    '"backoff_s": 1, "factor": 2}', node_id=node.id))
        else:
            for key, value in retry.items():
                expected = RETRY_KEYS.get(key)
                if expected is None:
                    problems.append(Problem(f'"retry" has unknown key {key!r} (known: '
                                            f'{", ".join(RETRY_KEYS)})', node_id=node.id))
                elif isinstance(value, bool) or not isinstance(value, expected) or value < 0:
                    problems.append(Problem(f'"retry.{key}" must be a non-negative number, '
                                            f"got {value!r}", node_id=node.id))
            if retry.get("max_attempts", 1) == 0:
                problems.append(Problem('"retry.max_attempts" must be at least 1',
                                        node_id=node.id))
            problems += [Problem(text, node_id=node.id) for text in _retry_over_limits(retry)]
    if node.limits is not None and (problem := limits_problem(node.limits)) is not None:
        problems.append(Problem(problem, node_id=node.id))
    return problems


def check_params(node: Node, node_type: type[NodeType],
                 params: dict[str, Any] | None = None) -> list[Problem]:
    """`params`: the node's params with defaults filled, when the caller has them already."""
    problems = []
    declared = {p.name for p in node_type.parameters}
    for name in node.params:
        if name not in declared:
            problems.append(Problem(f"unknown parameter {name!r} for {node.type} (it is kept but "
                                    f"not used)", node_id=node.id, severity="warning"))
    if params is None:
        params = node_type.with_defaults(node.params)
    bad = False
    for spec in node_type.parameters:
        value = params.get(spec.name)
        message = spec.check(value)
        if message is not None:
            bad = True
            problems.append(Problem(f"parameter {spec.name!r} {message}", node_id=node.id))
        elif spec.type == "expression" and value is not None:
            syntax = check_syntax(value)
            if syntax is not None:
                bad = True
                problems.append(Problem(f"parameter {spec.name!r}: {syntax}", node_id=node.id))
    if not bad:
        try:
            extra = node_type.check_params(params)
        except Exception as exc:  # a plugin's checker must not break loading
            extra = [f"its parameter check failed: {type(exc).__name__}: {exc}"]
        problems.extend(Problem(message, node_id=node.id) for message in extra)
    return problems


def check_workflow(workflow: Workflow, registry: Registry) -> list[Problem]:
    """Every problem with node types, params, settings, ports and edges."""
    return check_details(workflow, registry).problems


def checked_workflow(workflow: Workflow, registry: Registry
                     ) -> tuple[list[Problem], dict[str, type[NodeType]],
                                dict[str, tuple[dict[str, Port], dict[str, Port]]]]:
    """check_workflow's problems, with what it found on the way, for engine/compile.py to
    reuse: the type of each node whose type is known, and that node's (inputs, outputs)."""
    found = check_details(workflow, registry)
    return found.problems, found.types, found.ports


@dataclass(slots=True, eq=False)
class Checked:
    """What one check of a workflow found, for engine/compile.py to reuse while the workflow
    is unchanged. Nodes of one type with equal params share their ports and params dicts
    (read only: `compile_workflow` copies the params it gives each node)."""

    problems: list[Problem]
    types: dict[str, type[NodeType]]  # each node whose type is known
    ports: dict[str, tuple[dict[str, Port], dict[str, Port]]]  # its (inputs, outputs)
    params: dict[str, dict[str, Any]]  # its params with defaults filled


_PLAIN = frozenset((str, int, bool, type(None)))


def _params_key(params: dict[str, Any]) -> tuple[Any, ...] | None:
    """A hashable key that equals another only for params that are the same in every way a
    check can see (names in order, value types, values; a float by its repr, since -0.0 ==
    0.0), or None for params holding anything but plain scalars and lists of strings."""
    key: tuple[Any, ...] = ()
    for name, value in params.items():
        kind = type(value)
        if kind is list:
            if not set(map(type, value)) <= _STR_ONLY:
                return None
            value = tuple(value)
        elif kind is float:
            value = repr(value)
        elif kind not in _PLAIN:
            return None
        key += (name, kind, value)
    return key


_STR_ONLY = frozenset((str,))


def _node_checks(node: Node, node_type: type[NodeType]
                 ) -> tuple[dict[str, Any], dict[str, Port], dict[str, Port],
                            list[tuple[str, str]]]:
    """What a node's type and params decide: (params with defaults, inputs, outputs without
    the error port, the params' problems as (message, severity))."""
    params = node_type.with_defaults(node.params)  # once: ports and checks share it
    inputs, outputs = node_ports(node, node_type, params, error_port=False)
    found = [(p.message, p.severity) for p in check_params(node, node_type, params)]
    return params, inputs, outputs, found


def check_details(workflow: Workflow, registry: Registry) -> Checked:
    """Every problem, with the types, ports and params found on the way. What depends only on
    a node's type and params is worked out once per distinct (type, params): a 10 000-node
    file of a few kinds of node checks a few nodes' params, not 10 000."""
    problems: list[Problem] = []
    types: dict[str, type[NodeType]] = {}
    ports: dict[str, tuple[dict[str, Port], dict[str, Port]]] = {}
    all_params: dict[str, dict[str, Any]] = {}
    output_names: dict[str, str] = {}
    starts: list[str] = []
    known: dict[str, type[NodeType] | None] = {}  # type id -> its type (None: unknown)
    done: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, Port], dict[str, Port],
                                      list[tuple[str, str]]]] = {}
    # pool_problems and placement_problems find nothing unless some node has a pool, a
    # priority that is not an int, or extra keys, or the workflow declares pools
    pools_or_extra = "pools" in workflow.extra
    for node in workflow.nodes.values():
        if (node.on_error is not None or node.timeout_s is not None or node.retry is not None
                or node.limits is not None):
            problems.extend(_check_settings(node))
        if node.pool is not None or type(node.priority) is not int or node.extra:
            pools_or_extra = True
        type_id = node.type
        node_type = known.get(type_id, registry)  # (the registry: not looked up yet)
        if node_type is registry:
            try:
                node_type = known[type_id] = registry.get(type_id)
            except RegistryError:
                node_type = known[type_id] = None
        if node_type is None:
            problems.append(Problem(f"unknown node type {type_id!r} (is a plugin missing?)",
                                    node_id=node.id))
            continue
        types[node.id] = node_type
        key = _params_key(node.params)
        if key is None:
            checks = _node_checks(node, node_type)
        else:
            key = (type_id, key)  # (the type id names the type within one registry)
            checks = done.get(key)
            if checks is None:
                checks = done[key] = _node_checks(node, node_type)
        params, inputs, outputs, found = checks
        if node.on_error == "continue":
            outputs = {**outputs, "error": ERROR_PORT}
        ports[node.id] = inputs, outputs
        all_params[node.id] = params
        if found:
            problems += [Problem(message, node_id=node.id, severity=severity)
                         for message, severity in found]
        if node_type.kind == "output":
            name = params.get("name")
            if isinstance(name, str) and name in output_names:
                problems.append(Problem(f"output name {name!r} is also used by node "
                                        f"{output_names[name]!r}", node_id=node.id))
            elif isinstance(name, str):
                output_names[name] = node.id
        elif type_id == "flow.start":
            starts.append(node.id)
    if pools_or_extra:
        problems.extend(pool_problems(workflow, types))
        problems.extend(placement_problems(workflow))
    if len(starts) > 1:
        problems.append(Problem(f"a workflow has at most one flow.start node; found "
                                f"{', '.join(starts)}", node_id=starts[1]))
    if not _edges_all_fine(workflow.edges, ports):
        problems.extend(_edge_problems(workflow, ports))
    problems.extend(alert_problems(workflow))  # the workflow-level "alerts" list
    problems.extend(settings_problems(workflow.extra))  # the workflow-level "settings"
    return Checked(problems, types, ports, all_params)


def _edges_all_fine(edges: list[Edge],
                    ports: dict[str, tuple[dict[str, Port], dict[str, Port]]]) -> bool:
    """True when no edge and no input can have a problem: both ends known, the ports exist,
    the types fit, no single-edge input has two, every required input is wired, and no tools
    port is wired (tools change which inputs are required). Proved with comprehensions, set
    operations and counts over the whole workflow (475 000 edges in a fraction of a second);
    anything else returns False and _edge_problems looks at each edge and words it."""
    ins = {nid: inputs for nid, (inputs, _) in ports.items()}
    required = sum(p.required for inputs in ins.values() for p in inputs.values())
    if not edges:
        return not required
    outs = {nid: outputs for nid, (_, outputs) in ports.items()}
    none: dict[str, Port] = {}
    into = [ins.get(e.target, none).get(e.target_port) for e in edges]
    out_of = [outs.get(e.source, none).get(e.source_port) for e in edges]
    if not (all(into) and all(out_of)):  # an unknown node or port
        return False
    if any(e.source == e.target for e in edges):
        return False
    wired_ports = dict(zip(map(id, into), into)).values()  # each Port object once
    if any(p.tools for p in wired_ports):
        return False
    if any(p.type != "any" for p in wired_ports) and any(
            p.type != "any" for p in dict(zip(map(id, out_of), out_of)).values()):
        for sp, tp in zip(out_of, into):  # typed ports on both sides: edge by edge
            if not (sp.type == tp.type or sp.type == "any" or tp.type == "any"):
                return False
    if any(p.multi for p in wired_ports):  # an input may have several edges: count per input
        counts = Counter((e.target, e.target_port) for e in edges)
        if any(count > 1 and not ins[target][name].multi
               for (target, name), count in counts.items()):
            return False
        wired = sum(ins[target][name].required for target, name in counts)
    else:  # every input takes one edge: they must all differ (two equal hashes, even of
        # different inputs, only send the file down the slow path: a set of ints is cheaper)
        if len({hash((e.target, e.target_port)) for e in edges}) != len(edges):
            return False
        wired = sum(map(_REQUIRED, into))
    # the inputs wired are distinct and real, so as many required ones as exist means all
    return wired == required


def _edge_problems(workflow: Workflow,
                   ports: dict[str, tuple[dict[str, Port], dict[str, Port]]]) -> list[Problem]:
    """Each edge looked at in turn, every problem worded (the path of files with problems)."""
    problems: list[Problem] = []
    wired: dict[tuple[str, str], list[Edge]] = {}
    tools: set[str] = set()  # nodes wired into a tools port (their inputs come from a model)
    for edge in workflow.edges:
        # Both ends known, ports exist, types fit: only the wiring is noted.
        # Anything else goes through _check_edge, which words the problem.
        source_ports = ports.get(edge.source)
        target_ports = ports.get(edge.target)
        if source_ports is not None and target_ports is not None \
                and edge.source != edge.target:
            sp = source_ports[1].get(edge.source_port)
            tp = target_ports[0].get(edge.target_port)
            if sp is not None and tp is not None:
                if tp.tools:
                    tools.add(edge.source)
                elif not (sp.type == tp.type or sp.type == "any" or tp.type == "any"):
                    problems.extend(_check_edge(edge, workflow, ports, {}))  # the mismatch
                key = (edge.target, edge.target_port)
                same_input = wired.get(key)
                if same_input is None:
                    wired[key] = [edge]
                else:
                    same_input.append(edge)
                continue
        if target_ports is not None:
            tp = target_ports[0].get(edge.target_port)
            if tp is not None and tp.tools:
                tools.add(edge.source)
        problems.extend(_check_edge(edge, workflow, ports, wired))
    for (target, port_name), edges in wired.items():
        port = ports[target][0].get(port_name)
        if port is not None and not port.multi and len(edges) > 1:
            sources = ", ".join(f"{e.source}.{e.source_port}" for e in edges)
            problems.append(Problem(f"input {port_name!r} takes one edge but has {len(edges)} "
                                    f"({sources}); use a flow.merge node to join branches",
                                    node_id=target))
    # A node wired into a tools port takes its inputs from the model that calls it.
    for node_id, (inputs, _) in ports.items():
        if node_id in tools:
            continue
        for port in inputs.values():
            if port.required and (node_id, port.name) not in wired:
                problems.append(Problem(f"required input {port.name!r} is not connected",
                                        node_id=node_id))
    return problems


def _check_edge(edge: Edge, workflow: Workflow,
                ports: dict[str, tuple[dict[str, Port], dict[str, Port]]],
                wired: dict[tuple[str, str], list[Edge]]) -> list[Problem]:
    problems = []
    key = edge.key()
    for end in (edge.source, edge.target):
        if end not in workflow.nodes:
            problems.append(Problem(f"node {end!r} does not exist", edge=key))
    if problems or edge.source not in ports or edge.target not in ports:
        return problems  # unknown types were reported on the node
    if edge.source == edge.target:
        return [Problem("an edge cannot connect a node to itself", edge=key)]
    source_port = ports[edge.source][1].get(edge.source_port)
    target_port = ports[edge.target][0].get(edge.target_port)
    if source_port is None:
        known = ", ".join(ports[edge.source][1]) or "none"
        problems.append(Problem(f"node {edge.source!r} has no output {edge.source_port!r} "
                                f"(outputs: {known})", edge=key))
    if target_port is None:
        known = ", ".join(ports[edge.target][0]) or "none"
        problems.append(Problem(f"node {edge.target!r} has no input {edge.target_port!r} "
                                f"(inputs: {known})", edge=key))
    if source_port is not None and target_port is not None:
        if not target_port.tools and not compatible(source_port.type, target_port.type):
            problems.append(Problem(
                f"type mismatch: output {edge.source_port!r} gives {source_port.type} but input "
                f"{edge.target_port!r} of {edge.target!r} takes {target_port.type}", edge=key))
        wired.setdefault((edge.target, edge.target_port), []).append(edge)
    return problems


def connection_problem(workflow: Workflow, registry: Registry, edge: Edge) -> str | None:
    """Why the editor should refuse to draw `edge`, or None if it may. One sentence."""
    nodes = workflow.nodes
    if edge.source not in nodes or edge.target not in nodes:
        return "both ends must be existing nodes"
    if edge.source == edge.target:
        return "a node cannot be wired to itself"
    try:
        source = node_ports(nodes[edge.source], registry.get(nodes[edge.source].type))[1]
        target = node_ports(nodes[edge.target], registry.get(nodes[edge.target].type))[0]
    except RegistryError as exc:
        return str(exc)
    sp, tp = source.get(edge.source_port), target.get(edge.target_port)
    if sp is None or tp is None:
        return "no such port"
    if not tp.tools and not compatible(sp.type, tp.type):
        return f"{edge.source_port} gives {sp.type}, {edge.target_port} takes {tp.type}"
    if any(e.key() == edge.key() for e in workflow.edges):
        return "these ports are already connected"
    return None


def port_types(workflow: Workflow, registry: Registry, node_id: str) -> dict[str, Any]:
    """{'inputs': {name: Port}, 'outputs': {name: Port}} of a node, for the editor."""
    node = workflow.node(node_id)
    inputs, outputs = node_ports(node, registry.get(node.type))
    return {"inputs": inputs, "outputs": outputs}
