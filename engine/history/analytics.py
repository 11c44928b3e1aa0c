"""Analytics over recorded runs: per workflow and per node counts, success rates, duration
statistics, the trend of recent runs, the slowest and the flakiest nodes.

Definitions (the CLI, the panels and the tests rely on them):
* A workflow's `runs` are its finished runs (every status but `running`); `success_rate` is the
  share that succeeded. Its duration statistics use runs that ended on their own (succeeded or
  failed); cancelled and interrupted runs were cut short.
* A node's `count` is its executions (one per loop iteration) that ended on their own, succeeded
  or failed; skipped, cancelled and interrupted executions are left out. `success_rate` is the
  share of those that succeeded; durations (first attempt start to end, retries included) are
  over the same executions.
* `std_s` is the sample standard deviation (0 for one value); percentiles interpolate linearly
  between the two nearest ranks (numpy's default, statistics.quantiles(method="inclusive")).
* A node's `flakiness` is the share of its attempts that failed (retried or final failures).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.history import packs
from engine.history.queries import workflow_key
from engine.history.schema import RUNNING, RunRow
from engine.history.store import HistoryStore

_ENDED = ("succeeded", "failed")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values, by linear interpolation between ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True, slots=True)
class DurationStats:
    """Count, extremes, mean, spread and percentiles of a set of durations."""

    count: int
    min_s: float | None
    max_s: float | None
    mean_s: float | None
    std_s: float | None
    p50_s: float | None
    p95_s: float | None

    @classmethod
    def of(cls, values: list[float]) -> DurationStats:
        n = len(values)
        if n == 0:
            return cls(0, None, None, None, None, None, None)
        mean = math.fsum(values) / n
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
        return cls(n, min(values), max(values), mean, std, percentile(values, 50),
                   percentile(values, 95))

    def to_json(self) -> dict[str, float | None]:
        return {name: _round(getattr(self, name))
                for name in ("min_s", "max_s", "mean_s", "std_s", "p50_s", "p95_s")}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass(frozen=True, slots=True)
class NodeStats:
    """One node over a workflow's runs: how often it ran, failed and retried, and how long."""

    node_id: str
    count: int  # executions that succeeded or failed
    succeeded: int
    failed: int
    attempts: int
    retries: int
    runs: int  # runs in which the node executed at least once
    durations: DurationStats

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.count if self.count else None

    @property
    def flakiness(self) -> float:
        """The share of attempts that failed (each retry is one failed attempt)."""
        return (self.retries + self.failed) / self.attempts if self.attempts else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "success_rate": _round(self.success_rate),
                **self.durations.to_json()}


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One run on a workflow's trend line: when it started, how it ended, how long."""

    run_id: str
    started_at: float
    status: str
    duration_s: float | None


@dataclass
class WorkflowStats:
    """A workflow file over its finished runs: success rate, durations, trend, nodes."""

    workflow: str
    runs: int
    succeeded: int
    durations: DurationStats
    trend: list[TrendPoint]  # oldest first
    nodes: dict[str, NodeStats] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.runs if self.runs else None

    def slowest(self, n: int = 5) -> list[NodeStats]:
        """Nodes by mean duration, slowest first."""
        timed = [s for s in self.nodes.values() if s.durations.mean_s is not None]
        return sorted(timed, key=lambda s: (-s.durations.mean_s, s.node_id))[:n]  # type: ignore

    def flakiest(self, n: int = 5) -> list[NodeStats]:
        """Nodes with failed attempts, most flaky first (ties: more failed attempts first)."""
        flaky = [s for s in self.nodes.values() if s.flakiness > 0]
        return sorted(flaky, key=lambda s: (-s.flakiness, -(s.retries + s.failed),
                                            s.node_id))[:n]

    def to_json(self) -> dict[str, Any]:
        """The public `flowloom stats FILE --json` shape."""
        return {"workflow": self.workflow, "runs": self.runs,
                "success_rate": _round(self.success_rate),
                "nodes": {nid: s.to_json() for nid, s in self.nodes.items()}}


def workflow_stats(store: HistoryStore, workflow: str | Path, *, last: int | None = None,
                   trend: int = 20) -> WorkflowStats:
    """Statistics of one workflow file over its finished runs (only the `last` N if given)."""
    key = workflow_key(workflow)
    query = (select(RunRow.id, RunRow.status, RunRow.started_at, RunRow.duration_s)
             .where(RunRow.workflow_path.in_({str(workflow), key}), RunRow.status != RUNNING)
             .order_by(RunRow.started_at.desc(), RunRow.id))
    if last is not None:
        query = query.limit(last)
    with store.reading() as conn:
        runs = list(reversed(conn.execute(query).all()))  # oldest first
        rows_by_node: dict[str, list[Any]] = defaultdict(list)
        ids = [r.id for r in runs]
        for start in range(0, len(ids), 500):
            # by start time, unstarted ones last; ties in the order they were first written
            rows = packs.node_runs(conn, ids[start:start + 500])
            order = sorted(range(len(rows)), key=lambda i: (rows[i].started_at is None,
                                                            rows[i].started_at or 0.0, i))
            for i in order:
                rows_by_node[rows[i].node_id].append(rows[i])
    run_durations = [r.duration_s for r in runs
                     if r.status in _ENDED and r.duration_s is not None]
    stats = WorkflowStats(
        key, len(runs), sum(1 for r in runs if r.status == "succeeded"),
        DurationStats.of(run_durations),
        [TrendPoint(r.id, r.started_at, r.status, r.duration_s) for r in runs[-trend:]]
        if trend else [])
    for node_id, rows in rows_by_node.items():
        stats.nodes[node_id] = node_stats(node_id, rows)
    return stats


def node_stats(node_id: str, rows: list[Any]) -> NodeStats:
    """Stats of one node from its node-run rows (anything with status, attempts, retries,
    duration_s and run_id attributes)."""
    ended = [r for r in rows if r.status in _ENDED]
    return NodeStats(
        node_id, len(ended), sum(1 for r in ended if r.status == "succeeded"),
        sum(1 for r in ended if r.status == "failed"),
        sum(r.attempts for r in rows), sum(r.retries for r in rows),
        len({r.run_id for r in rows if r.attempts}),
        DurationStats.of([r.duration_s for r in ended if r.duration_s is not None]))
