"""Loop scopes of a workflow for engine/compile.py: each loop's body (what its item/body
output reaches before coming back), the scope every node is in, and the edges that cross scopes
the wrong way. A workflow without a loop node has one scope and skips all of it.
"""

from __future__ import annotations

from collections import deque

from engine.errors import Problem
from engine.loops import LOOP_PORTS
from engine.model import Edge, Workflow
from engine.nodetype import NodeType


def _find_loop_scopes(workflow: Workflow,
                      types: dict[str, type[NodeType]]) -> tuple[dict[str, str | None],
                                                                  list[Problem]]:
    problems: list[Problem] = []
    loops = {nid for nid, t in types.items() if t.kind in LOOP_PORTS}
    if not loops:
        return dict.fromkeys(workflow.nodes), problems  # one scope: no edge to look at
    succ: dict[str, list[Edge]] = {nid: [] for nid in workflow.nodes}
    into_loop: dict[str, list[Edge]] = {}  # loop id -> the edges into it
    for e in workflow.edges:
        succ[e.source].append(e)
        if e.target in loops:
            into_loop.setdefault(e.target, []).append(e)
    bodies: dict[str, set[str]] = {}
    for loop_id, node_type in types.items():
        if node_type.kind not in LOOP_PORTS:
            continue
        out_port, back_port = LOOP_PORTS[node_type.kind]
        body: set[str] = set()
        queue = deque(e.target for e in succ[loop_id] if e.source_port == out_port)
        while queue:
            nid = queue.popleft()
            if nid == loop_id or nid in body:
                continue
            body.add(nid)
            for e in succ[nid]:
                if e.target == loop_id:
                    if e.target_port != back_port:
                        problems.append(Problem(
                            f"body node {e.source!r} feeds the loop's own input "
                            f"{e.target_port!r}, which makes a cycle; wire the body's end into "
                            f"{back_port!r}", node_id=loop_id, edge=e.key()))
                else:
                    queue.append(e.target)
        bodies[loop_id] = body
        # Nodes that run after the loop (fed, directly or not, by its results/done output):
        # a body node feeding one of them is wired out of the loop.
        after = _reachable(succ, [e.target for e in succ[loop_id] if e.source_port != out_port],
                           loop_id)
        for nid in body - after:
            for e in succ[nid]:
                if e.target in after:
                    problems.append(Problem(
                        f"is in the body of loop {loop_id!r} but feeds {e.target!r}, which runs "
                        f"after the loop; values leave a loop only through the loop node",
                        node_id=nid, edge=e.key()))
        # (only the edges touching this loop: a pass over every edge per loop was O(L x E))
        for e in into_loop.get(loop_id, []) + succ[loop_id]:
            if e.target == loop_id and e.target_port == back_port and e.source not in body:
                problems.append(Problem(
                    f"input {back_port!r} must be wired from the loop's body (reachable from "
                    f"{out_port!r}), but {e.source!r} is not in it", node_id=loop_id,
                    edge=e.key()))
            if (e.source == loop_id and e.source_port != out_port and e.target in body):
                problems.append(Problem(
                    f"node {e.target!r} is in the loop's body but also fed by its "
                    f"{e.source_port!r} output, which only exists after the loop ends",
                    node_id=loop_id, edge=e.key()))
    scope_of: dict[str, str | None] = {nid: None for nid in workflow.nodes}
    containing: dict[str, list[str]] = {}
    for loop_id, body in bodies.items():
        for nid in body:
            containing.setdefault(nid, []).append(loop_id)
    for nid, loops in containing.items():
        loops.sort(key=lambda lid: len(bodies[lid]))
        for inner, outer in zip(loops, loops[1:]):
            if not bodies[inner] <= bodies[outer] or inner not in bodies[outer]:
                problems.append(Problem(
                    f"is in the bodies of both {inner!r} and {outer!r}, which are not nested; "
                    f"a node belongs to one loop (and the loops that contain it)", node_id=nid))
                break
        scope_of[nid] = loops[0]
    for nid, loop_id in scope_of.items():
        if loop_id is not None and types[nid].kind == "output":
            problems.append(Problem(f"a flow.output cannot be inside the body of loop "
                                    f"{loop_id!r}; take the loop's results out first",
                                    node_id=nid))
    return scope_of, problems


def _reachable(succ: dict[str, list[Edge]], starts: list[str], stop: str) -> set[str]:
    """Every node reachable from `starts` without passing through `stop`."""
    seen: set[str] = set()
    queue = deque(starts)
    while queue:
        nid = queue.popleft()
        if nid == stop or nid in seen:
            continue
        seen.add(nid)
        queue.extend(e.target for e in succ[nid])
    return seen


def _ancestors(scope: str | None, scope_of: dict[str, str | None]) -> list[str | None]:
    """The chain of scopes from `scope` outwards, ending with None (the top level)."""
    chain: list[str | None] = []
    while scope is not None:
        chain.append(scope)
        scope = scope_of[scope]
    chain.append(None)
    return chain


def _back_ports(types: dict[str, type[NodeType]]) -> dict[str, str]:
    """Loop node id -> the input its back edge enters (result / next)."""
    return {nid: LOOP_PORTS[t.kind][1] for nid, t in types.items() if t.kind in LOOP_PORTS}


def _is_back_edge(e: Edge, types: dict[str, type[NodeType]]) -> bool:
    kind = types[e.target].kind
    return kind in LOOP_PORTS and e.target_port == LOOP_PORTS[kind][1]


def _check_scope_crossings(workflow: Workflow, types: dict[str, type[NodeType]],
                           scope_of: dict[str, str | None]) -> list[Problem]:
    problems: list[Problem] = []
    back_ports = _back_ports(types)
    if not back_ports:
        return problems  # no loop, one scope: nothing can cross
    for e in workflow.edges:
        source_scope, target_scope = scope_of[e.source], scope_of[e.target]
        if source_scope == target_scope and back_ports.get(e.target) != e.target_port:
            continue  # the common case: within one scope, not a back edge
        if _is_back_edge(e, types):
            if source_scope != e.target:
                where = "outside it" if source_scope is None else f"in loop {source_scope!r}"
                problems.append(Problem(
                    f"the back edge into loop {e.target!r} must come from its own body, not "
                    f"from a node {where}", edge=e.key()))
            continue
        if source_scope not in _ancestors(target_scope, scope_of):
            problems.append(Problem(
                f"node {e.source!r} is inside the body of loop {source_scope!r} but feeds "
                f"{e.target!r} outside it; values leave a loop through its results/done port",
                node_id=e.source, edge=e.key()))
    return problems
