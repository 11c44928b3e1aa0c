"""The `flowloom` command. Headless subcommands never import Qt, so they start fast.

    flowloom [FILE] [--screenshot OUT.png]   open the editor (with no display: say so and show
                                             the headless command; FILE never runs)
    flowloom run FILE [--input NAME=JSON ...] [--json] [--concurrency N] [--quiet] [--verbose]
                      [--cpu-limit S] [--memory-limit MB]
                      [--approve-all | --reject-all] [--history-db PATH] [--no-history]
                      [--allow-net[=HOST,...]] [--allow-read[=PATH,...]]
                      [--allow-write[=PATH,...]] [--allow-run] [--trust]
                      [--break [--break-all]]   (builder/cli_break.py)
    flowloom permissions FILE [--json]   |   flowloom trust FILE   (builder/cli_trust.py)
    flowloom validate FILE [--json]
    flowloom nodes [--json | --markdown]
    flowloom secrets set NAME [--value V] | list | delete NAME
    flowloom history [--workflow PATH] [--status S] [--limit N] [--json] [--history-db PATH]
    flowloom stats FILE [--json] [--history-db PATH]
    flowloom doctor [FILE] [--json] [--history-db PATH]   (builder/cli_doctor.py)
    flowloom replay RUN_ID [--json] [--live-from NODE]      (builder/cli_replay.py)
    flowloom diff RUN_A RUN_B [--json]                      (builder/cli_diff.py)

Every `flowloom run` is recorded in the run history (SQLite; FLOWLOOM_HISTORY_DB or
--history-db choose the file) unless --no-history is given.

Exit codes: 0 success, 1 the run failed, 2 the file is invalid / bad inputs / bad usage,
3 needs permissions (an untrusted file asks for more than its flags grant; nothing ran),
130 the run was cancelled (Ctrl+C), 143 it was cancelled by SIGTERM or SIGHUP. Progress and
problems go to stderr; results to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import hashlib
import importlib
import importlib.util
import json
import math
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from builder import cli_alerts, cli_break, cli_dask, cli_diff, cli_plan, cli_replay, cli_trust
from builder.cli_doctor import add_doctor_command
from builder.cli_history import add_commands, add_history_db_option, recorder_for_cli
from builder.cli_json import dumps_converted
from builder.cli_result import dumps_result
from builder.progress import TerminalProgress
from engine import (
    Compiled,
    CompileError,
    InputError,
    Problem,
    Run,
    RunResult,
    WorkflowFileError,
    compile_workflow,
    load,
)
from engine.budget import limits_problem
from engine.compile import compile_problems
from engine.context import Services
from engine.plaindata import printable_int, printable_text
from engine.registry import Registry
from nodes import default_registry
from nodes.approvals import cli_approver
from nodes.credentials import CredentialStore, secret_problems, secrets_main
from nodes.docs import markdown_reference
from nodes.flowctl import REGISTRY_KEY, WORKFLOW_PATH_KEY

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_CANCELLED = 0, 1, 2, 130
EXIT_TERMINATED = 143  # cancelled by SIGTERM or SIGHUP (128 + SIGTERM, as a shell reports it)
EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
HELLO = EXAMPLES / "hello.loom.json"
COMMANDS = ("run", "validate", "nodes", "history", "stats", "secrets", *cli_trust.COMMANDS,
            "templates", "plan", "alerts", "doctor", "replay", "diff", *cli_dask.COMMANDS)


# --- shared -------------------------------------------------------------------------------
def _say(text: str, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stderr)


def jsonable(value: Any) -> Any:
    """`value` as strict JSON data: unknown objects become their repr, NaN/inf strings, ints
    too long to print "<int of N digits>", lone surrogates \\udXXX, bytes
    `{"base64": ..., "bytes": N}`."""
    # the usual shapes first, by exact type (a run's result holds one entry per node)
    kind = type(value)
    if kind is str:
        return value if value.isascii() else printable_text(value)
    if kind is dict:
        return {k if type(k) is str and k.isascii() else _json_key(k): jsonable(v)
                for k, v in value.items()}
    if kind is list:
        return [jsonable(v) for v in value]
    if kind is int and value.bit_length() < 14_000:
        return value
    if kind is float and math.isfinite(value):
        return value
    return _jsonable_other(value)


def _json_key(key: Any) -> str:
    return printable_text(key if isinstance(key, str) else str(jsonable(key)))


def _jsonable_other(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return printable_int(value)
    if isinstance(value, str):
        return printable_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {_json_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):  # lossless: docs/semantics.md, "Bytes in JSON"
        return {"base64": base64.b64encode(value).decode("ascii"), "bytes": len(value)}
    return printable_text(repr(value))


def _dump(value: Any) -> str:
    """json.dumps(jsonable(value), indent=2, ensure_ascii=False), in one walk."""
    return dumps_converted(value, jsonable, _json_key)


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """`NAME=JSON` pairs -> dict. A value that is not JSON is taken as a plain string."""
    inputs: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--input {pair!r}: expected NAME=JSON, e.g. --input n=5")
        try:
            inputs[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            inputs[name.strip()] = raw  # a bare word is taken as a string
    return inputs


def _problem_lines(source: str, problems: list[Problem]) -> list[str]:
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    return [f"{source}: {p}" for p in errors + warnings]


def check_file(path: str, registry: Registry, store: CredentialStore | None = None,
               plan: bool = True, freeze: bool = False) -> tuple[Compiled | None, list[Problem]]:
    """Load, check and compile `path`: (the compiled plan or None, every problem found).

    With a credential store, a secret parameter holding a literal secret, or naming a
    credential that is not stored, is a problem too. Raises WorkflowFileError when the file
    cannot be read as a workflow at all. With `plan` False the plan is not built (the
    problems are the same; the first item is None). With `freeze` (the process is the
    command) what was loaded is frozen out of the cyclic collector's reach (`_no_gc`).
    """
    with _no_gc(freeze):
        loaded = load(path, registry)
        if store is not None and loaded.types is not None and any(
                param.secret for node_type in set(loaded.types.values())
                for param in node_type.parameters):  # (else no parameter can hold a secret)
            loaded.problems.extend(secret_problems(loaded.workflow, registry, store))
        if loaded.errors:
            return None, loaded.problems
        found = {"checked": loaded.problems, "ports": loaded.ports, "types": loaded.types,
                 "params": loaded.params}  # load() already checked: compile does not again
        try:
            if not plan:
                return None, compile_problems(loaded.workflow, registry, **found)
            compiled = compile_workflow(loaded.workflow, registry, **found)
        except CompileError as exc:
            return None, exc.problems
    return compiled, list(compiled.warnings)


@contextlib.contextmanager
def _no_gc(freeze: bool = False) -> Iterator[None]:
    """Loading and compiling allocate many objects and free almost none; CPython's cyclic
    collector would rescan the growing heap again and again (about a third of the load time
    of a 10 000-node file), so it is paused meanwhile. With `freeze` everything allocated so
    far is moved out of its reach before it resumes (`gc.freeze`): else the first collection
    after it walks every object the load made (~0.1 s at 10 000 nodes) to free none."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if paused:
            gc.enable()


