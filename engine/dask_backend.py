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
* **Progress and logs** a remote node reports reach the run's ledger while it runs (the
  worker's `log_event` under the session's topic), each once and in order; any that had not
  arrived when its task ends are recorded from the task's reply.
* **Worker loss**: the scheduler reruns a task whose worker died (its `allowed-failures`); a
  task that still ends on a lost worker is submitted once more, then fails the node, whose own
  retry policy applies. The run never hangs on it.
* **Cancel** (Stop, timeout) cancels the future; an async node on the worker (code.python) is
  cancelled within 0.1 s, which ends its child process. Plain `def` code cannot be interrupted
  inside a worker thread: its result is dropped when it returns.

The worker side (what a task runs there) is engine/dask_worker.py. `distributed` is the optional
extra `flowloom[dask]`; these modules import it on first use only.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import pickle
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.dask_worker import output_of, run_on_worker, summarized
from engine.errors import NodeFailure
from engine.ledger import error_text
from engine.seam import SessionFailed, placement_of

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.seam import Work

__all__ = ["HANDLE_KEY", "KEEP_BYTES", "USER_PLUGIN_PREFIX", "DaskExecution", "local_cluster"]

USER_PLUGIN_PREFIX = "flowloom_user_nodes."  # nodes/plugins.py names user-folder modules so
LOST_AGAIN = 1  # submissions after the scheduler gave a task up for lost workers
CONNECT_TIMEOUT_S = 10
KEEP_BYTES = 1 << 20  # an output this large (pickled) stays on the cluster for cluster readers
HANDLE_KEY = "flowloom.cluster_value"  # the stand-in the run holds for a value kept there


def local_cluster(workers: int = 2, threads: int = 1, host: str = "127.0.0.1") -> Any:
    """A `distributed.LocalCluster` of `workers` processes on this machine, every port it
    opens (scheduler, workers, their HTTP endpoints) bound to `host` only."""
    import distributed  # noqa: PLC0415 - the optional extra, imported on use

    return distributed.LocalCluster(
        n_workers=workers, threads_per_worker=threads, processes=True, host=host,
        dashboard_address=f"{host}:0", worker_dashboard_address=f"{host}:0",
        scheduler_kwargs={"dashboard": False})


class _Session:
    """One asynchronous client on one loop, the runs using it, and the live tasks whose
    progress and log lines its event topic brings back while they run."""

    __slots__ = ("client", "users", "topic", "live", "held", "readers", "loop", "threaded")

    def __init__(self, client: Any, threaded: bool = False) -> None:
        self.client = client
        self.loop = asyncio.get_running_loop()
        self.threaded = threaded  # the client runs its own loop in a thread (see own_loop)
        self.users = 0
        self.topic = f"flowloom-events-{uuid.uuid4().hex[:12]}"
        self.live: dict[str, list[Any]] = {}  # task key -> [ctx, events delivered]
        self.held: dict[str, Any] = {}  # stand-in token -> the future of a value kept there
        # id(compiled) -> (compiled, {node id: the output ports only cluster nodes read})
        self.readers: dict[int, tuple[Any, dict[str, frozenset[str]]]] = {}
        client.subscribe_topic(self.topic, self.from_thread if threaded else self.on_event)

    async def wait(self, future: Any) -> Any:
        """The result of a cluster future, awaited on the run's loop."""
        if not self.threaded:
            return await future
        done: asyncio.Future[Any] = self.loop.create_future()

        def settle(_: Any) -> None:  # on the client's thread
            self.loop.call_soon_threadsafe(_settle, done, future)

        future.add_done_callback(settle)
        return await done

    async def close(self) -> None:
        if self.threaded:
            await asyncio.to_thread(self.client.close)
        else:
            await self.client.close()

    def from_thread(self, event: Any) -> None:
        self.loop.call_soon_threadsafe(self.on_event, event)

    def on_event(self, event: Any) -> None:
        """A progress or log line a task reported (on the client's loop: the run's)."""
        msg = event[1] if isinstance(event, tuple) else event
        if not isinstance(msg, dict):
            return
        found = self.live.get(msg.get("key"))
        if found is None or msg.get("seq") != found[1]:  # late or out of turn: the reply has it
            return
        found[1] += 1
        _deliver(found[0], (msg.get("kind"), msg.get("a"), msg.get("b")))


