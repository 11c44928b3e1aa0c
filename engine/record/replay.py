"""`flowloom replay RUN_ID`: the recorded run's workflow (the version recorded with it), its
inputs and settings, and a RecordSource that serves every effect from the record.

`prepare_replay` raises `Unreplayable` — naming the node and why — when the run has no record,
its record was pruned or is incomplete, its workflow no longer loads (a node type is gone), a
recorded node is not in it, or `--live-from` names a node it does not have. With `live_from`,
that node, everything downstream of it and everything inside it (a loop's body) runs for real.

What a replay serves from the record (`SERVED`) and what it does for real (`done_for_real`):
the issue's effects — HTTP responses (LLM answers are HTTP), clock reads and random draws made
through the node context, approval decisions — and the sub-workflow files the run called come
from the record; credentials are a placeholder. Files are not among those effects: file.read
and file.list read the disk as it is now, file.write writes again, memory.* use the memory
store as it is now, and code.python runs its code again (time or random inside that code is
the real one). `done_for_real` names each such node so the person is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from engine.compile import Compiled, compile_workflow
from engine.errors import CompileError, FlowloomError
from engine.fileformat import loads
from engine.history.names import RUNS_TABLE
from engine.permissions import READ, RUN, WRITE, node_needs
from engine.record.serve import REPLAY, RecordSource
from engine.record.store import OVER_LIMIT, PRUNED, Record, load_record
from engine.registry import Registry

SERVED = ("HTTP responses (LLM answers included), clock reads, random draws, approval "
          "decisions and sub-workflow files come from the record; credentials are a "
          "placeholder")
_REAL = {READ: "reads {target} as it is now", WRITE: "writes {target} again",
         RUN: "runs its code again (its own clock and random draws are real)"}


def done_for_real(compiled: Compiled, base_dir: Path | None,
                  live: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """One sentence per node whose work a replay does for real rather than serve (files, the
    memory store, code), other than the `live` ones, in the workflow's order."""
    found = []
    for node_id, node in compiled.workflow.nodes.items():
        pn = compiled.nodes.get(node_id)
        if pn is None or node_id in live:
            continue
        impl = pn.impl
        try:
            needs = node_needs(type(impl), impl.params, base_dir)
        except Exception:  # noqa: BLE001 - a broken declaration must not stop the replay
            needs = []
        what = [_REAL[n.capability].format(target=n.target or f"the {n.param} it is given")
                for n in needs if n.capability in _REAL]
        if node.type.startswith("memory."):  # a local store the node types do not declare
            what.append("uses the memory store as it is now")
        if what:
            found.append(f"{node_id} ({node.type}) {' and '.join(dict.fromkeys(what))}")
    return found


class Unreplayable(FlowloomError):
    def __init__(self, run_id: str, node_id: str | None, reason: str) -> None:
        self.run_id, self.node_id, self.reason = run_id, node_id, reason
        where = f"node {node_id!r}: " if node_id else ""
        super().__init__(f"run {run_id} cannot be replayed: {where}{reason}")


@dataclass
class Replay:
    """What replaying a recorded run needs: the record, the compiled file, inputs, settings."""

    run_id: str
    record: Record
    compiled: Compiled
    inputs: dict[str, Any]
    settings: dict[str, Any]
    source: RecordSource
    workflow_path: str


def live_nodes(compiled: Compiled, start: str) -> set[str]:
    """`start`, every node downstream of it, and every node inside a loop among them."""
    graph = nx.DiGraph()
    graph.add_nodes_from(compiled.workflow.nodes)
    graph.add_edges_from((e.source, e.target) for e in compiled.workflow.edges)
    live = {start} | nx.descendants(graph, start)
    for node_id in compiled.workflow.nodes:
        scope = compiled.scope_of.get(node_id)
        while scope is not None:
            if scope in live:
                live.add(node_id)
                break
            scope = compiled.scope_of.get(scope)
    return live


def prepare_replay(store: Any, run_id: str, registry: Registry,
                   live_from: str | None = None) -> Replay:
    with store.transaction() as conn:
        row = conn.exec_driver_sql(f"SELECT workflow_path FROM {RUNS_TABLE} WHERE id = ?",
                                   (run_id,)).fetchone()
    if row is None:
        raise Unreplayable(run_id, None, "no run with this id is in the history")
    record = load_record(store, run_id)
    if record is None:
        raise Unreplayable(run_id, None, "it has no record (it was run with --no-record, or "
                                         "before Flowloom kept records)")
    first = record.order[0][0] if record.order else None
    if record.state == PRUNED:
        raise Unreplayable(run_id, first, record.note or "its record was pruned")
    if record.state == OVER_LIMIT:
        raise Unreplayable(run_id, None, f"its record is incomplete: {record.note}")
    text = record.workflow_text
    if text is None:
        raise Unreplayable(run_id, first, "the record does not hold its workflow")
    loaded = loads(text, registry, f"the workflow of run {run_id}")
    problems = loaded.errors
    if not problems:
        try:
            compiled = compile_workflow(loaded.workflow, registry, checked=loaded.problems)
        except CompileError as exc:
            problems = [p for p in exc.problems if p.is_error] or exc.problems
    if problems:
        raise Unreplayable(run_id, problems[0].node_id, problems[0].message)
    gone = sorted({nid for nid, _ in record.nodes} - set(compiled.workflow.nodes))
    if gone:
        raise Unreplayable(run_id, gone[0], "it is in the record but no longer in the workflow")
    live: set[str] = set()
    if live_from is not None:
        if live_from not in compiled.workflow.nodes:
            raise Unreplayable(run_id, live_from, "--live-from names a node this run's "
                                                  "workflow does not have")
        live = live_nodes(compiled, live_from)
    source = RecordSource(record, mode=REPLAY, live=live)
    return Replay(run_id, record, compiled, record.inputs, record.settings, source,
                  row[0] or "")
