"""The recorder's fast keys (issue 17, fifth pass) are the keys of keys.py's definitions:
`static_keys` gives `static_key` of every node (its memo tells 1, True and 1.0, 0.0 and -0.0,
a list and a tuple apart), `recorded_keys` gives `node_keys` for any recorded outputs, and
`Wires.top_inputs` gives `Wires.inputs_of(node, ())`."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from engine import Edge, Node, Workflow, compile_workflow
from engine.record.codec import Canon, value_digest
from engine.record.keys import node_keys, recorded_keys, static_key, static_keys
from engine.record.wires import Wires
from nodes import default_registry

REGISTRY = default_registry(plugins=False)


class Odd:
    """A param value marshal refuses (the memo must leave it alone)."""

    def __repr__(self) -> str:
        return "1"


def _value(rng: random.Random) -> Any:
    return rng.choice([1, True, 1.0, 0.0, -0.0, 0, False, None, "1", "x", [1], (1,), [True],
                       {"a": 1}, {"a": True}, {"b": 1, "a": 2}, {"a": 2, "b": 1}, math.inf,
                       [1.0], "é", Odd()])


def mixed_workflow(rng: random.Random, n: int = 60) -> Workflow:
    """data.value nodes with params that encode alike or almost alike, data.expression nodes
    reading one or two of them, flow.merge nodes reading several, some with settings."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    for i in range(n):
        if i < 3 or rng.random() < 0.4:
            node = Node(f"v{i}", "data.value", params={"value": _value(rng)})
        elif rng.random() < 0.25:  # a port of many edges
            node = Node(f"m{i}", "flow.merge", params={"mode": "all"})
            for source in rng.sample([m.id for m in nodes], rng.choice([1, 2, 3])):
                edges.append(Edge(source, "out", node.id, "in"))
        else:
            names = rng.choice([["x"], ["x", "y"]])
            node = Node(f"e{i}", "data.expression",
                        params={"expr": rng.choice(["x", "1", "x and 1"]), "inputs": names})
            earlier = [m.id for m in nodes]
            for name in names:
                edges.append(Edge(rng.choice(earlier), "out", node.id, name))
        if rng.random() < 0.2:
            node.timeout_s = rng.choice([1, 1.0, 2.5])
        if rng.random() < 0.1:
            node.retry = {"max_attempts": 2}
        if rng.random() < 0.1:
            node.on_error = "continue"
        nodes.append(node)
    # a node inside a foreach (its loop's static key covers its body)
    nodes += [Node("items", "data.value", params={"value": [1, 2]}),
              Node("each", "flow.foreach", params={}),
              Node("sq", "data.expression", params={"expr": "x * x", "inputs": ["x"]})]
    edges += [Edge("items", "out", "each", "items"), Edge("each", "item", "sq", "x"),
              Edge("sq", "out", "each", "result")]
    return Workflow("mixed", nodes=nodes, edges=edges)


def test_static_keys_are_static_key_node_by_node():
    for seed in range(12):
        compiled = compile_workflow(mixed_workflow(random.Random(seed)), REGISTRY)
        found = static_keys(compiled, compiled.plan.nodes)
        assert found == {nid: static_key(compiled, nid) for nid in compiled.plan.nodes}
        # the memo did group nodes (a few keys for many nodes), yet 1 and True stayed apart
        assert len(set(found.values())) < len(found)
    one = [Node(f"n{i}", "data.value", params={"value": v})
           for i, v in enumerate([1, True, 1.0, 0.0, -0.0, [1], (1,), Odd(), "1", 1])]
    compiled = compile_workflow(Workflow("alike", nodes=one), REGISTRY)
    found = static_keys(compiled, compiled.plan.nodes)
    assert found == {nid: static_key(compiled, nid) for nid in compiled.plan.nodes}
    assert len({found[f"n{i}"] for i in range(5)}) == 5  # 1, True, 1.0, 0.0, -0.0
    assert found["n0"] == found["n9"] and found["n5"] == found["n6"]  # [1] and (1,) encode alike


OUT_VALUES = [1, 7, -3, 2 ** 70, True, 1.5, "text", "née", "", None, [1, "a"], {"k": [1.0]},
              b"raw", math.nan]


def random_outputs(rng: random.Random, compiled: Any,
                   value: Callable[[random.Random], Any] | None = None) -> dict[str, Any]:
    """Recorded outputs for each top-level node: a value (`value(rng)`, by default one of
    OUT_VALUES), none (skipped), or on another port too or instead."""
    pick = value or (lambda r: r.choice(OUT_VALUES))
    found: dict[str, Any] = {}
    for nid in compiled.plan.nodes:
        roll = rng.random()
        if roll < 0.1:
            continue  # never ran
        if roll < 0.15:
            found[nid] = {}  # ran, gave nothing
        elif roll < 0.2:
            found[nid] = {"other": pick(rng)}
        elif roll < 0.25:
            found[nid] = {"out": pick(rng), "other": 1}
        else:
            found[nid] = {"out": pick(rng)}
    return found


def test_recorded_keys_are_node_keys_for_any_recorded_outputs():
    for seed in range(12):
        rng = random.Random(seed)
        compiled = compile_workflow(mixed_workflow(rng), REGISTRY)
        statics = static_keys(compiled, compiled.plan.nodes)
        outputs = random_outputs(rng, compiled)

        def outputs_of(nid: str, outputs: dict[str, Any] = outputs) -> Any:
            return outputs.get(nid) or {}

        inputs = {"a": 1}
        assert recorded_keys(compiled, outputs_of, inputs, statics, Canon().digest) \
            == node_keys(compiled, outputs_of, inputs, None, value_digest)


def test_a_start_nodes_key_covers_the_run_inputs():
    workflow = Workflow("start", nodes=[Node("s", "flow.start", params={}),
                                        Node("e", "data.expression",
                                             params={"expr": "x", "inputs": ["x"]})],
                        edges=[Edge("s", "out", "e", "x")])
    compiled = compile_workflow(workflow, REGISTRY)
    statics = static_keys(compiled, compiled.plan.nodes)

    def keys(inputs: dict[str, Any]) -> dict[str, str]:
        found = recorded_keys(compiled, lambda nid: {"out": inputs}, inputs, statics,
                              value_digest)
        assert found == node_keys(compiled, lambda nid: {"out": inputs}, inputs)
        return found

    assert keys({"a": 1})["s"] != keys({"a": 2})["s"]


def test_top_inputs_are_inputs_of_at_the_top_level():
    for seed in range(12):
        rng = random.Random(seed)
        compiled = compile_workflow(mixed_workflow(rng), REGISTRY)
        recorded = {(nid, ()): {"status": "succeeded", "outputs": value, "error": None,
                                "cached": False}
                    for nid, value in random_outputs(rng, compiled).items()}
        for nid in list(recorded)[:5]:
            recorded[nid]["outputs"] = None  # a failed node: no outputs at all
        wires = Wires(compiled, recorded)
        for nid in compiled.workflow.nodes:
            assert wires.top_inputs(nid) == Wires(compiled, recorded).inputs_of(nid, ()), nid
