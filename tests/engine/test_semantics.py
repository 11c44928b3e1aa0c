"""The rules of docs/semantics.md, one test (or a few) per rule: merges fed by failed branches,
the concurrency cap across sub-workflows, running time and queue time of retried and capped
nodes, and values too deep to copy. Durations are read from the run's own events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine import events as ev
from engine.compile import compile_workflow
from engine.context import Services
from engine.executor import Run
from engine.fileformat import save
from engine.model import Node
from engine.nodetype import NodeType, Port
from nodes.flowctl import REGISTRY_KEY, SubWorkflow

from .helpers import Outcome, Probe, run_sync, test_registry, workflow

RETRY = {"max_attempts": 3, "backoff_s": 0.05, "factor": 1}


def _running(event: ev.NodeFinished | ev.NodeFailed) -> tuple[float, float]:
    """When a node ran (after any wait for the cap), from its end event."""
    return event.t - event.duration_s, event.t


# --- merges and failed branches ----------------------------------------------------------------
def failed_and_skipped(mode: str = "all", *, error_edge: bool = False, hop: bool = False):
    """A merge fed by an untaken if-branch and by a node failing with on_error: continue
    (through a node it skips, with `hop`; and also by its error port, with `error_edge`)."""
    nodes = {"v": ("data.value", {"value": 1}),
             "check": ("flow.if", {"condition": "x > 5"}),
             "big": ("data.expression", {"expr": "x * 100"}),
             "bad": ("test.fail", {"message": "kaput"}, {"on_error": "continue"}),
             "after": ("data.expression", {"expr": "x"}),
             "join": ("flow.merge", {"mode": mode}),
             "out": ("flow.output", {"name": "joined"})}
    edges = ["v.out -> check.in", "check.true -> big.x", "v.out -> bad.in",
             "big.out -> join.in", "join.out -> out.in"]
    if hop:
        edges += ["bad.out -> after.x", "after.out -> join.in"]
    else:
        del nodes["after"]
        edges.append("bad.out -> join.in")
    if error_edge:
        edges.append("bad.error -> join.in")
    return workflow(nodes, edges)


PAYLOAD = {"node": "bad", "message": "kaput (input 1)", "attempts": 1}


def test_a_merge_fed_by_a_skipped_and_a_failed_branch_runs_with_the_error_payload():
    outcome = run_sync(failed_and_skipped())
    assert outcome.result.ok
    assert outcome.status("big") == "skipped"
    assert outcome.status("join") == "succeeded"
    assert outcome.output("join") == [PAYLOAD]
    assert outcome.result.outputs == {"joined": [PAYLOAD]}


def test_a_failure_travels_through_the_nodes_it_skips_to_the_merge_once():
    outcome = run_sync(failed_and_skipped(hop=True, error_edge=True))
    assert outcome.status("after") == "skipped"
    assert outcome.result.nodes["after"].reason == "bad failed"
    # by bad.out -> after -> join and by bad.error -> join: one failure, one entry
    assert outcome.output("join") == [PAYLOAD]


def test_a_skip_reason_never_calls_a_failed_branch_skipped():
    outcome = run_sync(failed_and_skipped(hop=True))
    for skipped in outcome.of(ev.NodeSkipped):
        if "bad" in skipped.reason:
            assert "skipped" not in skipped.reason, skipped
    assert "join" not in {e.node_id for e in outcome.of(ev.NodeSkipped)}


def test_merge_first_prefers_any_value_and_takes_the_error_only_when_none_arrives():
    outcome = run_sync(failed_and_skipped("first"))
    assert outcome.output("join") == PAYLOAD
    wf = workflow({"v": ("data.value", {"value": 1}),
                   "slow": ("util.delay", {"seconds": 0.05}),
                   "bad": ("test.fail", {"message": "fast"}, {"on_error": "continue"}),
                   "join": ("flow.merge", {"mode": "first"})},
                  ["v.out -> slow.in", "v.out -> bad.in", "bad.out -> join.in",
                   "slow.out -> join.in"])
    outcome = run_sync(wf)
    assert outcome.output("join") == 1  # the failure came first, the value still won
    assert outcome.finished("join").t >= outcome.finished("slow").t


def test_a_merge_of_skips_only_is_still_skipped_and_names_them():
    wf = workflow({"v": ("data.value", {"value": 1}),
                   "a": ("flow.if", {"condition": "x > 5"}),
                   "join": ("flow.merge", {})},
                  ["v.out -> a.in", "a.true -> join.in"])
    outcome = run_sync(wf)
    assert outcome.result.nodes["join"].reason == (
        "every upstream branch was skipped (branch 'true' of a was not taken)")


# --- the concurrency cap and sub-workflows ------------------------------------------------------
def _registry():
    registry = test_registry()
    registry.register(SubWorkflow)
    return registry


def _parallel_file(path, type_id: str, count: int, seconds: float, extra=None) -> None:
    nodes = {f"c{i}": (type_id, {"seconds": seconds}) for i in range(count)}
    nodes.update(extra or {})
    save(workflow(nodes, [], name=path.stem), path)


def _caller(child: str, type_id: str, seconds: float):
    return workflow({"d1": (type_id, {"seconds": seconds}),
                     "d2": (type_id, {"seconds": seconds}),
                     "s": ("flow.subworkflow", {"path": child})}, [])


def _services(tmp_path, probe: Probe | None = None) -> Services:
    return Services(base_dir=tmp_path, extra={"probe": probe or Probe(),
                                              REGISTRY_KEY: _registry()})


async def _run(wf, tmp_path, probe=None, **options):
    run = Run(compile_workflow(wf, _registry()), services=_services(tmp_path, probe), **options)
    events: list[Any] = []
    run.subscribe(events.append)
    async with asyncio.timeout(10):
        result = await run.execute()
    return result, events


@pytest.mark.asyncio
async def test_the_cap_counts_a_sub_workflows_nodes_with_the_callers(tmp_path):
    _parallel_file(tmp_path / "child.loom.json", "test.sleep", 4, 0.03)
    probe = Probe()
    result, _ = await _run(_caller("child.loom.json", "test.sleep", 0.03), tmp_path, probe,
                           concurrency=2)
    assert result.ok, result.error
    assert len(probe.started) == 6  # d1, d2 and the child's c0..c3
    assert probe.max_in_flight == 2
    uncapped = Probe()
    result, _ = await _run(_caller("child.loom.json", "test.sleep", 0.03), tmp_path, uncapped)
    assert uncapped.max_in_flight == 6  # without a cap all of them overlap


@pytest.mark.asyncio
async def test_a_cap_of_one_runs_caller_child_and_grandchild_in_turn_without_deadlock(tmp_path):
    """The sub-workflow node holds a slot; it lends it to its child while it waits, so with
    --concurrency 1 nothing waits for a slot its own caller holds."""
    seconds = 0.1
    _parallel_file(tmp_path / "grand.loom.json", "util.delay", 1, seconds)
    _parallel_file(tmp_path / "child.loom.json", "util.delay", 2, seconds,
                   {"g": ("flow.subworkflow", {"path": "grand.loom.json"})})
    wf = _caller("child.loom.json", "util.delay", seconds)
    capped, events = await _run(wf, tmp_path, concurrency=1)
    assert capped.ok, capped.error
    free, _ = await _run(wf, tmp_path)
    # five 0.1 s delays (d1, d2, c0, c1 and the grandchild's c0) one after another
    assert capped.duration_s >= 5 * seconds * 0.95
    assert free.duration_s < 2.5 * seconds
    # the caller's own delays never overlap, and each waited for the cap apart from running
    d1, d2 = (next(e for e in events if isinstance(e, ev.NodeFinished) and e.node_id == n)
              for n in ("d1", "d2"))
    (a0, a1), (b0, b1) = sorted([_running(d1), _running(d2)])
    assert a1 <= b0 + 1e-3
    assert max(d1.queued_s, d2.queued_s) >= seconds * 0.9
    assert d1.duration_s < 1.5 * seconds and d2.duration_s < 1.5 * seconds


# --- durations ----------------------------------------------------------------------------------
def test_a_retried_node_reports_each_attempt_and_their_sum():
    wf = workflow({"bad": ("test.fail", {"message": "slow fail", "seconds": 0.04},
                           {"retry": RETRY})}, [])
    outcome = run_sync(wf)
    (failed,) = outcome.of(ev.NodeFailed, "bad")
    assert failed.attempts == 3 and len(failed.attempt_durations_s) == 3
    assert all(0.04 <= d < 0.2 for d in failed.attempt_durations_s)
    assert failed.duration_s == pytest.approx(sum(failed.attempt_durations_s))
    retrying = outcome.of(ev.NodeRetrying, "bad")
    assert [e.duration_s for e in retrying] == list(failed.attempt_durations_s[:2])
    # the span from first start to the end also holds the backoff, which duration_s leaves out
    span = failed.t - outcome.started("bad").t
    waited = sum(e.delay_s for e in retrying)
    assert span == pytest.approx(failed.duration_s + waited, abs=0.03)
    node = outcome.result.to_json()["nodes"]["bad"]
    assert node["attempt_durations_s"] == [round(d, 6) for d in failed.attempt_durations_s]
    assert node["duration_s"] == round(failed.duration_s, 6)


def test_a_node_waiting_for_the_cap_reports_running_time_and_queue_time_apart():
    wf = workflow({"a": ("util.delay", {"seconds": 0.1}),
                   "b": ("util.delay", {"seconds": 0.1})}, [])
    outcome = run_sync(wf, concurrency=1)
    first, second = sorted((outcome.finished(n) for n in ("a", "b")), key=lambda e: e.t)
    assert first.queued_s < 0.02
    assert second.queued_s >= 0.09
    for event in (first, second):
        assert 0.1 <= event.duration_s < 0.15
        assert event.attempt_durations_s == (event.duration_s,)
    nodes = outcome.result.to_json()["nodes"]
    second_id = second.node_id
    assert nodes[second_id]["queued_s"] == round(second.queued_s, 6)
    assert outcome.result.nodes[second_id].duration_s == pytest.approx(second.duration_s)


# --- values too deep to copy, and bookkeeping errors --------------------------------------------
def test_a_while_state_too_deep_to_copy_fails_the_loop_with_a_sentence():
    wf = workflow({"v": ("data.value", {"value": {"n": 0, "d": []}}),
                   "loop": ("flow.while", {"condition": "x['n'] < 3000",
                                           "max_iterations": 5000}),
                   "step": ("data.expression", {"expr": "{'n': x['n'] + 1, 'd': [x['d']]}"}),
                   "out": ("flow.output", {"name": "r"})},
                  ["v.out -> loop.in", "loop.body -> step.x", "step.out -> loop.next",
                   "loop.done -> out.in"])
    outcome = run_sync(wf)
    assert outcome.result.status == "failed"
    error = outcome.result.nodes["loop"].error
    # the output check at the node's boundary (engine/plaindata.py) names the limit
    assert "is not plain data" in error and "nested more than 200 levels" in error
    assert "ExceptionGroup" not in error and "TaskGroup" not in error
    assert outcome.result.nodes["out"].status == "skipped"
    assert len(outcome.of(ev.RunFinished)) == 1


class _Deep(NodeType):
    """Returns a value nested `depth` levels, after reading a credential (so the run masks
    secrets in what it records, walking the whole value)."""

    type_id = "test.deep"
    outputs = (Port("out"),)

    async def run(self, ctx: Any) -> dict[str, Any]:
        ctx.secret("token")
        value: list[Any] = []
        for _ in range(5000):
            value = [value]
        return {"out": value}


def test_an_exception_in_recording_a_nodes_outputs_is_that_nodes_failure():
    registry = test_registry()
    registry.register(_Deep)
    wf = workflow({"deep": ("test.deep", {}, {"on_error": "continue"}),
                   "after": ("data.expression", {"expr": "'handled'"}),
                   "other": ("util.delay", {"seconds": 0})},
                  ["deep.error -> after.x"])
    outcome = asyncio.run(_run_with_secret(wf, registry))
    assert outcome.result.status == "succeeded"
    assert outcome.status("deep") == "failed"
    assert "nested more than 200 levels" in outcome.result.nodes["deep"].error
    assert outcome.output("after") == "handled"  # on_error still applies
    assert outcome.status("other") == "succeeded"


async def _run_with_secret(wf, registry):
    run = Run(compile_workflow(wf, registry),
              services=Services(secrets=lambda name: "s3cret-value", extra={"probe": Probe()}))
    events: list[Any] = []
    run.subscribe(events.append)
    async with asyncio.timeout(10):
        result = await run.execute()
    return Outcome(result, events, Probe())


@pytest.mark.asyncio
async def test_an_agent_lends_its_slot_to_its_tool_calls_under_a_cap_of_one(monkeypatch, tmp_path):
    """The agent waits for its tools as a sub-workflow waits for its child: one tool call (in
    the agent's own task) and two at once (in tasks of their own) both finish, in turn."""
    from tests.agents.support import agent_workflow
    from tests.nodes.flowrun import REGISTRY
    from tests.servers.llm import Answer, LLMServer, ToolCall, reply

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("FLOWLOOM_MEMORY_DB", str(tmp_path / "memory.db"))
    tools = [Node(n, "util.delay", title=n, params={"seconds": 0.1}) for n in ("ta", "tb")]
    with LLMServer() as llm:
        llm.script(Answer(tool_calls=[ToolCall("ta", {"in": "A"})]),
                   Answer(tool_calls=[ToolCall("ta", {"in": "A"}), ToolCall("tb", {"in": "B"})]),
                   reply("done"))
        run = Run(compile_workflow(agent_workflow(llm.url, "openai", tools), REGISTRY),
                  concurrency=1)
        events: list[Any] = []
        run.subscribe(events.append)
        async with asyncio.timeout(10):
            result = await run.execute()
    assert result.ok, result.error
    assert result.outputs["text"] == "done"
    ran = sorted(_running(e) for e in events
                 if isinstance(e, ev.NodeFinished) and e.node_id in ("ta", "tb"))
    assert len(ran) == 3
    for (_, end), (start, _) in zip(ran, ran[1:]):
        assert end <= start + 1e-3  # one at a time
