"""`flowloom history` and `flowloom stats FILE`, and recording `flowloom run` into the history.

    flowloom history [--workflow PATH] [--status S] [--limit N] [--json] [--history-db PATH]
    flowloom stats FILE [--last N] [--json] [--history-db PATH]

`history_main` and `stats_main` take the argparse Namespace made by the parsers that
`add_commands(subparsers)` registers, or a plain argv list (parsed here), and return an exit
code: 0 done, 2 the history database cannot be opened or the arguments are wrong.
`--json` prints one JSON document (the public shapes in RunInfo.to_json / WorkflowStats.to_json);
otherwise aligned tables. Problems go to stderr.

`recorder_for_cli(path, history_db)` gives `flowloom run` a HistoryRecorder for one headless run
(or None, after saying why on stderr, when the database cannot be opened: the run goes on).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from engine.history.lite import HistoryError, LiteStore

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.history import HistoryRecorder, HistoryStore, RunInfo, WorkflowStats

EXIT_OK, EXIT_INVALID = 0, 2
STATUSES = ("running", "succeeded", "failed", "cancelled", "interrupted")
_SPARKS = "▁▂▃▄▅▆▇█"


# --- parsers ------------------------------------------------------------------------------
def add_history_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history-db", metavar="PATH", default=None,
                        help="the run-history database (default: $FLOWLOOM_HISTORY_DB, else "
                             "history.db in the user data folder)")


def _limit(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_commands(subparsers: Any) -> None:
    """Register `history` and `stats` on the `flowloom` subparsers (func= set on each)."""
    history = subparsers.add_parser("history", help="list recorded runs, newest first")
    history.add_argument("--workflow", metavar="PATH", default=None,
                         help="only runs of this workflow file")
    history.add_argument("--status", choices=STATUSES, default=None, help="only runs with it")
    history.add_argument("--limit", type=_limit, default=20, metavar="N",
                         help="at most N runs (default 20)")
    history.add_argument("--json", action="store_true",
                         help="print one JSON list of runs, each with its nodes")
    add_history_db_option(history)
    history.set_defaults(func=history_main)
    stats = subparsers.add_parser("stats", help="run and node statistics of a workflow")
    stats.add_argument("file", metavar="FILE")
    stats.add_argument("--last", type=_limit, default=None, metavar="N",
                       help="only the last N runs (default: all)")
    stats.add_argument("--json", action="store_true", help="print one JSON document")
    add_history_db_option(stats)
    stats.set_defaults(func=stats_main)


def _parse(command: str, argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="flowloom")
    add_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args([command, *argv])


def _namespace(command: str, args: argparse.Namespace | Sequence[str], err: TextIO
               ) -> argparse.Namespace | int:
    if isinstance(args, argparse.Namespace):
        return args
    try:
        with contextlib.redirect_stderr(err):
            return _parse(command, args)
    except SystemExit as exc:  # bad usage (or --help): argparse already said why
        return int(exc.code or 0)


def _open(path: str | None, err: TextIO) -> HistoryStore | None:
    from engine.history import HistoryStore  # SQLAlchemy: only the commands that read

    try:
        return HistoryStore.open(path)
    except HistoryError as exc:
        print(f"flowloom: {exc}", file=err)
        return None


# --- history ------------------------------------------------------------------------------
def history_main(args: argparse.Namespace | Sequence[str], out: TextIO | None = None,
                 err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    ns = _namespace("history", args, err)
    if isinstance(ns, int):
        return ns
    store = _open(ns.history_db, err)
    if store is None:
        return EXIT_INVALID
    from engine.history import list_runs

    with store:
        runs = list_runs(store, workflow=ns.workflow, status=ns.status, limit=ns.limit)
    if ns.json:
        print(json.dumps([run.to_json() for run in runs], indent=2, ensure_ascii=False),
              file=out)
    elif not runs:
        print("no recorded runs" + (" match" if ns.workflow or ns.status else ""), file=out)
    else:
        print(table(("RUN", "STATUS", "STARTED", "DURATION", "NODES", "WORKFLOW"),
                    [_history_row(run) for run in runs], right=(3,)), file=out)
    return EXIT_OK


def _history_row(run: RunInfo) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for summary in run.per_node().values():
        counts[summary.status] = counts.get(summary.status, 0) + 1
    nodes = ", ".join(f"{n} {'ok' if s == 'succeeded' else s}" for s, n in counts.items())
    return (run.id, run.status, local_time(run.started_at), seconds(run.duration_s), nodes,
            run.workflow or run.workflow_name or "(unsaved)")


# --- stats --------------------------------------------------------------------------------
def stats_main(args: argparse.Namespace | Sequence[str], out: TextIO | None = None,
               err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    ns = _namespace("stats", args, err)
    if isinstance(ns, int):
        return ns
    store = _open(ns.history_db, err)
    if store is None:
        return EXIT_INVALID
    from engine.history import workflow_stats

    with store:
        stats = workflow_stats(store, ns.file, last=ns.last)
    if ns.json:
        print(json.dumps(stats.to_json(), indent=2, ensure_ascii=False), file=out)
    else:
        print(stats_text(stats), file=out)
    return EXIT_OK


def stats_text(stats: WorkflowStats) -> str:
    """The terminal form of a workflow's statistics."""
    if not stats.runs:
        return f"no recorded runs of {stats.workflow}"
    d = stats.durations
    lines = [f"workflow  {stats.workflow}",
             f"runs      {stats.runs}, {percent(stats.success_rate)} succeeded",
             f"duration  mean {seconds(d.mean_s)}  p50 {seconds(d.p50_s)}  "
             f"p95 {seconds(d.p95_s)}  min {seconds(d.min_s)}  max {seconds(d.max_s)}  "
             f"std {seconds(d.std_s)}"]
    trend = [p.duration_s for p in stats.trend]
    if any(t is not None for t in trend):
        lines.append(f"trend     {sparkline(trend)}  (last {len(trend)} runs, oldest first)")
    rows = [(nid, str(s.count), percent(s.success_rate), seconds(s.durations.min_s),
             seconds(s.durations.mean_s), seconds(s.durations.p50_s),
             seconds(s.durations.p95_s), seconds(s.durations.max_s),
             seconds(s.durations.std_s)) for nid, s in stats.nodes.items()]
    lines += ["", table(("NODE", "COUNT", "SUCCESS", "MIN", "MEAN", "P50", "P95", "MAX", "STD"),
                        rows, right=tuple(range(1, 9)))]
    slowest = stats.slowest(3)
    if slowest:
        lines.append("\nslowest   " + ", ".join(f"{s.node_id} ({seconds(s.durations.mean_s)})"
                                                for s in slowest))
    flakiest = stats.flakiest(3)
    if flakiest:
        lines.append("flakiest  " + ", ".join(
            f"{s.node_id} ({percent(s.flakiness)} of {s.attempts} attempts failed)"
            for s in flakiest))
    return "\n".join(lines)


