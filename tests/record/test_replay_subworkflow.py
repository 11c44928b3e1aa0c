"""A replay runs the sub-workflow files the recorded run ran, from the record: editing or
deleting a child file afterwards changes nothing; a record without the child names the node."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.record.conftest import edge, node, workflow, write
from tests.record.test_replay import statuses


def child(factor: int) -> dict:
    return workflow("child", [
        node("start", "flow.start", inputs={"n": 0}),
        node("times", "data.expression", 100, expr=f"x['n'] * {factor}"),
        node("out", "flow.output", 200, name="result"),
    ], [edge("start", "times", "out", "x"), edge("times", "out")])


def parent(tmp_path: Path) -> str:
    return write(tmp_path / "parent.loom.json", workflow("parent", [
        node("start", "flow.start", inputs={"n": 7}),
        node("sub", "flow.subworkflow", 200, path="child.loom.json"),
        node("out", "flow.output", 400, name="child"),
    ], [edge("start", "sub"), edge("sub", "out")]))


def test_a_replay_runs_the_recorded_child_not_the_file_on_disk(flowloom, tmp_path):
    child_path = Path(write(tmp_path / "child.loom.json", child(3)))
    path = parent(tmp_path)
    code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    recorded = json.loads(out)
    assert recorded["outputs"]["child"] == {"result": 21}
    write(child_path, child(100))  # the child is edited after the run
    code, out, err = flowloom("run", path, "--json", "--trust", "-q", "--no-record")
    assert code == 0 and json.loads(out)["outputs"]["child"] == {"result": 700}

    code, out, err = flowloom("replay", recorded["run_id"], "--json", "-q")

    assert code == 0, err
    replayed = json.loads(out)
    assert json.dumps(replayed["outputs"]) == json.dumps(recorded["outputs"])
    assert statuses(replayed) == statuses(recorded)
    child_path.unlink()  # and with the child gone, the replay of the replay still runs it
    code, out, err = flowloom("replay", replayed["run_id"], "--json", "-q")
    assert code == 0, err
    assert json.loads(out)["outputs"]["child"] == {"result": 21}


def test_a_record_without_the_child_says_which_node_and_why(flowloom, tmp_path, history_db):
    write(tmp_path / "child.loom.json", child(3))
    path = parent(tmp_path)
    code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    with sqlite3.connect(history_db) as conn:  # as a record from before children were kept
        gone = conn.execute("DELETE FROM record_items WHERE run_id = ? AND kind = 'subworkflow'",
                            (run_id,)).rowcount
    assert gone == 1

    code, out, err = flowloom("replay", run_id, "--json", "-q")

    assert code == 2 and out == ""
    assert f"run {run_id} cannot be replayed: node 'sub': " in err
    assert "does not hold the sub-workflow file" in err and "child.loom.json" in err
    assert "Traceback" not in err
