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
* **Replies come pushed.** A task's reply of up to 16 KiB (pickled) that names no new secret
  is pushed by its worker under the session's topic, ahead of the task's end on the same
  streams, so the client does not fetch it (a gather is a round trip through the scheduler to
  the worker: ~5 ms of CPU a task here, a third of the cluster path's cost, bench/scaleout.py).
  Larger replies, errors and lost workers take the usual way. A task is one pickled blob; the
  part of it that is the same for every task of a node (type, params, plugin source, grants)
  is pickled once per run.
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
# What a cluster this module starts leaves out: the workers' statistical profiler (the
# dashboard's profile page, sampling every thread each 10 ms) and the fast health polls. At
# rest they cost a 2-worker cluster 0.16 of a core; without them 0.03 (bench/scaleout.py).
QUIET = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",  # event-loop health checks (default 20 ms)
    "distributed.admin.system-monitor.interval": "2s",  # psutil readings (default 500 ms)
    "distributed.worker.memory.monitor-interval": "1s",  # nanny's memory poll (100 ms)
}


def local_cluster(workers: int = 2, threads: int = 1, host: str = "127.0.0.1") -> Any:
    """A `distributed.LocalCluster` of `workers` processes on this machine, every port it
    opens (scheduler, workers, their HTTP endpoints) bound to `host` only."""
    import dask  # noqa: PLC0415 - the optional extra, imported on use
    import distributed  # noqa: PLC0415

    with dask.config.set(QUIET):  # read by the scheduler and nannies as they start
        return distributed.LocalCluster(
            n_workers=workers, threads_per_worker=threads, processes=True, host=host,
            dashboard_address=f"{host}:0", worker_dashboard_address=f"{host}:0",
            scheduler_kwargs={"dashboard": False}, config=QUIET)


class _Session:
    """One asynchronous client on one loop, the runs using it, and the live tasks whose
    progress and log lines its event topic brings back while they run."""

    __slots__ = ("client", "users", "topic", "live", "held", "readers", "loop", "threaded",
                 "replies", "static")

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
        self.replies: dict[str, asyncio.Future[Any]] = {}  # task key -> its pushed reply
        # (id(compiled), node id) -> (compiled, the pickled part of its tasks that never varies)
        self.static: dict[tuple[int, str], tuple[Any, bytes]] = {}
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

    async def settled(self, future: Any, pushed: asyncio.Future[Any]) -> Any:
        """The reply of a task: the one its worker pushed under the session's topic, if it
        did (no gather: the scheduler relays it on the stream it already keeps open, ahead of
        the task's end), else its result fetched the usual way (an error, a lost worker, a
        reply too large or holding secrets to be pushed)."""
        ended: asyncio.Future[None] = self.loop.create_future()

        def mark(_: Any) -> None:  # on the client's loop, or its thread (own_loop)
            self.loop.call_soon_threadsafe(_mark, ended)

        future.add_done_callback(mark)
        try:
            await asyncio.wait((pushed, ended), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not ended.done():
                ended.cancel()
        if pushed.done() and not pushed.cancelled():
            return pickle.loads(pushed.result())  # noqa: S301 - our own worker's reply
        outcome = await self.wait(future)
        return pickle.loads(outcome) if isinstance(outcome, bytes) else outcome  # noqa: S301

    async def close(self) -> None:
        """Close the client, first dropping the events the scheduler kept of this session's
        topic (pushed replies among them), as far as the scheduler lets a client do that."""
        if self.threaded:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.client.run_on_scheduler, _forget_topic,
                                        topic=self.topic)
            await asyncio.to_thread(self.client.close)
        else:
            with contextlib.suppress(Exception):
                await self.client.run_on_scheduler(_forget_topic, topic=self.topic)
            await self.client.close()

    def from_thread(self, event: Any) -> None:
        self.loop.call_soon_threadsafe(self.on_event, event)

    def on_event(self, event: Any) -> None:
        """A progress or log line a task reported (on the client's loop: the run's)."""
        msg = event[1] if isinstance(event, tuple) else event
        if not isinstance(msg, dict):
            return
        if "reply" in msg:  # a finished task's reply, pushed (see run_on_worker)
            waiting = self.replies.pop(msg.get("key"), None)
            if waiting is not None and not waiting.done():
                waiting.set_result(msg["reply"])
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
        keep = _kept_ports(work, session)
        task = _task_for(work, session, inputs, push=not keep)
        for lost in range(LOST_AGAIN + 1):
            key = f"flowloom-{work.node.id}-{uuid.uuid4().hex[:12]}"
            session.live[key] = [work.ctx, 0]
            pushed = session.replies[key] = session.loop.create_future()
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
                    reply = await session.settled(futures[-1], pushed)
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
                session.replies.pop(key, None)
        raise AssertionError("unreachable")  # pragma: no cover


