"""Reading the run history: list runs, one run in full (to replay it), two runs side by side.

Results are plain dataclasses (no live database objects), safe to hand to another thread or the
UI. A run's `nodes` are its node runs, one per node and loop iteration; `per_node()` sums them
per node id the way the engine's RunResult does (status: the worst one; attempts and durations:
summed). `RunInfo.to_json()` is the public `flowloom history --json` shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.history import packs
from engine.history.schema import LogRow, RunRow, iteration_path
from engine.history.store import HistoryStore

# Which status a node shows when its iterations ended differently (first one found wins).
_PRECEDENCE = ("failed", "interrupted", "cancelled", "retrying", "running", "succeeded",
               "skipped", "pending")


def iso(t: float | None) -> str | None:
    """Epoch seconds -> ISO 8601 in UTC with milliseconds (the JSON form of history times)."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def workflow_key(path: str | Path) -> str:
    """How the history names a workflow file: its absolute path."""
    return str(Path(path).expanduser().resolve())


@dataclass(frozen=True, slots=True)
class NodeRunInfo:
    """One node execution (a node, or one loop iteration of it) of a recorded run."""

    node_id: str
    iteration: tuple[int, ...]
    status: str
    attempts: int
    retries: int
    started_at: float | None
    ended_at: float | None
    duration_s: float | None
    error: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class NodeSummary:
    """One node over all its iterations in one run."""

    node_id: str
    status: str
    attempts: int
    retries: int
    executions: int
    duration_s: float | None
    started_at: float | None
    ended_at: float | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "status": self.status, "attempts": self.attempts,
                "duration_s": None if self.duration_s is None else round(self.duration_s, 6),
                "error": self.error}


@dataclass(frozen=True, slots=True)
class LogLine:
    """One log line a node wrote during a recorded run."""

    node_id: str
    iteration: tuple[int, ...]
    level: str
    message: str
    at: float


@dataclass(frozen=True, slots=True)
class OutputPreview:
    """A node's outputs, shortened and masked, as the history keeps them."""

    node_id: str
    iteration: tuple[int, ...]
    preview: str
    truncated: bool


@dataclass
class RunInfo:
    """One recorded run: which file, with what inputs, how and when it ended."""

    id: str
    workflow: str
    workflow_name: str
    content_hash: str
    inputs: Any
    status: str
    started_at: float
    ended_at: float | None
    duration_s: float | None
    error: str | None
    node_count: int
    nodes: list[NodeRunInfo] = field(default_factory=list)

    def per_node(self) -> dict[str, NodeSummary]:
        """The node runs summed per node id, in the order the nodes first started."""
        groups: dict[str, list[NodeRunInfo]] = {}
        for nr in self.nodes:
            groups.setdefault(nr.node_id, []).append(nr)
        return {nid: _summarise(nid, rows) for nid, rows in groups.items()}

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "workflow": self.workflow, "status": self.status,
                "started_at": iso(self.started_at), "ended_at": iso(self.ended_at),
                "nodes": [s.to_json() for s in self.per_node().values()]}


@dataclass
class RunDetail(RunInfo):
    """A run with everything recorded about it: enough to replay states and the timeline."""

    outputs_preview: str | None = None
    logs: list[LogLine] = field(default_factory=list)
    outputs: list[OutputPreview] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NodeComparison:
    """One node in two runs side by side."""

    node_id: str
    a: NodeSummary | None  # None: the node did not appear in that run
    b: NodeSummary | None

    @property
    def delta_s(self) -> float | None:
        """b's duration minus a's (positive: slower in b)."""
        if self.a is None or self.b is None or None in (self.a.duration_s, self.b.duration_s):
            return None
        return self.b.duration_s - self.a.duration_s  # type: ignore[operator]

    @property
    def status_changed(self) -> bool:
        return (self.a.status if self.a else None) != (self.b.status if self.b else None)


@dataclass
class Comparison:
    """Two runs side by side, node by node."""

    a: RunInfo
    b: RunInfo
    nodes: list[NodeComparison]


