"""Executor semantics of branches: if/switch, skipping and its reasons, merge all/first,
on_error, and values that no branch can change under another's feet."""

from __future__ import annotations

import pytest

from engine import events as ev

from .helpers import run_sync, workflow


def if_else(condition: str, mode: str = "all", value=4):
    return workflow(
        {"v": ("data.value", {"value": value}),
         "check": ("flow.if", {"condition": condition}),
         "yes": ("data.expression", {"expr": "'yes ' + str(x)"}),
         "yes2": ("data.expression", {"expr": "x + '!'"}),
         "no": ("data.expression", {"expr": "'no ' + str(x)"}),
         "join": ("flow.merge", {"mode": mode}),
         "out": ("flow.output", {"name": "answer"})},
        ["v.out -> check.in", "check.true -> yes.x", "yes.out -> yes2.x", "check.false -> no.x",
         "yes2.out -> join.in", "no.out -> join.in", "join.out -> out.in"])


@pytest.mark.parametrize(("value", "taken", "skipped"), [(4, "yes2", "no"), (1, "no", "yes2")])
def test_if_sends_the_value_out_of_the_taken_port_only(value, taken, skipped):
    outcome = run_sync(if_else("x > 2", value=value))
    assert outcome.result.ok
    assert outcome.status(taken) == "succeeded"
    assert outcome.status(skipped) == "skipped"
    assert outcome.finished("check").outputs == {"true" if value > 2 else "false": value}


def test_merge_all_after_if_else_outputs_the_branch_that_ran():
    outcome = run_sync(if_else("x > 2"))
    assert outcome.result.outputs == {"answer": ["yes 4!"]}
    assert outcome.output("join") == ["yes 4!"]


def test_merge_first_after_if_else_outputs_the_value_itself():
    outcome = run_sync(if_else("x > 2", mode="first", value=0))
    assert outcome.result.outputs == {"answer": "no 0"}


def test_skip_reason_names_the_if_node_and_the_untaken_port_and_propagates():
    outcome = run_sync(if_else("x > 2", value=1))
    for node_id in ("yes", "yes2"):
        reason = outcome.result.nodes[node_id].reason
        assert reason == "branch 'true' of check was not taken"
        (skipped,) = outcome.of(ev.NodeSkipped, node_id)
        assert skipped.reason == reason
    assert outcome.status("join") == "succeeded"  # skipping stops at the merge
    assert outcome.status("out") == "succeeded"


def test_skip_reason_uses_the_node_title_when_it_has_one():
    wf = if_else("x > 2", value=1)
    wf.update_node("check", title="Big?")
    outcome = run_sync(wf)
    assert outcome.result.nodes["yes"].reason == "branch 'true' of check (Big?) was not taken"


def test_merge_all_waits_for_every_branch_that_ran():
    wf = workflow(
        {"v": ("data.value", {"value": 1}),
         "slow": ("util.delay", {"seconds": 0.05}),
         "fast": ("data.expression", {"expr": "x + 1"}),
         "middle": ("util.delay", {"seconds": 0.01}),
         "join": ("flow.merge", {"mode": "all"})},
        ["v.out -> slow.in", "v.out -> fast.x", "v.out -> middle.in",
         "slow.out -> join.in", "fast.out -> join.in", "middle.out -> join.in"])
    outcome = run_sync(wf)
    assert outcome.output("join") == [1, 2, 1]  # edge order, not arrival order
    join_started = outcome.started("join").t
    for node_id in ("slow", "fast", "middle"):
        assert outcome.finished(node_id).t <= join_started


def test_merge_first_outputs_the_first_value_to_arrive_and_does_not_wait():
    wf = workflow(
        {"v": ("data.value", {"value": 1}),
         "slow": ("util.delay", {"seconds": 0.2}),
         "fast": ("util.delay", {"seconds": 0.0}),
         "tag_slow": ("data.expression", {"expr": "'slow'"}),
         "tag_fast": ("data.expression", {"expr": "'fast'"}),
         "join": ("flow.merge", {"mode": "first"}),
         "after": ("data.expression", {"expr": "x + '!'"})},
        ["v.out -> slow.in", "v.out -> fast.in", "slow.out -> tag_slow.x",
         "fast.out -> tag_fast.x", "tag_slow.out -> join.in", "tag_fast.out -> join.in",
         "join.out -> after.x"])
    outcome = run_sync(wf)
    assert outcome.output("join") == "fast"
    assert outcome.output("after") == "fast!"
    assert outcome.finished("after").t < outcome.finished("slow").t
    assert outcome.status("slow") == "succeeded"  # the other branch still runs
    assert len(outcome.of(ev.NodeFinished, "join")) == 1


