"""`flowloom diff RUN_A RUN_B [--json] [--history-db PATH]`: what changed between two recorded
runs (engine/rundiff.py has the JSON shape). Exit 0, or 2 when a run is not in the history."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from builder.cli_history import add_history_db_option, seconds
from builder.cli_replay import open_store
from engine.history.lite import HistoryError

EXIT_OK, EXIT_INVALID = 0, 2


def add_commands(subparsers: Any) -> None:
    diff = subparsers.add_parser("diff", help="compare two recorded runs node by node")
    diff.add_argument("run_a", metavar="RUN_A")
    diff.add_argument("run_b", metavar="RUN_B")
    diff.add_argument("--json", action="store_true", help="print one JSON document")
    add_history_db_option(diff)
    diff.set_defaults(func=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    from engine.rundiff import RunMissing, diff_runs

    try:
        store = open_store(args.history_db)
    except HistoryError as exc:
        print(f"flowloom: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        result = diff_runs(store, args.run_a, args.run_b)
    except RunMissing as exc:
        print(f"flowloom: {exc}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        store.close()
    if args.json:
        from builder.cli import jsonable  # registered by builder.cli; imported when it runs

        print(json.dumps(jsonable(result), indent=2, ensure_ascii=False))
        return EXIT_OK
    print(diff_text(result))
    return EXIT_OK


def diff_text(result: dict[str, Any]) -> str:
    changed = (set(result["params_changed"]) | set(result["status_changed"])
               | set(result["outputs_changed"]))
    if not changed:
        return "no differences in params, statuses or outputs"
    lines = [f"first divergence: {result['first_divergence']}"]
    for node_id, node in result["nodes"].items():
        if node_id not in changed:
            continue
        what = [label for label, ids in (("params", "params_changed"),
                                         ("status", "status_changed"),
                                         ("outputs", "outputs_changed"))
                if node_id in result[ids]]
        a, b = node["status"]
        da, db = node["duration_s"]
        lines.append(f"{node_id}: {', '.join(what)} changed  ({a} {seconds(da)} -> "
                     f"{b} {seconds(db)})")
        for change in node["output_diff"] or []:
            if "text_diff" in change:
                lines.append(f"  {change['path'] or '(value)'}:")
                lines += [f"    {line}" for line in change["text_diff"].splitlines()]
            else:
                lines.append(f"  {change['path'] or '(value)'} {change['op']}: "
                             f"{json.dumps(change.get('a'), default=repr)[:80]} -> "
                             f"{json.dumps(change.get('b'), default=repr)[:80]}")
    return "\n".join(lines)