class _Closing:
    """Enough of a session to close a client that lost the race to connect."""

    def __init__(self, client: Any, threaded: bool) -> None:
        self.client, self.threaded = client, threaded


def _forget_topic(dask_scheduler: Any, topic: str) -> None:
    """On the scheduler: drop what it kept of `topic` (its broker holds a topic's last 1 000
    events; there is no public call for this, so a scheduler without it keeps them)."""
    dask_scheduler._broker.truncate(topic)  # noqa: SLF001


def _mark(ended: asyncio.Future[None]) -> None:
    if not ended.done():
        ended.set_result(None)


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


def _task_for(work: Work, session: _Session, inputs: dict[str, Any], *,
              push: bool) -> bytes:
    """What the worker needs, as one pickled blob (Dask sizes and ships bytes as they are):
    the node's part that is the same for every task of the node in this run (its type, params,
    plugin source, grants: pickled once), and this attempt's inputs, context and secrets."""
    pn, ctx = work.node, work.ctx
    impl = pn.impl
    cls = type(impl)
    compiled = ctx._run.compiled  # noqa: SLF001 - the run's plan: whose node this is
    cached = session.static.get((id(compiled), pn.id))
    if cached is None or cached[0] is not compiled:
        part = _static_part(work, session.topic)
        cached = session.static[(id(compiled), pn.id)] = (compiled, part)
    try:
        pickled = pickle.dumps(inputs)
    except Exception as exc:  # noqa: BLE001 - a live object cannot travel
        raise NodeFailure(f"{pn.id!r} cannot be sent to the cluster: {error_text(exc)}") from None
    secrets = {}
    for param in getattr(cls, "parameters", ()):
        name = impl.params.get(param.name) if getattr(param, "secret", False) else None
        if isinstance(name, str) and name:
            with contextlib.suppress(NodeFailure):  # not set: the worker says so if it is read
                secrets[name] = ctx.secret(name)
    return pickle.dumps({"static": cached[1], "inputs": pickled, "iteration": ctx.iteration,
                         "attempt": ctx.attempt, "priority": ctx.priority, "secrets": secrets,
                         "push": push}, protocol=pickle.HIGHEST_PROTOCOL)


def _static_part(work: Work, topic: str) -> bytes:
    pn, ctx = work.node, work.ctx
    impl = pn.impl
    cls = type(impl)
    source = None
    if cls.__module__.startswith(USER_PLUGIN_PREFIX):
        file = getattr(sys.modules.get(cls.__module__), "__file__", None)
        try:
            source = (cls.__module__, file, Path(file).read_text(encoding="utf-8"))
        except (OSError, TypeError) as exc:
            raise NodeFailure(f"the plugin of {pn.id!r} cannot be sent to the cluster: its "
                              f"source file cannot be read ({exc})") from None
    try:
        return pickle.dumps(
            {"module": cls.__module__, "class": cls.__qualname__, "params": impl.params,
             "source": source, "node_id": pn.id, "type_id": cls.type_id,
             "run_id": ctx.run_id, "run_inputs": ctx.run_inputs, "base_dir": str(ctx.base_dir),
             "grants": ctx.services.grants, "topic": topic},
            protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - a live object cannot travel
        raise NodeFailure(f"{pn.id!r} cannot be sent to the cluster: {error_text(exc)}") from None


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
