"""CPU and memory budgets for what a person typed, and the worker processes that hold them.

Every user expression, condition, formula and template runs like this (docs/perf.md,
"Bounded evaluation", says why and what it costs):
1. **Inline**, in the calling thread — the event loop for cheap nodes — with a slice of
   EVAL_SLICE_S checked at every step (engine/bounded.py). Nearly every evaluation ends here,
   in microseconds.
2. One that does not finish in its slice raises `Offload`; the node's `run()` is called again
   (evaluations are pure and come before a node's side effects) in a thread whose evaluations
   each go to a **worker process** (engine/budgetworker.py) that enforces the node's `Limits`:
   CPU seconds and memory. The loop stays free, and a GIL-holding C operation runs in another
   process.
3. Stop, `timeout_s` and Ctrl+C cancel the task awaiting that thread; its `Lease` kills the
   worker process at once, which also ends the thread's wait. A breached budget fails the node
   with one sentence naming the limit; the worker is replaced.

The evaluation mode travels in a ContextVar (tasks and `asyncio.to_thread` copy it): a `Slice`
(inline, with the run's workers and the node's limits) or a `Lease` (in a worker process). With
neither — a library caller outside any run — evaluation is inline with no slice.
A `Run` owns its `Budgets`: `Workers` (started on the first offload, killed when the run ends)
and each node's `Slice`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from engine.bounded import SLICE_S, EvalFailed, Offload
from engine.errors import NodeFailure

log = logging.getLogger(__name__)

EVAL_SLICE_S = SLICE_S  # longest an evaluation computes inline before moving off the loop
WORKERS = max(1, min(4, os.cpu_count() or 1))
DEFAULT_CPU_S = 2.0
DEFAULT_MEMORY_MB = 256.0
LIMIT_KEYS = ("cpu_s", "memory_mb")
MIN_MEMORY_MB = 16.0  # below this a worker cannot even hold its inputs' copy
_WORKER_FILE = str(Path(__file__).with_name("budgetworker.py"))
_HEADER_SIZE = 8


@dataclass(frozen=True, slots=True)
class Limits:
    """The CPU seconds and memory one evaluation may use, and whose setting each one is."""

    cpu_s: float = DEFAULT_CPU_S
    memory_mb: float = DEFAULT_MEMORY_MB
    cpu_from: str = "the default"  # "the node's" | "the run's" | "the default"
    memory_from: str = "the default"

    @classmethod
    def resolve(cls, run: Limits | Mapping[str, Any] | None,
                node: Mapping[str, Any] | None = None) -> Limits:
        """The node's settings over the run's over the defaults."""
        if isinstance(run, Limits):
            base = run
        else:
            run = run or {}
            base = cls(float(run.get("cpu_s") or DEFAULT_CPU_S),
                       float(run.get("memory_mb") or DEFAULT_MEMORY_MB),
                       "the run's" if run.get("cpu_s") else "the default",
                       "the run's" if run.get("memory_mb") else "the default")
        if not node:
            return base
        cpu, memory = node.get("cpu_s"), node.get("memory_mb")
        return cls(float(cpu) if cpu else base.cpu_s,
                   float(memory) if memory else base.memory_mb,
                   "the node's" if cpu else base.cpu_from,
                   "the node's" if memory else base.memory_from)

    def cpu_sentence(self, what: str) -> str:
        return f"{what} used more than {self.cpu_s:g} s of CPU ({self.cpu_from} cpu limit)"

    def memory_sentence(self, what: str) -> str:
        return (f"{what} used more than {self.memory_mb:g} MB of memory "
                f"({self.memory_from} memory limit)")


def limits_problem(setting: Any) -> str | None:
    """None if `setting` is a valid `limits` object for a node or a run, else a sentence."""
    if not isinstance(setting, dict):
        return '"limits" must be an object like {"cpu_s": 2, "memory_mb": 256}'
    for key, value in setting.items():
        if key not in LIMIT_KEYS:
            return f'"limits" has unknown key {key!r} (known: {", ".join(LIMIT_KEYS)})'
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
                or value == float("inf"):
            return f'"limits.{key}" must be a positive number, got {value!r}'
        if key == "memory_mb" and value < MIN_MEMORY_MB:
            return f'"limits.memory_mb" must be at least {MIN_MEMORY_MB:g}, got {value!r}'
    return None


class BudgetExceeded(NodeFailure):
    """An evaluation used more CPU time or memory than its limit."""


class Interrupted(BaseException):
    """The evaluation's worker was killed (Stop, timeout): unwind the thread waiting on it."""


