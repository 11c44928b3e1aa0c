"""`flowloom doctor [FILE] [--json]`: checks what a run will need (nodes/doctor.py) and prints
them, one line each (or {"checks": [...]} with --json). Exit 0 when every check passes, 1 when
one fails, 2 when FILE cannot be read as a workflow."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from engine import WorkflowFileError, load
from nodes import default_registry
from nodes.credentials import CredentialStore

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def add_doctor_command(subparsers: Any) -> None:
    doctor = subparsers.add_parser(
        "doctor", help="check LLM servers, credentials, the history database and plugins")
    doctor.add_argument("file", metavar="FILE", nargs="?", default=None,
                        help="check the servers and credentials this workflow names "
                             "(default: the servers the environment names)")
    doctor.add_argument("--json", action="store_true",
                        help='print {"checks": [{"name", "ok", "detail", "latency_ms"}]}')
    doctor.add_argument("--history-db", metavar="PATH", default=None,
                        help="the run-history database (default: $FLOWLOOM_HISTORY_DB, else "
                             "history.db in the user data folder)")
    doctor.set_defaults(func=doctor_main)


def doctor_main(args: argparse.Namespace) -> int:
    # imported here: `flowloom run` / `validate` must not pay for the history store's imports
    from engine.history.store import resolve_path
    from nodes.doctor import run_checks

    registry = default_registry()
    workflow = None
    if args.file is not None:
        try:
            workflow = load(args.file, registry).workflow
        except WorkflowFileError as exc:
            print(f"flowloom: {exc}", file=sys.stderr)
            return EXIT_INVALID
    store = CredentialStore()
    checks = asyncio.run(run_checks(workflow=workflow, registry=registry, secret=store.get,
                                    history_path=resolve_path(args.history_db)))
    if args.json:
        print(json.dumps({"checks": [c.to_json() for c in checks]}, indent=2,
                         ensure_ascii=False))
    else:
        for c in checks:
            latency = f" ({c.latency_ms:g} ms)" if c.latency_ms is not None else ""
            print(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}{latency}")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_FAILED
