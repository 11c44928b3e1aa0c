"""The worker side of the Dask backend (engine/dask_backend.py): what a cluster task runs.

`run_on_worker(task)` makes the node from its type (imported, or a user plugin's source that
travelled with the task, loaded once per version) and params, runs it with a `RemoteContext`
— `ctx` as on the run's machine: progress and logs (kept for the client to record), the
credentials its task carried, the run's grants checked at the moment of access, an HTTP
client whose every request is checked — and reports its outputs or its failure as one masked
sentence. An async node is cancelled within POLL_S once the client gave its task up.
Imported by the worker through the task's function reference; it never imports `distributed`
at module level, so the engine loads it without the extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import inspect
import os
import pickle
import sys
import threading
import types
from pathlib import Path
from typing import Any

from engine.errors import NodeFailure
from engine.ledger import REDACTED, error_text
from engine.masking import clip, mask
from engine.permissions import ACTOR, READ, RUN, WRITE, node_needs, resolve_path

__all__ = ["POLL_S", "PUSH_BYTES", "RemoteContext", "output_of", "run_on_worker", "summarized"]

POLL_S = 0.1  # how often a remote async node looks whether its task was cancelled
_LOADING = threading.Lock()  # guards making a plugin's module from its source on a worker
PUSH_BYTES = 16 << 10  # a reply up to this size (pickled) is pushed; the scheduler keeps the
# last 1 000 events of a topic (distributed.admin.low-level-log-length), so at most ~16 MB


def run_on_worker(blob: bytes | dict[str, Any],
                  remote: dict[Any, Any] | None = None) -> dict[str, Any] | bytes:
    """The task a worker runs: load the node, run it with a worker-side context, report.
    `blob`: the task (engine/dask_backend.py `_task_for`). `remote`: the inputs that came
    straight from other cluster tasks (Dask fetched them from the worker that holds them):
    {port: value} or {(port, index): value} for a list input.

    The reply is a dict when its outputs may stay on the cluster (`summarized` picks it
    apart there); otherwise pickled bytes, which the worker also pushes to the client under
    the session's topic when small and free of secrets, so the client need not fetch it."""
    task = _unpacked(blob)
    reply = _run(task, remote)
    if not task.get("push"):
        return reply
    packed = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    worker, key = _worker(), _task_key()
    if (worker is not None and key is not None and len(packed) <= PUSH_BYTES
            and not reply["new_secrets"]):  # the scheduler keeps a topic's last events
        with contextlib.suppress(Exception):  # the client fetches the result instead
            worker.log_event(task["topic"], {"key": key, "reply": packed})
    return packed


def _unpacked(blob: bytes | dict[str, Any]) -> dict[str, Any]:
    if isinstance(blob, dict):
        return blob
    task = pickle.loads(blob)  # noqa: S301 - the client's own task
    task.update(pickle.loads(task.pop("static")))  # noqa: S301
    return task


def _run(task: dict[str, Any], remote: dict[Any, Any] | None) -> dict[str, Any]:
    worker = _worker_address()
    ctx = RemoteContext(task)
    reply: dict[str, Any] = {"worker": worker, "pid": os.getpid()}
    try:
        impl = _load(task, worker)
        ctx.check_start(impl)
        inputs = pickle.loads(task["inputs"])
        for where, value in (remote or {}).items():
            if isinstance(where, tuple):
                inputs[where[0]][where[1]] = value
            else:
                inputs[where] = value
        if inspect.iscoroutinefunction(impl.run):
            outputs = asyncio.run(_until_cancelled(impl.run(ctx, **inputs), ctx))
        else:
            outputs = impl.run(ctx, **inputs)
        reply["outputs"] = outputs
    except BaseException as exc:  # noqa: BLE001 - the node's failure, as one sentence
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        reply["error"] = ctx.redact(error_text(exc))
    reply["events"] = ctx.events
    reply["new_secrets"] = ctx.new_secrets
    return reply


