"""Workflow.copy: a deep, independent copy (a run's snapshot), equal to the original."""

from __future__ import annotations

from engine.model import Edge, Frame, Node, Workflow


def _workflow() -> Workflow:
    nodes = [Node("a", "data.value", "A", {"value": {"list": [1, {"deep": "x"}], "t": (1, 2)}},
                  (1.0, 2.0), retry={"max_attempts": 3}, limits={"cpu_s": 1},
                  extra={"k": [1]}),
             Node("b", "data.expression", "", {"expr": "x + 1"})]
    edges = [Edge("a", "out", "b", "x", extra={"note": ["n"]})]
    frames = [Frame("f1", "Box", "#112233", ["a", "b"], {"z": {"y": 1}})]
    return Workflow("wf", "desc", nodes, edges, {"meta": {"v": [1]}}, frames)


def test_the_copy_equals_the_original_and_shares_no_mutable_part():
    original = _workflow()
    seen: list[object] = []
    original.node_changed.subscribe(seen.append)
    copy = original.copy()
    assert list(copy.nodes) == ["a", "b"] and copy.nodes == original.nodes
    assert copy.edges == original.edges and copy.edges[0].extra == {"note": ["n"]}
    assert copy.frames == original.frames and copy.extra == original.extra
    assert (copy.name, copy.description) == ("wf", "desc")
    a, a0 = copy.nodes["a"], original.nodes["a"]
    assert a is not a0 and isinstance(a, Node) and a.label() == "a (A)"
    # every nested container is new: changing the copy leaves the original as it was
    a.params["value"]["list"][1]["deep"] = "changed"
    a.retry["max_attempts"] = 9
    a.limits["cpu_s"] = 5
    a.extra["k"].append(2)
    copy.edges[0].extra["note"].append("m")
    copy.frames["f1"].nodes.append("c")
    copy.frames["f1"].extra["z"]["y"] = 2
    copy.extra["meta"]["v"].append(2)
    assert a0.params["value"] == {"list": [1, {"deep": "x"}], "t": (1, 2)}
    assert (a0.retry, a0.limits, a0.extra) == ({"max_attempts": 3}, {"cpu_s": 1}, {"k": [1]})
    assert original.edges[0].extra == {"note": ["n"]}
    assert original.frames["f1"].nodes == ["a", "b"]
    assert original.frames["f1"].extra == {"z": {"y": 1}}
    assert original.extra == {"meta": {"v": [1]}}
    # a frozen edge stays frozen and hashable; the copy has no subscribers
    assert hash(copy.edges[0]) == hash(original.edges[0])
    copy.node_changed.emit(a, ("title",))
    assert seen == [] and len(copy.node_changed) == 0


def test_values_that_are_not_plain_data_are_still_deep_copied():
    class Box:
        def __init__(self) -> None:
            self.items = [1]

    original = Workflow("w", nodes=[Node("a", "data.value", params={"box": Box()})])
    copy = original.copy()
    box = copy.nodes["a"].params["box"]
    assert box is not original.nodes["a"].params["box"] and box.items == [1]
    box.items.append(2)
    assert original.nodes["a"].params["box"].items == [1]
