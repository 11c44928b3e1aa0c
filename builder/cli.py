"""The `flowloom` command. Headless subcommands never import Qt, so they start fast.

    flowloom                      open the editor (on a machine with no display: say so, and
                                  run the hello example in the terminal instead)
    flowloom run FILE [--input NAME=JSON ...] [--json]
    flowloom validate FILE
    flowloom nodes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from engine import CompileError, InputError, Run, WorkflowFileError, compile_workflow, load
from engine.context import Services
from nodes import default_registry

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_CANCELLED = 0, 1, 2, 130


def _parse_inputs(pairs: list[str]) -> dict:
    inputs = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise InputError(f"--input {pair!r}: expected NAME=JSON")
        try:
            inputs[name] = json.loads(raw)
        except json.JSONDecodeError:
            inputs[name] = raw  # a bare word is taken as a string
    return inputs


def cmd_run(args: argparse.Namespace) -> int:
    registry = default_registry()
    try:
        loaded = load(args.file, registry)
        if loaded.errors:
            raise CompileError(loaded.problems)
        compiled = compile_workflow(loaded.workflow, registry)
        run = Run(compiled, _parse_inputs(args.input),
                  services=Services(base_dir=Path(args.file).resolve().parent))
    except (WorkflowFileError, CompileError, InputError) as exc:
        print(f"flowloom: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if not args.json:
        run.subscribe(lambda e: _print_event(e, sys.stderr))
    try:
        result = asyncio.run(run.execute())
    except KeyboardInterrupt:
        print("flowloom: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=repr))
    else:
        print(json.dumps(result.outputs, indent=2, default=repr))
        if result.error:
            print(f"flowloom: {result.error}", file=sys.stderr)
    return {"succeeded": EXIT_OK, "failed": EXIT_FAILED}.get(result.status, EXIT_CANCELLED)


def _print_event(event: object, out) -> None:
    name = type(event).__name__
    node = getattr(event, "node_id", None)
    if name == "NodeFinished":
        print(f"  done    {node} ({event.duration_s * 1000:.1f} ms)", file=out)
    elif name == "NodeFailed":
        print(f"  FAILED  {node}: {event.error}", file=out)
    elif name == "NodeSkipped":
        print(f"  skipped {node}: {event.reason}", file=out)


def cmd_validate(args: argparse.Namespace) -> int:
    registry = default_registry()
    try:
        loaded = load(args.file, registry)
        problems = list(loaded.problems)
        if not loaded.errors:
            try:
                problems += compile_workflow(loaded.workflow, registry).warnings
            except CompileError as exc:
                problems = exc.problems
    except WorkflowFileError as exc:
        print(f"flowloom: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for problem in problems:
        print(problem, file=sys.stderr if problem.is_error else sys.stdout)
    errors = [p for p in problems if p.is_error]
    if errors:
        return EXIT_INVALID
    print(f"{args.file}: ok")
    return EXIT_OK


def cmd_nodes(args: argparse.Namespace) -> int:
    for node_type in default_registry():
        print(f"{node_type.type_id:20} {node_type.title:14} {node_type.description}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowloom", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run a workflow headless")
    run.add_argument("file")
    run.add_argument("--input", action="append", default=[], metavar="NAME=JSON")
    run.add_argument("--json", action="store_true", help="print one JSON object with the result")
    run.set_defaults(func=cmd_run)
    validate = sub.add_parser("validate", help="check a workflow and list every problem")
    validate.add_argument("file")
    validate.set_defaults(func=cmd_validate)
    nodes = sub.add_parser("nodes", help="list node types")
    nodes.set_defaults(func=cmd_nodes)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        print("flowloom: the editor is not built yet; try `flowloom run FILE`.", file=sys.stderr)
        return EXIT_INVALID
    return args.func(args)
