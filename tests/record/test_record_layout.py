"""A record keeps every fact it kept when each top-level execution was a "node" item (issue 17,
fifth pass: they are batched now): load_record gives, for every execution in the order it
ended, the status, error, type, purity, cache flag, the keys keys.py's definitions give
(`node_keys`, `static_key`), and the canonical bytes of its outputs and of the values on its
wires; a pruned record still names every top-level node with its status and keys."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine import Edge, Node, Run, Workflow, compile_workflow
from engine.history import HistoryStore
from engine.history.names import iteration_text
from engine.history.recorder import HistoryRecorder
from engine.record import store as record_store
from engine.record.codec import decode, encode
from engine.record.keys import node_keys, static_key
from engine.record.store import INLINE_MAX, load_record, prune, write_record
from engine.record.tap import RunTap
from engine.record.wires import Wires
from nodes import default_registry

REGISTRY = default_registry(plugins=False)


def _expr(nid: str, expr: str, inputs: list[str], **settings) -> Node:
    node = Node(nid, "data.expression", params={"expr": expr, "inputs": inputs})
    for name, value in settings.items():
        setattr(node, name, value)
    return node


def mixed() -> Workflow:
    nodes = [Node("items", "data.value", params={"value": [1, 2, 3]}),
             _expr("a", "1", []), _expr("b", "x + 1", ["x"]),
             _expr("big", f"'y' * {INLINE_MAX + 10}", []),  # a large output
             _expr("uses_big", "len(x)", ["x"]),  # large inputs
             Node("each", "flow.foreach", params={"parallel": 1}),
             _expr("sq", "x * x", ["x"]), _expr("total", "sum(x)", ["x"]),
             _expr("bad", "1 / 0", [], on_error="continue"), _expr("after_bad", "x", ["x"]),
             _expr("c", "x + 1", ["x"]), _expr("d", "x + 1", ["x"])]
    edges = [Edge("a", "out", "b", "x"), Edge("big", "out", "uses_big", "x"),
             Edge("items", "out", "each", "items"), Edge("each", "item", "sq", "x"),
             Edge("sq", "out", "each", "result"), Edge("each", "results", "total", "x"),
             Edge("bad", "out", "after_bad", "x"), Edge("total", "out", "c", "x"),
             Edge("c", "out", "d", "x")]
    return Workflow("mixed", nodes=nodes, edges=edges)


def _record_a_run(db: Path, workflow: Workflow):
    compiled = compile_workflow(workflow, REGISTRY)
    run = Run(compiled)
    tap = RunTap().attach(run)
    with HistoryStore.open(db) as store:
        recorder = HistoryRecorder(store, None, "x").attach(run)
        asyncio.run(run.execute())
        recorder.close()
        tap.detach()
        write_record(store, run, tap)
        record = load_record(store, run.run_id)
    return compiled, run, tap, record


@pytest.mark.parametrize("batch_entries", [5000, 3])
def test_every_fact_of_every_execution_reads_back(tmp_path, monkeypatch, batch_entries):
    monkeypatch.setattr(record_store, "BATCH_ENTRIES", batch_entries)  # 3: many batches
    compiled, run, tap, record = _record_a_run(tmp_path / "history.db", mixed())

    def outputs_of(nid: str):
        rec = tap.nodes.get((nid, ()))
        return {} if rec is None else (rec["outputs"] or {})

    keys = node_keys(compiled, outputs_of, tap.inputs)
    wires = Wires(compiled, tap.nodes)
    assert record.order == [(nid, iteration_text(it)) for nid, it in tap.nodes]
    assert len(record.nodes) == len(tap.nodes)
    statuses = set()
    for (nid, it), rec in tap.nodes.items():
        fact = record.nodes[(nid, iteration_text(it))]
        pn = compiled.nodes[nid]
        assert (fact.status, fact.error, fact.cached, fact.type, fact.pure) == (
            rec["status"], rec["error"], rec["cached"], compiled.workflow.nodes[nid].type,
            pn.impl.is_pure())
        statuses.add(fact.status)
        if it:
            assert (fact.key, fact.static) == (None, None)
        else:
            assert (fact.key, fact.static) == (keys.get(nid), static_key(compiled, nid))
        outputs = record.blob(fact.outputs_blob)
        assert outputs == (None if rec["outputs"] is None else encode(rec["outputs"]))
        assert record.blob(fact.inputs_blob) == encode(run.recorded(wires.inputs_of(nid, it)))
    assert {"succeeded", "failed", "skipped"} <= statuses
    assert record.outputs("uses_big") == {"out": INLINE_MAX + 10}
    assert decode(record.blob(record.nodes[("sq", "2")].outputs_blob)) == {"out": 9}


def test_a_pruned_record_still_names_every_top_level_node_with_its_keys(tmp_path):
    db = tmp_path / "history.db"
    compiled, _run, _tap, whole = _record_a_run(db, mixed())
    with HistoryStore.open(db) as store:
        assert prune(store, 0) == [whole.run_id]
        pruned = load_record(store, whole.run_id)
    assert pruned.state == "pruned"
    top = {at: fact for at, fact in whole.nodes.items() if not at[1]}
    assert [at for at in pruned.order if not at[1]] == [at for at in whole.order if not at[1]]
    for at, fact in top.items():
        kept = pruned.nodes[at]
        assert (kept.status, kept.key, kept.static, kept.type) == (
            fact.status, fact.key, fact.static, fact.type)
        assert kept.outputs_blob is None or pruned.blob(kept.outputs_blob) is None
    assert pruned.blobs == {}


def test_a_record_past_its_limit_stops_at_the_first_value_that_does_not_fit(tmp_path):
    nodes = [_expr("n0", "0", [])] + [_expr(f"n{i}", "x + 1", ["x"]) for i in range(1, 30)]
    edges = [Edge(f"n{i - 1}", "out", f"n{i}", "x") for i in range(1, 30)]
    compiled = compile_workflow(Workflow("chain", nodes=nodes, edges=edges), REGISTRY)
    run = Run(compiled)
    tap = RunTap().attach(run)
    db = tmp_path / "history.db"
    with HistoryStore.open(db) as store:
        recorder = HistoryRecorder(store, None, "x").attach(run)
        asyncio.run(run.execute())
        recorder.close()
        workflow_text = '{"the": "workflow"}'
        fixed = len(workflow_text) + len(encode(run.recorded(tap.inputs)))
        # the specification: each output text, then each inputs text, kept while it fits
        wires, used, first = Wires(compiled, tap.nodes), fixed, None
        for (nid, it), rec in tap.nodes.items():
            for value in (rec["outputs"], wires.inputs_of(nid, it)):
                size = len(encode(value))
                if used + size > fixed + 200:
                    first = first or nid
                else:
                    used += size
        limit = record_store.Policy(max_run_bytes=fixed + 200)
        written = write_record(store, run, tap, policy=limit, workflow_text=workflow_text)
        record = load_record(store, run.run_id)
    assert written.state == "over_limit" and first is not None
    assert written.note.endswith(f"at node {first!r}")
    assert written.size_bytes == used
    assert record.outputs("n0") == {"out": 0} and record.outputs("n29") is None