# --- worker processes --------------------------------------------------------------------
class _Worker:
    __slots__ = ("proc",)

    def __init__(self) -> None:
        posix = os.name == "posix"
        self.proc = subprocess.Popen(
            [sys.executable, "-I", _WORKER_FILE], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True,
            start_new_session=posix)  # Ctrl+C reaches the parent only, which ends workers

    def request(self, message: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The reply, or None if the process ended first."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            stdin = self.proc.stdin
            assert stdin is not None and self.proc.stdout is not None
            stdin.write(len(data).to_bytes(_HEADER_SIZE, "big") + data)
            stdin.flush()
            header = self.proc.stdout.read(_HEADER_SIZE)
            if len(header) < _HEADER_SIZE:
                return None
            reply: tuple[Any, ...] = pickle.loads(
                self.proc.stdout.read(int.from_bytes(header, "big")))
            return reply
        except (BrokenPipeError, OSError, EOFError, pickle.UnpicklingError):
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def exit_code(self) -> int | None:
        try:
            return self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None


class Workers:
    """Up to `size` worker processes for one run, started when first needed. Thread-safe."""

    def __init__(self, size: int = WORKERS) -> None:
        self.size = size
        self.started = 0  # processes started over the run (for tests and the bench)
        self._idle: list[_Worker] = []
        self._busy = 0
        self._closed = False
        self._cond = threading.Condition()

    def acquire(self, lease: Lease) -> _Worker:
        with self._cond:
            while True:
                if lease.killed or self._closed:
                    raise Interrupted
                if self._idle:
                    self._busy += 1
                    return self._idle.pop()
                if self._busy < self.size:
                    self._busy += 1
                    break
                self._cond.wait(0.05)
        try:
            worker = _Worker()
        except BaseException:
            with self._cond:
                self._busy -= 1
                self._cond.notify()
            raise
        self.started += 1
        return worker

    def release(self, worker: _Worker, reusable: bool) -> None:
        with self._cond:
            self._busy -= 1
            keep = reusable and not self._closed
            if keep:
                self._idle.append(worker)
            self._cond.notify()
        if not keep:
            worker.kill()

    def close(self) -> None:
        """Kill every idle worker; busy ones are killed as their leases end."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            worker.kill()


class Slice:
    """Evaluation mode: inline in slices; `workers` and `limits` serve the offload."""

    __slots__ = ("workers", "limits")

    def __init__(self, workers: Workers, limits: Limits) -> None:
        self.workers = workers
        self.limits = limits


class Lease:
    """Evaluation mode: each evaluation goes to a worker process within `limits`."""

    __slots__ = ("workers", "limits", "killed", "_worker", "_lock")

    def __init__(self, workers: Workers, limits: Limits) -> None:
        self.workers = workers
        self.limits = limits
        self.killed = False
        self._worker: _Worker | None = None
        self._lock = threading.Lock()

    def call(self, kind: str, args: tuple[Any, ...], what: str) -> Any:
        """Run one evaluation in a worker (blocking); EvalFailed or BudgetExceeded if it fails."""
        worker = self.workers.acquire(self)
        with self._lock:
            if self.killed:
                self.workers.release(worker, True)
                raise Interrupted
            self._worker = worker
        limits = self.limits
        reply = None
        try:
            try:
                reply = worker.request((kind, args, limits.cpu_s, limits.memory_mb))
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                raise EvalFailed(f"{what} cannot run in a worker process: its inputs cannot "
                                 f"be copied there ({exc})") from None
        finally:
            with self._lock:
                self._worker = None
            self.workers.release(worker, reply is not None and reply[0] in ("ok", "error"))
        if reply is None:
            if self.killed:
                raise Interrupted
            code = worker.exit_code()
            if code in (-signal.SIGXCPU, -signal.SIGKILL):
                raise BudgetExceeded(limits.cpu_sentence(what))
            raise NodeFailure(f"{what} ended its worker process (exit status {code})")
        status = reply[0]
        if status == "ok":
            return reply[1]
        if status == "error":
            raise EvalFailed(reply[1])
        if status == "cpu":
            raise BudgetExceeded(limits.cpu_sentence(what))
        raise BudgetExceeded(limits.memory_sentence(what))

    def kill(self) -> None:
        """Stop the evaluation now (from any thread)."""
        with self._lock:
            self.killed = True
            worker = self._worker
        if worker is not None:
            worker.kill()


class Budgets:
    """A run's evaluation budgets: its `Workers` and `limits`, and each node's `Slice` (the
    node's own limits over the run's). The run closes it when it ends."""

    __slots__ = ("workers", "limits", "default", "_by_node")

    def __init__(self, limits: Limits | Mapping[str, Any] | None = None) -> None:
        self.limits = Limits.resolve(limits)
        self.workers = Workers()
        self.default = Slice(self.workers, self.limits)
        self._by_node: dict[str, Slice] = {}

    def for_node(self, node_id: str, limits: Mapping[str, Any] | None) -> Slice:
        """The evaluation budget of node `node_id`, whose own `limits` may be None."""
        if limits is None:
            return self.default
        found = self._by_node.get(node_id)
        if found is None:
            found = Slice(self.workers, Limits.resolve(self.limits, limits))
            self._by_node[node_id] = found
        return found

    def close(self) -> None:
        self.workers.close()


CURRENT: contextvars.ContextVar[Slice | Lease | None] = contextvars.ContextVar(
    "flowloom_evaluation", default=None)


# --- running node code within the budget -------------------------------------------------
async def offload(mode: Slice, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call `fn` in a thread whose evaluations run in worker processes; cancelling the
    awaiting task kills the worker in use."""
    lease = Lease(mode.workers, mode.limits)

    def in_thread() -> Any:
        CURRENT.set(lease)
        return fn(*args, **kwargs)

    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, functools.partial(contextvars.copy_context().run,
                                                          in_thread))
    try:
        return await future
    except asyncio.CancelledError:
        lease.kill()
        raise
    except Interrupted:
        raise NodeFailure("the evaluation was stopped") from None