# --- run ----------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    registry = default_registry()
    store = CredentialStore()
    try:
        # The loaded workflow and its plan live until the process exits: frozen, so the
        # collections the run triggers do not walk them again and again. (Only when this
        # process is the command: a caller's heap, e.g. a test session's, is left alone.)
        compiled, problems = check_file(args.file, registry, store,
                                        freeze=getattr(args, "own_process", False))
        approver = cli_approver(args.approve_all, args.reject_all)
    except (WorkflowFileError, ValueError) as exc:
        _say(f"flowloom: {exc}")
        return EXIT_INVALID
    for line in _problem_lines(args.file, problems):
        _say(line)
    if compiled is None:
        return EXIT_INVALID
    path = Path(args.file).resolve()
    decision = cli_trust.decide(args, path, compiled.workflow, registry)
    if decision.refused:
        return cli_trust.EXIT_NEEDS_PERMISSION
    services = Services(secrets=store.get, approver=approver, base_dir=path.parent,
                        grants=decision.grants,
                        extra={REGISTRY_KEY: registry, WORKFLOW_PATH_KEY: str(path)})
    recording = cli_replay.recording_for_run(args, compiled)  # record / --reuse-from
    if isinstance(recording, int):
        return recording
    if recording is not None:
        services = recording.services(services)
    try:  # --dask / FLOWLOOM_DASK: where cluster-placed nodes run (builder/cli_dask.py)
        run = Run(compiled, parse_inputs(args.input), concurrency=args.concurrency,
                  services=services, limits={"cpu_s": args.cpu_limit,
                                             "memory_mb": args.memory_limit},
                  reuse=recording.reuse if recording is not None else None,
                  seam=cli_dask.seam_for(args))
    except (InputError, cli_dask.DaskUnavailable) as exc:
        _say(f"{args.file}: {exc}")
        return EXIT_INVALID
    refused = cli_break.attach(args, run)  # --break: the file's breakpoints prompt here
    if refused:
        _say(f"flowloom: {refused}")
        return EXIT_INVALID
    progress = None
    if not args.quiet:
        live = sys.stderr.isatty() and os.environ.get("TERM") != "dumb" \
            and not cli_break.wanted(args)  # a live status line would garble the prompts
        progress = TerminalProgress(sys.stderr, compiled.workflow, live=live,
                                    color=live and "NO_COLOR" not in os.environ,
                                    per_node=args.verbose or not args.json)
        progress.attach(run)
    recorder = None if args.no_history else recorder_for_cli(
        args.file, args.history_db, workflow_text_or_hash=_file_hash(
            path, recording.workflow_bytes if recording is not None else None))
    if recorder is not None:
        recorder.attach(run)
    if recording is not None:
        recording.attach(run)
    received: list[int] = []  # the signals that cancelled the run, if any
    watcher = cli_alerts.watch(run)  # the workflow's "alerts": live, then against the history
    try:
        result = asyncio.run(cli_alerts.execute(watcher, _execute(run, progress, received)))
    except Exception as exc:  # noqa: BLE001 - the engine settles runs; this is the last guard
        _say(f"flowloom: the run stopped on an unexpected error: {type(exc).__name__}: "
             f"{printable_text(str(exc))[:500]}")
        return EXIT_FAILED
    finally:
        if recorder is not None:
            recorder.close()  # waits for the final write (closes a row left running, too)
    if recording is not None and recorder is not None:
        recording.finish(run)  # after the history row it belongs to is written
    alerts = cli_alerts.finish(watcher, args.file, args.history_db, recorder is not None)
    if args.json:  # _dump({"run_id": ..., **result.to_json(), "alerts": ...}), in one pass
        after = {} if alerts is None else {"alerts": alerts}  # the workflow has "alerts"
        print(dumps_result(result, {"run_id": result.run_id}, after, jsonable, _json_key))
    else:
        print(_dump(result.outputs))
        if result.error:
            _say(f"flowloom: {result.error}")
    if result.status == "cancelled" and received and received[0] != signal.SIGINT:
        return EXIT_TERMINATED
    return exit_code(result)


