"""`flowloom run`: every example's real outputs, --json shape, inputs, exit codes 0/1/2."""

from __future__ import annotations

import json

import pytest

from builder.cli import jsonable, main
from tests.cli.conftest import EXAMPLES, run_cli

EXPECTED = {
    "hello": {"answer": "big: 6"},
    "conditions": {"verdict": "hot: 30 C"},
    "switch": {"grade": "B (72)"},
    "parallel": {"parts": [20, 110, 100], "total": 230},
    "foreach": {"squares": [1, 4, 9, 16, 25], "sum": 55},
    "foreach_parallel": {"results": ["loom:4", "graph!", "node:4", "workflow!", "edge:4",
                                     "parallel!"]},
    "while": {"steps": 111},
    "nested_loops": {"row_totals": [30, 120, 60]},
    "errors": {"results": [{"ok": 20.0},
                           {"error": "expression `100 / x` failed: ZeroDivisionError: "
                                     "division by zero"},
                           {"ok": 25.0}]},
}


def test_every_example_has_expected_outputs_listed():
    on_disk = {p.name.removesuffix(".loom.json") for p in EXAMPLES.glob("*.loom.json")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_with_its_expected_outputs(name, capsys):
    code = main(["run", str(EXAMPLES / f"{name}.loom.json"), "--json"])
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert code == 0, err
    assert result["status"] == "succeeded"
    assert result["outputs"] == EXPECTED[name]
    assert "run succeeded" in err


def test_json_result_has_status_outputs_and_every_node(capsys):
    path = EXAMPLES / "hello.loom.json"
    assert main(["run", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"run_id", "status", "outputs", "nodes"}  # run_id: issue #14
    assert set(result["nodes"]) == {"start", "double", "check", "big", "small", "join", "out"}
    big = result["nodes"]["big"]
    assert big["status"] == "succeeded" and big["attempts"] == 1
    assert isinstance(big["duration_s"], float)
    small = result["nodes"]["small"]
    assert small["status"] == "skipped"
    assert "check" in small["reason"] and "'false'" in small["reason"]


def test_retries_and_continued_errors_show_in_node_records(capsys):
    assert main(["run", str(EXAMPLES / "errors.loom.json"), "--json"]) == 0
    out, err = capsys.readouterr()
    divide = json.loads(out)["nodes"]["divide"]
    assert divide["attempts"] == 4  # 1 + 2 (the retried zero) + 1
    assert "division by zero" in divide["error"]
    assert "retrying divide (100 / x)[1]: attempt 1 failed" in err
    assert "failed   divide (100 / x)[1] after 2 attempts" in err


def test_input_overrides_change_the_result(capsys):
    assert main(["run", str(EXAMPLES / "switch.loom.json"), "--input", "score=95", "-q"]) == 0
    assert json.loads(capsys.readouterr().out) == {"grade": "A (95)"}
    assert main(["run", str(EXAMPLES / "conditions.loom.json"), "--input",
                 "temperature=12", "-q"]) == 0
    assert json.loads(capsys.readouterr().out) == {"verdict": "mild: 12 C"}
    assert main(["run", str(EXAMPLES / "nested_loops.loom.json"), "--input",
                 'rows=[[1], [2, 2]]', "--input", "scale=3", "-q"]) == 0
    assert json.loads(capsys.readouterr().out) == {"row_totals": [3, 12]}


def test_a_bare_word_input_is_taken_as_a_string(capsys, write_workflow):
    path = write_workflow({
        "format": "flowloom.workflow", "version": 1, "name": "echo",
        "nodes": [{"id": "s", "type": "flow.start", "params": {"inputs": {"who": "x"}}},
                  {"id": "o", "type": "flow.output", "params": {"name": "who"}}],
        "edges": [{"source": "s", "source_port": "out", "target": "o", "target_port": "in"}]})
    assert main(["run", path, "--input", "who=world", "-q"]) == 0
    assert json.loads(capsys.readouterr().out) == {"who": {"who": "world"}}


def test_unknown_input_name_exits_2_and_lists_the_real_inputs(capsys):
    code = main(["run", str(EXAMPLES / "hello.loom.json"), "--input", "nmae=1"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "unknown input 'nmae'" in err and "name, n" in err


def test_malformed_input_pair_exits_2(capsys):
    assert main(["run", str(EXAMPLES / "hello.loom.json"), "--input", "n"]) == 2
    assert "expected NAME=JSON" in capsys.readouterr().err


def test_failed_run_exits_1_with_the_error(capsys):
    code = main(["run", str(EXAMPLES / "while.loom.json"), "--input", "n=6171", "--json"])
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert code == 1
    assert result["status"] == "failed"
    assert result["nodes"]["loop"]["status"] == "failed"
    assert "max_iterations (200)" in result["nodes"]["loop"]["error"]
    assert "failed   loop (While n != 1)" in err


def test_invalid_file_exits_2_with_every_problem_naming_its_node(capsys, write_workflow):
    path = write_workflow({
        "format": "flowloom.workflow", "version": 1, "name": "broken",
        "nodes": [{"id": "a", "type": "no.such_type"},
                  {"id": "b", "type": "data.expression", "params": {"expr": 5}},
                  {"id": "c", "type": "flow.output", "params": {"name": "r"}}],
        "edges": [{"source": "b", "source_port": "out", "target": "c", "target_port": "in"},
                  {"source": "ghost", "source_port": "out", "target": "c",
                   "target_port": "in"}]})
    code = main(["run", path])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert any("node 'a'" in line and "no.such_type" in line for line in lines)
    assert any("node 'b'" in line and "expr" in line for line in lines)
    assert any("edge ghost.out -> c.in" in line and "'ghost' does not exist" in line
               for line in lines)
    assert all(line.startswith(path) for line in lines)


def test_a_cycle_without_a_loop_is_reported_with_its_nodes(capsys, write_workflow):
    edge = {"source_port": "out", "target_port": "x"}
    path = write_workflow({
        "format": "flowloom.workflow", "version": 1, "name": "cycle",
        "nodes": [{"id": "p", "type": "data.expression"}, {"id": "q", "type": "data.expression"}],
        "edges": [{"source": "p", "target": "q", **edge}, {"source": "q", "target": "p", **edge}]})
    assert main(["run", path]) == 2
    err = capsys.readouterr().err
    assert "cycle with no loop node" in err and "p" in err and "q" in err


@pytest.mark.parametrize("text, phrase", [("{not json", "is not valid JSON"),
                                          ('{"nodes": []}', "is not a Flowloom workflow")])
def test_unreadable_file_is_one_sentence_not_a_traceback(tmp_path, text, phrase):
    path = tmp_path / "bad.loom.json"
    path.write_text(text)
    proc = run_cli("run", str(path))
    assert proc.returncode == 2
    assert phrase in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.loom.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_subprocess_run_prints_plain_progress_lines_and_outputs():
    proc = run_cli("run", str(EXAMPLES / "hello.loom.json"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"answer": "big: 6"}
    assert "started  double (Double n)" in proc.stderr
    assert "done     double (Double n)" in proc.stderr
    assert "skipped  small (Say small): branch 'false' of check (Big?) was not taken" \
        in proc.stderr
    assert "\x1b[" not in proc.stderr  # no terminal control codes when not a TTY


def test_subprocess_json_stdout_is_exactly_one_object():
    proc = run_cli("run", str(EXAMPLES / "parallel.loom.json"), "--json", "--concurrency", "1")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # fails on anything besides one JSON document
    assert result["outputs"]["total"] == 230


def test_concurrency_must_be_positive(capsys):
    assert main(["run", str(EXAMPLES / "hello.loom.json"), "--concurrency", "0"]) == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_unserialisable_values_are_printed_not_crashed_on():
    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    data = jsonable({"a": Thing(), 3: float("nan"), "t": (1, b"hi"), "s": {2}})
    assert json.loads(json.dumps(data, allow_nan=False)) == {
        "a": "<thing>", "3": "nan", "t": [1, {"base64": "aGk=", "bytes": 2}], "s": [2]}
