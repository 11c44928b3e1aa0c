"""The event stream: its order and shape, batched and failing subscribers, unsubscribing."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from engine import Run
from engine import events as ev

from .helpers import compile_test, run_sync, workflow

NODE_END = (ev.NodeFinished, ev.NodeFailed, ev.NodeSkipped, ev.NodeCancelled)


def mixed():
    """A bit of everything: an if with a skipped side, a merge, a loop with a retry inside."""
    return workflow(
        {"v": ("data.value", {"value": [1, 2, 3]}),
         "check": ("flow.if", {"condition": "len(x) > 5"}),
         "never": ("data.expression", {"expr": "x"}),
         "loop": ("flow.foreach", {"parallel": 2}),
         "flaky": ("test.flaky", {"failures": 1},
                   {"retry": {"max_attempts": 2, "backoff_s": 0}}),
         "talk": ("test.talk", {}),
         "join": ("flow.merge", {}),
         "out": ("flow.output", {"name": "r"})},
        ["v.out -> check.in", "check.true -> never.x", "v.out -> loop.items",
         "loop.item -> flaky.in", "flaky.out -> talk.in", "talk.out -> loop.result",
         "never.out -> join.in", "loop.results -> join.in", "join.out -> out.in"])


def _check_sequence(events):
    assert isinstance(events[0], ev.RunStarted)
    assert isinstance(events[-1], ev.RunFinished)
    assert sum(isinstance(e, ev.RunFinished) for e in events) == 1
    assert sum(isinstance(e, ev.RunStarted) for e in events) == 1
    times = [e.t for e in events]
    assert times == sorted(times), "timestamps are monotonic in delivery order"
    open_runs: dict[tuple, int] = {}
    ended: set[tuple] = set()
    for e in events[1:-1]:
        key = (e.node_id, e.iteration)
        if isinstance(e, ev.NodeStarted):
            assert key not in ended, f"{key} started after it ended"
            open_runs[key] = open_runs.get(key, 0) + 1
        elif isinstance(e, (ev.NodeProgressed, ev.NodeLogged, ev.NodeRetrying)):
            assert open_runs.get(key), f"{type(e).__name__} of {key} outside a run of it"
        elif isinstance(e, (ev.NodeFinished, ev.NodeFailed)):
            assert open_runs.get(key), f"{key} ended without starting"
            assert key not in ended, f"{key} ended twice"
            ended.add(key)
        elif isinstance(e, ev.NodeSkipped):
            assert not open_runs.get(key), f"{key} was skipped after it started"
            ended.add(key)
    return ended


def test_a_run_publishes_a_well_formed_sequence_of_events():
    outcome = run_sync(mixed())
    assert outcome.result.ok
    ended = _check_sequence(outcome.events)
    for node_id in ("v", "check", "never", "loop", "join", "out"):
        assert (node_id, ()) in ended
    for i in range(3):
        assert ("flaky", (i,)) in ended and ("talk", (i,)) in ended
    retrying = outcome.of(ev.NodeRetrying, "flaky")
    assert sorted(e.iteration for e in retrying) == [(0,), (1,), (2,)]
    assert [e.index for e in outcome.of(ev.LoopIterated, "loop")].count(0) == 1
    finished = outcome.of(ev.RunFinished)[0]
    assert finished.status == "succeeded" and finished.outputs == {"r": [[
        {"value": 1, "attempt": 2}, {"value": 2, "attempt": 2}, {"value": 3, "attempt": 2}]]}
    assert finished.error is None and finished.duration_s >= 0


def test_a_failed_run_still_ends_with_one_run_finished():
    wf = workflow({"f": ("test.fail", {"message": "no"}), "g": ("data.expression", {})},
                  ["f.out -> g.x"])
    outcome = run_sync(wf)
    _check_sequence(outcome.events)
    finished = outcome.events[-1]
    assert finished.status == "failed" and finished.error == "node f failed: no (input None)"
    (failed,) = outcome.of(ev.NodeFailed)
    assert failed.node_id == "f" and failed.attempts == 1 and failed.duration_s >= 0
    (skipped,) = outcome.of(ev.NodeSkipped)
    assert skipped.node_id == "g" and skipped.reason.startswith("not run: node f failed")


def test_node_finished_carries_outputs_duration_and_a_short_summary():
    wf = workflow({"v": ("data.value", {"value": list(range(1000))}),
                   "d": ("util.delay", {"seconds": 0.01})}, ["v.out -> d.in"])
    outcome = run_sync(wf)
    finished = outcome.finished("d")
    assert finished.outputs == {"out": list(range(1000))}
    assert finished.duration_s > 0
    assert len(finished.summary) < 80 and finished.summary.startswith("[0, 1, 2")


def test_events_are_frozen_dataclasses():
    outcome = run_sync(mixed())
    for event in outcome.events:
        assert dataclasses.is_dataclass(event)
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.t = 0  # type: ignore[misc]


def test_a_batched_subscriber_gets_the_same_events_in_batches():
    async def go():
        run = Run(compile_test(mixed()))
        single: list = []
        batches: list = []
        run.subscribe(single.append)
        run.subscribe(batches.append, batched=True)
        async with asyncio.timeout(10):
            await run.execute()
        return single, batches

    single, batches = asyncio.run(go())
    assert all(isinstance(b, list) and b for b in batches)
    assert [e for b in batches for e in b] == single
    assert len(batches) < len(single)


def test_a_failing_subscriber_neither_stops_the_run_nor_other_subscribers(caplog):
    def broken(event):
        raise ValueError("subscriber bug")

    async def go():
        run = Run(compile_test(mixed()))
        seen: list = []
        run.subscribe(broken)
        run.subscribe(seen.append)
        async with asyncio.timeout(10):
            return await run.execute(), seen

    with caplog.at_level(logging.ERROR, logger="engine.ledger"):
        result, seen = asyncio.run(go())
    assert result.ok
    assert isinstance(seen[-1], ev.RunFinished)
    assert any("subscriber" in r.getMessage() for r in caplog.records)


def test_unsubscribing_stops_delivery():
    async def go():
        run = Run(compile_test(workflow({"d": ("util.delay", {"seconds": 0.02})}, [])))
        seen: list = []
        unsubscribe = run.subscribe(seen.append)
        task = asyncio.create_task(run.execute())
        while not seen:
            await asyncio.sleep(0.001)
        unsubscribe()
        async with asyncio.timeout(10):
            await task
        return seen

    seen = asyncio.run(go())
    assert not any(isinstance(e, ev.RunFinished) for e in seen)


def test_a_run_without_subscribers_still_records_node_state():
    async def go():
        run = Run(compile_test(mixed()))
        async with asyncio.timeout(10):
            return await run.execute()

    result = asyncio.run(go())
    assert result.ok
    assert result.nodes["flaky"].runs == 3 and result.nodes["flaky"].attempts == 6
    assert result.nodes["never"].status == "skipped"
    assert all(nr.status in ("succeeded", "skipped") for nr in result.nodes.values())