def test_merge_is_skipped_only_when_every_upstream_branch_was_skipped():
    wf = workflow(
        {"v": ("data.value", {"value": 1}),
         "a": ("flow.if", {"condition": "x > 5"}),
         "b": ("flow.if", {"condition": "x > 9"}),
         "join": ("flow.merge", {}),
         "after": ("data.expression", {"expr": "x"})},
        ["v.out -> a.in", "v.out -> b.in", "a.true -> join.in", "b.true -> join.in",
         "join.out -> after.x"])
    outcome = run_sync(wf)
    assert outcome.result.ok
    assert outcome.status("join") == "skipped"
    reason = outcome.result.nodes["join"].reason
    assert reason.startswith("every upstream branch was skipped")
    assert "branch 'true' of a was not taken" in reason
    assert "branch 'true' of b was not taken" in reason
    assert outcome.status("after") == "skipped"


@pytest.mark.parametrize(("value", "port"), [(15, "case0"), (7, "case1"), (-3, "default")])
def test_switch_takes_the_first_true_case_else_default(value, port):
    wf = workflow(
        {"v": ("data.value", {"value": value}),
         "sw": ("flow.switch", {"cases": ["x > 10", "x > 5", "x > 0"]}),
         "c0": ("data.expression", {"expr": "'big'"}),
         "c1": ("data.expression", {"expr": "'medium'"}),
         "c2": ("data.expression", {"expr": "'small'"}),
         "d": ("data.expression", {"expr": "'negative'"}),
         "join": ("flow.merge", {"mode": "first"}),
         "out": ("flow.output", {"name": "size"})},
        ["v.out -> sw.in", "sw.case0 -> c0.x", "sw.case1 -> c1.x", "sw.case2 -> c2.x",
         "sw.default -> d.x", "c0.out -> join.in", "c1.out -> join.in", "c2.out -> join.in",
         "d.out -> join.in", "join.out -> out.in"])
    outcome = run_sync(wf)
    expected = {"case0": "big", "case1": "medium", "default": "negative"}[port]
    assert outcome.result.outputs == {"size": expected}
    assert outcome.finished("sw").outputs == {port: value}
    ran = {"case0": "c0", "case1": "c1", "default": "d"}[port]
    for node_id in ("c0", "c1", "c2", "d"):
        if node_id == ran:
            assert outcome.status(node_id) == "succeeded"
        else:
            assert outcome.status(node_id) == "skipped"
            assert outcome.result.nodes[node_id].reason.startswith("branch 'case")\
                or "'default' of sw" in outcome.result.nodes[node_id].reason


def test_a_node_with_one_skipped_input_is_skipped_even_if_others_ran():
    wf = workflow(
        {"v": ("data.value", {"value": 1}),
         "check": ("flow.if", {"condition": "x > 5"}),
         "both": ("data.expression", {"expr": "a + b", "inputs": ["a", "b"]})},
        ["v.out -> check.in", "check.true -> both.a", "v.out -> both.b"])
    outcome = run_sync(wf)
    assert outcome.status("both") == "skipped"
    assert outcome.result.nodes["both"].reason == "branch 'true' of check was not taken"


def test_a_node_with_an_unconnected_optional_input_runs():
    outcome = run_sync(workflow({"d": ("util.delay", {"seconds": 0})}, []))
    assert outcome.result.ok and outcome.output("d") is None


# --- errors --------------------------------------------------------------------------------
def test_on_error_continue_sends_the_error_out_of_the_error_port_and_the_run_goes_on():
    wf = workflow(
        {"v": ("data.value", {"value": 3}),
         "bad": ("test.fail", {"message": "kaput"}, {"on_error": "continue"}),
         "handle": ("data.expression", {"expr": "'handled: ' + x['message']"}),
         "normal": ("data.expression", {"expr": "x"}),
         "other": ("data.expression", {"expr": "x * 2"}),
         "out": ("flow.output", {"name": "handled"})},
        ["v.out -> bad.in", "bad.error -> handle.x", "bad.out -> normal.x", "v.out -> other.x",
         "handle.out -> out.in"])
    outcome = run_sync(wf)
    assert outcome.result.status == "succeeded"
    assert outcome.status("bad") == "failed"
    assert outcome.result.outputs == {"handled": "handled: kaput (input 3)"}
    assert outcome.status("normal") == "skipped"
    assert outcome.result.nodes["normal"].reason == "bad failed"
    assert outcome.output("other") == 6
    (failed,) = outcome.of(ev.NodeFailed, "bad")
    assert failed.error == "kaput (input 3)"


