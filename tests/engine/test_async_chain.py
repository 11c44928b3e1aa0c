"""Task nodes started by the task that made them ready (engine/scheduler.py `_start_tasks_here`):
one event-loop pass a node in a chain, the same events in the same order, each task in the
scope's context, and a cancel or failure still stops the chain where it is."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

from engine import Registry, Run
from engine import events as ev
from engine.context import Services
from engine.nodetype import NodeType, Port

from .helpers import Probe, compile_test, run_sync, test_registry, workflow

# What the context test's nodes write and read: a context variable is per task by design.
MARK: contextvars.ContextVar[str | None] = contextvars.ContextVar("test_mark", default=None)


class Mark(NodeType):
    """Sets MARK in its own task's context (and leaves it set), then passes `in` on."""

    type_id = "test.mark"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        MARK.set(ctx.node_id)
        return {"out": inputs.get("in")}


class ReadMark(NodeType):
    """Gives the MARK its task sees."""

    type_id = "test.read_mark"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        return {"out": MARK.get()}


def _registry() -> Registry:
    registry = test_registry()
    registry.register(Mark)
    registry.register(ReadMark)
    return registry


def delay_chain(n: int, seconds: float = 0):
    nodes: dict[str, Any] = {"d0": ("data.value", {"value": 1})}
    nodes.update({f"d{i}": ("util.delay", {"seconds": seconds}) for i in range(1, n)})
    return workflow(nodes, [f"d{i - 1}.out -> d{i}.in" for i in range(1, n)])


async def _count_passes(until: asyncio.Future[Any]) -> int:
    """Event-loop passes until `until` is done: a callback that schedules itself again runs
    once a pass."""
    loop = asyncio.get_running_loop()
    passes = [0]

    def tick() -> None:
        passes[0] += 1
        if not until.done():
            loop.call_soon(tick)

    loop.call_soon(tick)
    await until
    return passes[0]


@pytest.mark.asyncio
async def test_a_chain_of_task_nodes_takes_one_event_loop_pass_a_node():
    n = 300
    run = Run(compile_test(delay_chain(n)))
    run.subscribe(lambda event: None)
    async with asyncio.timeout(20):
        task = asyncio.ensure_future(run.execute())
        passes = await _count_passes(task)
    assert task.result().ok
    # the scope's loop woke for every node before: two passes a node
    assert passes <= n + 20, passes


def test_a_chain_of_task_nodes_gives_each_node_its_events_in_order():
    n = 50
    outcome = run_sync(delay_chain(n))
    assert outcome.result.ok
    node_events = [(type(e).__name__, e.node_id) for e in outcome.events
                   if isinstance(e, ev.NodeStarted | ev.NodeFinished)]
    expected = [(kind, f"d{i}") for i in range(n) for kind in ("NodeStarted", "NodeFinished")]
    assert node_events == expected
    assert outcome.output(f"d{n - 1}") == 1
    assert isinstance(outcome.events[0], ev.RunStarted)
    assert isinstance(outcome.events[-1], ev.RunFinished)


def test_a_context_variable_a_node_sets_does_not_reach_the_node_it_made_ready():
    wf = workflow({"v": ("data.value", {"value": 1}), "mark": ("test.mark", {}),
                   "read": ("test.read_mark", {})},
                  ["v.out -> mark.in", "mark.out -> read.in"])
    outcome = run_sync(wf, registry=_registry())
    assert outcome.result.ok
    assert outcome.output("read") is None


@pytest.mark.asyncio
async def test_cancelling_a_chain_of_nodes_that_never_wait_stops_it_where_it_is():
    n = 2000
    run = Run(compile_test(delay_chain(n)))
    events: list = []
    begun_at_cancel: list[int] = []

    def begun() -> int:
        return sum(nr.started_t is not None for nr in run.state.values())

    def watch(event: Any) -> None:
        events.append(event)
        if isinstance(event, ev.NodeFinished) and event.node_id == "d100":
            begun_at_cancel.append(begun())
            run.cancel()

    run.subscribe(watch)
    before = asyncio.all_tasks()
    async with asyncio.timeout(20):
        result = await run.execute()
    assert result.status == "cancelled"
    assert asyncio.all_tasks() == before
    assert begun() - begun_at_cancel[0] <= 2  # what was already on its way, nothing more
    statuses = [result.nodes[f"d{i}"].status for i in range(n)]
    assert set(statuses) == {"succeeded", "cancelled"}
    assert statuses.count("succeeded") < n / 2
    assert isinstance(events[-1], ev.RunFinished) and events[-1].status == "cancelled"


def test_a_failure_in_a_chain_of_task_nodes_skips_the_rest_and_fails_the_run():
    nodes: dict[str, Any] = {"d0": ("data.value", {"value": 1})}
    nodes.update({f"d{i}": ("util.delay", {"seconds": 0}) for i in range(1, 10)})
    nodes["d5"] = ("test.fail", {})
    wf = workflow(nodes, [f"d{i - 1}.out -> d{i}.in" for i in range(1, 10)])
    outcome = run_sync(wf)
    assert outcome.result.status == "failed"
    assert [outcome.status(f"d{i}") for i in range(10)] == (
        ["succeeded"] * 5 + ["failed"] + ["skipped"] * 4)
    assert not outcome.of(ev.NodeStarted, "d6")


@pytest.mark.asyncio
async def test_events_that_come_faster_than_flush_s_share_batches_in_order():
    n = 2000
    run = Run(compile_test(delay_chain(n)))
    batches: list[list[Any]] = []
    single: list[Any] = []
    run.subscribe(batches.append, batched=True)
    run.subscribe(single.append)
    async with asyncio.timeout(20):
        result = await run.execute()
    assert result.ok
    assert [e for batch in batches for e in batch] == single
    assert len(single) == 2 * n + 2
    # one batch a node (a turn each) before: now one every FLUSH_S
    assert len(batches) < n / 4, len(batches)


@pytest.mark.asyncio
async def test_a_lone_event_is_delivered_while_its_node_still_runs():
    wf = workflow({"v": ("data.value", {"value": 1}), "s": ("test.sleep", {"seconds": 0.5})},
                  ["v.out -> s.in"])
    probe = Probe()
    run = Run(compile_test(wf), services=Services(extra={"probe": probe}))
    seen: list[tuple[str, int]] = []
    run.subscribe(lambda event: seen.append((type(event).__name__, probe.in_flight)))
    async with asyncio.timeout(20):
        result = await run.execute()
    assert result.ok
    assert ("NodeStarted", 1) in seen  # s's start arrived before s ended
