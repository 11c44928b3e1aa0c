"""How a cluster node's reply comes back: pushed on the session's topic when small and free of
secrets (no gather), fetched otherwise; and the scheduler forgets the pushed ones at the end."""

from __future__ import annotations

import asyncio
import json
import pickle
from pathlib import Path

import distributed
import pytest
from distributed.diagnostics.plugin import SchedulerPlugin

from engine import Run, compile_workflow
from engine.dask_backend import DaskExecution
from engine.dask_worker import PUSH_BYTES
from engine.fileformat import loads
from engine.seam import PlacedSeam
from nodes import default_registry
from nodes.plugins import load_folder
from tests.scaleout.support import foreach_doc, write_plugin

TOPIC = "flowloom-events-"


class _Seen(SchedulerPlugin):
    """Every event the scheduler's broker publishes, as the scheduler sees it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def log_event(self, topic, msg) -> None:  # on the scheduler's loop
        if str(topic).startswith(TOPIC):
            self.events.append((topic, msg))


@pytest.fixture
def seen(cluster):
    plugin = _Seen()
    cluster.scheduler.add_plugin(plugin, name="flowloom-test-seen")
    yield plugin
    cluster.scheduler.remove_plugin(name="flowloom-test-seen")


@pytest.fixture
def gathers(monkeypatch):
    """How many times a client fetched results (spied on, still fetched for real)."""
    count = [0]
    original = distributed.Client._gather

    def counting(self, *args, **kwargs):
        count[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(distributed.Client, "_gather", counting)
    return count


def _compiled(doc: dict, tmp_path: Path):
    registry = default_registry()
    load_folder(registry, write_plugin(tmp_path / "nodes").parent)
    loaded = loads(json.dumps(doc), registry)
    assert not loaded.errors, loaded.problems
    return compile_workflow(loaded.workflow, registry)


def _single(step: dict) -> dict:
    return {"format": "flowloom.workflow", "version": 1, "name": "one",
            "nodes": [{"id": "v", "type": "data.value", "params": {"value": 3}},
                      {"id": "step", **step},
                      {"id": "out", "type": "flow.output", "params": {"name": "r"}}],
            "edges": [{"source": "v", "source_port": "out", "target": "step",
                       "target_port": "in"},
                      {"source": "step", "source_port": "out", "target": "out",
                       "target_port": "in"}]}


async def _run(compiled, client):
    run = Run(compiled, seam=PlacedSeam(DaskExecution(client.scheduler.address)))
    async with asyncio.timeout(120):
        return await run.execute()


def _pushed(seen: _Seen) -> list[dict]:
    return [msg for _, msg in seen.events if isinstance(msg, dict) and "reply" in msg]


@pytest.mark.asyncio
async def test_small_replies_are_pushed_not_fetched_and_forgotten_after_the_run(
        tmp_path, cluster, client, seen, gathers):
    doc = foreach_doc(20, step={"type": "user.churn", "params": {"ms": 0}}, parallel=4)
    result = await _run(_compiled(doc, tmp_path), client)
    assert result.ok, result.error
    assert result.outputs["r"] == [x * x + 1 for x in range(20)]
    pushed = _pushed(seen)
    assert len(pushed) == 20
    assert {pickle.loads(m["reply"])["outputs"]["out"] for m in pushed} == \
        {x * x + 1 for x in range(20)}
    assert gathers[0] == 0  # not one reply was fetched
    topics = {topic for topic, _ in seen.events}
    assert topics and all(cluster.scheduler.get_events(t) == () for t in topics)


@pytest.mark.asyncio
async def test_a_reply_too_large_to_push_is_fetched(tmp_path, client, seen, gathers):
    result = await _run(_compiled(_single({"type": "user.blob", "params": {"kb": 64}}),
                                  tmp_path), client)
    assert result.ok, result.error
    assert len(result.outputs["r"]) == 64 * 1024 > PUSH_BYTES
    assert result.outputs["r"][0] == 3
    assert _pushed(seen) == []
    assert gathers[0] >= 1


@pytest.mark.asyncio
async def test_a_reply_naming_a_new_secret_never_reaches_the_scheduler(
        tmp_path, client, seen, gathers):
    token = "minted-sekr1t-4411"
    step = {"type": "user.mint", "params": {"token": token}}
    result = await _run(_compiled(_single(step), tmp_path), client)
    assert result.ok, result.error
    assert result.outputs["r"] == len(token)
    assert _pushed(seen) == []
    assert gathers[0] >= 1
    assert token.encode() not in pickle.dumps(seen.events)