def _file_hash(path: Path, data: bytes | None = None) -> str:
    """sha256 of the workflow file as it is on disk (`data`: its bytes, when the run's record
    read them already), for the history's content hash: the file Flowloom saved is its
    canonical text, so nothing is re-rendered only to hash it."""
    try:
        return hashlib.sha256(path.read_bytes() if data is None else data).hexdigest()
    except OSError:
        return ""  # the recorder hashes the loaded model instead


def exit_code(result: RunResult) -> int:
    return {"succeeded": EXIT_OK, "failed": EXIT_FAILED}.get(result.status, EXIT_CANCELLED)


async def _execute(run: Run, progress: TerminalProgress | None,
                   received: list[int] | None = None) -> RunResult:
    loop = asyncio.get_running_loop()
    if progress is not None:
        progress.start_ticker(loop)
    try:
        with _cancel_on_sigint(run, loop, received):
            return await run.execute()
    finally:
        if progress is not None:
            progress.stop_ticker()


@contextlib.contextmanager
def _cancel_on_sigint(run: Run, loop: asyncio.AbstractEventLoop,
                      received: list[int] | None = None) -> Iterator[None]:
    """First Ctrl+C cancels the run cleanly; a second one exits at once. SIGTERM and SIGHUP
    (a service manager stopping us, the terminal closing) cancel the same way; each signal
    that arrived is appended to `received`, so the exit code can say which (130 or 143)."""
    presses = 0
    caught = [signal.SIGINT] + [getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                                if hasattr(signal, name)]

    def on_signal(signum: int = signal.SIGINT) -> None:
        nonlocal presses
        presses += 1
        if received is not None:
            received.append(signum)
        code = EXIT_CANCELLED if signum == signal.SIGINT else EXIT_TERMINATED
        if presses == 1:
            why = "" if signum == signal.SIGINT else f"{signal.Signals(signum).name} received: "
            again = "press Ctrl+C again" if signum == signal.SIGINT else "send it again"
            _say(f"flowloom: {why}cancelling the run ({again} to stop at once)")
            run.cancel()
        else:
            _say("flowloom: stopped")
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    installed: dict[int, Any] = {}
    for signum in caught:
        try:
            loop.add_signal_handler(signum, on_signal, signum)
            installed[signum] = "loop"
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not main thread
            try:
                installed[signum] = signal.signal(
                    signum, lambda n, _f: loop.call_soon_threadsafe(on_signal, n))
            except (ValueError, OSError):
                pass
    try:
        yield
    finally:
        for signum, previous in installed.items():
            if previous == "loop":
                loop.remove_signal_handler(signum)
            else:
                signal.signal(signum, previous)


