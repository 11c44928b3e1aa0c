"""Re-run from a node: which nodes run again, and which replay their outputs from the last run.

A node's *fingerprint* hashes what decides its result: type, params, run settings and the
edges into it. Re-running from node X runs X, every node whose fingerprint changed since the
last run (or that has no outputs from it), and everything downstream of those; every other
top-level node that succeeded last time replays its cached outputs instead of running. A node
inside a loop body cannot be re-run alone: its outermost loop is re-run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import networkx as nx

from engine.compile import Compiled
from engine.model import Workflow
from engine.runstate import SUCCEEDED, RunResult


def fingerprint(workflow: Workflow, node_id: str) -> str:
    incoming = [e.key() for e in workflow.edges if e.target == node_id]
    return _fingerprint(workflow.node(node_id), incoming)


def fingerprints(workflow: Workflow) -> dict[str, str]:
    """Every node's fingerprint, the edges grouped by target once (a scan of every edge for
    each node took 160 ms of the GIL at the start of a 1 000-node run in the editor)."""
    incoming: dict[str, list[Any]] = {}
    for edge in workflow.edges:
        incoming.setdefault(edge.target, []).append(edge.key())
    return {nid: _fingerprint(node, incoming.get(nid, []))
            for nid, node in workflow.nodes.items()}


def _fingerprint(node: Any, incoming: list[Any]) -> str:
    data = [node.type, node.params, node.retry, node.timeout_s, node.on_error, sorted(incoming)]
    text = json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cacheable_outputs(compiled: Compiled, result: RunResult) -> dict[str, dict[str, Any]]:
    """The outputs of the top-level nodes that succeeded in `result`, by node id."""
    top = compiled.plan.nodes
    return {nid: nr.outputs for nid, nr in result.nodes.items()
            if nid in top and nr.status == SUCCEEDED and nr.outputs is not None
            and top[nid].kind != "output"}


def top_level_node(compiled: Compiled, node_id: str) -> str:
    """`node_id`, or the outermost loop around it when it sits in a loop body."""
    while compiled.scope_of.get(node_id) is not None:
        node_id = compiled.scope_of[node_id]  # type: ignore[assignment]
    return node_id


def plan_rerun(compiled: Compiled, start: str, previous_outputs: dict[str, dict[str, Any]],
               previous_fingerprints: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The `reuse` map for `Run(..., reuse=...)` when re-running from node `start`."""
    graph = compiled.plan.graph
    current = fingerprints(compiled.workflow)
    dirty = {top_level_node(compiled, start)}
    for nid in graph.nodes:
        if (current.get(nid) != previous_fingerprints.get(nid)
                or nid not in previous_outputs):
            dirty.add(nid)
    # a changed node inside a loop body dirties its loop
    for nid, scope in compiled.scope_of.items():
        if scope is not None and current.get(nid) != previous_fingerprints.get(nid):
            dirty.add(top_level_node(compiled, nid))
    rerun = set(dirty)
    for nid in dirty:
        rerun |= nx.descendants(graph, nid)
    return {nid: outputs for nid, outputs in previous_outputs.items()
            if nid in graph and nid not in rerun}
