"""Executor runtime behaviour: retries, timeouts, the concurrency cap, worker threads,
cancellation, inputs, and the event stream subscribers see."""

from __future__ import annotations

import asyncio
import threading

import pytest

from engine import InputError, Run
from engine import events as ev
from engine.context import Services

from .helpers import Probe, compile_test, run_sync, workflow

RETRY = {"max_attempts": 3, "backoff_s": 0.01, "factor": 2}


def fan_out(node_type: str, count: int, params: dict | None = None, settings=None):
    nodes = {"v": ("data.value", {"value": 1})}
    edges = []
    for i in range(count):
        nodes[f"n{i}"] = (node_type, params or {}, settings or {})
        edges.append(f"v.out -> n{i}.in")
    return workflow(nodes, edges)


# --- retries and timeouts --------------------------------------------------------------------
def test_a_retried_node_succeeds_on_attempt_three():
    wf = workflow({"v": ("data.value", {"value": "x"}),
                   "flaky": ("test.flaky", {"failures": 2}, {"retry": RETRY})},
                  ["v.out -> flaky.in"])
    outcome = run_sync(wf)
    assert outcome.result.ok
    assert outcome.output("flaky") == {"value": "x", "attempt": 3}
    assert outcome.result.nodes["flaky"].attempts == 3
    assert [e.attempt for e in outcome.of(ev.NodeStarted, "flaky")] == [1, 2, 3]
    retrying = outcome.of(ev.NodeRetrying, "flaky")
    assert [(e.attempt, e.error) for e in retrying] == [
        (1, "flaky failure on attempt 1"), (2, "flaky failure on attempt 2")]
    # exponential backoff with jitter: half the base delay plus up to another half
    assert 0.005 <= retrying[0].delay_s <= 0.01
    assert 0.01 <= retrying[1].delay_s <= 0.02
    assert not outcome.of(ev.NodeFailed)


def test_a_node_that_keeps_failing_fails_after_its_last_attempt():
    wf = workflow({"flaky": ("test.flaky", {"failures": 9}, {"retry": RETRY})}, [])
    outcome = run_sync(wf)
    assert outcome.result.status == "failed"
    (failed,) = outcome.of(ev.NodeFailed, "flaky")
    assert failed.attempts == 3 and failed.error == "flaky failure on attempt 3"
    assert outcome.result.nodes["flaky"].attempts == 3
    assert len(outcome.of(ev.NodeRetrying, "flaky")) == 2


def test_every_attempt_gets_the_original_input():
    wf = workflow({"v": ("data.value", {"value": [{"n": 1}]}),
                   "m": ("test.mutate", {"failures": 2}, {"retry": RETRY})},
                  ["v.out -> m.in"])
    outcome = run_sync(wf)
    assert outcome.result.ok
    assert outcome.output("m") == [{"n": 1, "touched": True}, "mutated"]


def test_a_node_over_its_timeout_fails_with_timed_out():
    wf = workflow({"hang": ("test.hang", {}, {"timeout_s": 0.05})}, [])
    outcome = run_sync(wf)
    assert outcome.result.status == "failed"
    assert outcome.result.nodes["hang"].error == "timed out after 0.05 s"
    assert outcome.probe.cancelled == ["hang"]


def test_a_timeout_is_per_attempt_and_retried():
    wf = workflow({"hang": ("test.hang", {}, {"timeout_s": 0.02,
                                             "retry": {"max_attempts": 2, "backoff_s": 0}})}, [])
    outcome = run_sync(wf)
    assert outcome.result.nodes["hang"].attempts == 2
    assert [e.error for e in outcome.of(ev.NodeRetrying)] == ["timed out after 0.02 s"]
    assert outcome.result.nodes["hang"].error == "timed out after 0.02 s"


def test_a_timeout_error_raised_by_the_node_itself_is_not_reported_as_its_timeout():
    wf = workflow({"f": ("test.fail", {"message": "socket read", "timeout_error": True},
                         {"timeout_s": 30})}, [])
    outcome = run_sync(wf)
    assert outcome.result.nodes["f"].error == "TimeoutError: socket read"


def test_a_timeout_on_a_loop_node_cancels_its_body():
    wf = workflow({"v": ("data.value", {"value": [1, 2, 3]}),
                   "loop": ("flow.foreach", {"parallel": 3}, {"timeout_s": 0.05}),
                   "hang": ("test.hang", {})},
                  ["v.out -> loop.items", "loop.item -> hang.in", "hang.out -> loop.result"])
    outcome = run_sync(wf)
    assert outcome.result.nodes["loop"].error == "timed out after 0.05 s"
    assert sorted(outcome.probe.cancelled) == ["hang", "hang", "hang"]


