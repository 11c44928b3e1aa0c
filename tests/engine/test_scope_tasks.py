"""The scope keeps its tasks by asyncio.TaskGroup's rules without a TaskGroup (engine/scheduler.py
`_spawn`, `_task_failed`, `_stop_tasks`): no done callback a node, the same outcomes. Each case
here gave these results with the TaskGroup the scope used before."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine import Run
from engine import events as ev
from engine.context import Services
from engine.scheduler import Scope

from .helpers import Probe, compile_test, workflow

GROUP_ERROR = ("the run stopped on an unexpected error: ExceptionGroup: unhandled errors in a "
               "TaskGroup (1 sub-exception)")


def _break_bookkeeping_of(monkeypatch: pytest.MonkeyPatch, node_id: str) -> None:
    """Make an exception escape the bookkeeping around `node_id` (its end, then the code that
    would fail the node for it): a bug the scope must still stop cleanly on."""
    finish_ok = Scope._finish_ok
    bookkeeping_failed = Scope._bookkeeping_failed

    def broken_finish(self: Scope, pn: Any, *args: Any, **kwargs: Any) -> None:
        if pn.id == node_id:
            raise RuntimeError("finish broke")
        finish_ok(self, pn, *args, **kwargs)

    def broken_bookkeeping(self: Scope, pn: Any, exc: Exception) -> None:
        if pn.id == node_id:
            raise RuntimeError("bookkeeping broke")
        bookkeeping_failed(self, pn, exc)

    monkeypatch.setattr(Scope, "_finish_ok", broken_finish)
    monkeypatch.setattr(Scope, "_bookkeeping_failed", broken_bookkeeping)


async def _run(wf: Any) -> tuple[Any, list[Any], set[asyncio.Task[Any]]]:
    run = Run(compile_test(wf), services=Services(extra={"probe": Probe()}))
    events: list[Any] = []
    run.subscribe(events.append)
    before = asyncio.all_tasks()
    async with asyncio.timeout(20):
        result = await run.execute()
    return result, events, asyncio.all_tasks() - before


@pytest.mark.asyncio
async def test_an_error_escaping_a_task_cancels_its_siblings_and_fails_the_run(monkeypatch):
    _break_bookkeeping_of(monkeypatch, "bad")
    wf = workflow({"v": ("data.value", {"value": 1}), "bad": ("util.delay", {"seconds": 0}),
                   "slow": ("test.sleep", {"seconds": 10}), "after": ("util.delay", {})},
                  ["v.out -> bad.in", "v.out -> slow.in", "slow.out -> after.in"])
    result, events, left = await _run(wf)
    assert not left
    assert result.status == "failed"
    assert result.error == GROUP_ERROR
    assert [result.nodes[n].status for n in ("v", "bad", "after")] == [
        "succeeded", "skipped", "skipped"]
    # cancelled as it sleeps; or before it began, if the scope's loop gave the loop a turn
    # between starting `bad` and `slow` (a slice of inline work ran out)
    slow = result.nodes["slow"]
    assert slow.status == "cancelled" or (slow.status == "skipped" and slow.started_t is None)
    assert slow.duration_s < 5
    cancelled = [e.node_id for e in events if isinstance(e, ev.NodeCancelled)]
    assert cancelled == (["slow"] if slow.status == "cancelled" else [])
    assert isinstance(events[-1], ev.RunFinished) and events[-1].status == "failed"


@pytest.mark.asyncio
async def test_a_task_started_in_the_pass_an_error_escaped_is_cancelled_before_it_runs(
        monkeypatch):
    # `bad` and `a` run in one pass; `a` starts `z`, whose first step comes after the group
    # learnt of the error: `z` never begins (a TaskGroup's done callback came at that point)
    _break_bookkeeping_of(monkeypatch, "bad")
    wf = workflow({"v": ("data.value", {"value": 1}), "bad": ("util.delay", {"seconds": 0}),
                   "a": ("util.delay", {"seconds": 0}), "z": ("util.delay", {"seconds": 0})},
                  ["v.out -> bad.in", "v.out -> a.in", "a.out -> z.in"])
    result, events, left = await _run(wf)
    assert not left
    assert result.error == GROUP_ERROR
    assert [result.nodes[n].status for n in ("v", "bad", "a", "z")] == [
        "succeeded", "skipped", "succeeded", "skipped"]
    assert not [e for e in events if isinstance(e, ev.NodeStarted) and e.node_id == "z"]


@pytest.mark.asyncio
async def test_the_last_task_failing_still_fails_the_run_with_the_group_error(monkeypatch):
    _break_bookkeeping_of(monkeypatch, "bad")
    wf = workflow({"v": ("data.value", {"value": 1}), "bad": ("util.delay", {"seconds": 0})},
                  ["v.out -> bad.in"])
    result, _, left = await _run(wf)
    assert not left
    assert result.status == "failed" and result.error == GROUP_ERROR


@pytest.mark.asyncio
async def test_cancelling_a_run_cancels_every_task_and_waits_for_them():
    wf = workflow({"v": ("data.value", {"value": 1}),
                   **{f"s{i}": ("test.sleep", {"seconds": 10}) for i in range(20)}},
                  [f"v.out -> s{i}.in" for i in range(20)])
    run = Run(compile_test(wf), services=Services(extra={"probe": Probe()}))
    events: list[Any] = []

    def watch(event: Any) -> None:
        events.append(event)
        if isinstance(event, ev.NodeStarted) and event.node_id == "s19":
            run.cancel()

    run.subscribe(watch)
    before = asyncio.all_tasks()
    async with asyncio.timeout(20):
        result = await run.execute()
    assert asyncio.all_tasks() == before
    assert result.status == "cancelled"
    assert {result.nodes[f"s{i}"].status for i in range(20)} == {"cancelled"}
    assert len([e for e in events if isinstance(e, ev.NodeCancelled)]) == 20


@pytest.mark.asyncio
async def test_a_run_cancelled_by_its_caller_passes_the_cancel_on():
    wf = workflow({"v": ("data.value", {"value": 1}), "s": ("test.sleep", {"seconds": 10})},
                  ["v.out -> s.in"])
    run = Run(compile_test(wf), services=Services(extra={"probe": Probe()}))
    started = asyncio.Event()
    run.subscribe(lambda e: started.set() if isinstance(e, ev.NodeStarted)
                  and e.node_id == "s" else None)
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(run.execute())
    async with asyncio.timeout(20):
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert asyncio.all_tasks() == before
    assert run.state["s"].status == "cancelled"
