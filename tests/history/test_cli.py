"""`flowloom history` / `flowloom stats` called in-process on real recorded runs, and
`recorder_for_cli` recording a headless run where FLOWLOOM_HISTORY_DB points."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import re
from pathlib import Path

import pytest

from builder.cli_history import (
    add_commands,
    history_main,
    recorder_for_cli,
    stats_main,
    table,
)
from engine import Run, compile_workflow, dumps, load
from engine.history import HistoryStore, list_runs, workflow_stats
from tests.history.helpers import RUN_TIMEOUT_S, loop_workflow, record, registry, workflow

pytestmark = pytest.mark.timeout(60)
RUN_KEYS = ["id", "workflow", "status", "started_at", "ended_at", "nodes"]
NODE_KEYS = ["node_id", "status", "attempts", "duration_s", "error"]
STATS_NODE_KEYS = ["count", "success_rate", "min_s", "max_s", "mean_s", "std_s", "p50_s",
                   "p95_s"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


@pytest.fixture
def recorded(tmp_path: Path):
    """Two runs of loop.loom.json (succeeded), one of flaky.loom.json (failed)."""
    db = tmp_path / "h.db"
    loop, flaky = tmp_path / "loop.loom.json", tmp_path / "flaky.loom.json"
    failing = workflow({"a": ("data.value", {"value": 1}),
                        "b": ("test.flaky", {"fail_times": 9},
                              {"retry": {"max_attempts": 2, "backoff_s": 0.001}})},
                       ["a.out -> b.in"])

    async def go() -> list[str]:
        with HistoryStore.open(db) as store:
            ids = []
            for wf, path in ((loop_workflow([1, 2]), loop), (loop_workflow([4]), loop),
                             (failing, flaky)):
                result, _ = await record(store, wf, path)
                ids.append(result.run_id)
            return ids

    ids = asyncio.run(go())
    return {"db": str(db), "loop": loop, "flaky": flaky, "ids": ids}


def _call(main, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err)
    return code, out.getvalue(), err.getvalue()


def test_history_json_is_a_list_of_runs_with_their_nodes(recorded):
    code, out, _ = _call(history_main, ["--json", "--history-db", recorded["db"]])
    assert code == 0
    runs = json.loads(out)
    assert [r["id"] for r in runs] == recorded["ids"][::-1]  # newest first
    for run in runs:
        assert list(run) == RUN_KEYS
        assert ISO.match(run["started_at"]) and ISO.match(run["ended_at"])
        assert run["started_at"] <= run["ended_at"]
        for node in run["nodes"]:
            assert list(node) == NODE_KEYS
    failed = runs[0]
    assert (failed["workflow"], failed["status"]) == (str(recorded["flaky"]), "failed")
    nodes = {n["node_id"]: n for n in failed["nodes"]}
    assert nodes["b"] == {"node_id": "b", "status": "failed", "attempts": 2,
                          "duration_s": nodes["b"]["duration_s"],
                          "error": "flaky failure on attempt 2"}
    assert nodes["b"]["duration_s"] > 0
    assert (nodes["a"]["status"], nodes["a"]["error"]) == ("succeeded", None)
    loop_nodes = {n["node_id"]: n for n in runs[2]["nodes"]}
    assert loop_nodes["triple"]["attempts"] == 2  # summed over its two iterations
    # 3 + 6 = 9 is not > 10: the `big` branch was skipped
    assert loop_nodes["big"] == {"node_id": "big", "status": "skipped", "attempts": 0,
                                   "duration_s": None, "error": None}


def test_history_filters_by_workflow_and_status_and_limits(recorded):
    db = recorded["db"]
    code, out, _ = _call(history_main, ["--json", "--history-db", db,
                                        "--workflow", str(recorded["loop"]), "--limit", "1"])
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == [recorded["ids"][1]]
    _, out, _ = _call(history_main, ["--json", "--history-db", db, "--status", "failed"])
    assert [r["id"] for r in json.loads(out)] == [recorded["ids"][2]]
    _, out, _ = _call(history_main, ["--json", "--history-db", db, "--status", "cancelled"])
    assert json.loads(out) == []
    code, _, err = _call(history_main, ["--status", "weird"])
    assert code == 2 and "invalid choice" in err


def test_history_prints_an_aligned_table(recorded):
    code, out, _ = _call(history_main, ["--history-db", recorded["db"]])
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["RUN", "STATUS", "STARTED", "DURATION", "NODES", "WORKFLOW"]
    assert len(rows) == 3
    column = header.index("STATUS")
    assert [row[column:].split()[0] for row in rows] == ["failed", "succeeded", "succeeded"]
    workflow_col = header.index("WORKFLOW")
    assert rows[0][workflow_col:] == str(recorded["flaky"])
    assert "1 ok, 1 failed" in rows[0]


def test_stats_json_has_the_public_shape_and_the_analytics_numbers(recorded):
    code, out, _ = _call(stats_main, [str(recorded["loop"]), "--json",
                                      "--history-db", recorded["db"]])
    assert code == 0
    doc = json.loads(out)
    assert list(doc) == ["workflow", "runs", "success_rate", "nodes"]
    assert (doc["workflow"], doc["runs"], doc["success_rate"]) == (str(recorded["loop"]), 2,
                                                                   1.0)
    assert set(doc["nodes"]) == {"start", "items", "each", "triple", "pause", "total", "check",
                                 "big", "small", "out"}
    for node in doc["nodes"].values():
        assert list(node) == STATS_NODE_KEYS
    assert doc["nodes"]["triple"]["count"] == 3  # 2 + 1 iterations
    assert doc["nodes"]["small"]["count"] == 1  # sums 9 (small) and 12 (big): one each
    assert doc["nodes"]["big"]["count"] == 1
    with HistoryStore.open(recorded["db"]) as store:
        assert doc == json.loads(json.dumps(workflow_stats(store, recorded["loop"]).to_json()))

    _, out, _ = _call(stats_main, [str(recorded["flaky"]), "--json",
                                   "--history-db", recorded["db"]])
    flaky = json.loads(out)
    assert (flaky["runs"], flaky["success_rate"], flaky["nodes"]["b"]["success_rate"]) == (
        1, 0.0, 0.0)


def test_stats_prints_a_summary_a_node_table_and_the_flakiest_nodes(recorded):
    code, out, _ = _call(stats_main, [str(recorded["flaky"]), "--history-db", recorded["db"]])
    assert code == 0
    assert "runs      1, 0.0 % succeeded" in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("NODE"))
    assert header.split() == ["NODE", "COUNT", "SUCCESS", "MIN", "MEAN", "P50", "P95", "MAX",
                              "STD"]
    b_row = next(line for line in lines if line.startswith("b "))
    assert len(b_row) == len(header)  # right-aligned numbers end under their headers
    assert "flakiest  b (100.0 % of 2 attempts failed)" in out
    code, out, _ = _call(stats_main, ["nowhere.loom.json", "--history-db", recorded["db"]])
    nowhere = Path("nowhere.loom.json").resolve()
    assert (code, out.strip()) == (0, f"no recorded runs of {nowhere}")


def test_a_history_database_that_cannot_be_opened_is_exit_code_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, out, err = _call(history_main, ["--history-db", str(blocker / "h.db")])
    assert (code, out) == (2, "")
    assert "flowloom:" in err and "h.db" in err


def test_the_commands_plug_into_a_subparser_and_dispatch_through_func(recorded, capsys):
    parser = argparse.ArgumentParser(prog="flowloom")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["stats", str(recorded["loop"]), "--json", "--history-db",
                              recorded["db"], "--last", "1"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == 1
    args = parser.parse_args(["history", "--history-db", recorded["db"], "--json"])
    assert args.func(args) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


def test_recorder_for_cli_records_a_headless_run_where_the_environment_says(
        tmp_path, monkeypatch):
    db = tmp_path / "env-history.db"
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(db))
    example = Path(__file__).resolve().parents[2] / "resources/examples/hello.loom.json"
    wf = load(example, registry()).workflow
    run = Run(compile_workflow(wf, registry()), {"n": 1})
    recorder = recorder_for_cli(str(example), None)
    recorder.attach(run)

    async def go():
        async with asyncio.timeout(RUN_TIMEOUT_S):
            return await run.execute()

    try:
        result = asyncio.run(go())
    finally:
        recorder.close()
    with HistoryStore.open(db) as store:
        [recorded] = list_runs(store)
    assert (recorded.id, recorded.status) == (result.run_id, "succeeded")
    assert recorded.workflow == str(example)
    assert recorded.content_hash == hashlib.sha256(dumps(wf).encode()).hexdigest()
    assert recorded.inputs == {"name": "world", "n": 1}
    assert {n.node_id: n.status for n in recorded.nodes}["big"] == "skipped"
    # --history-db wins over the environment
    flag_db = tmp_path / "flag.db"
    other = recorder_for_cli(str(example), str(flag_db))
    assert other.store.path == flag_db
    other.close()


def test_recorder_for_cli_says_why_it_cannot_record_and_lets_the_run_go_on(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    err = io.StringIO()
    assert recorder_for_cli("x.loom.json", str(blocker / "h.db"), err=err) is None
    assert "will not be recorded" in err.getvalue()


def test_table_pads_columns_and_right_aligns_the_chosen_ones():
    text = table(("A", "NUM"), [("long name", "1"), ("b", "100")], right=(1,))
    assert text.splitlines() == ["A          NUM", "long name    1", "b          100"]
