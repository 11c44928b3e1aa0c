"""`flowloom run --json` node records carry started_s / finished_s (from the run's start)."""

from __future__ import annotations

import json

from tests.cli.conftest import run_cli
from tests.coord.support import delay_doc, overlaps


def test_run_json_gives_each_node_its_start_and_finish_from_the_run_start(write_workflow):
    path = write_workflow(delay_doc({"a": 0.3, "b": 0.2, "side": 0.3, "late": 0.0},
                                    ["a -> b"]))
    proc = run_cli("run", path, "--json", "--no-history")
    assert proc.returncode == 0, proc.stderr
    nodes = json.loads(proc.stdout)["nodes"]
    a, b, side = nodes["a"], nodes["b"], nodes["side"]
    for record in nodes.values():
        assert 0 <= record["started_s"] <= record["finished_s"]
        assert abs(record["finished_s"] - record["started_s"] - record["duration_s"]) < 0.01
    assert b["started_s"] >= a["finished_s"]  # b waited for a
    assert overlaps(a, side) and not overlaps(a, b)
    assert a["finished_s"] - a["started_s"] >= 0.29


def test_a_skipped_node_has_no_start_or_finish(write_workflow):
    doc = delay_doc({"a": 0.0})
    doc["nodes"] += [
        {"id": "check", "type": "flow.if", "params": {"condition": "False"}},
        {"id": "never", "type": "util.delay", "params": {"seconds": 0}}]
    doc["edges"] += [{"source": "a", "source_port": "out", "target": "check",
                      "target_port": "in"},
                     {"source": "check", "source_port": "true", "target": "never",
                      "target_port": "in"}]
    proc = run_cli("run", write_workflow(doc), "--json", "--no-history")
    assert proc.returncode == 0, proc.stderr
    never = json.loads(proc.stdout)["nodes"]["never"]
    assert never["status"] == "skipped"
    assert never["started_s"] is None and never["finished_s"] is None
