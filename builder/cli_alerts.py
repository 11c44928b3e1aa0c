"""`flowloom alerts`, and the alerts of a `flowloom run` (watched live, checked at the end).

    flowloom alerts [--workflow PATH] [--limit N] [--json] [--history-db PATH]

`alerts` lists fired alerts from the run history, newest first (`--json`: one list of
{"metric", "node", "value", "over", "window", "message", "run_id", "workflow", "at"}). For
`run`: `watch(run)` starts an AlertWatcher (engine/alerts.py) on the run's workflow,
`execute(watcher, work)` runs the sampler beside the run in one TaskGroup, and `finish(...)`
checks the history metrics once the run is recorded, records every fired alert, says each on
stderr and returns them as `run --json` "alerts" entries. Exit codes of `alerts`: 0, or 2 when
the history cannot be opened.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

from builder.cli_history import add_history_db_option, table
from engine.alerts import AlertWatcher, history_alerts, read_alerts, watched
from engine.executor import Run

T = TypeVar("T")
EXIT_OK, EXIT_INVALID = 0, 2


def add_commands(subparsers: Any) -> None:
    alerts = subparsers.add_parser("alerts", help="list the alerts runs fired, newest first")
    alerts.add_argument("--workflow", metavar="PATH", default=None,
                        help="only alerts of this workflow file")
    alerts.add_argument("--limit", type=int, default=50, metavar="N",
                        help="at most N alerts (default 50)")
    alerts.add_argument("--json", action="store_true", help="print one JSON list")
    add_history_db_option(alerts)
    alerts.set_defaults(func=alerts_main)


def alerts_main(args: argparse.Namespace) -> int:
    # the history's SQL modules load here, not when `flowloom run` starts (issue #17)
    from engine.history import HistoryError, HistoryStore
    from engine.history.alerts import list_alerts
    from engine.history.queries import iso

    try:
        store = HistoryStore.open(args.history_db)
    except HistoryError as exc:
        print(f"flowloom: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        found = list_alerts(store, workflow=args.workflow, limit=max(1, args.limit))
    finally:
        store.close()
    if args.json:
        print(json.dumps([a.to_json() for a in found], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not found:
        print("No alerts have fired.")
        return EXIT_OK
    rows = [((iso(a.at) or "")[:19].replace("T", " "), a.metric, a.node_id or "",
             f"{a.value:g}", f"{a.over:g}", a.run_id[:8], a.workflow_path) for a in found]
    print(table(("WHEN (UTC)", "METRIC", "NODE", "VALUE", "OVER", "RUN", "WORKFLOW"), rows,
                right=(3, 4)))
    return EXIT_OK


# --- flowloom run -------------------------------------------------------------------------
def watch(run: Run) -> AlertWatcher:
    watcher = AlertWatcher(run, read_alerts(run.compiled.workflow))
    watcher.subscribe(lambda e: print(f"flowloom: {e.message}", file=sys.stderr))
    return watcher


async def execute(watcher: AlertWatcher, work: Awaitable[T]) -> T:
    return await watched(watcher, work)


def finish(watcher: AlertWatcher, workflow_path: str, history_db: str | None,
           recorded: bool) -> list[dict[str, Any]] | None:
    """After the run (and its recording): history checks, record, the JSON entries (None
    when the workflow has no alerts, so `run --json` keeps its shape for those)."""
    watcher.close()
    if not watcher.alerts:
        return None
    # only for workflows with alerts
    from engine.history import HistoryError, HistoryStore
    from engine.history.alerts import fired_json, record_alerts

    if recorded and watcher.alerts:
        try:
            store = HistoryStore.open(history_db)
        except HistoryError as exc:
            print(f"flowloom: alerts not checked against the history: {exc}", file=sys.stderr)
        else:
            try:
                history_alerts(store, workflow_path, watcher)
                record_alerts(store, watcher.run.run_id, workflow_path, watcher.fired)
            finally:
                store.close()
    return [fired_json(e) for e in watcher.fired]
