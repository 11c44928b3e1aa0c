"""`flowloom replay RUN_ID`, and what `flowloom run` records and reuses (engine/record/).

    flowloom replay RUN_ID [--json] [--live-from NODE] [--history-db PATH] [-q]
    flowloom run FILE ... [--no-record] [--reuse-from RUN_ID] [--resend NODE ...]
                          [--record-max-run-mb MB] [--record-max-total-mb MB]

A replay re-executes the workflow recorded with the run, its inputs and settings, with every
HTTP response (LLM answers included), clock read, random draw and approval served from the
record, and a placeholder for every credential; it is itself recorded as a new run. The
sub-workflow files the run called are the recorded versions too. Files are not recorded: a
file.read / file.list node reads the disk as it is now, file.write writes again, memory.* use
the memory store as it is now and code.python runs again; the replay names each such node on
stderr (engine/record/replay.py `done_for_real`). Its
`--json` is `run --json`'s shape plus "replay_of". Exit 2 when the run cannot be replayed (the
message names the node and why). Without --live-from nothing of the replay reaches the network,
so it needs no permission flags; with it, the live part is checked like a run of the file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from builder import cli_trust
from builder.cli_history import add_history_db_option, recorder_for_cli
from engine.context import Services
from engine.history.lite import HistoryError, LiteStore

EXIT_INVALID = 2


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def open_store(history_db: str | None) -> Any:
    """The history store (stdlib sqlite3 when the file is current; else created/migrated)."""
    store = LiteStore.open(history_db)
    if store is not None:
        return store
    from engine.history import HistoryStore

    return HistoryStore.open(history_db)


# --- parsers ------------------------------------------------------------------------------
def _megabytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of MB, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value:g}")
    return value


def add_record_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("record and re-use (engine/record)")
    group.add_argument("--no-record", action="store_true",
                       help="keep no record of this run (it stays in the history, but cannot "
                            "be replayed or reused)")
    group.add_argument("--record-max-run-mb", type=_megabytes, default=None, metavar="MB",
                       help="the most one run's record may hold (default 50, or "
                            "$FLOWLOOM_RECORD_MAX_RUN_MB)")
    group.add_argument("--record-max-total-mb", type=_megabytes, default=None, metavar="MB",
                       help="the most all records may hold; the oldest are pruned first "
                            "(default 2048, or $FLOWLOOM_RECORD_MAX_TOTAL_MB)")


def add_run_flags(run: argparse.ArgumentParser) -> None:
    add_record_flags(run)
    run.add_argument("--reuse-from", metavar="RUN_ID", default=None,
                     help="reuse what run RUN_ID recorded for every node whose type, params, "
                          "settings and inputs are unchanged (effects are not sent again)")
    run.add_argument("--resend", action="append", default=[], metavar="NODE",
                     help="with --reuse-from: run NODE again on purpose (repeatable)")


def add_commands(subparsers: Any) -> None:
    replay = subparsers.add_parser("replay", help="replay a recorded run from its record")
    replay.add_argument("run_id", metavar="RUN_ID")
    replay.add_argument("--json", action="store_true",
                        help="print the result as `run --json` does, plus \"replay_of\"")
    replay.add_argument("--live-from", metavar="NODE", default=None,
                        help="serve effects from the record up to NODE; run NODE and what "
                             "follows it for real")
    replay.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    add_history_db_option(replay)
    add_record_flags(replay)
    cli_trust.add_run_flags(replay)
    replay.set_defaults(func=cmd_replay)


def _policy(args: argparse.Namespace) -> Any:
    from engine.record.store import Policy

    return Policy.from_settings(args.record_max_run_mb, args.record_max_total_mb)


# --- recording a run ----------------------------------------------------------------------
def _text_of(data: bytes) -> str:
    """`Path.read_text(encoding="utf-8")` of a file holding `data`: its universal newlines
    ("\\r\\n" and a lone "\\r" read as "\\n")."""
    text = data.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


class RunRecording:
    """Records one run (and serves what it reuses): `services(s)` before the Run is made,
    `attach(run)` before it executes, `finish(run)` after the history recorder closed."""

    def __init__(self, args: argparse.Namespace, *, source: Any = None,
                 replay_of: str | None = None, reuse: dict[str, Any] | None = None,
                 keep: bool = True) -> None:
        from engine.record.tap import RunTap

        self.args = args
        self.policy = _policy(args)
        self.tap = RunTap(max_run_bytes=self.policy.max_run_bytes, source=source)
        self.replay_of = replay_of
        self.reuse = reuse
        self.keep = keep  # False: serve what is reused, but write no record (--no-record)
        # the file as it was when the run started: its record keeps that text, with no
        # re-render of the model (which costs more than the rest of the record)
        self.workflow_text: str | None = None
        # its bytes too, which `flowloom run` hashes for the history (the file read once)
        self.workflow_bytes: bytes | None = None
        file = getattr(args, "file", None)
        if file and replay_of is None:
            try:
                self.workflow_bytes = Path(file).read_bytes()
                self.workflow_text = _text_of(self.workflow_bytes)
            except (OSError, UnicodeDecodeError):
                self.workflow_text = None

    def services(self, services: Services) -> Services:
        return self.tap.services(services)

    def attach(self, run: Any) -> None:
        self.tap.attach(run)

    def finish(self, run: Any) -> None:
        from engine.record.store import write_record

        self.tap.detach()
        if not self.keep:
            return
        settings = {"concurrency": getattr(self.args, "concurrency", None),
                    "limits": {"cpu_s": getattr(self.args, "cpu_limit", None),
                               "memory_mb": getattr(self.args, "memory_limit", None)}}
        try:
            store = open_store(self.args.history_db)
        except HistoryError as exc:
            _say(f"flowloom: this run's record was not kept: {exc}")
            return
        try:
            written = write_record(store, run, self.tap, policy=self.policy,
                                   settings=settings, replay_of=self.replay_of,
                                   workflow_text=self.workflow_text)
        except Exception as exc:  # noqa: BLE001 - a record must never fail the run
            _say(f"flowloom: this run's record was not kept: {type(exc).__name__}: {exc}")
            return
        finally:
            store.close()
        if getattr(self.args, "quiet", False):
            return
        if written.note:
            _say(f"flowloom: {written.note}; this run cannot be replayed")
        if written.pruned:
            _say(f"flowloom: the size policy pruned the records of {len(written.pruned)} "
                 f"older run(s)")


def recording_for_run(args: argparse.Namespace, compiled: Any) -> RunRecording | int | None:
    """The recording of a `flowloom run` (None: nothing is recorded), or an exit code when
    --reuse-from / --resend cannot be followed (after saying why)."""
    if args.resend and not args.reuse_from:
        _say("flowloom: --resend goes with --reuse-from RUN_ID")
        return EXIT_INVALID
    if args.reuse_from is None:
        return None if args.no_history or args.no_record else RunRecording(args)
    if args.no_history:
        _say("flowloom: --reuse-from reads the run history; it cannot go with --no-history")
        return EXIT_INVALID
    unknown = [n for n in args.resend if n not in compiled.workflow.nodes]
    if unknown:
        _say(f"flowloom: --resend {unknown[0]!r}: the workflow has no such node")
        return EXIT_INVALID
    from builder.cli import parse_inputs
    from engine.errors import InputError
    from engine.executor import resolve_inputs
    from engine.record.reuse import plan_reuse
    from engine.record.store import PRUNED, load_record

    try:
        store = open_store(args.history_db)
    except HistoryError as exc:
        _say(f"flowloom: --reuse-from: {exc}")
        return EXIT_INVALID
    try:
        record = load_record(store, args.reuse_from)
    finally:
        store.close()
    if record is None or record.state == PRUNED:
        why = "it has no record" if record is None else record.note
        _say(f"flowloom: --reuse-from {args.reuse_from}: nothing to reuse: {why}")
        return EXIT_INVALID
    try:
        inputs = resolve_inputs(compiled, parse_inputs(args.input))
    except (InputError, ValueError):
        inputs = {}  # the run itself says what is wrong with them
    plan = plan_reuse(compiled, record, inputs, set(args.resend))
    if not args.quiet:
        _say(f"flowloom: reusing run {args.reuse_from}: {plan.summary()}")
        for node_id in plan.nodes_with("resend"):
            _say(f"flowloom:   {node_id} has effects and runs again: {plan.why[node_id]}")
    # with --no-record, unchanged requests are still served from the old record
    return RunRecording(args, source=plan.source, reuse=plan.reuse, keep=not args.no_record)


# --- replay -------------------------------------------------------------------------------
def cmd_replay(args: argparse.Namespace) -> int:
    # builder.cli registers this command; its run helpers are imported when it runs
    from builder.cli import _execute, jsonable
    from builder.progress import TerminalProgress
    from engine.executor import Run
    from engine.record.replay import SERVED, Unreplayable, done_for_real, prepare_replay
    from engine.record.serve import masked_secret
    from nodes import default_registry
    from nodes.flowctl import REGISTRY_KEY, WORKFLOW_PATH_KEY

    registry = default_registry()
    try:
        store = open_store(args.history_db)
    except HistoryError as exc:
        _say(f"flowloom: {exc}")
        return EXIT_INVALID
    try:
        replay = prepare_replay(store, args.run_id, registry, args.live_from)
    except Unreplayable as exc:
        _say(f"flowloom: {exc}")
        return EXIT_INVALID
    finally:
        store.close()
    path = Path(replay.workflow_path) if replay.workflow_path else None
    grants = None
    if args.live_from is not None and path is not None:
        args.file = str(path)
        decision = cli_trust.decide(args, path, replay.compiled.workflow, registry)
        if decision.refused:
            return cli_trust.EXIT_NEEDS_PERMISSION
        grants = decision.grants
    extra: dict[str, Any] = {REGISTRY_KEY: registry}
    if path is not None:
        extra[WORKFLOW_PATH_KEY] = str(path)
    services = Services(secrets=masked_secret, approver=replay.source.approve,
                        base_dir=path.parent if path else None, grants=grants, extra=extra)
    if not args.quiet:
        _say(f"flowloom: replaying run {replay.run_id}: {SERVED}")
        real = done_for_real(replay.compiled, services.base_dir, replay.source.live)
        if real:
            _say("flowloom: not recorded, done for real now: " + "; ".join(real))
    recording = RunRecording(args, source=replay.source, replay_of=replay.run_id)
    limits = {k: v for k, v in (replay.settings.get("limits") or {}).items() if v is not None}
    run = Run(replay.compiled, replay.inputs, concurrency=replay.settings.get("concurrency"),
              services=recording.services(services), limits=limits or None)
    recording.attach(run)
    progress = None
    if not args.quiet:
        progress = TerminalProgress(sys.stderr, replay.compiled.workflow, live=False,
                                    color=False, per_node=not args.json)
        progress.attach(run)
    recorder = recorder_for_cli(path or "", args.history_db,
                                workflow_text_or_hash=replay.record.workflow_text or "")
    if recorder is not None:
        recorder.workflow_path = str(path) if path else ""
        recorder.attach(run)
    try:
        result = asyncio.run(_execute(run, progress, []))
    finally:
        if recorder is not None:
            recorder.close()
    recording.finish(run)
    if replay.source.missing:
        node_id, why = replay.source.missing[0]
        _say(f"flowloom: run {replay.run_id} cannot be replayed: node {node_id!r}: {why}")
        return EXIT_INVALID
    if args.json:
        data = {"run_id": result.run_id, **result.to_json(), "replay_of": replay.run_id}
        print(json.dumps(jsonable(data), indent=2, ensure_ascii=False))
    else:
        print(json.dumps(jsonable(result.outputs), indent=2, ensure_ascii=False))
        if result.error:
            _say(f"flowloom: {result.error}")
    return {"succeeded": 0, "failed": 1}.get(result.status, 130)
