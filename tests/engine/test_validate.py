"""Static checks: every problem is reported at once, naming the node or edge and what is wrong."""

from __future__ import annotations

import json

import pytest

from engine import CompileError, Edge, compile_workflow, loads
from engine.corenodes import core_registry
from engine.validate import check_workflow, connection_problem

from .helpers import test_registry, workflow


def _problems(wf, registry=None):
    return check_workflow(wf, registry or core_registry())


def _find(problems, fragment, node_id=None, edge=None):
    hits = [p for p in problems if fragment in p.message
            and (node_id is None or p.node_id == node_id)
            and (edge is None or p.edge == edge)]
    assert hits, f"no problem containing {fragment!r} (node {node_id}, edge {edge}) in:\n" + \
        "\n".join(str(p) for p in problems)
    return hits[0]


def test_a_valid_workflow_has_no_problems():
    wf = workflow({"v": ("data.value", {"value": [1, 2]}),
                   "e": ("data.expression", {"expr": "sum(x)"}),
                   "o": ("flow.output", {"name": "total"})},
                  ["v.out -> e.x", "e.out -> o.in"])
    assert _problems(wf) == []


def test_every_kind_of_problem_is_reported_at_once_naming_node_or_edge():
    wf = workflow(
        {
            "alien": ("no.such_type", {}),
            "noexpr": ("data.expression", {"expr": ""}),
            "badtype": ("util.delay", {"seconds": "soon"}),
            "badchoice": ("flow.merge", {"mode": "sometimes"}),
            "syntax": ("flow.if", {"condition": "x >"}),
            "cases": ("flow.switch", {"cases": ["x > 1", "x ==="]}),
            "settings": ("data.value", {"value": 1},
                         {"retry": {"max_attempts": "3", "tries": 2}, "timeout_s": -1,
                          "on_error": "ignore"}),
            "nocount": ("flow.while", {"condition": "x", "max_iterations": 0}),
            "src": ("data.value", {"value": "s"}),
            "src2": ("data.value", {"value": "t"}),
            "sink": ("data.expression", {"expr": "x"}),
            "listy": ("flow.foreach", {}),
            "dict_src": ("flow.start", {}),
            "unwired": ("data.expression", {"expr": "x + 1"}),
        },
        ["src.out -> sink.x", "src2.out -> sink.x", "src.nope -> sink.x",
         "src.out -> sink.missing", "src.out -> ghost.x", "dict_src.out -> listy.items"],
    )
    problems = _problems(wf)
    _find(problems, "unknown node type 'no.such_type'", "alien")
    _find(problems, "parameter 'expr' is required", "noexpr")
    _find(problems, "parameter 'seconds' must be number, got str", "badtype")
    _find(problems, "parameter 'mode' must be one of 'all', 'first'", "badchoice")
    _find(problems, "expression `x >` does not parse", "syntax")
    _find(problems, "case1: expression `x ===` does not parse", "cases")
    _find(problems, '"retry.max_attempts" must be a non-negative number', "settings")
    _find(problems, '"retry" has unknown key \'tries\'', "settings")
    _find(problems, '"timeout_s" must be a positive number', "settings")
    _find(problems, '"on_error" must be "fail" or "continue"', "settings")
    _find(problems, "parameter 'max_iterations' must be at least 1", "nocount")
    _find(problems, "input 'x' takes one edge but has 2 (src.out, src2.out)", "sink")
    _find(problems, "node 'src' has no output 'nope'", edge=("src", "nope", "sink", "x"))
    _find(problems, "node 'sink' has no input 'missing'", edge=("src", "out", "sink", "missing"))
    _find(problems, "node 'ghost' does not exist", edge=("src", "out", "ghost", "x"))
    _find(problems, "type mismatch: output 'out' gives dict but input 'items' of 'listy' takes "
                    "list", edge=("dict_src", "out", "listy", "items"))
    _find(problems, "required input 'x' is not connected", "unwired")
    _find(problems, "required input 'result' is not connected", "listy")
    assert len([p for p in problems if p.is_error]) >= 18


def test_the_loader_reports_duplicate_ids_and_registry_problems_together():
    doc = {"format": "flowloom.workflow", "version": 1,
           "nodes": [{"id": "a", "type": "data.value", "params": {"value": 1}},
                     {"id": "a", "type": "data.value", "params": {}},
                     {"id": "b", "type": "nope.nope"}],
           "edges": [{"source": "a", "source_port": "out", "target": "z", "target_port": "x"}]}
    loaded = loads(json.dumps(doc), core_registry())
    _find(loaded.problems, "duplicate node id", "a")
    _find(loaded.problems, "unknown node type 'nope.nope'", "b")
    _find(loaded.problems, "node 'z' does not exist", edge=("a", "out", "z", "x"))
    assert len(loaded.errors) == 3