# --- recording `flowloom run` -------------------------------------------------------------
def recorder_for_cli(workflow_path: str | Path, history_db: str | None, *,
                     err: TextIO | None = None, workflow_text_or_hash: str = ""
                     ) -> HistoryRecorder | None:
    """A recorder for one headless run of `workflow_path`, owning its store (close() closes
    both). The content hash is `workflow_text_or_hash` (a sha256, or text to hash), else taken
    from the run's workflow (its canonical text) on attach.
    None, with a warning on stderr, when the history cannot be opened: the run still goes on.
    """
    from engine.history.recorder import HistoryRecorder

    err = err or sys.stderr
    # An existing database at this schema version is written with stdlib sqlite3 (no
    # SQLAlchemy import, ~1 s); a new or older one is created / migrated by HistoryStore.
    store: LiteStore | HistoryStore | None = LiteStore.open(history_db)
    if store is None:
        store = _open(history_db, err)
    if store is None:
        print("flowloom: this run will not be recorded in the history", file=err)
        return None
    return HistoryRecorder(store, workflow_path, workflow_text_or_hash, own_store=True)


# --- formatting ---------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Sequence[Sequence[str]],
          right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; columns in `right` aligned right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells: Sequence[str]) -> str:
        parts = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 0.001:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    if value < 120:
        return f"{value:.2f} s"
    minutes, secs = divmod(value, 60)
    return f"{int(minutes)} min {secs:04.1f} s"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def local_time(epoch: float | None) -> str:
    return "-" if epoch is None else datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def sparkline(values: Sequence[float | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low or 1.0
    return "".join(" " if v is None else _SPARKS[int((v - low) / span * (len(_SPARKS) - 1))]
                   for v in values)
