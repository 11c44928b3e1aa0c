"""The run ledger: what happened in a run, recorded once, below the scheduler.

The ledger owns a run's
* **subscribers and events**: `subscribe`, `emit` (buffered) and `flush` (a batch the turn
  after an event, or, while events come faster, one every FLUSH_S; on the loop thread, in
  order; a subscriber's bug is logged, never the run's);
* the **NodeRun table** (`state`, engine/runstate.py), keyed by node id;
* **redaction**: every secret read during the run (`add_secret`) is masked in whatever may be
  recorded — events, run state, errors, history (`redact`, `recorded`);
* the **node lifecycle**: `started` → (`admitted`) → `succeeded` | `failed` | `cancelled`, or
  `skipped`, with the running time, queue time and attempt spans each transition implies;
* the **before-start hooks**: coroutines awaited before a node starts, which may replace the
  node's inputs (a debugger's breakpoint);
* the one **error formatter** (`error_text`) for whatever a node raised.

Scheduled nodes (engine/scheduler.py) and agent tool calls (engine/tools.py) both run through
engine/attempts.py, which records every transition here: there is no second copy of this
bookkeeping. The ledger knows no scheduling, no slots and no node code.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from engine import events as ev
from engine.errors import FlowloomError
from engine.masking import mask
from engine.runstate import CANCELLED, PENDING, RUNNING, SKIPPED, NodeRun

__all__ = ["FLUSH_S", "REDACTED", "BeforeStart", "Ledger", "bookkeeping_text", "error_text",
           "monotonic"]

REDACTED = "••••••"
# Events come in batches: one the turn after an event, unless the last batch went out less
# than this long ago; then one this long after it. The live view draws at most every 16 ms.
FLUSH_S = 0.002
monotonic = time.monotonic
log = logging.getLogger(__name__)

# A hook awaited before a node starts: (node id, its inputs) -> inputs to use instead, or None.
BeforeStart = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any] | None]]


def error_text(exc: BaseException, timeout_s: float | None = None) -> str:
    """One sentence for what a node raised: a Flowloom error as it is, anything else with its
    type; a `TimeoutError` with `timeout_s` given is the node's own timeout."""
    if isinstance(exc, TimeoutError) and timeout_s is not None:
        return f"timed out after {timeout_s:g} s"
    if isinstance(exc, FlowloomError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def bookkeeping_text(exc: BaseException) -> str:
    """For an exception that escaped the engine's code around a node (copying a value)."""
    if isinstance(exc, RecursionError):
        return (f"a value is nested too deeply to handle (it exceeded Python's recursion "
                f"limit, {sys.getrecursionlimit()})")
    return error_text(exc)


class Ledger:
    """Events, per-node state, secrets and lifecycle transitions of one run."""

    __slots__ = ("state", "listening", "_loop", "_loop_thread", "_subscribers", "_buffer",
                 "_flush_scheduled", "_flushed_t", "_secrets", "_hooks", "_calls")

    def __init__(self, node_ids: Iterable[str]) -> None:
        self.state: dict[str, NodeRun] = {nid: NodeRun(nid) for nid in node_ids}
        self.listening = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        # a tuple, replaced on (un)subscribe: a flush walks it without copying it
        self._subscribers: tuple[tuple[Callable[[Any], Any], bool], ...] = ()
        self._buffer: list[Any] = []
        self._flush_scheduled = False
        self._flushed_t = 0.0  # when the last batch was delivered
        self._secrets: set[str] = set()
        self._hooks: list[BeforeStart] = []
        self._calls: dict[str, int] = {}  # tool node id -> calls so far (their event paths)

    # --- the loop -------------------------------------------------------------------------
    def bind(self, loop: asyncio.AbstractEventLoop, thread: int) -> None:
        """Events are delivered on `loop` (whose thread is `thread`) from now on."""
        self._loop, self._loop_thread = loop, thread

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "the run has not started"
        return self._loop

    @property
    def loop_thread(self) -> int:
        """The thread id of the run's event loop (0 before the run starts)."""
        return self._loop_thread

    def call_on_loop(self, fn: Callable[..., None], *args: Any) -> None:
        """Call `fn(*args)` on the loop thread: now if this is it, else soon."""
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    # --- subscribers ----------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Any], Any], *, batched: bool = False
                  ) -> Callable[[], None]:
        """Call `callback(event)` for every event, or `callback([events])` once per batch."""
        entry = (callback, batched)
        self._subscribers = (*self._subscribers, entry)
        self.listening = True

        def unsubscribe() -> None:
            subscribers = list(self._subscribers)
            if entry in subscribers:
                subscribers.remove(entry)
                self._subscribers = tuple(subscribers)
            self.listening = bool(self._subscribers)

        return unsubscribe

    def emit(self, event: Any) -> None:
        self._buffer.append(event)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # the next turn; or, within FLUSH_S of the last batch, FLUSH_S after it: events
            # that come that fast (a chain of quick nodes, one a turn) share one batch
            wait = self._flushed_t + FLUSH_S - monotonic()
            if wait > 0:
                self.loop.call_later(wait, self.flush)
            else:
                self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self._buffer:
            return
        self._flushed_t = monotonic()
        batch, self._buffer = self._buffer, []
        for callback, batched in self._subscribers:
            try:
                if batched:
                    callback(batch)
                else:
                    for event in batch:
                        callback(event)
            except Exception:  # a subscriber's bug must never stop the run
                log.exception("run event subscriber %r failed", callback)

    # --- redaction ------------------------------------------------------------------------
    def add_secret(self, value: str, *, short_ok: bool = False) -> None:
        """Mask `value` in everything recorded from now on. A value under 4 characters is
        masked only when it was read as a credential (`short_ok`): masking a one-letter
        "secret" a node merely declared would garble every text."""
        if value and (short_ok or len(value) >= 4):
            self._secrets.add(value)

    def redact(self, text: str) -> str:
        """`text` with every secret read during the run, and any piece of one left at an edge
        by an earlier cut, masked (engine/masking.py)."""
        return mask(text, self._secrets, REDACTED) if self._secrets else text

    def recorded(self, value: Any) -> Any:
        """`value` as it may be recorded (events, run state, results, history): every secret
        read during the run masked, in strings nested anywhere. Values flowing between nodes
        are not touched — a node may pass a key on to the node that needs it."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self.recorded(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.recorded(v) for v in value)
        if isinstance(value, (bytes, bytearray)):  # an exact HTTP body, say: whole, never cut
            data = bytes(value)
            for secret in self._secrets:
                data = data.replace(secret.encode("utf-8", "replace"), REDACTED.encode())
            return data
        return value

    # --- before-start hooks ---------------------------------------------------------------
    def add_before_start(self, hook: BeforeStart) -> Callable[[], None]:
        """Await `hook(node_id, inputs)` before every node starts (its first attempt; a tool
        before each call); a dict it returns replaces the inputs. Returns the way to remove
        it. While any hook is set, no node runs inline in the scheduler's turn."""
        self._hooks.append(hook)

        def remove() -> None:
            if hook in self._hooks:
                self._hooks.remove(hook)

        return remove

    @property
    def has_hooks(self) -> bool:
        return bool(self._hooks)

    async def before_start(self, node_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        for hook in list(self._hooks):
            replaced = await hook(node_id, inputs)
            if replaced is not None:
                inputs = replaced
        return inputs

    def next_call(self, node_id: str) -> int:
        """The number of this call of tool `node_id` in the run (0, 1, ...)."""
        index = self._calls.get(node_id, 0)
        self._calls[node_id] = index + 1
        return index

    # --- lifecycle ------------------------------------------------------------------------
    def started(self, node_id: str, path: tuple[int, ...], attempt: int) -> float:
        """`node_id` begins an attempt (`attempt` 0: its outputs are replayed); its start."""
        nr = self.state[node_id]
        t = monotonic()
        nr.status = RUNNING
        if attempt:
            nr.attempts += 1
        if nr.started_t is None:
            nr.started_t = t
        if self.listening:
            self.emit(ev.new_node_started(node_id, path, attempt, t))
        return t

    def admitted(self, node_id: str, t0: float, waited: float) -> None:
        """The attempt begun at `t0` waited `waited` s for a slot: its first start moves on."""
        nr = self.state[node_id]
        if nr.started_t == t0:
            nr.started_t = t0 + waited

    def inputs_seen(self, node_id: str, inputs: dict[str, Any]) -> None:
        self.state[node_id].inputs = self.recorded(inputs)

    def succeeded(self, node_id: str, path: tuple[int, ...], outputs: dict[str, Any],
                  t0: float, *, queued: float = 0.0, earlier: tuple[float, ...] = (),
                  cached: bool = False) -> Any:
        """The execution whose last attempt began running at `t0` gave `outputs`; the
        recorded (masked) outputs. `earlier`: running times of the attempts before it."""
        recorded = self.recorded(outputs)  # before any state changes: it may fail (too deep)
        t = monotonic()
        if earlier:
            spans = (*earlier, t - t0)
            duration = sum(spans)
        else:  # one attempt, the usual case
            duration = t - t0
            spans = (duration,)
        nr = self.state[node_id]
        nr.successes += 1
        nr.settle()
        nr.runs += 1
        nr.ended_t = t
        nr.duration_s += duration
        nr.queued_s += queued
        nr.attempt_durations_s = spans
        nr.outputs = recorded
        if cached:
            nr.cached = True
        if self.listening:
            self.emit(ev.new_node_finished(node_id, path, duration, recorded, t, cached, queued,
                                      spans))
        return recorded

    def failed(self, node_id: str, path: tuple[int, ...], message: str, t0: float,
               attempts: int, *, queued: float = 0.0, earlier: tuple[float, ...] = ()) -> str:
        """The execution failed with `message`; the message as recorded (masked)."""
        message = self.redact(message)
        t = monotonic()
        spans = (*earlier, t - t0)
        duration = sum(spans)
        nr = self.state[node_id]
        nr.failures += 1
        nr.settle()
        nr.error = message
        nr.runs += 1
        nr.ended_t = t
        nr.duration_s += duration
        nr.queued_s += queued
        nr.attempt_durations_s = spans
        if self.listening:
            self.emit(ev.new_node_failed(node_id, path, duration, message, attempts, t, queued,
                                    spans))
        return message

    def retrying(self, node_id: str, path: tuple[int, ...], attempt: int, delay: float,
                 message: str, span: float) -> None:
        if self.listening:
            self.emit(ev.NodeRetrying(node_id, path, attempt, delay, self.redact(message),
                                      monotonic(), span))

    def cancelled(self, node_id: str, path: tuple[int, ...], *,
                  running_since: float | None = None,
                  waiting_since: float | None = None) -> None:
        """The node was cancelled while running (since `running_since`) or waiting for a
        slot (since `waiting_since`), or neither (backing off between attempts)."""
        nr = self.state[node_id]
        nr.status = CANCELLED
        nr.ended_t = monotonic()
        if running_since is not None:
            nr.duration_s += nr.ended_t - running_since
        elif waiting_since is not None:
            nr.queued_s += nr.ended_t - waiting_since
        if self.listening:
            self.emit(ev.NodeCancelled(node_id, path, nr.ended_t))

    def skipped(self, node_id: str, path: tuple[int, ...], reason: str) -> None:
        nr = self.state[node_id]
        nr.skips += 1
        if nr.status != RUNNING:
            nr.settle()
        nr.reason = reason
        if self.listening:
            self.emit(ev.new_node_skipped(node_id, path, reason, monotonic()))

    def progressed(self, node_id: str, path: tuple[int, ...], fraction: float | None,
                   message: str) -> None:
        if self.listening:
            self.emit(ev.NodeProgressed(node_id, path, fraction, message, monotonic()))

    def logged(self, node_id: str, path: tuple[int, ...], level: str, message: str) -> None:
        if self.listening:
            self.emit(ev.NodeLogged(node_id, path, level, message, monotonic()))

    def settle_leftovers(self, cancelled: bool, reason: Callable[[str], str]) -> None:
        """Give every node that never reached an end state one — cancelled, or skipped for
        `reason(node_id)` — and say so in an event."""
        t = monotonic()
        for nid, nr in self.state.items():
            if nr.status in (PENDING, RUNNING):
                if cancelled:
                    nr.status = CANCELLED
                    if self.listening:
                        self.emit(ev.NodeCancelled(nid, (), t))
                else:
                    nr.status = SKIPPED
                    nr.reason = reason(nid)
                    if self.listening:
                        self.emit(ev.new_node_skipped(nid, (), nr.reason, t))
