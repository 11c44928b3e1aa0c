"""Executor semantics of loops: foreach (sequential, parallel, with conditions inside), while
with its cap, nested loops, errors inside loops and LoopIterated events."""

from __future__ import annotations

import pytest

from engine import Edge, Node
from engine import events as ev

from .helpers import run_sync, workflow


def foreach(items, body: dict, body_edges: list[str], parallel: int = 1, last: str = "body"):
    nodes = {"items": ("data.value", {"value": items}),
             "loop": ("flow.foreach", {"parallel": parallel}),
             "out": ("flow.output", {"name": "results"})}
    nodes.update(body)
    first = next(iter(body))
    port = "x" if body[first][0] == "data.expression" else "in"
    return workflow(nodes, ["items.out -> loop.items", f"loop.item -> {first}.{port}",
                            *body_edges, f"{last}.out -> loop.result", "loop.results -> out.in"])


def _intervals(outcome, node_id):
    """(start, end) of every run of `node_id`, matched by iteration path."""
    starts = {e.iteration: e.t for e in outcome.of(ev.NodeStarted, node_id)}
    return [(starts[e.iteration], e.t) for e in outcome.of(ev.NodeFinished, node_id)]


def _max_overlap(intervals):
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
                    key=lambda p: (p[0], p[1]))
    level = best = 0
    for _, step in points:
        level += step
        best = max(best, level)
    return best


def test_foreach_runs_the_body_once_per_item_in_item_order():
    outcome = run_sync(foreach([1, 2, 3, 4], {"body": ("data.expression", {"expr": "x * 10"})},
                               []))
    assert outcome.result.outputs == {"results": [10, 20, 30, 40]}
    assert outcome.result.nodes["body"].runs == 4
    iterations = [e.iteration for e in outcome.of(ev.NodeFinished, "body")]
    assert iterations == [(0,), (1,), (2,), (3,)]


def test_sequential_foreach_never_overlaps_items():
    outcome = run_sync(foreach(list(range(4)), {"body": ("test.sleep", {"seconds": 0.01})}, []))
    assert _max_overlap(_intervals(outcome, "body")) == 1
    assert outcome.probe.max_in_flight == 1


def test_parallel_foreach_overlaps_items_up_to_its_limit_and_keeps_item_order():
    items = [0.04, 0.01, 0.03, 0.0, 0.02, 0.01]
    body = {"wait": ("test.sleep", {"seconds": 0.02}),
            "body": ("data.expression", {"expr": "x * 100"})}
    wf = foreach(items, body, ["wait.out -> body.x"], parallel=3)
    outcome = run_sync(wf)
    assert outcome.result.outputs == {"results": [4.0, 1.0, 3.0, 0.0, 2.0, 1.0]}
    overlap = _max_overlap(_intervals(outcome, "wait"))
    assert overlap == 3
    assert outcome.probe.max_in_flight == 3


def test_a_condition_inside_a_parallel_foreach_filters_items():
    body = {"wait": ("test.sleep", {"seconds": 0.01}),
            "even": ("flow.if", {"condition": "x % 2 == 0"}),
            "body": ("data.expression", {"expr": "x * x"})}
    wf = foreach(list(range(7)), body, ["wait.out -> even.in", "even.true -> body.x"],
                 parallel=4)
    outcome = run_sync(wf)
    assert outcome.result.outputs == {"results": [0, 4, 16, 36]}
    skipped = outcome.of(ev.NodeSkipped, "body")
    assert sorted(e.iteration for e in skipped) == [(1,), (3,), (5,)]
    assert all(e.reason == "branch 'true' of even was not taken" for e in skipped)
    assert outcome.status("body") == "succeeded"  # it ran in some iterations


def test_if_else_and_merge_inside_a_parallel_foreach():
    body = {"check": ("flow.if", {"condition": "x > 1"}),
            "big": ("data.expression", {"expr": "'big'"}),
            "small": ("util.delay", {"seconds": 0.01}),
            "tag": ("data.expression", {"expr": "'small'"}),
            "body": ("flow.merge", {"mode": "first"})}
    wf = foreach([0, 1, 2, 3], body,
                 ["check.true -> big.x", "check.false -> small.in", "small.out -> tag.x",
                  "big.out -> body.in", "tag.out -> body.in"], parallel=2)
    wf.remove_edge(next(e for e in wf.edges if e.target == "check"))
    wf.add_edge(Edge("loop", "item", "check", "in"))
    outcome = run_sync(wf)
    assert outcome.result.outputs == {"results": ["small", "small", "big", "big"]}


def test_values_from_outside_flow_into_the_body_of_every_iteration():
    wf = foreach([1, 2], {"body": ("data.expression", {"expr": "x + k", "inputs": ["x", "k"]})},
                 ["k.out -> body.k"])
    wf.add_node(Node("k", "data.value", params={"value": 100}))
    outcome = run_sync(wf)
    assert outcome.result.outputs == {"results": [101, 102]}


