"""The same workflow file runs its CPU-bound nodes on a Dask LocalCluster (2 worker processes)."""

from __future__ import annotations

import asyncio
import json  # noqa: E402  (kept apart: only the documents use it)
import os
import sys
import time
import types
from pathlib import Path

import psutil
import pytest

from engine import NodeType, Port, Run, compile_workflow
from engine.context import Services
from engine.dask_backend import DaskExecution
from engine.events import NodeLogged, NodeProgressed
from engine.fileformat import loads
from engine.permissions import EVERYTHING, Grants
from engine.seam import PlacedSeam
from nodes import default_registry
from nodes.plugins import load_folder
from tests.scaleout.conftest import start_cluster
from tests.scaleout.support import foreach_doc, write_plugin


def _registry(tmp_path: Path):
    registry = default_registry()
    load_folder(registry, write_plugin(tmp_path / "nodes").parent)
    return registry


def _compiled(doc: dict, registry):
    loaded = loads(json.dumps(doc), registry)
    assert not loaded.errors, loaded.problems
    return compile_workflow(loaded.workflow, registry)


async def _run(compiled, seam=None, events: list | None = None, timeout: float = 120):
    run = Run(compiled, seam=seam)
    if events is not None:
        run.subscribe(events.append)
    async with asyncio.timeout(timeout):
        return await run.execute()


def _seam(client) -> PlacedSeam:
    """Cluster-placed nodes to the scheduler `client` talks to; the run connects on its loop."""
    return PlacedSeam(DaskExecution(client.scheduler.address))


def _workers(client) -> dict[str, int]:
    """Worker address -> its process id, as each worker says."""
    return client.run(os.getpid)


@pytest.mark.asyncio
async def test_a_parallel_foreach_of_1000_items_runs_on_both_workers_as_locally(
        tmp_path, client):
    registry = _registry(tmp_path)
    doc = foreach_doc(1000, step={"type": "user.churn", "params": {"ms": 0.2}}, parallel=8)
    events: list = []
    remote = await _run(_compiled(doc, registry), _seam(client), events)
    local = await _run(_compiled(doc, registry))
    assert remote.ok, remote.error
    assert local.ok, local.error
    assert remote.outputs == local.outputs
    assert remote.outputs["r"] == [x * x + 1 for x in range(1000)]
    where = {e.message.rsplit(" ", 1)[1] for e in events
             if isinstance(e, NodeLogged) and e.message.startswith("ran on cluster worker")}
    assert where == set(_workers(client))  # each of the two workers ran some items
    assert remote.nodes["step"].runs == 1000


@pytest.mark.asyncio
async def test_a_plugin_from_the_user_folder_runs_in_the_worker_processes(tmp_path, client):
    registry = _registry(tmp_path)
    assert "user.churn" in registry
    doc = {"format": "flowloom.workflow", "version": 1, "name": "one",
           "nodes": [{"id": "c", "type": "user.churn", "params": {"ms": 1}},
                     {"id": "out", "type": "flow.output", "params": {"name": "pid"}}],
           "edges": [{"source": "c", "source_port": "pid", "target": "out",
                      "target_port": "in"}]}
    result = await _run(_compiled(doc, registry), _seam(client))
    assert result.ok, result.error
    assert result.outputs["pid"] in set(_workers(client).values())
    assert result.outputs["pid"] != os.getpid()


class Stranded(NodeType):
    """A type from a module that exists only in this test process."""

    type_id = "test.stranded"
    cpu_bound = True
    inputs = (Port("in", required=False),)

    def run(self, ctx, **inputs):
        return {"out": 1}


@pytest.mark.asyncio
async def test_a_type_a_worker_cannot_load_fails_its_node_with_a_sentence(tmp_path, client):
    module = types.ModuleType("flowloom_only_here")
    Stranded.__module__ = module.__name__
    module.Stranded = Stranded
    sys.modules[module.__name__] = module
    try:
        registry = default_registry()
        registry.register(Stranded)
        doc = {"format": "flowloom.workflow", "version": 1, "name": "stranded",
               "nodes": [{"id": "s", "type": "test.stranded"}]}
        result = await _run(_compiled(doc, registry), _seam(client))
    finally:
        del sys.modules[module.__name__]
    assert result.status == "failed"
    error = result.nodes["s"].error
    assert error.startswith("node type 'test.stranded' cannot be loaded on cluster worker "
                            "tcp://127.0.0.1:")
    assert "flowloom_only_here" in error


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.asyncio
async def test_cancel_stops_the_remote_task_and_its_process(tmp_path, client):
    pid_file = tmp_path / "pid"
    code = (f"import os, pathlib, time\npathlib.Path({str(pid_file)!r}).write_text("
            f"str(os.getpid()))\ntime.sleep(60)\nresult = 1")
    doc = {"format": "flowloom.workflow", "version": 1, "name": "long",
           "nodes": [{"id": "py", "type": "code.python", "params": {"code": code,
                                                                   "timeout_s": 90}}]}
    registry = default_registry()
    run = Run(_compiled(doc, registry), seam=_seam(client))
    async with asyncio.timeout(60):
        task = asyncio.ensure_future(run.execute())
        while not pid_file.exists() or not pid_file.read_text():
            await asyncio.sleep(0.05)
        child = int(pid_file.read_text())
        assert child not in _workers(client).values()  # code.python's own child, on a worker
        run.cancel()
        result = await task
        assert result.status == "cancelled"
        while not _gone(child):  # the worker ended it: no orphan keeps computing
            await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_a_worker_killed_mid_run_is_survived(tmp_path):
    registry = _registry(tmp_path)
    doc = foreach_doc(24, step={"type": "user.churn", "params": {"ms": 150}}, parallel=4)
    import distributed  # noqa: PLC0415

    with start_cluster() as cluster, distributed.Client(cluster, set_as_default=False) as c:
        c.wait_for_workers(2, timeout=60)
        pids = _workers(c)
        events: list = []
        run = Run(_compiled(doc, registry), seam=_seam(c))
        run.subscribe(events.append)
        async with asyncio.timeout(120):
            task = asyncio.ensure_future(run.execute())
            while sum(type(e).__name__ == "NodeFinished" and e.node_id == "step"
                      for e in events) < 2:
                await asyncio.sleep(0.05)
            victim = sorted(pids.values())[0]
            psutil.Process(victim).kill()
            t_kill = time.monotonic()
            result = await task
        assert result.ok, result.error
        assert result.outputs["r"] == [x * x + 1 for x in range(24)]
        assert _gone(victim)
        assert time.monotonic() - t_kill < 110


