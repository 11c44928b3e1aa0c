"""What a running node sees: `ctx` (progress, logs, HTTP, credentials, threads, approvals).

`Services` is what the host (CLI, editor, tests) plugs into a run: how to read a credential,
how to ask a person for a decision, where relative paths start, what the run may touch
(`grants`: None = everything; see engine/permissions.py). The engine itself never reaches
for a keyring, a terminal or a dialog.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import events as ev
from engine.errors import NodeFailure
from engine.ledger import REDACTED
from engine.masking import clip
from engine.permissions import ACTOR, READ, RUN, WRITE, Grants, node_needs, resolve_path

if TYPE_CHECKING:  # pragma: no cover - typing only
    import httpx

    from engine.cap import Cap
    from engine.run import Run

__all__ = ["LEVELS", "REDACTED", "ApprovalRequest", "Decision", "NodeContext", "Services"]

LEVELS = ("debug", "info", "warning", "error")
# Services.extra key of the run's effect recorder (engine/record/tap.py RunTap): ctx.now() and
# ctx.random() go through it, so a replay serves the values the recorded run saw.
EFFECTS_KEY = "flowloom.effects"


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What an approval gate asks a person: a title, the value to judge, a message."""

    run_id: str
    node_id: str
    title: str
    value: Any
    message: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """A person's answer to an ApprovalRequest."""

    approved: bool
    comment: str = ""
    by: str = ""


@dataclass
class Services:
    """Hooks a host gives a run. Every field is optional."""

    secrets: Callable[[str], str | None] | None = None
    approver: Callable[[ApprovalRequest], Awaitable[Decision]] | None = None
    http_client: Callable[[], httpx.AsyncClient] | None = None
    base_dir: Path | None = None  # folder of the workflow file; relative paths start here
    grants: Grants | None = None  # what the run may touch; None: everything (a trusted file)
    extra: dict[str, Any] = field(default_factory=dict)


