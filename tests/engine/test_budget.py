"""The loop never stalls: user expressions have a CPU and memory budget and can be interrupted.

Real worker processes, real timers; every bound is generous (the CI machine is shared) but far
below what a blocked loop would take (the measured cases ran 5-64 s before the budget).
"""

from __future__ import annotations

import asyncio
import time

import psutil
import pytest

from engine import Edge, Node, Run, Workflow, compile_workflow, core_registry
from engine import events as ev
from engine.budget import Limits, limits_problem
from engine.fileformat import dumps, loads
from engine.validate import check_workflow

HEAVY = "sum([sum(range(1000000)) for i in range(3000)])"  # 40 s of CPU or more, unbounded
MEMORY_HOG = "len([list(range(100000)) for i in range(9999)])"  # ~40 GB if unbounded
REGISTRY = core_registry()


def expression(nid: str, expr: str, **settings) -> Node:
    return Node(nid, "data.expression", params={"expr": expr, "inputs": []}, **settings)


def beside_a_delay(expr: str, seconds: float = 0.2, **settings) -> Workflow:
    """The expression `e`, and independent of it a value -> util.delay `d`."""
    return Workflow("budget", nodes=[
        expression("e", expr, **settings), Node("v", "data.value", params={"value": 1}),
        Node("d", "util.delay", params={"seconds": seconds})],
        edges=[Edge("v", "out", "d", "in")])


async def run(workflow: Workflow, **options) -> tuple[Run, object, list, float]:
    r = Run(compile_workflow(workflow, REGISTRY), **options)
    events: list = []
    r.subscribe(events.append)
    t0 = time.monotonic()
    async with asyncio.timeout(60):
        result = await r.execute()
    return r, result, events, time.monotonic() - t0