def summarized(reply: dict[str, Any], ports: frozenset[str], limit: int) -> dict[str, Any]:
    """`reply` without the outputs among `ports` whose pickled size reaches `limit` (they stay
    on this worker, where `output_of` picks them); "kept" names them with their sizes."""
    outputs = reply.get("outputs")
    if not isinstance(outputs, dict):
        return reply
    kept = {}
    for port in ports & set(outputs):
        size = len(pickle.dumps(outputs[port], protocol=pickle.HIGHEST_PROTOCOL))
        if size >= limit:
            kept[port] = size
    if not kept:
        return reply
    small = {port: value for port, value in outputs.items() if port not in kept}
    return {**reply, "outputs": small, "kept": kept}


def output_of(reply: dict[str, Any], port: str) -> Any:
    """One output of a task's reply, kept on the cluster for the cluster nodes that read it."""
    return reply["outputs"][port]


def _worker() -> Any:
    """The distributed Worker running this task, or None outside one."""
    try:
        from distributed import get_worker  # noqa: PLC0415 - only on a worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def _worker_address() -> str:
    worker = _worker()
    return str(worker.address) if worker is not None else "?"


def _load(task: dict[str, Any], worker: str) -> Any:
    source = task["source"]
    module: Any = None
    if source is not None:
        name, file, text = source
        digest = hashlib.sha256(text.encode()).hexdigest()
        with _LOADING:  # a worker's threads run tasks side by side: one makes the module
            module = sys.modules.get(name)
            if module is None or getattr(module, "__flowloom_digest__", None) != digest:
                module = types.ModuleType(name)
                module.__file__ = file
                sys.modules[name] = module  # while it runs, as an import would
                try:
                    exec(compile(text, file or name, "exec"), module.__dict__)  # noqa: S102
                except BaseException:
                    sys.modules.pop(name, None)
                    raise
                module.__flowloom_digest__ = digest  # only once it is whole
    try:
        cls: Any = module if source is not None and task["module"] == source[0] else \
            importlib.import_module(task["module"])
        for part in task["class"].split("."):
            cls = getattr(cls, part)
        return cls(task["params"], task["node_id"])
    except Exception as exc:  # noqa: BLE001 - say which type and where
        raise NodeFailure(f"node type {task['type_id']!r} cannot be loaded on cluster worker "
                          f"{worker}: {error_text(exc)}") from None


def _still_wanted(key: str | None) -> bool:
    """Whether the scheduler still wants this task's result (False once it was cancelled)."""
    if key is None:
        return True
    try:
        from distributed import get_worker  # noqa: PLC0415 - only on a worker

        state = get_worker().state.tasks.get(key)
    except (ImportError, ValueError, AttributeError):
        return True
    return state is not None and state.state not in ("cancelled", "released", "forgotten")


def _task_key() -> str | None:
    try:
        from distributed.worker import thread_state  # noqa: PLC0415 - only on a worker

        return getattr(thread_state, "key", None)
    except ImportError:
        return None


async def _until_cancelled(coro: Any, ctx: RemoteContext) -> Any:
    """Await the node's coroutine; cancel it once the client gave up the task."""
    key = _task_key()
    node = asyncio.ensure_future(coro)
    try:
        while True:
            done, _ = await asyncio.wait({node}, timeout=POLL_S)
            if done:
                return node.result()
            if not _still_wanted(key):
                node.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await node
                raise NodeFailure("cancelled")
    finally:
        if not node.done():
            node.cancel()
        await ctx.aclose()