# --- concurrency and threads -----------------------------------------------------------------
def test_the_run_wide_concurrency_cap_is_respected():
    outcome = run_sync(fan_out("test.sleep", 9, {"seconds": 0.01}), concurrency=3)
    assert outcome.result.ok
    assert outcome.probe.max_in_flight == 3
    assert len(outcome.probe.started) == 9


def test_without_a_cap_every_ready_node_runs_at_once():
    outcome = run_sync(fan_out("test.sleep", 9, {"seconds": 0.02}))
    assert outcome.probe.max_in_flight == 9


def test_the_cap_holds_inside_a_parallel_foreach():
    wf = workflow({"v": ("data.value", {"value": list(range(8))}),
                   "loop": ("flow.foreach", {"parallel": 8}),
                   "s": ("test.sleep", {"seconds": 0.01})},
                  ["v.out -> loop.items", "loop.item -> s.in", "s.out -> loop.result"])
    outcome = run_sync(wf, concurrency=2)
    assert outcome.result.outputs == {} and outcome.result.ok
    assert outcome.probe.max_in_flight == 2
    assert outcome.output("loop", "results") == list(range(8))


def test_blocking_code_runs_in_a_thread_while_the_loop_keeps_going():
    wf = workflow({"block": ("test.block", {"seconds": 0.3}),
                   "tick": ("test.ticker", {"seconds": 0.05})}, [])
    outcome = run_sync(wf)
    assert outcome.output("block") != threading.get_ident()
    assert outcome.started("block").t <= outcome.started("tick").t
    assert outcome.finished("tick").t < outcome.finished("block").t
    assert outcome.output("tick") >= 1
    (progress,) = outcome.of(ev.NodeProgressed, "block")  # reported from the worker thread
    assert (progress.fraction, progress.message) == (0.25, "blocking")


# --- cancellation ----------------------------------------------------------------------------
async def _until(predicate, limit_s: float = 5.0) -> None:
    async with asyncio.timeout(limit_s):
        while not predicate():
            await asyncio.sleep(0.002)


def _cancellable():
    return workflow({"v": ("data.value", {"value": [1, 2, 3, 4]}),
                     "loop": ("flow.foreach", {"parallel": 2}),
                     "inner": ("test.hang", {}),
                     "h1": ("test.hang", {}), "h2": ("test.sleep", {"seconds": 60}),
                     "after": ("data.expression", {"expr": "x"})},
                    ["v.out -> loop.items", "loop.item -> inner.in", "inner.out -> loop.result",
                     "v.out -> h1.in", "v.out -> h2.in", "h1.out -> after.x"])


@pytest.mark.asyncio
async def test_cancelling_mid_run_leaves_no_task_behind_and_ends_cancelled():
    async with asyncio.timeout(10):
        before = asyncio.all_tasks()
        probe = Probe()
        run = Run(compile_test(_cancellable()), services=Services(extra={"probe": probe}))
        events: list = []
        run.subscribe(events.append)
        task = asyncio.create_task(run.execute())
        await _until(lambda: probe.in_flight == 4)
        run.cancel()
        result = await task
        assert asyncio.all_tasks() == before
        assert result.status == "cancelled" and result.error == "the run was cancelled"
        assert sorted(probe.cancelled) == ["h1", "h2", "inner", "inner"]
        assert probe.in_flight == 0
        assert result.nodes["after"].status == "cancelled"
        assert result.nodes["h1"].status == "cancelled"
        finished = [e for e in events if isinstance(e, ev.RunFinished)]
        assert len(finished) == 1 and finished[0].status == "cancelled"
        assert events[-1] is finished[0]
        cancelled_ids = {e.node_id for e in events if isinstance(e, ev.NodeCancelled)}
        assert {"h1", "h2", "inner", "loop", "after"} <= cancelled_ids


@pytest.mark.asyncio
async def test_cancel_from_a_callback_while_execute_is_awaited_directly():
    async with asyncio.timeout(10):
        probe = Probe()
        run = Run(compile_test(_cancellable()), services=Services(extra={"probe": probe}))
        asyncio.get_running_loop().call_later(0.05, run.cancel)
        result = await run.execute()
        assert result.status == "cancelled"
        await asyncio.sleep(0)  # this task was not left cancelled: it can still await
        assert probe.in_flight == 0


