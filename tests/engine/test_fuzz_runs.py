"""Fuzzing runs: random workflows with branches, merges, loops (foreach with `parallel`, while
with `max_iterations`), failing nodes, `on_error`, retries, hostile outputs and the concurrency
cap — the parts tests/engine/test_properties.py leaves out — saved with dumps, loaded again and
run, recorded in a real history database. Every run ends in a recorded status; every node in a
terminal one; the run fails exactly when a node fails without `on_error: continue`; the cap holds.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Run, compile_workflow, fileformat
from engine import events as ev
from engine.context import Services
from engine.history import HistoryRecorder, HistoryStore, get_run

from .helpers import Probe, test_registry, workflow

CI = settings(deadline=None, derandomize=True, database=None, max_examples=550,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
REGISTRY = test_registry()
RUN_TIMEOUT_S = 10.0

GOOD = ["x", "len(str(x))", "[x, 1]", "{'v': x}", "str(x) + '!'"]
BAD = ["1 / 0", "x['nope']", "x.keys()", "2 ** 100000 > 1 and x.values()", "int('x')"]
KINDS = ["expr", "expr", "bad", "fail", "flaky", "sleep", "if", "merge", "foreach", "while"]


@st.composite
def random_workflows(draw):
    """(nodes, edges) for helpers.workflow(): each new node reads one or more earlier ones."""
    nodes: dict = {"src": ("data.value", {"value": draw(st.integers(-3, 3))})}
    edges: list[str] = []
    readable = [("src", "out")]
    for i in range(draw(st.integers(1, 9))):
        kind, nid = draw(st.sampled_from(KINDS)), f"n{i}"
        parent, port = draw(st.sampled_from(readable))
        extra: dict = {}
        if draw(st.integers(0, 2)) == 0:
            extra["on_error"] = draw(st.sampled_from(["continue", "fail"]))
        if kind in ("fail", "flaky", "sleep") and draw(st.booleans()):
            extra["retry"] = {"max_attempts": draw(st.integers(1, 3)), "backoff_s": 0}
        outs = ["out"]
        if kind in ("expr", "bad"):
            expr = draw(st.sampled_from(GOOD if kind == "expr" else BAD))
            nodes[nid] = ("data.expression", {"expr": expr}, extra)
            edges.append(f"{parent}.{port} -> {nid}.x")
        elif kind in ("fail", "flaky", "sleep"):
            params = ({"message": "boom"} if kind == "fail" else
                      {"failures": draw(st.integers(0, 2))} if kind == "flaky" else
                      {"seconds": draw(st.sampled_from([0, 0.001, 0.005]))})
            nodes[nid] = (f"test.{kind}", params, extra)
            edges.append(f"{parent}.{port} -> {nid}.in")
        elif kind == "if":
            nodes[nid] = ("flow.if", {"condition": "len(str(x)) % 2 == 0"}, extra)
            edges.append(f"{parent}.{port} -> {nid}.in")
            outs = ["true", "false"]
        elif kind == "merge":
            sources = draw(st.lists(st.sampled_from(readable), min_size=1, max_size=3,
                                    unique=True))
            nodes[nid] = ("flow.merge", {"mode": draw(st.sampled_from(["all", "first"]))}, extra)
            edges += [f"{s}.{p} -> {nid}.in" for s, p in sources]
        elif kind == "foreach":
            body = draw(st.sampled_from(GOOD + BAD[:2] + ["sleep"]))
            nodes[f"{nid}l"] = ("data.expression", {"expr": "[x, 1, 2, 3]"})
            nodes[nid] = ("flow.foreach", {"parallel": draw(st.integers(1, 3))}, extra)
            edges += [f"{parent}.{port} -> {nid}l.x", f"{nid}l.out -> {nid}.items"]
            if body == "sleep":
                nodes[f"{nid}b"] = ("test.sleep", {"seconds": 0.002})
                edges += [f"{nid}.item -> {nid}b.in", f"{nid}b.out -> {nid}.result"]
            else:
                nodes[f"{nid}b"] = ("data.expression", {"expr": body})
                edges += [f"{nid}.item -> {nid}b.x", f"{nid}b.out -> {nid}.result"]
            outs = ["results"]
        else:  # while: counts up to `stop`; a max_iterations below it fails the loop
            stop, cap = draw(st.integers(0, 4)), draw(st.integers(1, 5))
            nodes[f"{nid}s"] = ("data.expression", {"expr": "0"})
            nodes[nid] = ("flow.while", {"condition": f"x < {stop}", "max_iterations": cap},
                          extra)
            nodes[f"{nid}b"] = ("data.expression", {"expr": "x + 1"})
            edges += [f"{parent}.{port} -> {nid}s.x", f"{nid}s.out -> {nid}.in",
                      f"{nid}.body -> {nid}b.x", f"{nid}b.out -> {nid}.next"]
            outs = ["done"]
        if extra.get("on_error") == "continue":
            outs = outs + ["error"]
        readable += [(nid, o) for o in outs]
    last, port = readable[-1]
    nodes["result"] = ("flow.output", {"name": "result"})
    edges.append(f"{last}.{port} -> result.in")
    return nodes, edges


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with HistoryStore.open(tmp_path_factory.mktemp("fuzz-runs") / "history.db") as opened:
        yield opened


async def run_recorded(compiled, store, concurrency):
    probe = Probe()
    run = Run(compiled, concurrency=concurrency, services=Services(extra={"probe": probe}))
    events: list = []
    run.subscribe(events.append)
    recorder = HistoryRecorder(store, None, flush_interval_s=0.05).attach(run)
    try:
        async with asyncio.timeout(RUN_TIMEOUT_S):
            result = await run.execute()
    finally:
        await recorder.aclose()
    return run, result, events, probe


@CI
@given(spec=random_workflows(), concurrency=st.sampled_from([None, 1, 2, 3]))
def test_a_random_workflow_round_trips_and_runs_to_a_recorded_terminal_status(
        store, spec, concurrency):
    text = fileformat.dumps(workflow(*spec))
    loaded = fileformat.loads(text, REGISTRY)
    assert not loaded.errors, loaded.errors
    assert fileformat.dumps(loaded.workflow) == text
    compiled = compile_workflow(loaded.workflow, REGISTRY)
    run, result, events, probe = asyncio.run(run_recorded(compiled, store, concurrency))

    assert result.status in ("succeeded", "failed"), result.error
    assert isinstance(events[-1], ev.RunFinished) and events[-1].status == result.status
    statuses = {nid: nr.status for nid, nr in result.nodes.items()}
    assert set(statuses.values()) <= {"succeeded", "failed", "skipped"}, statuses
    top = [nid for nid in loaded.workflow.nodes if compiled.scope_of.get(nid) is None]
    stopping = [nid for nid in top if statuses[nid] == "failed"
                and loaded.workflow.node(nid).on_error != "continue"]
    assert (result.status == "failed") == bool(stopping), (result.error, statuses)
    if concurrency is not None:
        assert probe.max_in_flight <= concurrency
    for nid in top:
        node = loaded.workflow.node(nid)
        if node.type == "test.flaky" and statuses[nid] == "succeeded":
            assert result.nodes[nid].attempts == node.params["failures"] + 1

    row = get_run(store, run.run_id)
    assert row is not None and row.status == result.status
    recorded = {n.node_id: n.status for n in row.nodes if not n.iteration}
    for nid in top:
        if nid in recorded:
            assert recorded[nid] == statuses[nid], (nid, recorded[nid], statuses[nid])
    assert all(n.status in ("succeeded", "failed", "skipped") for n in row.nodes)