@pytest.mark.asyncio
async def test_grants_and_secrets_reach_the_worker_and_nothing_more(tmp_path, client):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "in.txt").write_text("inside", encoding="utf-8")
    (tmp_path / "out.txt").write_text("outside", encoding="utf-8")
    secret = "sekr1t-for-peek"
    services = Services(secrets={"api": secret}.get,
                        grants=Grants(read=frozenset({str(allowed)}), run=EVERYTHING))
    registry = _registry(tmp_path)

    def doc(path: Path) -> dict:
        return {"format": "flowloom.workflow", "version": 1, "name": "peek",
                "nodes": [{"id": "p", "type": "data.value", "params": {"value": str(path)}},
                          {"id": "peek", "type": "user.peek",
                           "params": {"key_secret": "api"}},
                          {"id": "out", "type": "flow.output", "params": {"name": "r"}}],
                "edges": [{"source": "p", "source_port": "out", "target": "peek",
                           "target_port": "in"},
                          {"source": "peek", "source_port": "out", "target": "out",
                           "target_port": "in"}]}

    events: list = []
    run = Run(_compiled(doc(allowed / "in.txt"), registry), services=services,
              seam=_seam(client))
    run.subscribe(events.append)
    async with asyncio.timeout(60):
        inside = await run.execute()
    assert inside.ok, inside.error
    assert inside.outputs["r"]["text"] == "inside"
    assert inside.outputs["r"]["key_length"] == len(secret)
    assert inside.outputs["r"]["pid"] in set(_workers(client).values())
    logs = [e.message for e in events if isinstance(e, NodeLogged)]
    assert "worker saw key ••••••" in logs
    assert secret not in repr(events)

    run = Run(_compiled(doc(tmp_path / "out.txt"), registry), services=services,
              seam=_seam(client))
    async with asyncio.timeout(60):
        outside = await run.execute()
    assert outside.status == "failed"
    assert "is not allowed for this run (allow it with --allow-read=" in \
        outside.nodes["peek"].error


@pytest.mark.asyncio
async def test_timeouts_and_retries_of_a_cluster_node_read_as_locally(tmp_path, client):
    code = "import time\ntime.sleep(30)\nresult = 1"
    doc = {"format": "flowloom.workflow", "version": 1, "name": "slow",
           "nodes": [{"id": "py", "type": "code.python", "params": {"code": code},
                      "timeout_s": 1.5, "retry": {"max_attempts": 2, "backoff_s": 0.01}}]}
    registry = default_registry()
    remote_events: list = []
    t0 = time.monotonic()
    remote = await _run(_compiled(doc, registry), _seam(client), remote_events, timeout=60)
    took = time.monotonic() - t0
    local = await _run(_compiled(doc, registry), timeout=60)
    for result in (remote, local):
        nr = result.nodes["py"]
        assert (nr.status, nr.attempts, nr.error) == ("failed", 2, "timed out after 1.5 s")
    assert took < 20  # two 1.5 s attempts, not two 30 s sleeps
    kinds = [type(e).__name__ for e in remote_events if getattr(e, "node_id", "") == "py"
             and type(e).__name__ != "NodeLogged"]
    assert kinds == ["NodeStarted", "NodeRetrying", "NodeStarted", "NodeFailed"]


@pytest.mark.asyncio
async def test_a_remote_nodes_progress_and_logs_arrive_while_it_runs_and_once(tmp_path, client):
    go = tmp_path / "go"
    registry = _registry(tmp_path)
    doc = {"format": "flowloom.workflow", "version": 1, "name": "hold",
           "nodes": [{"id": "p", "type": "data.value", "params": {"value": str(go)}},
                     {"id": "w", "type": "user.hold"},
                     {"id": "out", "type": "flow.output", "params": {"name": "r"}}],
           "edges": [{"source": "p", "source_port": "out", "target": "w", "target_port": "in"},
                     {"source": "w", "source_port": "out", "target": "out",
                      "target_port": "in"}]}
    events: list = []
    run = Run(_compiled(doc, registry), seam=_seam(client))
    run.subscribe(events.append)
    async with asyncio.timeout(60):
        task = asyncio.ensure_future(run.execute())
        while not any(isinstance(e, NodeProgressed) and e.node_id == "w" for e in events):
            assert not task.done(), task.result().error
            await asyncio.sleep(0.02)
        # the node is still waiting on its worker: what it said came while it ran
        assert not any(type(e).__name__ == "NodeFinished" and e.node_id == "w" for e in events)
        go.write_text("go", encoding="utf-8")
        result = await task
    assert result.ok, result.error
    assert result.outputs["r"] is True
    said = [(type(e).__name__, getattr(e, "message", "")) for e in events
            if getattr(e, "node_id", "") == "w" and isinstance(e, (NodeProgressed, NodeLogged))
            and not e.message.startswith("ran on cluster worker")]
    assert said == [("NodeProgressed", "half way"), ("NodeLogged", "waiting for the go file")]