def budget_workers(parent: psutil.Process) -> list[psutil.Process]:
    """The budget worker processes below `parent` (tests of the CLI use it on a child)."""
    found = []
    for child in parent.children(recursive=True):
        try:
            if any("budgetworker" in part for part in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def workers_alive() -> list[psutil.Process]:
    return budget_workers(psutil.Process())


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


async def async_wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# --- each measured case fails its node with a sentence, in bounded time ---------------------
@pytest.mark.asyncio
async def test_a_heavy_comprehension_fails_its_node_naming_the_cpu_limit():
    r, result, _, elapsed = await run(beside_a_delay(HEAVY, limits={"cpu_s": 0.5}))
    assert result.status == "failed"
    assert result.nodes["e"].error == (f"expression `{HEAVY}` used more than 0.5 s of CPU "
                                       f"(the node's cpu limit)")
    assert elapsed < 10
    assert r.workers.started == 1


@pytest.mark.asyncio
async def test_the_default_cpu_limit_is_two_seconds():
    _, result, _, elapsed = await run(beside_a_delay(HEAVY))
    assert result.nodes["e"].error == (f"expression `{HEAVY}` used more than 2 s of CPU "
                                       f"(the default cpu limit)")
    assert elapsed < 30


@pytest.mark.asyncio
async def test_a_huge_power_is_refused_before_it_runs():
    # ran 64 s despite timeout_s 2 before bounded evaluation
    _, result, _, elapsed = await run(beside_a_delay("4000000**4000000 > 0", timeout_s=2))
    error = result.nodes["e"].error
    assert error.startswith("expression `4000000**4000000 > 0` failed: 4000000 ** 4000000 "
                            "would have about 26,408,240 digits, over the limit of 100,000")
    assert elapsed < 10


@pytest.mark.asyncio
@pytest.mark.parametrize("expr", ["'%01000000000d' % 1", "'x'.center(1000000000)",
                                  "f'{1:>1000000000}'", "'ab'.zfill(10**9)",
                                  "''.join(['x' * 100000] * 100000)"])
async def test_a_single_operation_that_builds_a_huge_string_is_refused(expr):
    rss = psutil.Process().memory_info().rss
    _, result, _, elapsed = await run(beside_a_delay(expr))
    assert result.nodes["e"].status == "failed"
    assert "long, over the limit of " in result.nodes["e"].error
    assert elapsed < 5
    assert psutil.Process().memory_info().rss - rss < 50 * 2**20


@pytest.mark.asyncio
async def test_long_inputs_still_pass_through_formatting_joining_and_adding():
    text = "y" * 300_000
    workflow = Workflow("long", nodes=[
        Node("v", "data.value", params={"value": text}),
        Node("e", "data.expression", params={
            "expr": "len('<%s>' % x) + len('-'.join([x, x])) + len(x.replace('y', 'zz'))",
            "inputs": ["x"]})], edges=[Edge("v", "out", "e", "x")])
    _, result, _, _ = await run(workflow)
    assert result.nodes["e"].error is None
    assert result.nodes["e"].outputs["out"] == 300_002 + 600_001 + 600_000


@pytest.mark.asyncio
async def test_a_memory_hog_fails_its_node_naming_the_memory_limit_and_rss_stays_flat():
    rss = psutil.Process().memory_info().rss
    _, result, _, elapsed = await run(beside_a_delay(
        MEMORY_HOG, limits={"memory_mb": 64, "cpu_s": 20}))
    assert result.nodes["e"].error == (f"expression `{MEMORY_HOG}` used more than 64 MB of "
                                       f"memory (the node's memory limit)")
    assert elapsed < 20
    assert psutil.Process().memory_info().rss - rss < 64 * 2**20


# --- the loop stays free ------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_parallel_delay_finishes_while_a_heavy_expression_works():
    _, result, events, _ = await run(beside_a_delay(HEAVY, limits={"cpu_s": 1}))
    assert result.nodes["d"].status == "succeeded"
    finished = {e.node_id: e.t for e in events if isinstance(e, (ev.NodeFinished,
                                                                 ev.NodeFailed))}
    started = {e.node_id: e.t for e in events if isinstance(e, ev.NodeStarted)}
    assert started["d"] - started["e"] < 0.1  # the delay did not wait for the expression
    assert finished["d"] - started["d"] < 0.6  # 0.2 s, late by little
    assert finished["d"] < finished["e"]  # overlap: the delay ended while e still worked


@pytest.mark.asyncio
async def test_timeout_s_on_a_heavy_expression_fails_it_within_about_a_second():
    _, result, _, elapsed = await run(beside_a_delay(HEAVY, timeout_s=0.5))
    assert result.nodes["e"].error == "timed out after 0.5 s"
    assert result.nodes["e"].duration_s < 1.5
    assert elapsed < 3
    wait_until(lambda: not workers_alive(), timeout=5)  # the worker was killed


@pytest.mark.asyncio
async def test_cancel_during_a_heavy_expression_returns_cancelled_at_once():
    r = Run(compile_workflow(beside_a_delay(HEAVY, limits={"cpu_s": 60}, seconds=60),
                             REGISTRY))
    task = asyncio.create_task(r.execute())
    await async_wait_until(lambda: r.workers.started == 1 and workers_alive())
    await asyncio.sleep(0.3)  # the worker is busy with the expression
    t0 = time.monotonic()
    r.cancel()
    async with asyncio.timeout(10):
        result = await task
    assert time.monotonic() - t0 < 1.0
    assert result.status == "cancelled"
    assert result.nodes["e"].status == "cancelled"
    await async_wait_until(lambda: not workers_alive(), timeout=5)


@pytest.mark.asyncio
async def test_event_loop_timer_stays_on_time_while_an_expression_works():
    r = Run(compile_workflow(beside_a_delay(HEAVY, limits={"cpu_s": 60}, seconds=0.01),
                             REGISTRY))
    task = asyncio.create_task(r.execute())
    await async_wait_until(lambda: r.workers.started == 1)
    lateness = []
    for _ in range(10):
        t = time.monotonic()
        await asyncio.sleep(0.05)
        lateness.append(time.monotonic() - t - 0.05)
    assert r.state["e"].status == "running"  # the timer ran while the expression worked
    assert max(lateness) < 0.25  # a blocked loop would be seconds late
    r.cancel()
    async with asyncio.timeout(10):
        await task


# --- limits per node and per run -------------------------------------------------------------
@pytest.mark.asyncio
async def test_run_limits_apply_where_a_node_sets_none_and_node_limits_win():
    workflow = Workflow("two", nodes=[expression("a", HEAVY),
                                      expression("b", HEAVY, limits={"cpu_s": 0.3}),
                                      ], edges=[])
    for node in workflow.nodes.values():
        node.on_error = "continue"
    _, result, _, _ = await run(workflow, limits={"cpu_s": 0.6, "memory_mb": 128})
    assert result.nodes["a"].error.endswith("used more than 0.6 s of CPU (the run's cpu limit)")
    assert result.nodes["b"].error.endswith("used more than 0.3 s of CPU "
                                            "(the node's cpu limit)")


def test_limits_resolve_node_over_run_over_default():
    assert Limits.resolve(None) == Limits(2.0, 256.0, "the default", "the default")
    run = Limits.resolve({"cpu_s": 5})
    assert run == Limits(5.0, 256.0, "the run's", "the default")
    assert Limits.resolve(run, {"memory_mb": 64}) == Limits(5.0, 64.0, "the run's", "the node's")


def test_node_limits_round_trip_through_the_file_and_are_validated():
    workflow = Workflow("f", nodes=[expression("e", "1", limits={"memory_mb": 64, "cpu_s": 1})])
    text = dumps(workflow)
    assert '"limits": {"cpu_s": 1, "memory_mb": 64}' in text
    assert loads(text, REGISTRY).workflow.nodes["e"].limits == {"cpu_s": 1, "memory_mb": 64}
    bad = Workflow("f", nodes=[expression("e", "1", limits={"cpu_s": -1}),
                               expression("g", "1", limits={"gpu": 1})])
    messages = [str(p) for p in check_workflow(bad, REGISTRY)]
    assert "node 'e': \"limits.cpu_s\" must be a positive number, got -1" in messages
    assert any("unknown key 'gpu'" in m for m in messages)
    assert limits_problem({"memory_mb": 1}) == '"limits.memory_mb" must be at least 16, got 1'


# --- conditions and loops -----------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_heavy_while_condition_fails_its_loop_node_and_a_heavy_if_fails_the_if():
    cond = f"{HEAVY} > 0 and x < 3"
    workflow = Workflow("loops", nodes=[
        Node("v", "data.value", params={"value": 0}),
        Node("w", "flow.while", params={"condition": cond, "max_iterations": 5},
             limits={"cpu_s": 0.3}, on_error="continue"),
        Node("inc", "data.expression", params={"expr": "x + 1", "inputs": ["x"]}),
        Node("if", "flow.if", params={"condition": HEAVY}, limits={"cpu_s": 0.3},
             on_error="continue"),
        Node("sw", "flow.switch", params={"cases": ["x > 5", HEAVY]}, limits={"cpu_s": 0.3},
             on_error="continue"),
    ], edges=[Edge("v", "out", "w", "in"), Edge("w", "body", "inc", "x"),
              Edge("inc", "out", "w", "next"), Edge("v", "out", "if", "in"),
              Edge("v", "out", "sw", "in")])
    _, result, _, elapsed = await run(workflow)
    assert result.nodes["w"].error == f"expression `{cond}` used more than 0.3 s of CPU " \
                                      f"(the node's cpu limit)"
    for nid in ("if", "sw"):
        assert result.nodes[nid].error == (f"expression `{HEAVY}` used more than 0.3 s of CPU "
                                           f"(the node's cpu limit)")
    assert elapsed < 20


@pytest.mark.asyncio
async def test_cheap_expressions_stay_inline_and_take_no_worker():
    nodes = [expression("n0", "0")] + [
        Node(f"n{i}", "data.expression", params={"expr": "[v + 1 for v in [x]][0]",
                                                 "inputs": ["x"]}) for i in range(1, 50)]
    edges = [Edge(f"n{i - 1}", "out", f"n{i}", "x") for i in range(1, 50)]
    r, result, _, _ = await run(Workflow("chain", nodes=nodes, edges=edges))
    assert result.status == "succeeded"
    assert result.nodes["n49"].outputs["out"] == 49
    assert r.workers.started == 0