class DaskExecution:
    """Carries out a node's work as a task on the Dask cluster whose scheduler is at
    `address`. A run opens a `session()`: an asynchronous `distributed.Client` on the run's
    own loop (shared by the runs on that loop, closed after the last), so futures are awaited
    there without threads in between, and a remote node's progress and log lines reach the
    run's ledger while it runs (the worker's `log_event` under the session's topic; whatever
    had not arrived when the task ends is recorded from its reply, in order, once)."""

    name = "dask"

    def __init__(self, address: str, *, own_loop: bool = False) -> None:
        """`own_loop`: the client runs its own event loop in a thread, and futures are
        awaited on the run's loop through it (for a loop whose timers cannot hold the
        unbounded timeouts `distributed` sets, like qasync's Qt timers in the editor)."""
        self.address = address
        self.own_loop = own_loop
        self._sessions: dict[asyncio.AbstractEventLoop, _Session] = {}

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None:
            import distributed  # noqa: PLC0415 - the optional extra, imported on use

            try:
                if self.own_loop:
                    client = await asyncio.to_thread(
                        distributed.Client, self.address, set_as_default=False,
                        timeout=CONNECT_TIMEOUT_S)
                else:
                    client = await distributed.Client(self.address, asynchronous=True,
                                                      set_as_default=False,
                                                      timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as exc:
                raise SessionFailed(f"cannot reach the Dask scheduler at {self.address}: "
                                    f"{str(exc)[:200] or type(exc).__name__}") from None
            session = self._sessions.get(loop)
            if session is None:
                session = self._sessions[loop] = _Session(client, self.own_loop)
            else:  # another run on this loop connected meanwhile
                await _Session.close(_Closing(client, self.own_loop))
        session.users += 1
        try:
            yield
        finally:
            session.users -= 1
            if session.users == 0 and self._sessions.get(loop) is session:
                del self._sessions[loop]
                session.held.clear()  # the values kept on the cluster go with the session
                with contextlib.suppress(Exception):
                    await asyncio.shield(session.close())

    def _session(self, node_id: str) -> _Session:
        session = self._sessions.get(asyncio.get_running_loop())
        if session is None:
            raise NodeFailure(f"{node_id!r} is placed on the cluster, but this run has no "
                              f"session with it (Run(..., seam=...) opens one)")
        return session

    async def run(self, work: Work) -> Any:
        session = self._session(work.node.id)
        inputs, remote = _take_held(work, session)
        task = _task_for(work, session.topic, inputs)
        keep = _kept_ports(work, session)
        for lost in range(LOST_AGAIN + 1):
            key = f"flowloom-{work.node.id}-{uuid.uuid4().hex[:12]}"
            session.live[key] = [work.ctx, 0]
            futures = []
            try:
                future = session.client.submit(run_on_worker, task, remote, key=key,
                                               pure=False)
                futures.append(future)
                if keep:  # the reply stays there; only its small parts come here
                    futures.append(session.client.submit(
                        summarized, future, keep, KEEP_BYTES, key=f"{key}-summary",
                        pure=False))
                try:
                    reply = await session.wait(futures[-1])
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    for pending in [f.cancel() for f in futures]:
                        if inspect.isawaitable(pending):
                            with contextlib.suppress(Exception, asyncio.CancelledError):
                                await pending
                    if current is not None and current.cancelling():
                        raise  # ours: Stop, a timeout, a failing scope
                    raise NodeFailure(f"the cluster cancelled the task of "
                                      f"{work.node.id!r}") from None
                except Exception as exc:  # noqa: BLE001 - whatever the cluster says, a sentence
                    if type(exc).__name__ == "KilledWorker" and lost < LOST_AGAIN:
                        continue
                    raise NodeFailure(f"the cluster could not run {work.node.id!r}: "
                                      f"{error_text(exc)}") from None
                for port, size in reply.get("kept", {}).items():
                    reply["outputs"][port] = _hold(session, future, key, port, size)
                return _replayed(work, reply, session.live[key][1])
            finally:
                session.live.pop(key, None)
        raise AssertionError("unreachable")  # pragma: no cover


class _Closing:
    """Enough of a session to close a client that lost the race to connect."""

    def __init__(self, client: Any, threaded: bool) -> None:
        self.client, self.threaded = client, threaded


def _settle(done: asyncio.Future[Any], future: Any) -> None:
    """Pass a finished cluster future's outcome on to `done` (on the run's loop)."""
    if done.done():
        return
    if future.cancelled():
        done.cancel()
        return
    try:
        done.set_result(future.result())  # finished: the client thread hands it over
    except Exception as exc:  # noqa: BLE001 - the task's failure, raised where awaited
        done.set_exception(exc)


def _hold(session: _Session, reply: Any, key: str, port: str, size: int) -> dict[str, Any]:
    """Keep output `port` of the task `reply` on the cluster; the stand-in the run holds."""
    token = uuid.uuid4().hex
    session.held[token] = session.client.submit(output_of, reply, port, key=f"{key}-{port}",
                                                pure=False)
    return {HANDLE_KEY: token, "key": f"{key}-{port}", "bytes": size}


def _take_held(work: Work, session: _Session) -> tuple[dict[str, Any], dict[Any, Any]]:
    """The inputs with every stand-in (at the top, or an item of a list input) taken out,
    and the futures that replace them on the worker: {port or (port, index): future}."""
    inputs = dict(work.inputs)
    remote: dict[Any, Any] = {}

    def future_of(value: Any) -> Any:
        if not (isinstance(value, dict) and HANDLE_KEY in value):
            return None
        held = session.held.get(value[HANDLE_KEY])
        if held is None:
            raise NodeFailure(f"an input of {work.node.id!r} stayed on the cluster of an "
                              f"earlier run and is gone; run its source node again")
        return held

    for port, value in work.inputs.items():
        if (held := future_of(value)) is not None:
            remote[port], inputs[port] = held, None
        elif isinstance(value, list):
            items = list(value)
            for index, item in enumerate(value):
                if (held := future_of(item)) is not None:
                    remote[(port, index)], items[index] = held, None
            inputs[port] = items
    return inputs, remote


def _kept_ports(work: Work, session: _Session) -> frozenset[str]:
    """The output ports of the node whose every reader is a node placed on the cluster that
    takes any value (so a stand-in passes the scheduler's type check and never reaches a
    local node): a large value there may stay on the cluster."""
    compiled = work.ctx._run.compiled  # noqa: SLF001 - the run's plan: who reads what
    entry = session.readers.get(id(compiled))
    if entry is None or entry[0] is not compiled:
        entry = session.readers[id(compiled)] = (compiled, {})
    found = entry[1].get(work.node.id)
    if found is None:
        found = entry[1][work.node.id] = _cluster_only(work.node, compiled)
    return found


def _cluster_only(pn: Any, compiled: Any) -> frozenset[str]:
    ports: dict[str, bool] = {}
    for reader in pn.consumers:
        setting = compiled.workflow.nodes[reader.id].extra.get("placement")
        try:
            remote = placement_of(setting, reader.impl, reader.id) == "cluster"
        except NodeFailure:
            remote = False
        remote = remote and reader.body is None and not reader.tools
        if reader.back_source is not None and reader.back_source[0] == pn.id:
            ports[reader.back_source[1]] = False
        for _, sources, _, port_type in reader.in_ports:
            for source, port in sources:
                if source == pn.id:
                    ports[port] = ports.get(port, True) and remote and port_type == "any"
    return frozenset(port for port, ok in ports.items() if ok)


def _task_for(work: Work, topic: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What the worker needs: the pickled node, its inputs, context, secrets and grants."""
    pn, ctx = work.node, work.ctx
    impl = pn.impl
    cls = type(impl)
    try:
        params = pickle.dumps(impl.params)
        pickled = pickle.dumps(inputs)
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
            "inputs": pickled, "source": source, "node_id": pn.id,
            "type_id": cls.type_id, "iteration": ctx.iteration, "attempt": ctx.attempt,
            "run_id": ctx.run_id, "run_inputs": ctx.run_inputs, "priority": ctx.priority,
            "base_dir": str(ctx.base_dir), "grants": ctx.services.grants, "secrets": secrets,
            "topic": topic}


def _deliver(ctx: Any, event: Any) -> None:
    kind, first, second = event
    if kind == "progress":
        ctx.progress(first, str(second))
    elif kind == "log":
        ctx.log(str(first), str(second))


def _replayed(work: Work, reply: dict[str, Any], delivered: int) -> Any:
    """Record what the remote node reported that had not arrived live (the first `delivered`
    of its events had), then give its outputs or raise its failure."""
    ctx = work.ctx
    for value in reply.get("new_secrets", ()):
        ctx.add_secret(value)
    for event in list(reply.get("events", ()))[delivered:]:
        _deliver(ctx, event)
    ctx.log("debug", f"ran on cluster worker {reply.get('worker', '?')}")
    if "error" in reply:
        raise NodeFailure(reply["error"])
    return reply["outputs"]
