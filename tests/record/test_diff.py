"""`flowloom diff RUN_A RUN_B`: the issue's JSON keys; two runs differing in one param name
exactly that node as the first divergence; output diffs (structured, and text diffs)."""

from __future__ import annotations

import json

from engine.rundiff import value_diff
from tests.record.conftest import edge, node, workflow, write


def chain(factor: int) -> dict:
    return workflow("chain", [
        node("start", "flow.start", inputs={"n": 5}),
        node("side", "data.expression", 200, expr="x['n'] + 1"),
        node("scale", "data.expression", 200, expr=f"x['n'] * {factor}"),
        node("describe", "data.expression", 400, expr="{'value': x, 'big': x > 12}"),
        node("out", "flow.output", 600, name="result"),
        node("side_out", "flow.output", 600, name="side"),
    ], [edge("start", "side", "out", "x"), edge("start", "scale", "out", "x"),
        edge("scale", "describe", "out", "x"), edge("describe", "out"),
        edge("side", "side_out")])


def run(flowloom, path: str) -> str:
    code, out, err = flowloom("run", path, "--json", "-q")
    assert code == 0, err
    return json.loads(out)["run_id"]


def test_two_runs_differing_in_one_param_diverge_first_at_that_node(flowloom, tmp_path):
    path = tmp_path / "chain.loom.json"
    run_a = run(flowloom, write(path, chain(2)))
    run_b = run(flowloom, write(path, chain(3)))

    code, out, err = flowloom("diff", run_a, run_b, "--json")

    assert code == 0, err
    diff = json.loads(out)
    assert set(diff) == {"params_changed", "status_changed", "outputs_changed",
                         "first_divergence", "nodes"}
    assert diff["params_changed"] == ["scale"]
    assert diff["first_divergence"] == "scale"
    assert diff["status_changed"] == []
    assert sorted(diff["outputs_changed"]) == ["describe", "scale"]
    scale = diff["nodes"]["scale"]
    assert scale["status"] == ["succeeded", "succeeded"]
    assert all(isinstance(d, float) for d in scale["duration_s"])
    assert scale["output_diff"] == [{"path": "out", "op": "changed", "a": 10, "b": 15}]
    assert diff["nodes"]["describe"]["output_diff"] == [  # keys in the record's sorted order
        {"path": "out.big", "op": "changed", "a": False, "b": True},
        {"path": "out.value", "op": "changed", "a": 10, "b": 15}]
    assert diff["nodes"]["side"]["output_diff"] is None
    code, out, _ = flowloom("diff", run_a, run_b)
    assert code == 0 and out.startswith("first divergence: scale")


def test_identical_runs_have_no_divergence_and_a_missing_run_is_exit_2(flowloom, tmp_path):
    path = write(tmp_path / "chain.loom.json", chain(2))
    run_a, run_b = run(flowloom, path), run(flowloom, path)

    code, out, _ = flowloom("diff", run_a, run_b, "--json")

    diff = json.loads(out)
    assert code == 0 and diff["first_divergence"] is None
    assert diff["params_changed"] == diff["outputs_changed"] == diff["status_changed"] == []
    code, _, err = flowloom("diff", run_a, "nosuchrun")
    assert code == 2 and "no run nosuchrun" in err


def test_a_status_change_is_named(flowloom, tmp_path):
    path = tmp_path / "chain.loom.json"
    run_a = run(flowloom, write(path, chain(2)))
    broken = chain(2)
    broken["nodes"][3]["params"]["expr"] = "x['missing']"  # fails on an int
    code, out, _ = flowloom("run", write(path, broken), "--json", "-q")
    assert code == 1
    run_b = json.loads(out)["run_id"]

    diff = json.loads(flowloom("diff", run_a, run_b, "--json")[1])

    assert diff["first_divergence"] == "describe"
    assert set(diff["status_changed"]) == {"describe", "out"}
    assert diff["nodes"]["describe"]["status"] == ["succeeded", "failed"]


def test_text_with_lines_gets_a_unified_text_diff():
    changes = value_diff({"text": "one\ntwo\nthree"}, {"text": "one\n2\nthree"})
    assert changes == [{"path": "text", "op": "changed",
                        "text_diff": "--- a\n+++ b\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three"}]
    assert value_diff("a short answer", "a long answer", text=True)[0]["text_diff"].endswith(
        "-a short answer\n+a long answer")
    assert value_diff({"a": 1}, {"b": 1}) == [{"path": "a", "op": "removed", "a": 1},
                                              {"path": "b", "op": "added", "b": 1}]


def squares(items: list) -> dict:
    return workflow("squares", [
        node("items", "data.value", value=items),
        node("each", "flow.foreach", 200, parallel=1),
        node("square", "data.expression", 400, expr="x * x"),
        node("out", "flow.output", 600, name="squares"),
    ], [edge("items", "each", "out", "items"), edge("each", "square", "item", "x"),
        edge("square", "each", "out", "result"), edge("each", "out", "results")])


def test_a_node_inside_a_loop_diffs_as_its_iterations_in_item_order(flowloom, tmp_path):
    path = tmp_path / "squares.loom.json"
    items = list(range(12))  # iterations 10 and 11 sort after 9 by number, not as text
    run_a = run(flowloom, write(path, squares(items)))
    run_b = run(flowloom, write(path, squares([*items[:11], 20])))

    diff = json.loads(flowloom("diff", run_a, run_b, "--json")[1])

    assert "square" in diff["outputs_changed"]
    assert diff["nodes"]["square"]["output_diff"] == [
        {"path": "[11].out", "op": "changed", "a": 121, "b": 400}]
