"""The pause gate: a run pauses before a node or a wire's target, the value can be edited, and
Continue / Step / Abort do what they say; in `branch` mode other branches keep running, in
`all` mode nothing new starts while a stop is open."""

from __future__ import annotations

from engine import events as ev
from engine.breakpoints import ABORT, ALL, STEP, Breakpoint, Resume
from tests.breakpoints.support import run_with, until
from tests.engine.helpers import workflow


def chain():
    return workflow(
        {"v": ("data.value", {"value": {"score": 0.25, "name": "a"}}),
         "a": ("data.expression", {"expr": "x['score'] * 2"}),
         "b": ("data.expression", {"expr": "x + 1"}),
         "c": ("data.expression", {"expr": "x * 10"}),
         "out": ("flow.output", {"name": "answer"})},
        ["v.out -> a.x", "a.out -> b.x", "b.out -> c.x", "c.out -> out.in"])


def started(events, node_id):
    return [e for e in events if isinstance(e, ev.NodeStarted) and e.node_id == node_id]


def test_a_node_breakpoint_pauses_before_the_node_starts_with_its_inputs():
    seen_started = []

    async def look(stop, run):
        seen_started.append(run.state["b"].status)
        return Resume()

    done = run_with(chain(), [Breakpoint(node="b")], [look])
    assert [s.node_id for s in done.host.stops] == ["b"]
    assert done.host.stops[0].value == {"x": 0.5}
    assert seen_started == ["pending"], "the node had not started while paused"
    assert done.result.status == "succeeded"
    assert done.result.outputs == {"answer": 15.0}


def test_an_edited_wire_value_is_what_the_node_runs_with():
    wire = ("a", "out", "b", "x")
    done = run_with(chain(), [Breakpoint(wire=wire)], [Resume(value=4, edited=True)])
    stop = done.host.stops[0]
    assert (stop.port, stop.value) == ("x", 0.5)
    assert done.result.outputs == {"answer": 50}


def test_an_edit_equal_to_what_was_shown_keeps_the_original_value():
    done = run_with(chain(), [Breakpoint(node="b")], [Resume(value={"x": 0.5}, edited=True)])
    assert done.result.outputs == {"answer": 15.0}


def test_a_condition_on_the_wire_value_decides_whether_it_pauses():
    bp = Breakpoint(wire=("v", "out", "a", "x"), condition="x['score'] < 0.5")
    assert [s.node_id for s in run_with(chain(), [bp], []).host.stops] == ["a"]
    high = chain()
    high.nodes["v"].params["value"] = {"score": 0.75}
    assert run_with(high, [bp], []).host.stops == []


def loop():
    return workflow(
        {"v": ("data.value", {"value": [10, 20, 30, 40, 50]}),
         "each": ("flow.foreach", {"parallel": 1}),
         "half": ("data.expression", {"expr": "x / 10"}),
         "out": ("flow.output", {"name": "results"})},
        ["v.out -> each.items", "each.item -> half.x", "half.out -> each.result",
         "each.results -> out.in"])


def test_inside_a_foreach_the_condition_can_name_the_item_index():
    done = run_with(loop(), [Breakpoint(node="half", condition="index == 2")],
                    [Resume(value={"x": 300}, edited=True)])
    stop, = done.host.stops
    assert (stop.index, stop.path, stop.value) == (2, (2,), {"x": 30})
    assert done.result.outputs == {"results": [1.0, 2.0, 30.0, 4.0, 5.0]}


def test_a_condition_that_fails_to_evaluate_pauses_and_says_why():
    done = run_with(chain(), [Breakpoint(node="a", condition="x['missing'] > 1")], [])
    stop, = done.host.stops
    assert "condition" in stop.reason and "missing" in stop.reason
    assert done.result.status == "succeeded"


def test_step_runs_the_node_and_pauses_at_the_next_one_downstream():
    done = run_with(chain(), [Breakpoint(node="a")], [Resume(STEP), Resume(STEP), Resume()])
    assert [(s.node_id, s.reason.split(" ")[0]) for s in done.host.stops] == [
        ("a", "breakpoint"), ("b", "step"), ("c", "step")]
    assert done.result.outputs == {"answer": 15.0}


def test_step_at_the_end_of_a_loop_body_pauses_in_the_next_item_then_after_the_loop():
    done = run_with(loop(), [Breakpoint(node="half", condition="index == 2")],
                    [Resume(STEP)])
    assert [(s.node_id, s.path) for s in done.host.stops] == [("half", (2,)), ("half", (3,))]
    done = run_with(loop(), [Breakpoint(node="half", condition="index == 4")], [Resume(STEP)])
    assert [(s.node_id, s.path) for s in done.host.stops] == [("half", (4,)), ("out", ())]


def nested():
    return workflow(
        {"v": ("data.value", {"value": [[1, 2], [3, 4]]}),
         "outer": ("flow.foreach", {"parallel": 1}),
         "inner": ("flow.foreach", {"parallel": 1}),
         "double": ("data.expression", {"expr": "x * 2"}),
         "out": ("flow.output", {"name": "results"})},
        ["v.out -> outer.items", "outer.item -> inner.items", "inner.item -> double.x",
         "double.out -> inner.result", "inner.results -> outer.result",
         "outer.results -> out.in"])


def test_step_in_a_nested_loop_stays_in_the_same_outer_item():
    done = run_with(nested(), [Breakpoint(node="double", condition="path == [0, 1]")],
                    [Resume(STEP), Resume()])
    assert [(s.node_id, s.path) for s in done.host.stops] == [("double", (0, 1)),
                                                               ("inner", (1,))]
    assert done.result.outputs == {"results": [[2, 4], [6, 8]]}