def test_problems_read_as_sentences_naming_where():
    wf = workflow({"a": ("data.value", {}), "b": ("util.delay", {"seconds": -2})},
                  ["a.out -> b.in", "a.out -> c.in"])
    texts = [str(p) for p in _problems(wf)]
    assert "node 'b': parameter 'seconds' must be at least 0, got -2" in texts
    assert "edge a.out -> c.in: node 'c' does not exist" in texts


def test_an_unknown_parameter_is_a_warning_not_an_error():
    wf = workflow({"a": ("data.value", {"value": 1, "colour": "red"})}, [])
    (problem,) = _problems(wf)
    assert problem.severity == "warning" and "unknown parameter 'colour'" in problem.message


def test_a_bool_is_not_a_number_and_retry_needs_at_least_one_attempt():
    wf = workflow({"d": ("util.delay", {"seconds": True}, {"retry": {"max_attempts": 0},
                                                            "timeout_s": True})}, [])
    problems = _problems(wf)
    _find(problems, "parameter 'seconds' must be number, got bool", "d")
    _find(problems, '"retry.max_attempts" must be at least 1', "d")
    _find(problems, '"timeout_s" must be a positive number', "d")


def test_retry_that_is_not_an_object_is_reported():
    wf = workflow({"d": ("data.value", {}, {"retry": 3})}, [])
    _find(_problems(wf), '"retry" must be an object', "d")


def test_on_error_continue_adds_an_error_port_that_can_be_wired():
    wf = workflow({"f": ("test.fail", {}, {"on_error": "continue"}),
                   "log": ("data.expression", {"expr": "x['message']"})},
                  ["f.error -> log.x"])
    assert check_workflow(wf, test_registry()) == []
    wf.update_node("f", on_error=None)
    _find(check_workflow(wf, test_registry()), "has no output 'error'",
          edge=("f", "error", "log", "x"))


def test_expression_inputs_must_be_valid_distinct_names():
    wf = workflow({"e": ("data.expression", {"expr": "a", "inputs": ["a", "a", "2b", "_c"]})},
                  [])
    problems = _problems(wf)
    _find(problems, "input name '2b' is not a valid name", "e")
    _find(problems, "input name '_c' is not a valid name", "e")
    _find(problems, "input names repeat", "e")


def test_two_output_nodes_may_not_share_a_name_and_one_start_at_most():
    wf = workflow({"s1": ("flow.start", {}), "s2": ("flow.start", {}),
                   "o1": ("flow.output", {"name": "r"}), "o2": ("flow.output", {"name": "r"})},
                  ["s1.out -> o1.in", "s2.out -> o2.in"])
    problems = _problems(wf)
    _find(problems, "output name 'r' is also used by node 'o1'", "o2")
    _find(problems, "at most one flow.start node", "s2")


def test_an_edge_from_a_node_to_itself_is_refused():
    wf = workflow({"e": ("data.expression", {"expr": "x"})}, ["e.out -> e.x"])
    _find(_problems(wf), "cannot connect a node to itself", edge=("e", "out", "e", "x"))


def test_compile_raises_every_problem_in_one_error():
    wf = workflow({"a": ("no.type", {}), "b": ("data.expression", {"expr": "x +"})}, [])
    with pytest.raises(CompileError) as info:
        compile_workflow(wf, core_registry())
    text = str(info.value)
    assert text.startswith("3 problems in the workflow:")
    assert "node 'a': unknown node type" in text
    assert "node 'b': parameter 'expr': expression `x +` does not parse" in text
    assert "node 'b': required input 'x' is not connected" in text
    assert len(info.value.problems) == 3


@pytest.mark.parametrize(("edge", "expected"), [
    (Edge("v", "out", "e", "x"), None),
    (Edge("v", "out", "v", "out"), "a node cannot be wired to itself"),
    (Edge("v", "nope", "e", "x"), "no such port"),
    (Edge("start", "out", "loop", "items"), "out gives dict, items takes list"),
    (Edge("v", "out", "ghost", "x"), "both ends must be existing nodes"),
    (Edge("v", "out", "e2", "x"), "these ports are already connected"),
])
def test_connection_problem_says_why_the_editor_refuses_a_wire(edge, expected):
    wf = workflow({"start": ("flow.start", {}), "v": ("data.value", {}),
                   "e": ("data.expression", {}), "e2": ("data.expression", {}),
                   "loop": ("flow.foreach", {})}, ["v.out -> e2.x"])
    assert connection_problem(wf, core_registry(), edge) == expected


def test_the_workflow_settings_block_is_checked_before_a_run():
    from engine.workflow_settings import settings_problems

    assert settings_problems({}) == []
    assert settings_problems({"settings": {"share_cookies": True}}) == []
    wrong, unknown = settings_problems({"settings": {"share_cookies": "yes", "shared": True}})
    assert wrong.is_error and '"share_cookies" must be true or false' in wrong.message
    assert not unknown.is_error and "unknown key 'shared'" in unknown.message
    (not_object,) = settings_problems({"settings": [1]})
    assert not_object.is_error and "must be an object" in not_object.message
