"""The CLI's side of permissions and trust (no Qt): `flowloom permissions`, `flowloom trust`,
and the grant flags of `flowloom run`.

    flowloom permissions FILE [--json]   what FILE needs, and whether it is trusted
    flowloom trust FILE                  print what FILE needs, then trust it
    flowloom run FILE [--allow-net[=HOST,...]] [--allow-read[=PATH,...]]
                      [--allow-write[=PATH,...]] [--allow-run] [--trust]

A trusted file (engine/trust.py) runs with full powers. Any other file runs with only what its
flags grant (a flag without a value grants that capability everywhere; paths are relative to
the current folder); if its manifest asks for more, no node runs and `run` exits 3, listing what
is missing and the flags that would allow it. Grants are checked again at each access.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import WorkflowFileError
from engine.fileformat import load
from engine.model import Workflow
from engine.permissions import (
    EVERYTHING,
    NET,
    READ,
    WRITE,
    Grant,
    Grants,
    Manifest,
    describe,
    flags_for,
    manifest_of,
    parse_grant,
    resolve_path,
)
from engine.registry import Registry
from engine.trust import TRUSTED, TrustStore

EXIT_NEEDS_PERMISSION = 3
VALUE_FLAGS = ("--allow-net", "--allow-read", "--allow-write")
COMMANDS = ("permissions", "trust")


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def normalize_allow_flags(argv: list[str]) -> list[str]:
    """A bare `--allow-net` means everywhere; written as `--allow-net=*` so that argparse never
    takes the FILE after it for its value."""
    return [f"{a}=*" if a in VALUE_FLAGS else a for a in argv]


def add_run_flags(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group("permissions (for a file that is not trusted)")
    for cap, what in ((NET, "HOST[:PORT]"), (READ, "PATH"), (WRITE, "PATH")):
        group.add_argument(f"--allow-{cap}", action="append", default=None,
                           metavar=f"{what},...", dest=f"allow_{cap}",
                           help=f"allow {cap} {'to' if cap == NET else 'of'} these, "
                                f"written --allow-{cap}={what},... (no value: everywhere"
                                f"{'' if cap == NET else '; relative to the current folder'})")
    group.add_argument("--allow-run", action="store_true",
                       help="allow nodes that run code (not a sandbox: that code can do "
                            "whatever you can)")
    group.add_argument("--trust", action="store_true",
                       help="allow everything and remember this file as trusted")


def add_commands(sub: Any) -> None:
    perms = sub.add_parser("permissions", help="show what a workflow needs (hosts, paths, code)")
    perms.add_argument("file", metavar="FILE")
    perms.add_argument("--json", action="store_true", help="print the manifest as JSON")
    perms.set_defaults(func=cmd_permissions)
    trust = sub.add_parser("trust", help="show what a workflow needs, then trust it")
    trust.add_argument("file", metavar="FILE")
    trust.set_defaults(func=cmd_trust)


# --- the manifest of a file ----------------------------------------------------------------
def file_manifest(path: Path, registry: Registry,
                  workflow: Workflow | None = None) -> Manifest:
    if workflow is None:
        workflow = load(path).workflow
    return manifest_of(workflow, registry, path.resolve().parent, source=path)


def print_manifest(name: str, manifest: Manifest, trusted: bool) -> None:
    state = "trusted" if trusted else "not trusted"
    if manifest.empty:
        print(f"{name}: {state}; needs nothing (no network, files or code)")
        return
    print(f"{name}: {state}; needs:")
    for line in describe(manifest):
        print(line)


def cmd_permissions(args: argparse.Namespace) -> int:
    from nodes import default_registry  # only here: `flowloom --help` stays light

    path = Path(args.file)
    try:
        data = path.read_bytes()
        manifest = file_manifest(path, default_registry())
    except (OSError, WorkflowFileError) as exc:
        _say(f"flowloom: {exc}")
        return 2
    trusted = TrustStore().is_trusted(path, data)
    if args.json:
        print(json.dumps(manifest.to_json(trusted), indent=2, ensure_ascii=False))
    else:
        print_manifest(args.file, manifest, trusted)
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    from nodes import default_registry

    path = Path(args.file)
    try:
        data = path.read_bytes()
        manifest = file_manifest(path, default_registry())
        print_manifest(args.file, manifest, True)
        TrustStore().record(path, TRUSTED, data)
    except (OSError, WorkflowFileError) as exc:
        _say(f"flowloom: {exc}")
        return 2
    _say(f"flowloom: {args.file} is trusted now; it runs with full powers until it changes")
    return 0


# --- flowloom run --------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """Whether a run may go on, and with which grants."""

    refused: bool
    grants: Grants | None  # None: full powers (a trusted file)


def _paths(values: list[str] | None) -> Grant:
    grant = parse_grant(values)
    if grant is None or grant == EVERYTHING:
        return grant
    return frozenset(resolve_path(p, os.getcwd()) for p in grant)


def grants_from(args: argparse.Namespace) -> Grants:
    net = parse_grant(args.allow_net)
    if isinstance(net, frozenset):
        net = frozenset(h.lower() for h in net)
    return Grants(net=net, read=_paths(args.allow_read), write=_paths(args.allow_write),
                  run=EVERYTHING if args.allow_run else None)


def decide(args: argparse.Namespace, path: Path, workflow: Workflow,
           registry: Registry) -> Decision:
    """What this run may do; prints why and refuses when the file needs more than granted."""
    store = TrustStore()
    if args.trust:
        try:
            store.record(path, TRUSTED)
            _say(f"flowloom: {args.file} is trusted now (--trust)")
        except OSError as exc:  # this run is still allowed everything; it is just not kept
            _say(f"flowloom: {args.file} runs with full powers, but could not be remembered "
                 f"as trusted: {exc}")
        return Decision(False, None)
    if store.is_trusted(path):
        return Decision(False, None)
    grants = grants_from(args)
    missing = grants.uncovered(manifest_of(workflow, registry, path.parent, source=path))
    if missing.empty:
        return Decision(False, grants)
    _say(f"flowloom: {args.file} is not trusted (it was not saved by the editor on this "
         f"machine or trusted with `flowloom trust`), so no node ran. It needs:")
    for line in describe(missing):
        _say(line)
    flags = " ".join(flags_for(missing))
    _say(f"Allow this run with: flowloom run {args.file} {flags}")
    _say(f"Or trust the file: flowloom trust {args.file} (or add --trust)")
    return Decision(True, None)