class NodeContext:
    """Handed to `NodeType.run`. Safe to call from the node's worker thread too."""

    __slots__ = ("node_id", "iteration", "attempt", "_run")

    def __init__(self, run: Run, node_id: str, iteration: tuple[int, ...], attempt: int) -> None:
        self._run = run
        self.node_id = node_id
        self.iteration = iteration
        self.attempt = attempt

    # --- reporting ------------------------------------------------------------------------
    def progress(self, fraction: float | None = None, message: str = "") -> None:
        if fraction is not None:
            fraction = min(1.0, max(0.0, float(fraction)))
        ledger = self._run.ledger
        ledger.call_on_loop(ledger.progressed, self.node_id, self.iteration, fraction,
                            ledger.redact(str(message)))

    def log(self, level: str, message: str) -> None:
        if level not in LEVELS:
            level = "info"
        ledger = self._run.ledger
        ledger.call_on_loop(ledger.logged, self.node_id, self.iteration, level,
                            ledger.redact(str(message)))

    def info(self, message: str) -> None:
        self.log("info", message)

    def warning(self, message: str) -> None:
        self.log("warning", message)

    # --- resources ------------------------------------------------------------------------
    @property
    def http(self) -> httpx.AsyncClient:
        """The run's shared HTTP client (closed when the run ends). Each request it sends,
        redirects included, is checked against the run's grants first."""
        ACTOR.set((self.type_id, self.node_id))  # names this node in a refusal
        return self._run.resources.http_client()

    @property
    def type_id(self) -> str:
        node = self._run.compiled.workflow.nodes.get(self.node_id)
        return node.type if node is not None else "node"

    # --- permissions (checked at the moment of access) ------------------------------------
    def _who(self) -> str:
        return f"{self.type_id} {self.node_id!r}"

    def check_read(self, path: str | Path) -> Path:
        """`path` as the real path it names (`~`, relative, `..`, symlinks resolved); fails the
        node unless the run may read it."""
        return self._check_path(READ, path)

    def check_write(self, path: str | Path) -> Path:
        return self._check_path(WRITE, path)

    def _check_path(self, capability: str, path: str | Path) -> Path:
        real = resolve_path(str(path), self.base_dir)
        grants = self._run.services.grants
        if grants is not None:
            grants.check(capability, real, self._who())
        return Path(real)

    def check_start(self, impl: Any) -> None:
        """Fail the node before it starts if its type runs code and the run may not."""
        grants = self._run.services.grants
        if grants is None or grants.allows(RUN, None):
            return
        needs = node_needs(type(impl), impl.params, self._run.services.base_dir)
        if any(need.capability == RUN for need in needs):
            grants.check(RUN, type(impl).type_id, self._who())

    @property
    def cookies(self) -> httpx.Cookies:
        """This node's cookie jar for the run (the run's shared one when the workflow sets
        `"settings": {"share_cookies": true}`)."""
        return self._run.resources.cookie_jar(self.node_id)

    @property
    def run_id(self) -> str:
        return self._run.run_id

    @property
    def run_inputs(self) -> dict[str, Any]:
        return self._run.inputs

    @property
    def priority(self) -> int:
        """The node's "priority": a node waiting for a shared limit of its own (an LLM server
        host's) waits in this order too."""
        node = self._run.compiled.nodes.get(self.node_id)
        return node.priority if node is not None else 0

    @property
    def services(self) -> Services:
        return self._run.services

    @property
    def base_dir(self) -> Path:
        return self._run.services.base_dir or Path.cwd()

    @property
    def cap(self) -> Cap | None:
        """The run-wide concurrency cap (None: no cap). A run this node starts passes it on
        (`Run(..., cap=ctx.cap)`) and waits for that run inside `ctx.lent_slot()`."""
        return self._run.cap

    def lent_slot(self) -> AbstractAsyncContextManager[Any]:
        """While the block waits for work that takes slots of its own, this node's slot under
        the cap is free for that work (engine/cap.py); it is taken again afterwards."""
        cap = self._run.admission.cap
        return cap.lent() if cap is not None else contextlib.nullcontext()

    def secret(self, name: str) -> str:
        """The value of a named credential; fails the node (naming it) when it is not set."""
        return self._run.resources.secret(name)

    def add_secret(self, value: str) -> None:
        """Treat `value` as secret for the rest of the run: it is masked in logs, progress
        messages, errors and run history (for keys a node finds outside the credential store,
        such as an environment variable)."""
        self._run.ledger.add_secret(value)

    def redact(self, text: str) -> str:
        """`text` with the run's secrets masked (the run masks logs and errors anyway; a node
        calls this, or `clip`, before it cuts text that may hold one)."""
        return self._run.ledger.redact(text)

    def clip(self, text: str, limit: int, *, tail: bool = False) -> str:
        """At most `limit` characters of `text` (its end if `tail`), masked before the cut, so
        no piece of a secret survives the cut."""
        return clip(text, limit, self._run.ledger.redact, tail=tail)

    async def to_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run blocking code in a worker thread. If the node is cancelled, the result is dropped."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def ask(self, value: Any, message: str = "", title: str = "") -> Decision:
        """Ask a person to approve or reject `value`; waits only this branch of the run."""
        approver = self._run.services.approver
        if approver is None:
            raise NodeFailure("this run has no way to ask a person for approval "
                              "(run it in the editor, or pass --approve-all / --reject-all)")
        ledger = self._run.ledger
        # the person is shown the value and message with every secret of the run masked, on the
        # terminal and in the editor alike; the decision, not the value, is what comes back
        request = ApprovalRequest(self._run.run_id, self.node_id,
                                  ledger.redact(title or self.node_id), ledger.recorded(value),
                                  ledger.redact(message))
        if ledger.listening:
            ledger.emit(ev.ApprovalRequested(self.node_id, self.iteration, ledger.redact(message),
                                             ledger.recorded(value), time.monotonic()))
        decision = await approver(request)
        if ledger.listening:
            ledger.emit(ev.ApprovalDecided(self.node_id, self.iteration, decision.approved,
                                           ledger.redact(decision.comment), decision.by,
                                           time.monotonic()))
        return decision

    def now(self) -> float:
        """The wall-clock time (time.time()); recorded with the run, served from the record on
        replay. Nodes read the clock through this, not time.time()."""
        return self._effect("clock", time.time)

    def random(self) -> float:
        """A random float in [0, 1); recorded with the run, served from the record on replay."""
        return self._effect("random", random.random)

    def _effect(self, kind: str, draw: Callable[[], float]) -> float:
        tap = self._run.services.extra.get(EFFECTS_KEY)
        return draw() if tap is None else tap.value(kind, self.node_id, self.iteration, draw)

    def set_output(self, name: str, value: Any) -> None:
        """Record a workflow output (used by flow.output)."""
        self._run.outputs[name] = value
