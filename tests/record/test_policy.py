"""The record size policy: all records at most N MB, oldest pruned first, a pruned run says it
cannot be replayed; one run at most M MB, past that its record is incomplete."""

from __future__ import annotations

import json
import sqlite3

from tests.record.conftest import edge, node, workflow, write


def big_output() -> dict:
    return workflow("big", [
        node("start", "flow.start", inputs={"letter": "a"}),
        node("big", "data.expression", 200, expr="x['letter'] * 6000"),
        node("out", "flow.output", 400, name="text"),
    ], [edge("start", "big", "out", "x"), edge("big", "out")])


def states(db) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT run_id, state FROM records"))


def test_the_size_policy_prunes_the_oldest_record_first(flowloom, tmp_path, history_db):
    path = write(tmp_path / "big.loom.json", big_output())
    ids = []
    for letter in "abc":  # each run ~12 kB of blobs of its own; 30 kB in all fit two
        code, out, err = flowloom("run", path, "--json", "-q", "--input", f"letter={letter}",
                                  "--record-max-total-mb", "0.03")
        assert code == 0, err
        ids.append(json.loads(out)["run_id"])

    assert states(history_db) == {ids[0]: "pruned", ids[1]: "complete", ids[2]: "complete"}
    with sqlite3.connect(history_db) as conn:
        total = conn.execute("SELECT sum(size) FROM blobs").fetchone()[0]
    assert total <= 0.03 * 1024 * 1024

    code, out, err = flowloom("replay", ids[0], "--json")
    assert code == 2 and out == ""
    assert f"run {ids[0]} cannot be replayed: node 'start': its record was pruned by the " \
           f"size policy" in err
    code, out, err = flowloom("replay", ids[1], "--json", "-q")
    assert code == 0, err
    assert json.loads(out)["outputs"]["text"] == "b" * 6000


def test_the_total_limit_can_be_set_in_the_environment(flowloom, tmp_path, history_db,
                                                      monkeypatch):
    path = write(tmp_path / "big.loom.json", big_output())
    monkeypatch.setenv("FLOWLOOM_RECORD_MAX_TOTAL_MB", "0.015")  # room for one run
    ids = []
    for letter in "ab":
        code, out, err = flowloom("run", path, "--json", "-q", "--input", f"letter={letter}")
        assert code == 0, err
        ids.append(json.loads(out)["run_id"])
    assert states(history_db) == {ids[0]: "pruned", ids[1]: "complete"}


def test_a_run_past_its_own_limit_keeps_an_incomplete_record_that_cannot_replay(
        flowloom, tmp_path):
    path = write(tmp_path / "big.loom.json", big_output())
    code, out, err = flowloom("run", path, "--json", "--record-max-run-mb", "0.004")
    assert code == 0, err
    assert "the record passed its limit of 0.004 MB at node 'big'" in err
    run_id = json.loads(out)["run_id"]

    code, out, err = flowloom("replay", run_id, "--json")

    assert code == 2
    assert f"run {run_id} cannot be replayed: its record is incomplete: the record passed its " \
           "limit of 0.004 MB at node 'big'" in err


def test_identical_runs_share_their_blobs(flowloom, tmp_path, history_db):
    path = write(tmp_path / "big.loom.json", big_output())

    def blobs() -> tuple[int, int]:
        with sqlite3.connect(history_db) as conn:
            return conn.execute("SELECT count(*), sum(size) FROM blobs").fetchone()

    assert flowloom("run", path, "-q")[0] == 0
    after_one = blobs()
    assert flowloom("run", path, "-q")[0] == 0
    assert blobs() == after_one
    assert len(states(history_db)) == 2