def test_merge_first_in_a_body_fed_from_outside_and_from_a_skipped_branch_runs():
    body = {"check": ("flow.if", {"condition": "x > 100"}),
            "body": ("flow.merge", {"mode": "first"})}
    wf = foreach([1, 2], body, ["check.true -> body.in", "k.out -> body.in"])
    wf.add_node(Node("k", "data.value", params={"value": "outside"}))
    outcome = run_sync(wf)
    assert outcome.result.ok, outcome.result.error
    assert outcome.result.outputs == {"results": ["outside", "outside"]}


def test_foreach_over_an_empty_list_gives_an_empty_list():
    outcome = run_sync(foreach([], {"body": ("data.expression", {"expr": "x"})}, []))
    assert outcome.result.ok
    assert outcome.result.outputs == {"results": []}
    assert outcome.status("body") == "skipped"


def test_foreach_emits_loop_iterated_once_per_item():
    outcome = run_sync(foreach(["a", "b", "c"], {"body": ("data.expression", {"expr": "x"})},
                               []))
    ticks = outcome.of(ev.LoopIterated, "loop")
    assert [(e.index, e.total) for e in ticks] == [(0, 3), (1, 3), (2, 3)]
    assert all(e.iteration == () for e in ticks)
    loop_finished = outcome.finished("loop").t
    assert all(e.t <= loop_finished for e in ticks)


def test_nested_loops_run_every_inner_item_of_every_outer_item():
    wf = workflow(
        {"rows": ("data.value", {"value": [[1, 2], [3], []]}),
         "outer": ("flow.foreach", {"parallel": 2}),
         "inner": ("flow.foreach", {"parallel": 2}),
         "double": ("data.expression", {"expr": "x * 2"}),
         "total": ("data.expression", {"expr": "sum(x)"}),
         "out": ("flow.output", {"name": "totals"})},
        ["rows.out -> outer.items", "outer.item -> inner.items", "inner.item -> double.x",
         "double.out -> inner.result", "inner.results -> total.x", "total.out -> outer.result",
         "outer.results -> out.in"])
    outcome = run_sync(wf)
    assert outcome.result.outputs == {"totals": [6, 6, 0]}
    paths = sorted(e.iteration for e in outcome.of(ev.NodeFinished, "double"))
    assert paths == [(0, 0), (0, 1), (1, 0)]
    inner_ticks = outcome.of(ev.LoopIterated, "inner")
    assert sorted((e.iteration, e.index) for e in inner_ticks) == [((0,), 0), ((0,), 1),
                                                                   ((1,), 0)]


def test_a_while_loop_repeats_until_its_condition_is_false():
    wf = workflow({"zero": ("data.value", {"value": 1}),
                   "loop": ("flow.while", {"condition": "x < 100"}),
                   "step": ("data.expression", {"expr": "x * 3"}),
                   "out": ("flow.output", {"name": "final"})},
                  ["zero.out -> loop.in", "loop.body -> step.x", "step.out -> loop.next",
                   "loop.done -> out.in"])
    outcome = run_sync(wf)
    assert outcome.result.outputs == {"final": 243}
    assert [e.index for e in outcome.of(ev.LoopIterated, "loop")] == [0, 1, 2, 3, 4]
    assert all(e.total is None for e in outcome.of(ev.LoopIterated, "loop"))


def test_a_while_loop_whose_condition_is_false_at_once_passes_the_state_through():
    wf = workflow({"zero": ("data.value", {"value": 5}),
                   "loop": ("flow.while", {"condition": "x < 0"}),
                   "step": ("data.expression", {"expr": "x + 1"}),
                   "out": ("flow.output", {"name": "final"})},
                  ["zero.out -> loop.in", "loop.body -> step.x", "step.out -> loop.next",
                   "loop.done -> out.in"])
    outcome = run_sync(wf)
    assert outcome.result.outputs == {"final": 5}
    assert outcome.status("step") == "skipped"


def test_a_while_loop_reaching_its_cap_fails_saying_so():
    wf = workflow({"zero": ("data.value", {"value": 0}),
                   "loop": ("flow.while", {"condition": "x >= 0", "max_iterations": 7}),
                   "step": ("data.expression", {"expr": "x + 1"}),
                   "after": ("data.expression", {"expr": "x"})},
                  ["zero.out -> loop.in", "loop.body -> step.x", "step.out -> loop.next",
                   "loop.done -> after.x"])
    outcome = run_sync(wf)
    assert outcome.result.status == "failed"
    error = outcome.result.nodes["loop"].error
    assert "reached max_iterations (7)" in error and "`x >= 0` still holds" in error
    assert outcome.result.nodes["step"].runs == 7
    assert outcome.status("after") == "skipped"


def test_a_while_inside_a_foreach():
    wf = workflow({"items": ("data.value", {"value": [1, 5, 30]}),
                   "each": ("flow.foreach", {"parallel": 3}),
                   "grow": ("flow.while", {"condition": "x < 20"}),
                   "double": ("data.expression", {"expr": "x * 2"}),
                   "out": ("flow.output", {"name": "grown"})},
                  ["items.out -> each.items", "each.item -> grow.in", "grow.body -> double.x",
                   "double.out -> grow.next", "grow.done -> each.result",
                   "each.results -> out.in"])
    outcome = run_sync(wf)
    assert outcome.result.outputs == {"grown": [32, 20, 30]}


