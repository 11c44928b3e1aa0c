"""Comparing two recorded runs node by node (`flowloom diff`, the editor's run diff).

    {"params_changed": [ids], "status_changed": [ids], "outputs_changed": [ids],
     "first_divergence": "id" | None,
     "nodes": {"id": {"status": [a, b], "duration_s": [a, b], "output_diff": [...] | None}}}

Statuses and durations come from the history's node runs (a node run in loop iterations is
summed: its time over every iteration; failed if any failed, else succeeded if any did).
Params and outputs come from the runs' records (engine/record/): the workflow each ran and each
node's recorded outputs (the list of them, in iteration order, for a node inside a loop).
`output_diff` is a list of changes {"path", "op": "changed" | "added" | "removed", "a", "b"};
a changed text with line breaks, or any text an `ai.*` node gave, carries "text_diff" (a
unified diff) instead of the whole texts. The first divergence is the first node, in dependency
order, whose params, status or outputs differ.
"""

from __future__ import annotations

import difflib
from typing import Any

import networkx as nx

from engine.fileformat import loads
from engine.history import packs
from engine.history.names import RUNS_TABLE
from engine.record.codec import encode
from engine.record.store import Record, load_record

MAX_CHANGES = 200  # per node: a diff of two big payloads stays readable


class RunMissing(LookupError):
    pass


def _nodes(store: Any, run_id: str) -> dict[str, dict[str, Any]]:
    with store.transaction() as conn:
        if conn.exec_driver_sql(f"SELECT 1 FROM {RUNS_TABLE} WHERE id = ?",
                                (run_id,)).fetchone() is None:
            raise RunMissing(f"no run {run_id} is in the history")
        rows = packs.node_runs(conn, [run_id])  # in the order they were first written
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        node_id, status, duration, started = (row.node_id, row.status, row.duration_s,
                                              row.started_at)
        node = found.setdefault(node_id, {"statuses": [], "duration_s": None, "started": None})
        node["statuses"].append(status)
        if duration is not None:
            node["duration_s"] = (node["duration_s"] or 0.0) + duration
        if started is not None and (node["started"] is None or started < node["started"]):
            node["started"] = started
    for node in found.values():
        statuses = node.pop("statuses")
        node["status"] = (statuses[0] if len(statuses) == 1 else "failed" if "failed" in statuses
                          else "succeeded" if "succeeded" in statuses else statuses[-1])
    return found


def _workflow(record: Record | None) -> Any:
    text = record.workflow_text if record is not None else None
    return None if text is None else loads(text).workflow


def _iterations(record: Record | None) -> dict[str, list[str]]:
    """Each node's loop iterations in `record` ("1.2" for item 2 of item 1), grouped in one pass."""
    grouped: dict[str, list[str]] = {}
    if record is not None:
        for nid, it in record.nodes:
            if it:
                grouped.setdefault(nid, []).append(it)
    return grouped


def _outputs(record: Record | None, node_id: str,
             iterations: dict[str, list[str]] | None = None) -> Any:
    if record is None:
        return None
    top = record.outputs(node_id)
    if top is not None:
        return top
    if iterations is None:
        iterations = _iterations(record)
    looped = [(it, record.outputs(node_id, it)) for it in iterations.get(node_id, ())]
    looped = [(it, out) for it, out in looped if out is not None]
    if not looped:
        return None
    looped.sort(key=lambda pair: tuple(int(p) for p in pair[0].split(".")))
    return [out for _, out in looped]


