"""`flowloom run --break`: the file's breakpoints pause the run with a prompt on the terminal.

Without `--break` a headless run ignores breakpoints. With it, each stop prints (on stderr,
stdout stays the result) where it paused, why, and the value — the wire's value or the node's
inputs, secrets masked, as JSON — then reads one answer a line:

    c / continue      run on            s / step    run this node, pause at the next one
    a / abort         cancel the run    JSON text   the value to run with instead (may span
                                                    lines; an empty line gives up on it)

An edit is checked (JSON, and a node's inputs keep their ports), said back, and used by the
continue or step that follows. `--break-all` pauses every branch at a stop (default: the file's
`ui.break_mode`, else only the branch that hit). Stops are asked about one at a time.

The prompt needs a terminal: with stdin not one, `--break` refuses before anything runs (exit 2);
end of input (Ctrl+D, the terminal gone) while paused aborts the run and says so. stdin is read
through the event loop (`add_reader`), never by a blocked thread, so a run that ends while a
prompt is open leaves nothing behind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from engine.breakpoints import (
    ABORT,
    ALL,
    CONTINUE,
    STEP,
    PauseGate,
    Resume,
    Stop,
    break_mode,
    read_breakpoints,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.executor import Run

ANSWERS = {"c": CONTINUE, "continue": CONTINUE, "s": STEP, "step": STEP, "a": ABORT,
           "abort": ABORT}
HELP = ("answer c (continue), s (step: run this node, pause at the next), a (abort), or type "
        "a JSON value to run with instead")
MAX_SHOWN = 4000  # characters of a value printed at a stop (the whole value stays editable)


def add_run_flags(run: argparse.ArgumentParser) -> None:
    run.add_argument("--break", dest="brk", action="store_true",
                     help="pause at the file's breakpoints with a prompt on the terminal "
                          "(without it, breakpoints are ignored)")
    run.add_argument("--break-all", action="store_true",
                     help="with --break, pause every branch at a breakpoint (default: the "
                          "file's setting, else only the branch that hit)")


def wanted(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "brk", False))


def attach(args: argparse.Namespace, run: Run, stderr: TextIO | None = None,
           stdin_fd: int = 0) -> str | None:
    """Give `run` a terminal-prompting gate if `--break` asks for one; returns why it cannot
    (the run must not start), else None."""
    err = stderr or sys.stderr
    if not wanted(args):
        if getattr(args, "break_all", False):
            print("flowloom: --break-all does nothing without --break; breakpoints are ignored",
                  file=err)
        return None
    found, problems = read_breakpoints(run.compiled.workflow)
    for problem in problems:
        print(f"{args.file}: {problem}", file=err)
    if not found:
        print(f"flowloom: --break: {args.file} has no breakpoints; running straight through",
              file=err)
        return None
    if not os.isatty(stdin_fd):
        return ("--break pauses with a prompt on the terminal, but stdin is not a terminal; "
                "run it from a terminal, or without --break")
    from builder.cli import jsonable  # the CLI's own JSON rendering (loaded already)

    mode = ALL if args.break_all else break_mode(run.compiled.workflow)
    prompt = TerminalPrompt(err, stdin_fd)
    PauseGate(found, prompt.decide, mode, render=jsonable).attach(run)
    return None


class TerminalPrompt:
    """Asks about each stop on the terminal, one at a time."""

    def __init__(self, out: TextIO, fd: int = 0) -> None:
        self.out = out
        self.fd = fd
        self.ended = False  # end of input seen: every later stop aborts
        self._lock = asyncio.Lock()
        self._pending = b""

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def decide(self, stop: Stop) -> Resume:
        async with self._lock:
            try:
                return await self._ask(stop)
            except asyncio.CancelledError:
                self.say(f"flowloom: the run stopped; the prompt at {stop.node_id!r} is "
                         f"withdrawn")
                raise

    async def _ask(self, stop: Stop) -> Resume:
        if self.ended:
            return Resume(ABORT)
        what = f"the wire into {stop.port!r}" if stop.port else f"inputs of {stop.node_id!r}"
        shown = json.dumps(stop.value, indent=2, ensure_ascii=False)
        if len(shown) > MAX_SHOWN:
            shown = shown[:MAX_SHOWN] + f"\n… ({len(shown) - MAX_SHOWN} more characters)"
        self.say(f"\nflowloom: {stop.title}\n  value ({what}):\n"
                 + "\n".join("    " + line for line in shown.splitlines()) + f"\n  {HELP}")
        edited: tuple[Any] | None = None
        buffer = ""
        while True:
            self.out.write("break> " if not buffer else "  ...> ")
            self.out.flush()
            line = await self._line()
            if line is None:
                self.ended = True
                self.say("\nflowloom: end of input while paused at a breakpoint; aborting "
                         "the run")
                return Resume(ABORT)
            text = line.strip()
            if not buffer and text.lower() in ANSWERS:
                action = ANSWERS[text.lower()]
                if edited is None or action == ABORT:
                    return Resume(action)
                return Resume(action, edited[0], edited=True)
            if not text and not buffer:
                self.say(f"  {HELP}")
                continue
            if not text:
                self.say("  that is not complete JSON; the value is unchanged")
                buffer = ""
                continue
            buffer += line
            value, problem, more = _parse(buffer)
            if more:
                continue
            buffer = ""
            problem = problem or stop.problem(value)
            if problem is not None:
                self.say(f"  {problem}; the value is unchanged")
                continue
            edited = (value,)
            self.say("  edited; now c (continue) or s (step) runs with it, a aborts")

    async def _line(self) -> str | None:
        """The next line typed (None at end of input), read without blocking the loop."""
        while b"\n" not in self._pending:
            chunk = await self._read()
            if not chunk:
                if self._pending:  # a last line without its newline
                    break
                return None
            self._pending += chunk
        line, sep, rest = self._pending.partition(b"\n")
        self._pending = rest
        return line.decode("utf-8", "replace") + "\n"

    async def _read(self) -> bytes:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def on_ready() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self.fd, on_ready)
        try:
            await ready
        finally:
            loop.remove_reader(self.fd)
        try:
            return os.read(self.fd, 4096)
        except OSError:  # EIO: the terminal is gone — end of input
            return b""


def _parse(text: str) -> tuple[Any, str | None, bool]:
    """(value, problem, wants more lines) for JSON typed so far."""
    try:
        return json.loads(text), None, False
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            return None, None, True  # it stopped at the end: the value goes on
        return None, f"that is not JSON ({exc.msg} at column {exc.colno})", False

