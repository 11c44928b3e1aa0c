"""The cheaper per-node path: an async node's coroutine awaited with no frame around it
(engine/seam.py `OnLoop`, its Offload explained by engine/attempts.py), placement resolved once
a node (engine/run.py), and the per-node events made by builders (engine/events.py) — each
against what the slower way gave."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from engine import Registry, Run, budget
from engine import events as ev
from engine.attempts import ASYNC_OFFLOAD
from engine.compile import compile_workflow
from engine.expressions import Expression
from engine.model import Node, Workflow
from engine.nodetype import NodeType, Port

from .helpers import run_sync, test_registry, workflow

# A comprehension whose steps outgrow an evaluation slice (engine/budget.py EVAL_SLICE_S)
HEAVY = "sum([sum(range(20000)) for i in range(2000)])"


class UnboundedEval(NodeType):
    """An async node that evaluates a heavy expression itself, not through `bounded`."""

    type_id = "test.unbounded_eval"
    outputs = (Port("out"),)

    async def run(self, ctx: Any) -> dict[str, Any]:
        return {"out": Expression(HEAVY).evaluate({})}


class BudgetSeen(NodeType):
    """Gives the budget in force while its code runs."""

    type_id = "test.budget_seen"
    outputs = (Port("out"),)

    async def run(self, ctx: Any) -> dict[str, Any]:
        mode = budget.CURRENT.get()
        assert isinstance(mode, budget.Slice)
        return {"out": [mode.limits.cpu_s, mode.limits.memory_mb]}


def _registry() -> Registry:
    registry = test_registry()
    registry.register(UnboundedEval)
    registry.register(BudgetSeen)
    return registry


@pytest.mark.parametrize("limits", [None, {"cpu_s": 1.5}])
def test_an_async_node_evaluating_past_its_slice_fails_with_the_sentence(limits):
    # None: the run's budget is in force, the node's coroutine is awaited bare; with limits
    # of its own, OnLoop sets them around it. Both fail the node as OnLoop's catch did.
    extra = {} if limits is None else {"limits": limits}
    wf = workflow({"e": ("test.unbounded_eval", {}, extra)}, [])
    outcome = run_sync(wf, registry=_registry())
    assert outcome.result.status == "failed"
    assert outcome.result.nodes["e"].error == ASYNC_OFFLOAD
    assert ASYNC_OFFLOAD == ("an expression or template took longer than a slice on the event "
                             "loop; an async node evaluates them with "
                             "`await engine.budget.bounded(...)`")


def test_an_async_node_runs_within_its_own_limits_and_others_within_the_runs():
    wf = workflow({"own": ("test.budget_seen", {}, {"limits": {"cpu_s": 1.5}}),
                   "run": ("test.budget_seen", {})}, [])
    outcome = run_sync(wf, registry=_registry())
    assert outcome.result.ok, outcome.result.error
    assert outcome.output("own") == [1.5, budget.Limits().memory_mb]
    assert outcome.output("run") == [budget.Limits().cpu_s, budget.Limits().memory_mb]


@pytest.mark.asyncio
async def test_placement_is_resolved_once_a_node_and_a_bad_one_fails_each_time():
    wf = Workflow("placed", nodes=[Node("a", "util.delay", params={"seconds": 0}),
                                   Node("b", "util.delay", params={"seconds": 0},
                                        extra={"placement": "local"}),
                                   Node("c", "util.delay", params={"seconds": 0},
                                        extra={"placement": "moon"})])
    compiled = compile_workflow(wf, test_registry(), checked=[])
    run = Run(compiled)
    pns = compiled.plan.nodes
    assert [run.placement(pns[n]) for n in ("a", "b", "a", "b")] == ["local"] * 4
    for _ in range(2):
        with pytest.raises(Exception, match='"placement" must be one of'):
            run.placement(pns["c"])


SAMPLES: list[tuple[Any, Any, tuple[Any, ...], dict[str, Any]]] = [
    (ev.new_node_started, ev.NodeStarted, ("n", (1, 2), 3, 0.5), {}),
    (ev.new_node_finished, ev.NodeFinished, ("n", (), 0.25, {"out": [1]}, 2.0), {}),
    (ev.new_node_finished, ev.NodeFinished, ("n", (0,), 0.25, {"out": 1}, 2.0, True, 0.1,
                                             (0.1, 0.15)), {}),
    (ev.new_node_finished, ev.NodeFinished, ("n", (), 0.25, {}, 2.0),
     {"attempt_durations_s": (0.25,)}),
    (ev.new_node_failed, ev.NodeFailed, ("n", (), 0.5, "boom", 2, 3.0), {"queued_s": 0.2}),
    (ev.new_node_skipped, ev.NodeSkipped, ("n", (4,), "not taken", 1.0), {}),
]


@pytest.mark.parametrize(("build", "cls", "args", "kwargs"), SAMPLES)
def test_an_event_from_its_builder_is_the_event_its_class_makes(build, cls, args, kwargs):
    built, made = build(*args, **kwargs), cls(*args, **kwargs)
    assert type(built) is cls
    assert built == made and repr(built) == repr(made)
    if cls is not ev.NodeFinished:  # (its outputs, a dict, make it unhashable either way)
        assert hash(built) == hash(made)
    assert dataclasses.astuple(built) == dataclasses.astuple(made)
    assert pickle.loads(pickle.dumps(built)) == made
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.t = 9.0  # type: ignore[misc]
    assert not hasattr(built, "__dict__")


def test_a_run_gives_the_same_events_as_before_the_builders():
    wf = workflow({"v": ("data.value", {"value": 1}), "d": ("util.delay", {"seconds": 0}),
                   "f": ("test.fail", {})}, ["v.out -> d.in", "d.out -> f.in"])
    outcome = run_sync(wf)
    kinds = [(type(e).__name__, getattr(e, "node_id", None)) for e in outcome.events]
    assert kinds == [("RunStarted", None), ("NodeStarted", "v"), ("NodeFinished", "v"),
                     ("NodeStarted", "d"), ("NodeFinished", "d"), ("NodeStarted", "f"),
                     ("NodeFailed", "f"), ("RunFinished", None)]
    for event in outcome.events:
        rebuilt = type(event)(*dataclasses.astuple(event))
        assert rebuilt == event
