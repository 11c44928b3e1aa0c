"""The numbers behind View ▸ Dashboard: every workflow on record, runs per day, alerts fired.

Qt-free. `dashboard(store)` returns plain values: one `WorkflowSummary` per workflow file in the
history (runs, success rate, p50/p95 duration, slowest and flakiest node, alerts fired — built
on analytics.workflow_stats) and `days`, the finished runs per UTC day (oldest first) with how
many succeeded. `to_csv()` is the dashboard's CSV export.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select

from engine.history.analytics import workflow_stats
from engine.history.schema import RUNNING, AlertRow, RunRow
from engine.history.store import HistoryStore

CSV_COLUMNS = ("workflow", "name", "runs", "success_rate", "p50_s", "p95_s", "slowest_node",
               "slowest_mean_s", "flakiest_node", "flakiness", "alerts")


@dataclass(frozen=True, slots=True)
class WorkflowSummary:
    """One workflow's line on the dashboard."""

    workflow: str
    name: str
    runs: int
    success_rate: float | None
    p50_s: float | None
    p95_s: float | None
    slowest_node: str | None
    slowest_mean_s: float | None
    flakiest_node: str | None
    flakiness: float | None
    alerts: int

    def row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in CSV_COLUMNS)


@dataclass(frozen=True, slots=True)
class Day:
    """Runs and successes on one day (UTC)."""

    day: str  # YYYY-MM-DD (UTC)
    runs: int
    succeeded: int

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.runs if self.runs else 0.0


@dataclass
class Dashboard:
    """The history at a glance: every workflow's summary and the runs per day."""

    workflows: list[WorkflowSummary] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        return sum(w.alerts for w in self.workflows)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for w in self.workflows:
            writer.writerow(["" if v is None else (round(v, 6) if isinstance(v, float) else v)
                             for v in w.row()])
        writer.writerow([])
        writer.writerow(("day", "runs", "succeeded"))
        for d in self.days:
            writer.writerow((d.day, d.runs, d.succeeded))
        return out.getvalue()


def dashboard(store: HistoryStore) -> Dashboard:
    """Every workflow on record (most runs first) and the runs per day."""
    day = func.date(RunRow.started_at, "unixepoch")
    with store.reading() as conn:
        paths = conn.execute(
            select(RunRow.workflow_path, func.max(RunRow.workflow_name), func.count())
            .where(RunRow.status != RUNNING).group_by(RunRow.workflow_path)
            .order_by(func.count().desc(), RunRow.workflow_path)).all()
        alerts = dict(conn.execute(select(AlertRow.workflow_path, func.count())
                                   .group_by(AlertRow.workflow_path)).all())
        days = [Day(d, n, s) for d, n, s in conn.execute(
            select(day, func.count(), func.sum(case((RunRow.status == "succeeded", 1), else_=0)))
            .where(RunRow.status != RUNNING).group_by(day).order_by(day))]
    board = Dashboard(days=days)
    for path, name, _count in paths:
        stats = workflow_stats(store, path, trend=0) if path else None
        if stats is None:  # unsaved workflows share the "" key; stats need a file path
            continue
        slowest = stats.slowest(1)
        flakiest = stats.flakiest(1)
        board.workflows.append(WorkflowSummary(
            path, name or "", stats.runs, stats.success_rate, stats.durations.p50_s,
            stats.durations.p95_s,
            slowest[0].node_id if slowest else None,
            slowest[0].durations.mean_s if slowest else None,
            flakiest[0].node_id if flakiest else None,
            flakiest[0].flakiness if flakiest else None, int(alerts.get(path, 0))))
    return board