def value_diff(a: Any, b: Any, *, text: bool = False, path: str = "") -> list[dict[str, Any]]:
    """The changes from `a` to `b`, by JSON path ("" is the whole value)."""
    changes: list[dict[str, Any]] = []

    def walk(x: Any, y: Any, where: str) -> None:
        if len(changes) >= MAX_CHANGES:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for key in list(x) + [k for k in y if k not in x]:
                sub = f"{where}.{key}" if where else str(key)
                if key not in y:
                    changes.append({"path": sub, "op": "removed", "a": x[key]})
                elif key not in x:
                    changes.append({"path": sub, "op": "added", "b": y[key]})
                else:
                    walk(x[key], y[key], sub)
            return
        if isinstance(x, list) and isinstance(y, list):
            for i in range(max(len(x), len(y))):
                sub = f"{where}[{i}]"
                if i >= len(y):
                    changes.append({"path": sub, "op": "removed", "a": x[i]})
                elif i >= len(x):
                    changes.append({"path": sub, "op": "added", "b": y[i]})
                else:
                    walk(x[i], y[i], sub)
            return
        if encode(x) == encode(y):
            return
        if isinstance(x, str) and isinstance(y, str) and (text or "\n" in x or "\n" in y):
            lines = difflib.unified_diff(x.splitlines(), y.splitlines(), "a", "b", lineterm="")
            changes.append({"path": where, "op": "changed", "text_diff": "\n".join(lines)})
        else:
            changes.append({"path": where, "op": "changed", "a": x, "b": y})

    walk(a, b, path)
    return changes


def _definition(workflow: Any, node_id: str) -> Any:
    node = workflow.nodes.get(node_id) if workflow is not None else None
    if node is None:
        return None
    return [node.type, node.params, node.retry, node.timeout_s, node.on_error, node.limits,
            node.pool]


def _order(workflows: list[Any], ids: list[str], started: dict[str, float]) -> list[str]:
    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    for workflow in workflows:
        if workflow is not None:
            graph.add_edges_from((e.source, e.target) for e in workflow.edges
                                 if e.source in graph and e.target in graph)
    by_time = {nid: (started.get(nid, float("inf")), nid) for nid in ids}
    try:
        return list(nx.lexicographical_topological_sort(graph, key=lambda n: by_time[n]))
    except nx.NetworkXUnfeasible:  # a loop's back edge: fall back to when they started
        return sorted(ids, key=lambda n: by_time[n])


def diff_runs(store: Any, run_a: str, run_b: str) -> dict[str, Any]:
    nodes_a, nodes_b = _nodes(store, run_a), _nodes(store, run_b)
    rec_a, rec_b = load_record(store, run_a), load_record(store, run_b)
    wf_a, wf_b = _workflow(rec_a), _workflow(rec_b)
    ids = list(dict.fromkeys([*(wf_a.nodes if wf_a else ()), *(wf_b.nodes if wf_b else ()),
                              *nodes_a, *nodes_b]))
    started = {nid: (nodes_b.get(nid) or nodes_a.get(nid) or {}).get("started") or float("inf")
               for nid in ids}
    params_changed, status_changed, outputs_changed = [], [], []
    detail: dict[str, Any] = {}
    its_a, its_b = _iterations(rec_a), _iterations(rec_b)
    for node_id in ids:
        a, b = nodes_a.get(node_id, {}), nodes_b.get(node_id, {})
        if (wf_a is not None and wf_b is not None
                and _definition(wf_a, node_id) != _definition(wf_b, node_id)):
            params_changed.append(node_id)
        if a.get("status") != b.get("status"):
            status_changed.append(node_id)
        out_a, out_b = _outputs(rec_a, node_id, its_a), _outputs(rec_b, node_id, its_b)
        output_diff = None
        if (out_a is not None or out_b is not None) and encode(out_a) != encode(out_b):
            node = (wf_b or wf_a).nodes.get(node_id) if (wf_b or wf_a) else None
            is_llm = node is not None and node.type.startswith("ai.")
            output_diff = value_diff(out_a, out_b, text=is_llm)
            outputs_changed.append(node_id)
        detail[node_id] = {"status": [a.get("status"), b.get("status")],
                           "duration_s": [a.get("duration_s"), b.get("duration_s")],
                           "output_diff": output_diff}
    changed = set(params_changed) | set(status_changed) | set(outputs_changed)
    first = next((nid for nid in _order([wf_a, wf_b], ids, started) if nid in changed), None)
    return {"params_changed": params_changed, "status_changed": status_changed,
            "outputs_changed": outputs_changed, "first_divergence": first, "nodes": detail}