# --- validate / nodes ---------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    try:
        _, problems = check_file(args.file, default_registry(), CredentialStore(), plan=False,
                                 freeze=getattr(args, "own_process", False))
    except WorkflowFileError as exc:
        problems = [Problem(str(exc))]
    errors = [p for p in problems if p.is_error]
    if args.json:
        print(_dump({"ok": not errors, "problems": [_problem_json(p) for p in problems]}))
    else:
        for line in _problem_lines(args.file, problems):
            print(line)
        warnings = len(problems) - len(errors)
        verdict = "ok" if not errors else f"{len(errors)} error{'s' * (len(errors) != 1)}"
        print(f"{args.file}: {verdict}, {warnings} warning{'s' * (warnings != 1)}")
    return EXIT_INVALID if errors else EXIT_OK


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {"severity": problem.severity, "node": problem.node_id,
            "edge": list(problem.edge) if problem.edge else None,
            "message": problem.message, "text": str(problem)}


def cmd_nodes(args: argparse.Namespace) -> int:
    registry = default_registry()
    if args.json:
        print(_dump([node_type.spec().to_dict() for node_type in registry]))
        return EXIT_OK
    if args.markdown:
        print(markdown_reference(registry), end="")
        return EXIT_OK
    rows = [(t.type_id, t.title or t.type_id, t.category, t.description) for t in registry]
    widths = [max(len(r[i]) for r in rows + [("TYPE", "TITLE", "CATEGORY", "")])
              for i in range(3)]
    print(f"{'TYPE':<{widths[0]}}  {'TITLE':<{widths[1]}}  {'CATEGORY':<{widths[2]}}  "
          "DESCRIPTION")
    for type_id, title, category, description in rows:
        print(f"{type_id:<{widths[0]}}  {title:<{widths[1]}}  {category:<{widths[2]}}  "
              f"{description}")
    for name, reason in registry.load_problems:
        _say(f"flowloom: plugin {name!r} was not loaded: {reason}")
    return EXIT_OK