class RemoteContext:
    """What a node sees on a worker: `ctx` as locally, minus what needs the run's host (a
    person to ask, workflow outputs); events are kept for the client to record."""

    def __init__(self, task: dict[str, Any]) -> None:
        self.node_id: str = task["node_id"]
        self.iteration: tuple[int, ...] = task["iteration"]
        self.attempt: int = task["attempt"]
        self.run_id: str = task["run_id"]
        self.run_inputs: dict[str, Any] = task["run_inputs"]
        self.priority: int = task["priority"]
        self.type_id: str = task["type_id"]
        self.base_dir = Path(task["base_dir"])
        self.grants = task["grants"]
        self._secrets: dict[str, str] = dict(task["secrets"])
        self._masked = set(self._secrets.values())
        self.new_secrets: list[str] = []
        self.events: list[tuple[str, Any, str]] = []
        self._topic: str | None = task.get("topic")
        self._key = _task_key()
        self._worker = _worker()
        self._http: Any = None
        self._jar: Any = None

    # reporting
    def progress(self, fraction: float | None = None, message: str = "") -> None:
        if fraction is not None:
            fraction = min(1.0, max(0.0, float(fraction)))
        self._report("progress", fraction, self.redact(str(message)))

    def log(self, level: str, message: str) -> None:
        self._report("log", level, self.redact(str(message)))

    def _report(self, kind: str, first: Any, second: str) -> None:
        """Keep the event for the reply, and send it to the client now (live), numbered so
        the client records each one once, in order."""
        seq = len(self.events)
        self.events.append((kind, first, second))
        if self._worker is not None and self._topic is not None and self._key is not None:
            with contextlib.suppress(Exception):  # the reply still carries it
                self._worker.log_event(self._topic, {"key": self._key, "seq": seq,
                                                     "kind": kind, "a": first, "b": second})

    def info(self, message: str) -> None:
        self.log("info", message)

    def warning(self, message: str) -> None:
        self.log("warning", message)

    # secrets
    def secret(self, name: str) -> str:
        value = self._secrets.get(name)
        if not value:
            raise NodeFailure(f"credential {name!r} is not set "
                              f"(set it with: flowloom secrets set {name})")
        return value

    def add_secret(self, value: str) -> None:
        if value and len(value) >= 4:
            self._masked.add(value)
            self.new_secrets.append(value)

    def redact(self, text: str) -> str:
        return mask(text, self._masked, REDACTED) if self._masked else text

    def clip(self, text: str, limit: int, *, tail: bool = False) -> str:
        return clip(text, limit, self.redact, tail=tail)

    # permissions, checked here as on the run's own machine
    def _who(self) -> str:
        return f"{self.type_id} {self.node_id!r}"

    def check_read(self, path: str | Path) -> Path:
        return self._check_path(READ, path)

    def check_write(self, path: str | Path) -> Path:
        return self._check_path(WRITE, path)

    def _check_path(self, capability: str, path: str | Path) -> Path:
        real = resolve_path(str(path), self.base_dir)
        if self.grants is not None:
            self.grants.check(capability, real, self._who())
        return Path(real)

    def check_start(self, impl: Any) -> None:
        grants = self.grants
        if grants is None or grants.allows(RUN, None):
            return
        needs = node_needs(type(impl), impl.params, self.base_dir)
        if any(need.capability == RUN for need in needs):
            grants.check(RUN, type(impl).type_id, self._who())

    # resources
    @property
    def http(self) -> Any:
        import httpx  # noqa: PLC0415 - most remote nodes never make a request

        from engine.permissions import request_hook  # noqa: PLC0415

        ACTOR.set((self.type_id, self.node_id))
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=True, timeout=httpx.Timeout(30.0))
            if self.grants is not None:
                self._http.event_hooks["request"].append(request_hook(self.grants))
        return self._http

    @property
    def cookies(self) -> Any:
        import httpx  # noqa: PLC0415

        if self._jar is None:
            self._jar = httpx.Cookies()
        return self._jar

    @property
    def services(self) -> Any:
        from engine.context import Services  # noqa: PLC0415

        return Services(base_dir=self.base_dir, grants=self.grants)

    cap = None

    def lent_slot(self) -> Any:
        return contextlib.nullcontext()

    async def to_thread(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def ask(self, value: Any, message: str = "", title: str = "") -> Any:
        raise NodeFailure("a node on the cluster cannot ask a person for approval; place it "
                          "\"local\"")

    def set_output(self, name: str, value: Any) -> None:
        raise NodeFailure("a node on the cluster cannot set a workflow output; place it "
                          "\"local\"")

    async def aclose(self) -> None:
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.aclose()
