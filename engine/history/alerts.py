"""Alerts in the run history: record the ones a run fired, list them back.

Qt-free. `record_alerts` writes one run's fired alerts (engine.events.AlertFired) in one
transaction; `list_alerts` reads them newest first as plain `AlertInfo` values whose
`to_json()` is the public `flowloom alerts --json` / `run --json` "alerts" entry shape.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from engine.events import AlertFired
from engine.history.queries import iso, workflow_key
from engine.history.schema import AlertRow, RunRow
from engine.history.store import HistoryStore


@dataclass(frozen=True, slots=True)
class AlertInfo:
    """One alert fired by a recorded run, as the history holds it."""

    run_id: str
    workflow_path: str
    metric: str
    node_id: str | None
    value: float
    over: float
    window: int | None
    message: str
    at: float

    def to_json(self) -> dict[str, Any]:
        return alert_json(self.metric, self.node_id, self.value, self.over, self.window,
                          self.message, run_id=self.run_id, workflow=self.workflow_path,
                          at=iso(self.at))


def alert_json(metric: str, node: str | None, value: float, over: float, window: int | None,
               message: str, **extra: Any) -> dict[str, Any]:
    return {"metric": metric, "node": node, "value": value, "over": over, "window": window,
            "message": message, **extra}


def fired_json(event: AlertFired) -> dict[str, Any]:
    return alert_json(event.metric, event.node_id, event.value, event.over, event.window,
                      event.message)


def record_alerts(store: HistoryStore, run_id: str, workflow_path: str | Path | None,
                  fired: list[AlertFired], at: float | None = None) -> None:
    """Write the run's fired alerts (nothing when there are none). The run must be recorded."""
    if not fired:
        return
    when = time.time() if at is None else at
    path = workflow_key(workflow_path) if workflow_path else ""
    with store.transaction() as conn:
        conn.execute(insert(AlertRow), [
            {"run_id": run_id, "workflow_path": path, "metric": e.metric, "node_id": e.node_id,
             "value": e.value, "over": e.over, "window": e.window, "message": e.message,
             "at": when} for e in fired])


def list_alerts(store: HistoryStore, *, workflow: str | Path | None = None,
                limit: int | None = 50) -> list[AlertInfo]:
    """Fired alerts, newest first, optionally of one workflow file."""
    query = select(AlertRow).join(RunRow, RunRow.id == AlertRow.run_id)
    if workflow:
        query = query.where(AlertRow.workflow_path.in_({str(workflow), workflow_key(workflow)}))
    query = query.order_by(AlertRow.at.desc(), AlertRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with store.reading() as conn:
        return [AlertInfo(r.run_id, r.workflow_path, r.metric, r.node_id, r.value, r.over,
                          r.window, r.message, r.at) for r in conn.execute(query)]


def alerts_by_run(store: HistoryStore, run_ids: list[str]) -> dict[str, list[str]]:
    """run id -> the messages of the alerts it fired (only runs that fired one)."""
    found: dict[str, list[str]] = {}
    for start in range(0, len(run_ids), 500):  # SQLite's limit on bound parameters
        chunk = run_ids[start:start + 500]
        query = (select(AlertRow.run_id, AlertRow.message)
                 .where(AlertRow.run_id.in_(chunk)).order_by(AlertRow.at, AlertRow.id))
        with store.reading() as conn:
            for run_id, message in conn.execute(query):
                found.setdefault(run_id, []).append(message)
    return found