def test_the_error_port_carries_nothing_when_the_node_succeeds():
    wf = workflow(
        {"v": ("data.value", {"value": 3}),
         "ok": ("data.expression", {"expr": "x"}, {"on_error": "continue"}),
         "handle": ("data.expression", {"expr": "x"})},
        ["v.out -> ok.x", "ok.error -> handle.x"])
    outcome = run_sync(wf)
    assert outcome.status("handle") == "skipped"
    assert "succeeded, so its error port carried nothing" in outcome.result.nodes["handle"].reason


def test_on_error_fail_fails_the_run_after_running_nodes_settle():
    wf = workflow(
        {"v": ("data.value", {"value": 1}),
         "bad": ("test.fail", {"message": "broken", "seconds": 0.01}),
         "slow": ("util.delay", {"seconds": 0.15}),
         "after_slow": ("data.expression", {"expr": "x"}),
         "after_bad": ("data.expression", {"expr": "x"})},
        ["v.out -> bad.in", "v.out -> slow.in", "slow.out -> after_slow.x",
         "bad.out -> after_bad.x"])
    outcome = run_sync(wf)
    result = outcome.result
    assert result.status == "failed"
    assert result.error == "node bad failed: broken (input 1)"
    assert outcome.status("slow") == "succeeded"  # it was running: it was let finish
    assert outcome.status("after_slow") == "skipped"  # ready after the failure: not started
    assert "not run: node bad failed" in result.nodes["after_slow"].reason
    assert outcome.status("after_bad") == "skipped"
    finished = outcome.of(ev.RunFinished)
    assert len(finished) == 1 and finished[0].status == "failed"
    assert outcome.finished("slow").t <= finished[0].t


def test_an_expression_error_fails_its_node_quoting_the_expression():
    wf = workflow({"v": ("data.value", {"value": 0}),
                   "div": ("data.expression", {"expr": "10 / x"})}, ["v.out -> div.x"])
    outcome = run_sync(wf)
    assert outcome.result.status == "failed"
    error = outcome.result.nodes["div"].error
    assert error.startswith("expression `10 / x` failed: ZeroDivisionError")


def test_an_input_of_the_wrong_runtime_type_fails_the_node_naming_the_port():
    wf = workflow({"v": ("data.value", {"value": "not a list"}), "loop": ("flow.foreach", {}),
                   "body": ("data.expression", {"expr": "x"})},
                  ["v.out -> loop.items", "loop.item -> body.x", "body.out -> loop.result"])
    outcome = run_sync(wf)
    assert outcome.result.status == "failed"
    assert outcome.result.nodes["loop"].error == "input 'items' expects list, got str from v.out"
    assert outcome.result.nodes["loop"].attempts == 1
    kinds = [type(e) for e in outcome.events if getattr(e, "node_id", None) == "loop"]
    assert kinds == [ev.NodeStarted, ev.NodeFailed]


# --- isolation -----------------------------------------------------------------------------
def test_a_node_mutating_its_input_does_not_affect_a_sibling_branch():
    wf = workflow(
        {"v": ("data.value", {"value": [{"n": 1}, 2]}),
         "mutator": ("test.mutate", {}),
         "delayed": ("util.delay", {"seconds": 0.02}),
         "reader": ("data.expression", {"expr": "x"}),
         "out_m": ("flow.output", {"name": "mutated"}),
         "out_r": ("flow.output", {"name": "read"})},
        ["v.out -> mutator.in", "v.out -> delayed.in", "delayed.out -> reader.x",
         "mutator.out -> out_m.in", "reader.out -> out_r.in"])
    outcome = run_sync(wf)
    assert outcome.result.outputs["mutated"] == [{"n": 1, "touched": True}, 2, "mutated"]
    assert outcome.result.outputs["read"] == [{"n": 1}, 2]
    assert outcome.finished("v").outputs == {"out": [{"n": 1}, 2]}


def test_merge_all_inputs_are_copies_too():
    wf = workflow(
        {"v": ("data.value", {"value": [{"n": 1}]}),
         "join": ("flow.merge", {}),
         "mutator": ("test.mutate", {}),
         "reader": ("util.delay", {"seconds": 0.02})},
        ["v.out -> join.in", "join.out -> mutator.in", "v.out -> reader.in"])
    outcome = run_sync(wf)
    assert outcome.output("reader") == [{"n": 1}]