@pytest.mark.asyncio
async def test_cancel_after_the_run_ended_does_not_cancel_the_caller():
    async with asyncio.timeout(10):
        run = Run(compile_test(workflow({"v": ("data.value", {"value": 1})}, [])))
        result = await run.execute()
        run.cancel()
        await asyncio.sleep(0.01)  # would raise CancelledError if the caller were cancelled
        assert result.ok


@pytest.mark.asyncio
async def test_cancel_before_execute_ends_cancelled_without_running_anything():
    async with asyncio.timeout(10):
        events: list = []
        run = Run(compile_test(workflow({"v": ("data.value", {"value": 1})}, [])))
        run.subscribe(events.append)
        run.cancel()
        result = await run.execute()
        assert result.status == "cancelled"
        assert [type(e) for e in events] == [ev.RunStarted, ev.NodeCancelled, ev.RunFinished]


@pytest.mark.asyncio
async def test_cancelling_the_caller_propagates_and_still_cleans_up():
    async with asyncio.timeout(10):
        before = asyncio.all_tasks()
        probe = Probe()
        run = Run(compile_test(_cancellable()), services=Services(extra={"probe": probe}))
        task = asyncio.create_task(run.execute())
        await _until(lambda: probe.in_flight == 4)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert asyncio.all_tasks() == before
        assert probe.in_flight == 0


# --- inputs and runs -------------------------------------------------------------------------
def _with_inputs():
    return workflow({"start": ("flow.start", {"inputs": {"a": 1, "b": "two"}}),
                     "out": ("flow.output", {"name": "seen"})}, ["start.out -> out.in"])


def test_run_inputs_override_the_start_defaults():
    outcome = run_sync(_with_inputs(), {"a": 5})
    assert outcome.result.outputs == {"seen": {"a": 5, "b": "two"}}
    (started,) = outcome.of(ev.RunStarted)
    assert started.inputs == {"a": 5, "b": "two"} and started.workflow == "test"


def test_an_unknown_input_is_refused_naming_the_known_ones():
    with pytest.raises(InputError) as info:
        Run(compile_test(_with_inputs()), {"c": 1})
    assert "unknown input 'c'" in str(info.value) and "a, b" in str(info.value)


def test_a_run_executes_once():
    run = Run(compile_test(workflow({"v": ("data.value", {})}, [])))
    asyncio.run(run.execute())
    with pytest.raises(RuntimeError):
        asyncio.run(run.execute())


def test_the_result_serialises_to_the_cli_json_shape():
    outcome = run_sync(workflow({"v": ("data.value", {"value": 2}),
                                 "check": ("flow.if", {"condition": "x > 5"}),
                                 "t": ("data.expression", {}),
                                 "o": ("flow.output", {"name": "r"})},
                                ["v.out -> check.in", "check.true -> t.x", "v.out -> o.in"]))
    data = outcome.result.to_json()
    assert data["status"] == "succeeded" and data["outputs"] == {"r": 2}
    assert data["nodes"]["v"]["status"] == "succeeded" and data["nodes"]["v"]["attempts"] == 1
    assert data["nodes"]["t"]["reason"] == "branch 'true' of check was not taken"


@pytest.mark.asyncio
async def test_cancel_may_be_called_from_another_thread():
    async with asyncio.timeout(10):
        probe = Probe()
        run = Run(compile_test(_cancellable()), services=Services(extra={"probe": probe}))
        task = asyncio.create_task(run.execute())
        await _until(lambda: probe.in_flight == 4)
        await asyncio.to_thread(run.cancel)
        result = await task
        assert result.status == "cancelled" and probe.in_flight == 0


def test_a_node_failing_while_the_run_is_failing_is_not_retried():
    wf = workflow({"v": ("data.value", {"value": 1}),
                   "bad": ("test.fail", {"message": "first"}),
                   "late": ("test.fail", {"message": "second", "seconds": 0.03},
                            {"retry": {"max_attempts": 5, "backoff_s": 0}})},
                  ["v.out -> bad.in", "v.out -> late.in"])
    outcome = run_sync(wf)
    assert outcome.result.error == "node bad failed: first (input 1)"
    assert outcome.result.nodes["late"].attempts == 1
    assert outcome.of(ev.NodeRetrying) == []