def test_abort_cancels_the_run_and_nothing_after_the_stop_runs():
    done = run_with(chain(), [Breakpoint(node="b")], [Resume(ABORT)])
    assert done.result.status == "cancelled"
    assert started(done.events, "b") == [] and started(done.events, "c") == []
    assert done.result.nodes["a"].status == "succeeded"


def two_branches():
    return workflow(
        {"v": ("data.value", {"value": 1}),
         "slow": ("test.sleep", {"seconds": 0.05}),
         "after_slow": ("data.expression", {"expr": "x + 100"}),
         "paused": ("data.expression", {"expr": "x + 1"}),
         "o1": ("flow.output", {"name": "other"}),
         "o2": ("flow.output", {"name": "paused"})},
        ["v.out -> slow.in", "slow.out -> after_slow.x", "after_slow.out -> o1.in",
         "v.out -> paused.x", "paused.out -> o2.in"])


def test_in_branch_mode_other_branches_keep_running_while_one_is_paused():
    async def wait_for_other(stop, run):
        await until(lambda: run.state["o1"].status == "succeeded")
        return Resume()

    done = run_with(two_branches(), [Breakpoint(node="paused")], [wait_for_other])
    assert done.result.status == "succeeded"
    assert done.result.outputs == {"other": 101, "paused": 2}
    finished_other = next(i for i, e in enumerate(done.events)
                          if isinstance(e, ev.NodeFinished) and e.node_id == "o1")
    assert finished_other < done.events.index(started(done.events, "paused")[0])


def test_in_all_mode_nothing_new_starts_while_a_stop_is_open():
    held = []

    async def check_held(stop, run):
        gate = run.services.extra["breakpoint_gate"]
        await until(lambda: any(not s.hit for s in gate.stops))
        held.extend((s.node_id, s.hit) for s in gate.stops if not s.hit)
        assert run.state["after_slow"].status == "pending"
        return Resume()

    done = run_with(two_branches(), [Breakpoint(node="paused")], [check_held], mode=ALL)
    assert held == [("after_slow", False)]
    assert done.host.stops[0].node_id == "paused", "a held node is not asked about"
    assert done.result.outputs == {"other": 101, "paused": 2}


def test_in_all_mode_step_moves_the_pause_to_a_node_that_was_held():
    async def step_when_held(stop, run):
        gate = run.services.extra["breakpoint_gate"]
        await until(lambda: any(not s.hit for s in gate.stops))
        return Resume(STEP)

    done = run_with(two_branches(), [Breakpoint(node="paused")], [step_when_held, Resume()],
                    mode=ALL)
    assert [(s.node_id, s.reason) for s in done.host.stops][1] == ("after_slow", "step")
    assert done.result.status == "succeeded"


def test_secrets_are_masked_in_what_a_stop_shows():
    wf = chain()
    wf.nodes["v"].params["value"] = "key-s3cr3t-value"
    for nid, expr in (("a", "x + '!'"), ("b", "x"), ("c", "x")):
        wf.nodes[nid].params["expr"] = expr
    done = run_with(wf, [Breakpoint(node="b")], [], secret="key-s3cr3t-value")
    assert done.host.stops[0].value == {"x": "••••••!"}
    assert done.result.status == "succeeded"


def test_breakpoints_live_in_the_view_state_and_do_not_change_a_run():
    from engine.breakpoints import read_breakpoints, with_breakpoints
    from engine.fileformat import dumps, loads
    from tests.breakpoints.support import run_with as run

    wf = chain()
    before = run(wf, [], []).result.outputs
    wf.set_meta(extra=with_breakpoints(wf.extra, [
        Breakpoint(node="b"), Breakpoint(wire=("a", "out", "b", "x"), condition="x > 0")]))
    again = loads(dumps(wf)).workflow
    found, problems = read_breakpoints(again)
    assert problems == []
    assert found == [Breakpoint(node="b"), Breakpoint(wire=("a", "out", "b", "x"),
                                                       condition="x > 0")]
    assert list(again.extra) == ["ui"], "they sit in the one view-state block"
    assert run(again, [], []).result.outputs == before, "a run without a gate ignores them"


def test_unusable_breakpoints_are_named_and_left_out():
    from engine.breakpoints import read_breakpoints

    wf = chain()
    wf.extra["ui"] = {"breakpoints": [{"node": "gone"}, {"node": "a", "condition": "x >"},
                                      {"wire": {"source": "a"}}, {"node": "b"}]}
    found, problems = read_breakpoints(wf)
    assert found == [Breakpoint(node="b")]
    assert len(problems) == 3
    assert "no node 'gone'" in problems[0] and "does not parse" in problems[1]



def test_an_edit_of_the_wrong_type_for_the_port_is_refused_with_a_sentence():
    seen = []

    async def check(stop, run):
        seen.append((stop.problem({"items": {"not": "a list"}}), stop.problem({"items": [7]})))
        return Resume(value={"items": "nope"}, edited=True)  # a host that did not check

    done = run_with(loop(), [Breakpoint(node="each")], [check])
    assert seen == [("input 'items' of node 'each' expects list, got dict", None)]
    assert done.result.outputs == {"results": [1.0, 2.0, 3.0, 4.0, 5.0]}, "never run with"


def test_breakpoints_changed_while_the_run_goes_on_take_effect():
    async def move_it(stop, run):
        run.services.extra["breakpoint_gate"].set_breakpoints([Breakpoint(node="c")])
        return Resume()

    done = run_with(chain(), [Breakpoint(node="a")], [move_it])
    assert [s.node_id for s in done.host.stops] == ["a", "c"]
