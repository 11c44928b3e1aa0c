"""Named pools and priority, seen from started_s / finished_s and from engine events."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from engine import compile_workflow, load
from engine.context import Services
from engine.executor import Run
from engine.fileformat import dumps, loads
from nodes import default_registry
from nodes.flowctl import REGISTRY_KEY
from tests.cli.conftest import run_cli
from tests.coord.support import delay_doc, max_overlap


def _run_json(path: str, *args: str) -> dict:
    proc = run_cli("run", path, "--json", "--no-history", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["nodes"]


def test_at_most_a_pools_size_of_its_nodes_run_at_once(write_workflow):
    pooled = {f"p{i}": {"pool": "llm"} for i in range(5)}
    delays = {f"p{i}": 0.25 for i in range(5)} | {"free1": 0.25, "free2": 0.25}
    nodes = _run_json(write_workflow(delay_doc(delays, nodes=pooled, pools={"llm": 2})))
    assert max_overlap([nodes[f"p{i}"] for i in range(5)]) == 2
    # nodes outside the pool are not held back by it
    assert max_overlap(list(nodes.values())) >= 4


def test_waiting_nodes_start_highest_priority_first(write_workflow):
    # `gate` takes the only slot of the cap; the others wait and are let in by priority
    settings = {"low": {"priority": -1}, "mid": {}, "high": {"priority": 5},
                "top": {"priority": 9}}
    doc = delay_doc({"gate": 0.3, "low": 0.05, "mid": 0.05, "high": 0.05, "top": 0.05},
                    nodes=settings)
    nodes = _run_json(write_workflow(doc), "--concurrency", "1")
    order = sorted(nodes, key=lambda nid: nodes[nid]["started_s"])
    assert order == ["gate", "top", "high", "mid", "low"]
    assert max_overlap(list(nodes.values())) == 1


def test_priority_orders_the_waiters_of_a_pool(write_workflow):
    settings = {nid: {"pool": "one", "priority": p}
                for nid, p in {"gate": 0, "b": 1, "c": 3, "d": 2}.items()}
    nodes = _run_json(write_workflow(delay_doc({"gate": 0.3, "b": 0.05, "c": 0.05, "d": 0.05},
                                               nodes=settings, pools={"one": 1})))
    assert sorted(nodes, key=lambda nid: nodes[nid]["started_s"]) == ["gate", "c", "d", "b"]


def _foreach_doc(pools: dict[str, int]) -> dict:
    return {
        "format": "flowloom.workflow", "version": 1, "name": "pooled loop", "pools": pools,
        "nodes": [
            {"id": "items", "type": "data.value", "params": {"value": [1, 2, 3, 4]}},
            {"id": "each", "type": "flow.foreach", "params": {"parallel": 4}},
            {"id": "wait", "type": "util.delay", "params": {"seconds": 0.15},
             "pool": "slow"},
            {"id": "out", "type": "flow.output", "params": {"name": "r"}}],
        "edges": [{"source": "items", "source_port": "out", "target": "each",
                   "target_port": "items"},
                  {"source": "each", "source_port": "item", "target": "wait",
                   "target_port": "in"},
                  {"source": "wait", "source_port": "out", "target": "each",
                   "target_port": "result"},
                  {"source": "each", "source_port": "results", "target": "out",
                   "target_port": "in"}]}


@pytest.mark.asyncio
async def test_a_pool_holds_across_loop_iterations(tmp_path: Path):
    async with asyncio.timeout(30):
        path = tmp_path / "loop.loom.json"
        path.write_text(json.dumps(_foreach_doc({"slow": 2})), encoding="utf-8")
        registry = default_registry()
        loaded = load(path, registry)
        assert not loaded.errors, loaded.problems
        run = Run(compile_workflow(loaded.workflow, registry))
        t0 = time.monotonic()
        result = await run.execute()
        took = time.monotonic() - t0
        assert result.ok, result.error
        assert result.outputs["r"] == [1, 2, 3, 4]
        # four 0.15 s waits, four iterations at once, two at a time: two rounds at least
        assert took >= 0.29
        assert result.nodes["wait"].runs == 4


@pytest.mark.asyncio
async def test_a_sub_workflow_shares_its_callers_pool(tmp_path: Path):
    async with asyncio.timeout(30):
        child = delay_doc({"slow": 0.3}, nodes={"slow": {"pool": "llm"}}, pools={"llm": 5})
        child["nodes"] += [{"id": "start", "type": "flow.start", "params": {"inputs": {}}},
                           {"id": "o", "type": "flow.output", "params": {"name": "done"}}]
        child["edges"] += [{"source": "slow", "source_port": "out", "target": "o",
                            "target_port": "in"}]
        (tmp_path / "child.loom.json").write_text(json.dumps(child), encoding="utf-8")
        parent = {"format": "flowloom.workflow", "version": 1, "name": "parent",
                  "pools": {"llm": 1},
                  "nodes": [{"id": f"sub{i}", "type": "flow.subworkflow",
                             "params": {"path": "child.loom.json"}} for i in range(3)]}
        registry = default_registry()
        path = tmp_path / "parent.loom.json"
        path.write_text(json.dumps(parent), encoding="utf-8")
        loaded = load(path, registry)
        assert not loaded.errors, loaded.problems
        services = Services(base_dir=tmp_path, extra={REGISTRY_KEY: registry})
        t0 = time.monotonic()
        result = await Run(compile_workflow(loaded.workflow, registry),
                           services=services).execute()
        took = time.monotonic() - t0
        assert result.ok, result.error
        # the parent's size (1) wins over the child's (5): the three 0.3 s waits take turns
        assert took >= 0.85
        starts = sorted(nr.started_t for nr in result.nodes.values())
        assert len(starts) == 3


@pytest.mark.parametrize(("change", "sentence"), [
    ({"pools": {"llm": 0}}, "pool 'llm' must have a whole number size of at least 1, got 0"),
    ({"pools": {"llm": 1.5}}, "pool 'llm' must have a whole number size"),
    ({"pools": ["llm"]}, '"pools" must be an object of pool name -> size'),
    ({"node": {"pool": "gpu"}}, "\"pool\" 'gpu' is not one of the workflow's pools (llm)"),
    ({"node": {"priority": "high"}}, '"priority" must be a whole number'),
])
def test_bad_pools_and_priorities_are_refused_with_a_sentence(write_workflow, change, sentence):
    doc = delay_doc({"a": 0}, nodes={"a": change.get("node", {})},
                    pools=change.get("pools", {"llm": 1}))
    proc = run_cli("validate", write_workflow(doc))
    assert proc.returncode == 2
    assert sentence in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_a_loop_node_cannot_take_a_pool():
    doc = _foreach_doc({"slow": 1})
    doc["nodes"][1]["pool"] = "slow"
    registry = default_registry()
    loaded = loads(json.dumps(doc), registry)
    assert any("a loop or sub-workflow node cannot take a pool" in str(p)
               for p in loaded.errors)


def test_pool_and_priority_round_trip_through_the_file(tmp_path: Path):
    doc = delay_doc({"a": 0.1, "b": 0.1}, nodes={"a": {"pool": "llm", "priority": 3}},
                    pools={"llm": 2})
    registry = default_registry()
    loaded = loads(json.dumps(doc), registry)
    assert not loaded.problems
    a = loaded.workflow.nodes["a"]
    assert (a.pool, a.priority) == ("llm", 3)
    assert loaded.workflow.nodes["b"].pool is None
    text = dumps(loaded.workflow)
    again = loads(text, registry)
    assert dumps(again.workflow) == text
    saved = json.loads(text)
    assert saved["pools"] == {"llm": 2}
    assert saved["nodes"][0]["pool"] == "llm" and saved["nodes"][0]["priority"] == 3
    assert "priority" not in saved["nodes"][1] and "pool" not in saved["nodes"][1]