def _summarise(node_id: str, rows: list[NodeRunInfo]) -> NodeSummary:
    statuses = {r.status for r in rows}
    status = next((s for s in _PRECEDENCE if s in statuses), rows[-1].status)
    durations = [r.duration_s for r in rows if r.duration_s is not None]
    starts = [r.started_at for r in rows if r.started_at is not None]
    ends = [r.ended_at for r in rows if r.ended_at is not None]
    errors = [r for r in rows if r.error and r.status != "succeeded"]
    errors.sort(key=lambda r: r.ended_at or 0.0)
    return NodeSummary(
        node_id, status, sum(r.attempts for r in rows), sum(r.retries for r in rows),
        sum(1 for r in rows if r.started_at is not None),
        sum(durations) if durations else None, min(starts) if starts else None,
        max(ends) if ends else None, errors[-1].error if errors else None)


def _run_info(row: Any, cls: type[RunInfo] = RunInfo, **extra: Any) -> RunInfo:
    try:
        inputs = json.loads(row.inputs_json)
    except (TypeError, ValueError):
        inputs = row.inputs_json
    return cls(row.id, row.workflow_path, row.workflow_name, row.content_hash, inputs,
               row.status, row.started_at, row.ended_at, row.duration_s, row.error,
               row.node_count, **extra)


def _node_info(row: packs.NodeRun) -> NodeRunInfo:
    return NodeRunInfo(row.node_id, iteration_path(row.iteration), *row[3:])


def _order_nodes(rows: list[NodeRunInfo]) -> list[NodeRunInfo]:
    # started ones by start time; never-started (skipped) ones after, by when they were settled
    return sorted(rows, key=lambda r: (r.started_at is None, r.started_at or r.ended_at or 0.0,
                                       r.node_id, r.iteration))


def _nodes_of(conn: Any, run_ids: list[str]) -> dict[str, list[NodeRunInfo]]:
    found: dict[str, list[NodeRunInfo]] = {rid: [] for rid in run_ids}
    for row in packs.node_runs(conn, run_ids):
        found[row.run_id].append(_node_info(row))
    return {rid: _order_nodes(rows) for rid, rows in found.items()}


def list_runs(store: HistoryStore, *, workflow: str | Path | None = None,
              status: str | None = None, limit: int | None = 50,
              with_nodes: bool = True) -> list[RunInfo]:
    """Recorded runs, newest first, optionally of one workflow file and/or one status."""
    query = select(RunRow)
    if workflow:
        query = query.where(RunRow.workflow_path.in_({str(workflow), workflow_key(workflow)}))
    if status:
        query = query.where(RunRow.status == status)
    query = query.order_by(RunRow.started_at.desc(), RunRow.id)
    if limit is not None:
        query = query.limit(limit)
    with store.reading() as conn:
        runs = [_run_info(row) for row in conn.execute(query)]
        if with_nodes and runs:
            nodes = _nodes_of(conn, [r.id for r in runs])
            for run in runs:
                run.nodes = nodes[run.id]
    return runs


def get_run(store: HistoryStore, run_id: str) -> RunDetail | None:
    """One run with its node runs, logs and output previews; None if it was never recorded."""
    with store.reading() as conn:
        row = conn.execute(select(RunRow).where(RunRow.id == run_id)).first()
        if row is None:
            return None
        detail = _run_info(row, RunDetail, outputs_preview=row.outputs_preview)
        assert isinstance(detail, RunDetail)
        detail.nodes = _nodes_of(conn, [run_id])[run_id]
        detail.logs = [LogLine(r.node_id, iteration_path(r.iteration), r.level, r.message, r.at)
                       for r in conn.execute(select(LogRow).where(LogRow.run_id == run_id)
                                             .order_by(LogRow.at, LogRow.id))]
        detail.outputs = [OutputPreview(node_id, iteration_path(iteration), text, truncated)
                          for node_id, iteration, text, truncated
                          in packs.outputs(conn, run_id)]
    return detail


def compare_runs(store: HistoryStore, run_a: str, run_b: str) -> Comparison:
    """Two runs' nodes side by side (every node of either run, in a's order, then b's)."""
    a, b = get_run(store, run_a), get_run(store, run_b)
    missing = [rid for rid, run in ((run_a, a), (run_b, b)) if run is None]
    if missing:
        raise KeyError(f"no recorded run with id {', '.join(map(repr, missing))}")
    assert a is not None and b is not None
    nodes_a, nodes_b = a.per_node(), b.per_node()
    order = list(dict.fromkeys([*nodes_a, *nodes_b]))
    return Comparison(a, b, [NodeComparison(nid, nodes_a.get(nid), nodes_b.get(nid))
                             for nid in order])