# --- the editor ---------------------------------------------------------------------------
def has_display(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def open_editor(path: str | None, screenshot: str | None) -> int:
    """Open the Qt editor (imported only here, so headless commands never load Qt)."""
    if not has_display():  # never run FILE instead: opening a file must not execute it
        _say("flowloom: the editor needs a display (DISPLAY, WAYLAND_DISPLAY and "
             "QT_QPA_PLATFORM are unset), so it did not open and nothing ran. Run the "
             f"workflow headless with `flowloom run {path or 'resources/examples/hello.loom.json'}`"
             ", or set QT_QPA_PLATFORM=offscreen to render the editor off screen (e.g. for "
             "--screenshot).")
        return EXIT_INVALID
    if importlib.util.find_spec("builder.app") is None:
        _say("flowloom: the editor is not part of this build yet; run a workflow headless "
             "with `flowloom run FILE` (e.g. resources/examples/hello.loom.json).")
        return EXIT_INVALID
    app = importlib.import_module("builder.app")
    return int(app.main(path, screenshot) or 0)


# --- entry point --------------------------------------------------------------------------
def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _limit(key: str) -> Any:
    """An argparse type for one of the run's evaluation limits (engine/budget.py)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        problem = limits_problem({key: value})
        if problem is not None:
            raise argparse.ArgumentTypeError(problem.split(" ", 1)[1])
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowloom", description="Flowloom: draw a workflow, run it, watch it live.",
        epilog="With no command, opens the editor (on FILE if given).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run a workflow headless")
    run.add_argument("file", metavar="FILE")
    run.add_argument("--input", action="append", default=[], metavar="NAME=JSON",
                     help="set a workflow input (repeatable); a non-JSON value is a string")
    run.add_argument("--json", action="store_true",
                     help="print one JSON object with status, outputs and every node")
    run.add_argument("--concurrency", type=_positive, default=None, metavar="N",
                     help="run at most N nodes at once")
    run.add_argument("--cpu-limit", type=_limit("cpu_s"), default=None, metavar="S",
                     help="CPU seconds each expression or template may use (default 2; a "
                          "node's own \"limits\" win)")
    run.add_argument("--memory-limit", type=_limit("memory_mb"), default=None, metavar="MB",
                     help="memory each expression or template may use (default 256)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="a progress line per node event on stderr, also with --json "
                          "(which otherwise keeps stderr to a short summary)")
    decide = run.add_mutually_exclusive_group()
    decide.add_argument("--approve-all", action="store_true",
                        help="approve every human.approval gate without asking")
    decide.add_argument("--reject-all", action="store_true",
                        help="reject every human.approval gate without asking")
    add_history_db_option(run)
    run.add_argument("--no-history", action="store_true",
                     help="do not record this run in the run history")
    cli_trust.add_run_flags(run)
    cli_break.add_run_flags(run)
    cli_dask.add_run_options(run)
    cli_replay.add_run_flags(run)
    run.set_defaults(func=cmd_run)
    validate = sub.add_parser("validate", help="check a workflow and list every problem")
    validate.add_argument("file", metavar="FILE")
    validate.add_argument("--json", action="store_true", help="print the problems as JSON")
    validate.set_defaults(func=cmd_validate)
    nodes = sub.add_parser("nodes", help="list the node types")
    nodes.add_argument("--json", action="store_true", help="print every node type's spec")
    nodes.add_argument("--markdown", action="store_true",
                       help="print the node reference (docs/nodes.md) as Markdown")
    secrets = sub.add_parser("secrets", help="manage named credentials (set / list / delete)",
                             add_help=False)
    secrets.add_argument("rest", nargs=argparse.REMAINDER)
    secrets.set_defaults(func=lambda a: secrets_main(a.rest))
    nodes.set_defaults(func=cmd_nodes)
    add_commands(sub)
    cli_trust.add_commands(sub)
    cli_plan.add_commands(sub)
    cli_alerts.add_commands(sub)
    add_doctor_command(sub)
    cli_dask.add_commands(sub)
    cli_replay.add_commands(sub)
    cli_diff.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from_command_line = argv is None
    argv = cli_trust.normalize_allow_flags(sys.argv[1:] if argv is None else list(argv))
    parser = build_parser()
    try:
        if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help")):
            args = parser.parse_args(argv)
        else:  # no command: the editor, on FILE if given
            editor = argparse.ArgumentParser(prog="flowloom", add_help=False)
            editor.add_argument("file", nargs="?", default=None)
            editor.add_argument("--screenshot", metavar="OUT.png", default=None)
            known = editor.parse_args(argv)
            return open_editor(known.file, known.screenshot)
    except SystemExit as exc:  # argparse exits 2 on bad usage; keep it a return value
        return int(exc.code or 0)
    args.own_process = from_command_line  # the process is this command (see cmd_run)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:  # Ctrl+C while loading, before a run could be cancelled
        _say("flowloom: interrupted")
        return EXIT_CANCELLED
