"""The Dask backend: one more `Execution` of the seam (engine/seam.py), on a Dask cluster.

Control flow, events, retries, timeouts and cancellation stay in the local engine: only the
node's own `run()` goes to a worker. `DaskExecution.run(work)` submits one task per attempt
(one per loop item for a foreach body) through an asynchronous `distributed.Client` that the
run's session opened on the run's own event loop, and awaits its future there, so the local
timeout, Stop and the retry loop (engine/attempts.py) act on it as on local work.

* **Node types travel with the task.** The task names the node's type by module and class and
  carries its params; the worker makes the node from them: built-in types import as usual. A
  plugin from the user's node folder (nodes/plugins.py loads it as `flowloom_user_nodes.NAME`)
  travels as its source text, which the worker loads once per version. A type that cannot be
  loaded there fails its node with a sentence naming the worker.
* **Secrets** go only to the node that needs them: the credentials its secret parameters name,
  read on the client and sent in that task's arguments (never published or stored on the
  cluster). Whatever the worker reports back is masked there and again by the run's ledger.
* **Permissions** granted to the run travel with each task and are checked on the worker at the
  moment of access, as locally (engine/permissions.py).
* **Progress and logs** a remote node reports are recorded in the run's ledger when its task
  ends (not live).
* **Worker loss**: the scheduler reruns a task whose worker died (its `allowed-failures`); a
  task that still ends on a lost worker is submitted once more, then fails the node, whose own
  retry policy applies. The run never hangs on it.
* **Cancel** (Stop, timeout) cancels the future; an async node on the worker (code.python) is
  cancelled within 0.1 s, which ends its child process. Plain `def` code cannot be interrupted
  inside a worker thread: its result is dropped when it returns.

`distributed` is the optional extra `flowloom[dask]`; only this module imports it, on first use.
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
import types
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import NodeFailure
from engine.ledger import REDACTED, error_text
from engine.masking import clip, mask
from engine.permissions import ACTOR, READ, RUN, WRITE, node_needs, resolve_path
from engine.seam import SessionFailed

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.seam import Work

__all__ = ["USER_PLUGIN_PREFIX", "DaskExecution", "local_cluster", "run_on_worker"]

USER_PLUGIN_PREFIX = "flowloom_user_nodes."  # nodes/plugins.py names user-folder modules so
POLL_S = 0.1  # how often a remote async node looks whether its task was cancelled
LOST_AGAIN = 1  # submissions after the scheduler gave a task up for lost workers
CONNECT_TIMEOUT_S = 10


def local_cluster(workers: int = 2, threads: int = 1, host: str = "127.0.0.1") -> Any:
    """A `distributed.LocalCluster` of `workers` processes on this machine, every port it
    opens (scheduler, workers, their HTTP endpoints) bound to `host` only."""
    import distributed  # noqa: PLC0415 - the optional extra, imported on use

    return distributed.LocalCluster(
        n_workers=workers, threads_per_worker=threads, processes=True, host=host,
        dashboard_address=f"{host}:0", worker_dashboard_address=f"{host}:0",
        scheduler_kwargs={"dashboard": False})


class DaskExecution:
    """Carries out a node's work as a task on the Dask cluster whose scheduler is at
    `address`. A run opens a `session()`: an asynchronous `distributed.Client` on the run's
    own loop (shared by the runs on that loop, closed after the last), so futures are awaited
    there without threads in between."""

    name = "dask"

    def __init__(self, address: str) -> None:
        self.address = address
        self._clients: dict[asyncio.AbstractEventLoop, list[Any]] = {}  # loop -> [client, users]

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is None:
            import distributed  # noqa: PLC0415 - the optional extra, imported on use

            try:
                client = await distributed.Client(self.address, asynchronous=True,
                                                  set_as_default=False,
                                                  timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as exc:
                raise SessionFailed(f"cannot reach the Dask scheduler at {self.address}: "
                                    f"{str(exc)[:200] or type(exc).__name__}") from None
            entry = self._clients.setdefault(loop, [client, 0])
            if entry[0] is not client:  # another run on this loop connected meanwhile
                await client.close()
        entry[1] += 1
        try:
            yield
        finally:
            entry[1] -= 1
            if entry[1] == 0 and self._clients.get(loop) is entry:
                del self._clients[loop]
                with contextlib.suppress(Exception):
                    await asyncio.shield(entry[0].close())

    def _client(self, node_id: str) -> Any:
        entry = self._clients.get(asyncio.get_running_loop())
        if entry is None:
            raise NodeFailure(f"{node_id!r} is placed on the cluster, but this run has no "
                              f"session with it (Run(..., seam=...) opens one)")
        return entry[0]

    async def run(self, work: Work) -> Any:
        task = _task_for(work)
        client = self._client(work.node.id)
        for lost in range(LOST_AGAIN + 1):
            key = f"flowloom-{work.node.id}-{uuid.uuid4().hex[:12]}"
            future = client.submit(run_on_worker, task, key=key, pure=False)
            try:
                reply = await future
            except asyncio.CancelledError:
                current = asyncio.current_task()
                pending = future.cancel()
                if inspect.isawaitable(pending):
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await pending
                if current is not None and current.cancelling():
                    raise  # ours: Stop, a timeout, a failing scope
                raise NodeFailure(f"the cluster cancelled the task of {work.node.id!r}") \
                    from None
            except Exception as exc:  # noqa: BLE001 - whatever the cluster says, one sentence
                if type(exc).__name__ == "KilledWorker" and lost < LOST_AGAIN:
                    continue
                raise NodeFailure(f"the cluster could not run {work.node.id!r}: "
                                  f"{error_text(exc)}") from None
            return _replayed(work, reply)
        raise AssertionError("unreachable")  # pragma: no cover


def _task_for(work: Work) -> dict[str, Any]:
    """What the worker needs: the pickled node, its inputs, context, secrets and grants."""
    pn, ctx = work.node, work.ctx
    impl = pn.impl
    cls = type(impl)
    try:
        params = pickle.dumps(impl.params)
        inputs = pickle.dumps(work.inputs)
    except Exception as exc:  # noqa: BLE001 - a live object cannot travel
        raise NodeFailure(f"{pn.id!r} cannot be sent to the cluster: {error_text(exc)}") from None
    source = None
    if cls.__module__.startswith(USER_PLUGIN_PREFIX):
        file = getattr(sys.modules.get(cls.__module__), "__file__", None)
        try:
            source = (cls.__module__, file, Path(file).read_text(encoding="utf-8"))
        except (OSError, TypeError) as exc:
            raise NodeFailure(f"the plugin of {pn.id!r} cannot be sent to the cluster: its "
                              f"source file cannot be read ({exc})") from None
    secrets = {}
    for param in getattr(cls, "parameters", ()):
        name = impl.params.get(param.name) if getattr(param, "secret", False) else None
        if isinstance(name, str) and name:
            with contextlib.suppress(NodeFailure):  # not set: the worker says so if it is read
                secrets[name] = ctx.secret(name)
    return {"module": cls.__module__, "class": cls.__qualname__, "params": params,
            "inputs": inputs, "source": source, "node_id": pn.id,
            "type_id": cls.type_id, "iteration": ctx.iteration, "attempt": ctx.attempt,
            "run_id": ctx.run_id, "run_inputs": ctx.run_inputs, "priority": ctx.priority,
            "base_dir": str(ctx.base_dir), "grants": ctx.services.grants, "secrets": secrets}


def _replayed(work: Work, reply: dict[str, Any]) -> Any:
    """Record what the remote node reported, then give its outputs or raise its failure."""
    ctx = work.ctx
    for value in reply.get("new_secrets", ()):
        ctx.add_secret(value)
    for kind, first, second in reply.get("events", ()):
        if kind == "progress":
            ctx.progress(first, second)
        else:
            ctx.log(first, second)
    ctx.log("debug", f"ran on cluster worker {reply.get('worker', '?')}")
    if "error" in reply:
        raise NodeFailure(reply["error"])
    return reply["outputs"]


# --- on the worker --------------------------------------------------------------------------
def run_on_worker(task: dict[str, Any]) -> dict[str, Any]:
    """The task a worker runs: load the node, run it with a worker-side context, report."""
    worker = _worker_address()
    ctx = RemoteContext(task)
    reply: dict[str, Any] = {"worker": worker, "pid": os.getpid()}
    try:
        impl = _load(task, worker)
        ctx.check_start(impl)
        inputs = pickle.loads(task["inputs"])
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


def _worker_address() -> str:
    try:
        from distributed import get_worker  # noqa: PLC0415 - only on a worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "?"


def _load(task: dict[str, Any], worker: str) -> Any:
    source = task["source"]
    if source is not None:
        name, file, text = source
        digest = hashlib.sha256(text.encode()).hexdigest()
        module = sys.modules.get(name)
        if module is None or getattr(module, "__flowloom_digest__", None) != digest:
            module = types.ModuleType(name)
            module.__file__ = file
            module.__flowloom_digest__ = digest  # type: ignore[attr-defined]
            sys.modules[name] = module
            try:
                exec(compile(text, file or name, "exec"), module.__dict__)  # noqa: S102
            except BaseException:
                sys.modules.pop(name, None)
                raise
    try:
        cls: Any = sys.modules.get(task["module"]) if source is not None else \
            importlib.import_module(task["module"])
        for part in task["class"].split("."):
            cls = getattr(cls, part)
        return cls(pickle.loads(task["params"]), task["node_id"])
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
        self._http: Any = None
        self._jar: Any = None

    # reporting
    def progress(self, fraction: float | None = None, message: str = "") -> None:
        if fraction is not None:
            fraction = min(1.0, max(0.0, float(fraction)))
        self.events.append(("progress", fraction, self.redact(str(message))))

    def log(self, level: str, message: str) -> None:
        self.events.append(("log", level, self.redact(str(message))))

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
