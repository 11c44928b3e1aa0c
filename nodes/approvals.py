"""Approvers for the command line: what `flowloom run` plugs into `Services.approver`.

`approve_all` / `reject_all` decide at once (`--approve-all` / `--reject-all`);
`prompt_approver` asks on the terminal, one question at a time (other branches of the run keep
going while a question waits); `cli_approver` picks one from the flags and whether stdin is a
terminal. A known limit of the prompt: when a question is withdrawn (autopilot's timeout) while
the terminal read is pending, that read still consumes the next line typed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import IO

from engine.context import ApprovalRequest, Decision
from engine.events import summarise

Approver = Callable[[ApprovalRequest], Awaitable[Decision]]


async def approve_all(request: ApprovalRequest) -> Decision:
    return Decision(True, "approved by --approve-all", "cli")


async def reject_all(request: ApprovalRequest) -> Decision:
    return Decision(False, "rejected by --reject-all", "cli")


def prompt_approver(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> Approver:
    """Ask on the terminal: a/approve or r/reject, then an optional comment."""
    lock = asyncio.Lock()

    async def ask(request: ApprovalRequest) -> Decision:
        inp = stdin or sys.stdin
        out = stdout or sys.stderr

        async def read(prompt: str) -> str | None:
            out.write(prompt)
            out.flush()
            line = await asyncio.to_thread(inp.readline)
            return None if line == "" else line.strip()

        async with lock:
            out.write(f"\n== {request.title} (node {request.node_id}) ==\n")
            if request.message:
                out.write(request.message.rstrip() + "\n")
            else:
                out.write(f"value: {summarise(request.value)}\n")
            while True:
                answer = await read("approve or reject? [a/r] ")
                if answer is None:
                    return Decision(False, "no answer (end of input)", "cli")
                if answer.lower() in ("a", "approve", "y", "yes"):
                    approved = True
                    break
                if answer.lower() in ("r", "reject", "n", "no"):
                    approved = False
                    break
                out.write("please type a (approve) or r (reject)\n")
            comment = await read("comment (optional): ")
            return Decision(approved, comment or "", "cli")

    return ask


def cli_approver(approve: bool = False, reject: bool = False,
                 stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> Approver | None:
    """The approver for `flowloom run`: the flags win, else a prompt on a terminal, else None
    (and an approval node then fails, saying how to pass a decision)."""
    if approve and reject:
        raise ValueError("--approve-all and --reject-all cannot be used together")
    if approve:
        return approve_all
    if reject:
        return reject_all
    inp = stdin or sys.stdin
    if inp is not None and inp.isatty():
        return prompt_approver(inp, stdout)
    return None
