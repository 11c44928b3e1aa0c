"""The one fold of run events: per-node state, executions and counters from real runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import compile_workflow, load
from engine import events as ev
from engine.runfold import RunFold
from nodes import default_registry
from tests.engine.helpers import run_sync, workflow

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
RETRY = {"max_attempts": 3, "backoff_s": 0.01}


def fold_of(events: list, workflow_=None, batch: int | None = None) -> RunFold:
    fold = RunFold()
    fold.reset(workflow_)
    step = batch or max(len(events), 1)
    for i in range(0, len(events), step):
        fold.feed(events[i:i + step])
    return fold


def example(name: str):
    loaded = load(EXAMPLES / name)
    return compile_workflow(loaded.workflow, default_registry(plugins=False))


@pytest.mark.parametrize("name", ["foreach_parallel.loom.json", "conditions.loom.json",
                                  "errors.loom.json", "nested_loops.loom.json"])
def test_every_node_ends_in_the_status_the_engine_reports(name):
    compiled = example(name)
    outcome = run_sync(compiled)
    fold = fold_of(outcome.events, compiled.workflow)
    for nid, node_run in outcome.result.nodes.items():
        state = fold.nodes[nid]
        if node_run.runs or node_run.failures:  # (inside a loop: any failure is the outcome)
            assert state.outcome == node_run.status, nid
            assert state.total_s == pytest.approx(node_run.duration_s, abs=1e-6), nid
        else:
            assert state.state == node_run.status, nid
    started = {(e.node_id, e.iteration) for e in outcome.events
               if isinstance(e, ev.NodeStarted)}
    assert {(b.node_id, b.iteration) for b in fold.bars} == started
    assert all(b.end is not None for b in fold.bars)
    assert fold.finished is not None and fold.finished.status == outcome.result.status
    assert fold.executing == 0 and not fold.running


def test_batches_of_any_size_fold_to_the_same_state():
    compiled = example("foreach_parallel.loom.json")
    events = run_sync(compiled).events
    whole = fold_of(events, compiled.workflow)
    for size in (1, 3, 17):
        parts = fold_of(events, compiled.workflow, batch=size)
        assert parts.nodes == whole.nodes
        assert parts.bars == whole.bars
        assert parts.counts == whole.counts
        assert (parts.settles, parts.settled_count, parts.ended) == \
            (whole.settles, whole.settled_count, whole.ended)


def test_a_loop_body_gets_a_bar_per_iteration_and_the_loop_counts_them():
    compiled = example("foreach_parallel.loom.json")
    fold = fold_of(run_sync(compiled).events, compiled.workflow)
    waits = [b for b in fold.bars if b.node_id == "wait"]
    assert sorted(b.iteration for b in waits) == [(i,) for i in range(6)]
    loop = next(nid for nid, pn in compiled.nodes.items() if pn.kind == "foreach")
    assert fold.nodes[loop].iterations == "6/6"
    assert fold.nodes["wait"].total_s == pytest.approx(sum(b.length(0) for b in waits), rel=0.5)


def test_a_retried_node_keeps_one_bar_and_counts_its_attempts():
    wf = workflow({"v": ("data.value", {"value": "x"}),
                   "flaky": ("test.flaky", {"failures": 2}, {"retry": RETRY})},
                  ["v.out -> flaky.in"])
    events = run_sync(wf).events
    fold = RunFold()
    fold.reset(wf)
    retry_at = next(i for i, e in enumerate(events) if isinstance(e, ev.NodeRetrying))
    assert fold.feed(events[:retry_at + 1]) >= {"flaky"}
    assert fold.nodes["flaky"].state == "retrying" and fold.nodes["flaky"].attempt == 2
    assert fold.nodes["flaky"].tip.startswith("flaky failure")
    fold.feed(events[retry_at + 1:])
    [bar] = [b for b in fold.bars if b.node_id == "flaky"]
    assert bar.attempts == 3 and bar.status == "succeeded"
    state = fold.nodes["flaky"]
    assert state.state == "succeeded" and state.running == 0 and not fold.in_flight
    assert fold.values[("flaky", "out")] == {"value": "x", "attempt": 3}


def test_a_failed_node_stays_failed_and_its_downstream_is_skipped_with_a_reason():
    wf = workflow({"v": ("data.value", {"value": 1}),
                   "bad": ("test.fail", {"message": "boom"}),
                   "after": ("data.expression", {"expr": "x"})},
                  ["v.out -> bad.in", "bad.out -> after.x"])
    fold = fold_of(run_sync(wf).events, wf)
    assert fold.nodes["bad"].state == "failed" and "boom" in fold.nodes["bad"].tip
    assert fold.nodes["bad"].outcome == "failed"
    assert fold.nodes["after"].state == "skipped" and fold.nodes["after"].reason
    assert fold.settles == 3 and fold.settled_count == 3


def test_log_lines_are_kept_per_node_but_change_nothing_drawn():
    fold = RunFold()
    fold.reset(workflow({"a": ("data.value", {"value": 1})}, []))
    changed = fold.feed([ev.NodeLogged("a", (), "info", f"line {i}", float(i))
                         for i in range(250)])
    assert changed == set()
    assert len(fold.nodes["a"].log) == 200 and fold.nodes["a"].log[-1] == ("info", "line 249")


def test_waiting_for_a_person_shows_as_waiting_until_answered():
    fold = RunFold()
    fold.reset(workflow({"gate": ("data.value", {"value": 1})}, []))
    fold.feed([ev.NodeStarted("gate", (), 1, 1.0)])
    assert fold.set_waiting("gate", True) and fold.nodes["gate"].shown == "waiting"
    assert not fold.set_waiting("nobody", True)
    fold.set_waiting("gate", False)
    assert fold.nodes["gate"].shown == "running"
