"""The CLI printers and the run path never crash on what a run gives back: huge integers, NaN,
lone surrogates, objects that are not data; `validate` lists a problem for a huge or deep
expression instead of dying in the parser. Through the real `python -m builder`."""

from __future__ import annotations

import json
import sqlite3

import pytest

from builder.cli import jsonable, main
from engine.history import HistoryStore, get_run
from tests.cli.conftest import run_cli


def expression_workflow(expr: str) -> dict:
    return {"format": "flowloom.workflow", "version": 1, "name": "printing",
            "nodes": [{"id": "start", "type": "flow.start",
                       "params": {"inputs": {"x": {"a": 1}}}},
                      {"id": "e", "type": "data.expression", "params": {"expr": expr}},
                      {"id": "out", "type": "flow.output", "params": {"name": "result"}}],
            "edges": [{"source": "start", "source_port": "out", "target": "e",
                       "target_port": "x"},
                      {"source": "e", "source_port": "out", "target": "out",
                       "target_port": "in"}]}


@pytest.mark.parametrize("expr, printed", [
    ("2**100000", "<int of 30103 digits>"),
    ("-(10**5000)", "<negative int of 5001 digits>"),
    ("10**4299", 10**4299),  # printable: printed as the number itself
    ("float('nan')", "nan"),
    ("'a\\ud800b'", "a\\ud800b"),
    ("{2**100000: 1}", {"<int of 30103 digits>": 1}),
])
def test_run_json_prints_any_plain_value_it_is_given(expr, printed, write_workflow, capsys):
    path = write_workflow(expression_workflow(expr))
    assert main(["run", path, "--json", "-q", "--no-history"]) == 0
    out, err = capsys.readouterr()
    out.encode("utf-8")  # what reaches a UTF-8 terminal
    assert json.loads(out)["outputs"]["result"] == printed
    assert main(["run", path, "-q", "--no-history"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["result"] == printed


def test_a_real_stdout_takes_a_huge_int_and_a_lone_surrogate(write_workflow):
    path = write_workflow(expression_workflow("[2**100000, 'a\\ud800b']"))
    done = run_cli("run", path, "--json", "-q", "--no-history")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert json.loads(done.stdout)["outputs"]["result"] == ["<int of 30103 digits>",
                                                            "a\\ud800b"]


def test_an_output_that_is_not_data_fails_its_node_and_closes_the_history_row(
        write_workflow, tmp_path):
    db = tmp_path / "history.db"
    done = run_cli("run", write_workflow(expression_workflow("x.keys()")), "--json",
                   "--history-db", str(db))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "failed"
    assert "node e failed: output 'out' is not plain data: it holds a dict_keys" in result["error"]
    with sqlite3.connect(db) as conn:
        assert [tuple(r) for r in conn.execute("select status from runs")] == [("failed",)]
    with HistoryStore.open(db) as store:
        nodes = {n.node_id: n.status for n in get_run(store, result["run_id"]).nodes}
    assert nodes["e"] == "failed"


@pytest.mark.parametrize("expr, words", [
    ("-" * 100_000 + "1", "MAX_EXPRESSION_CHARS"),
    ("+".join(["1"] * 3000), "chains too many operators"),
])
def test_validate_lists_a_problem_for_a_huge_or_deep_expression(expr, words, write_workflow,
                                                                capsys):
    assert main(["validate", write_workflow(expression_workflow(expr)), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert [p["node"] for p in report["problems"]] == ["e"]
    assert words in report["problems"][0]["message"]


@pytest.mark.parametrize("raw, words", [("NaN", "holds NaN"), ("9" * 5000, "MAX_INT_DIGITS"),
                                        ('"\\udfff"', "lone surrogate")])
def test_validate_and_run_refuse_a_hostile_file_with_one_sentence(raw, words, tmp_path, capsys):
    path = tmp_path / "hostile.loom.json"
    text = json.dumps(expression_workflow("x")).replace('"a": 1', f'"a": {raw}')
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path), "--json"]) == 2
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert words in problem["message"]
    assert main(["run", str(path), "--no-history"]) == 2
    assert words in capsys.readouterr().err


def test_jsonable_makes_strict_json_of_awkward_values():
    value = {"big": 3**40000, "keys": {1.5: "x", None: "y"}, "s": "\udc80", "set": {1},
             "obj": object()}
    text = json.dumps(jsonable(value), allow_nan=False)
    back = json.loads(text)
    assert back["big"].startswith("<int of 19085 digits")
    assert back["keys"] == {"1.5": "x", "None": "y"}
    assert back["s"] == "\\udc80" and back["set"] == [1]
    assert back["obj"].startswith("<object object at")
    text.encode("utf-8")  # printable as UTF-8