@pytest.mark.parametrize("parallel", [1, 3])
def test_an_error_inside_a_loop_fails_the_loop_naming_item_and_node(parallel):
    body = {"check": ("flow.if", {"condition": "x == 2"}),
            "boom": ("test.fail", {"message": "bad item"}),
            "ok": ("data.expression", {"expr": "x"}),
            "body": ("flow.merge", {"mode": "first"})}
    wf = foreach([0, 1, 2, 3, 4, 5], body,
                 ["check.true -> boom.in", "check.false -> ok.x", "boom.out -> body.in",
                  "ok.out -> body.in"], parallel=parallel)
    wf.remove_edge(next(e for e in wf.edges if e.target == "check"))
    wf.add_edge(Edge("loop", "item", "check", "in"))
    outcome = run_sync(wf)
    result = outcome.result
    assert result.status == "failed"
    assert result.nodes["loop"].error == "item 2: node boom failed: bad item (input 2)"
    assert result.error == "node loop failed: item 2: node boom failed: bad item (input 2)"
    assert outcome.status("out") == "skipped"
    started_items = {e.iteration[0] for e in outcome.of(ev.NodeStarted, "check")}
    if parallel == 1:
        assert started_items == {0, 1, 2}  # nothing after the failing item starts


def test_on_error_continue_inside_a_loop_keeps_the_loop_going():
    body = {"body": ("test.fail", {"message": "nope"}, {"on_error": "continue"})}
    wf = foreach([1, 2], body, [])
    wf.remove_edge(next(e for e in wf.edges if e.target == "loop" and e.target_port == "result"))
    wf.add_edge(Edge("body", "error", "loop", "result"))
    outcome = run_sync(wf)
    assert outcome.result.ok
    assert [r["message"] for r in outcome.result.outputs["results"]] == [
        "nope (input 1)", "nope (input 2)"]


def test_a_node_inside_a_loop_reports_its_iteration_in_events():
    outcome = run_sync(foreach([5, 6], {"body": ("test.talk", {})}, []))
    progress = outcome.of(ev.NodeProgressed, "body")
    logs = outcome.of(ev.NodeLogged, "body")
    assert [(e.iteration, e.fraction, e.message) for e in progress] == [
        ((0,), 0.5, "half way"), ((1,), 0.5, "half way")]
    assert [(e.iteration, e.level, e.message) for e in logs] == [
        ((0,), "info", "hello from talk"), ((1,), "info", "hello from talk")]


def test_a_running_loop_starts_no_new_iteration_once_the_run_is_failing():
    wf = workflow({"items": ("data.value", {"value": list(range(50))}),
                   "loop": ("flow.foreach", {"parallel": 2}),
                   "slow": ("test.sleep", {"seconds": 0.03}),
                   "bad": ("test.fail", {"message": "early", "seconds": 0.01}),
                   "zero": ("data.value", {"value": 0}),
                   "count": ("flow.while", {"condition": "x < 1000", "max_iterations": 1000}),
                   "tick": ("test.sleep", {"seconds": 0.005}),
                   "inc": ("data.expression", {"expr": "x + 1"})},
                  ["items.out -> loop.items", "loop.item -> slow.in", "slow.out -> loop.result",
                   "items.out -> bad.in", "zero.out -> count.in", "count.body -> tick.in",
                   "tick.out -> inc.x", "inc.out -> count.next"])
    outcome = run_sync(wf)
    result = outcome.result
    assert result.status == "failed"
    assert result.error.startswith("node bad failed: early")
    assert result.nodes["loop"].error.startswith("stopped after 2 of 50 items: the run is "
                                                 "failing (node bad failed: early")
    assert result.nodes["slow"].runs == 2  # the two items in flight were let finish
    assert result.nodes["count"].error.startswith("stopped after ")
    assert result.nodes["inc"].runs < 10


def test_a_skipped_loop_passes_its_skip_reason_to_its_body():
    wf = workflow({"v": ("data.value", {"value": [[1]]}),
                   "check": ("flow.if", {"condition": "len(x) > 5"}),
                   "outer": ("flow.foreach", {}), "inner": ("flow.foreach", {}),
                   "body": ("data.expression", {"expr": "x"}),
                   "out": ("flow.output", {})},
                  ["v.out -> check.in", "check.true -> outer.items", "outer.item -> inner.items",
                   "inner.item -> body.x", "body.out -> inner.result",
                   "inner.results -> outer.result", "outer.results -> out.in"])
    outcome = run_sync(wf)
    assert outcome.result.ok
    for node_id in ("outer", "inner", "body", "out"):
        assert outcome.status(node_id) == "skipped"
        assert outcome.result.nodes[node_id].reason == "branch 'true' of check was not taken"