async def inline(mode: Slice, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call `fn` here (on the loop) with `mode` in force; re-run it off the loop if one of its
    evaluations outgrows its slice."""
    token = CURRENT.set(mode)
    try:
        return fn(*args, **kwargs)
    except Offload:
        pass
    finally:
        CURRENT.reset(token)
    return await offload(mode, fn, *args, **kwargs)


async def in_thread(mode: Slice, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call blocking `fn` in a worker thread, its evaluations in slices there; re-run it with
    worker processes if one outgrows its slice."""

    def sliced() -> Any:
        CURRENT.set(mode)
        return fn(*args, **kwargs)

    try:
        return await asyncio.to_thread(sliced)
    except Offload:
        return await offload(mode, fn, *args, **kwargs)


async def bounded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """For async node code: call `fn` (which evaluates user input) inline within the run's
    budget, off the loop if it needs longer. Outside a run, just call it."""
    mode = CURRENT.get()
    if not isinstance(mode, Slice):
        return fn(*args, **kwargs)
    return await inline(mode, fn, *args, **kwargs)


def deadline() -> float:
    return perf_counter() + EVAL_SLICE_S


__all__ = ["CURRENT", "EVAL_SLICE_S", "BudgetExceeded", "Budgets", "EvalFailed", "Interrupted",
           "Lease", "Limits", "Offload", "Slice", "Workers", "bounded", "deadline", "in_thread",
           "inline", "limits_problem", "offload"]
