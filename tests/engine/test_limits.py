"""Every limit of engine/limits.py: over it, one sentence naming it, in bounded time; at it, the
file loads and saves again. And hostile values at run time fail their node, never the run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import pytest

from engine import CompileError, Run, WorkflowFileError, compile_workflow, fileformat, limits
from engine.context import Services
from engine.corenodes import core_registry
from engine.expressions import check_syntax
from engine.history import HistoryRecorder, HistoryStore, get_run
from engine.plaindata import MAX_VALUE_DEPTH, not_plain

from .helpers import Probe, compile_test, run_sync, workflow

HELLO = "resources/examples/hello.loom.json"


def hello_with(**top: object) -> dict:
    doc = json.loads(open(HELLO, encoding="utf-8").read())
    doc.update(top)
    return doc


def text_with(raw: str) -> str:
    """The hello example with the raw JSON text `raw` as the start node's input `n`."""
    return open(HELLO, encoding="utf-8").read().replace('"n": 3', f'"n": {raw}', 1)


def refused(text: str) -> str:
    started = time.perf_counter()
    with pytest.raises(WorkflowFileError) as info:
        fileformat.loads(text, core_registry())
    assert time.perf_counter() - started < 5.0, "refusing must not take long"
    return str(info.value)


def saves_again(text: str, tmp_path) -> fileformat.Loaded:
    loaded = fileformat.loads(text, core_registry())
    path = tmp_path / "again.loom.json"
    fileformat.save(loaded.workflow, path)
    assert fileformat.dumps(fileformat.load(path).workflow) == fileformat.dumps(loaded.workflow)
    return loaded


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


# --- the loader ---------------------------------------------------------------------------
def test_a_file_nested_past_max_depth_is_refused_naming_the_limit():
    message = refused(text_with(nested(limits.MAX_DEPTH)))
    assert "MAX_DEPTH = 100" in message and "levels deep" in message


def test_a_file_exactly_at_max_depth_loads_and_saves_again(tmp_path):
    # the document, "nodes", the node, "params", "inputs" are 5 levels already
    loaded = saves_again(text_with(nested(limits.MAX_DEPTH - 5)), tmp_path)
    value = loaded.workflow.node("start").params["inputs"]["n"]
    for _ in range(limits.MAX_DEPTH - 5):
        (value,) = value
    assert value == 1


@pytest.mark.parametrize("depth", [600, 100_000, 3_000_000])
def test_deep_nesting_is_refused_before_the_json_parser_sees_it(depth):
    assert "MAX_DEPTH" in refused(text_with(nested(depth)))


def test_brackets_inside_strings_are_not_nesting(tmp_path):
    saves_again(text_with(json.dumps("[" * 5000 + "{" * 5000 + '\\"]')), tmp_path)
    assert fileformat.json_depth('{"a": "[[[[", "b": [["]]]]"]]}') == 3


@pytest.mark.parametrize("raw, words", [
    ("NaN", "holds NaN"), ("Infinity", "holds Infinity"), ("-Infinity", "holds -Infinity"),
    ("1e400", "too large"), ("-" + "9" * 400 + ".5", "too large"),
])
def test_numbers_that_are_not_finite_are_refused(raw, words):
    assert words in refused(text_with(raw))


def test_an_integer_over_max_int_digits_is_refused_and_one_at_it_round_trips(tmp_path):
    assert "5 000 digits; the limit is MAX_INT_DIGITS = 300" in refused(text_with("7" * 5000))
    assert "MAX_INT_DIGITS" in refused(text_with("-" + "7" * 301))
    loaded = saves_again(text_with("7" * 300), tmp_path)
    assert loaded.workflow.node("start").params["inputs"]["n"] == int("7" * 300)


def test_a_position_as_big_as_a_float_allows_loads_with_a_problem_not_an_overflow():
    text = open(HELLO, encoding="utf-8").read().replace('"position": [0, 0]',
                                                       '"position": [' + "9" * 300 + ", 0]", 1)
    loaded = fileformat.loads(text)
    assert loaded.workflow.node("start").position[0] > 1e299


def test_a_lone_surrogate_is_refused_and_a_paired_one_loads(tmp_path):
    message = refused(text_with('"abc\\ud800def"'))
    assert "lone surrogate (\\ud800)" in message and "not valid Unicode" in message
    loaded = saves_again(text_with('"\\ud83d\\ude00"'), tmp_path)
    assert loaded.workflow.node("start").params["inputs"]["n"] == "😀"


def test_a_duplicate_key_is_one_error_and_the_saved_file_keeps_the_value_it_names(tmp_path):
    text = open(HELLO, encoding="utf-8").read().replace('"n": 3', '"n": 3, "n": 4', 1)
    loaded = saves_again(text, tmp_path)
    duplicates = [p for p in loaded.errors if "appears more than once" in p.message]
    assert len(duplicates) == 1 and "'n'" in duplicates[0].message
    assert loaded.workflow.node("start").params["inputs"]["n"] == 4


def test_a_string_over_max_string_chars_is_refused():
    doc = hello_with(description="d" * (limits.MAX_STRING_CHARS + 1))
    message = refused(json.dumps(doc))
    assert "1 000 001 characters" in message and "MAX_STRING_CHARS" in message
    doc["nodes"][0] = dict(doc["nodes"][0], **{"k" * (limits.MAX_STRING_CHARS + 1): 1})
    doc["description"] = ""
    assert "MAX_STRING_CHARS" in refused(json.dumps(doc)), "keys are strings too"


def test_a_file_over_max_file_bytes_is_refused_without_being_read(tmp_path):
    path = tmp_path / "big.loom.json"
    with open(path, "wb") as handle:
        handle.truncate(limits.MAX_FILE_BYTES + 1)  # sparse: no time spent writing it
    started = time.perf_counter()
    with pytest.raises(WorkflowFileError, match="MAX_FILE_BYTES"):
        fileformat.load(path)
    assert time.perf_counter() - started < 0.5
    assert "MAX_FILE_BYTES" in refused(" " * (limits.MAX_FILE_BYTES + 1))


@pytest.mark.parametrize("key, limit_name", [("nodes", "MAX_NODES"), ("edges", "MAX_EDGES")])
def test_too_many_nodes_or_edges_is_refused_naming_the_limit(key, limit_name, monkeypatch):
    monkeypatch.setattr(limits, limit_name, 500)  # the real limits take a while to build
    entry = ({"id": "a", "type": "data.value"} if key == "nodes" else
             {"source": "a", "source_port": "out", "target": "b", "target_port": "in"})
    doc = hello_with(**{key: [dict(entry, id=f"n{i}") for i in range(501)]})
    assert f"has 501 {key}; the limit is {limit_name} = 500" in refused(json.dumps(doc))
    doc[key] = doc[key][:500]
    fileformat.loads(json.dumps(doc))  # at the limit it loads


def test_a_file_at_the_real_node_limit_is_read_in_bounded_time():
    doc = hello_with(nodes=[{"id": f"n{i}", "type": "data.value", "params": {"value": i},
                             "position": [i, i]} for i in range(limits.MAX_NODES + 1)])
    assert "MAX_NODES" in refused(json.dumps(doc))


# --- expressions --------------------------------------------------------------------------
@pytest.mark.parametrize("source, words", [
    ("-" * 100_000 + "1", "MAX_EXPRESSION_CHARS = 10 000"),
    ("+".join(["1"] * 3000), "chains too many operators"),
    ("-" * 5000 + "1", "nests too deeply"),
    ("not " * 2400 + "x", None),  # parses; evaluating it fails its node (below)
])
def test_a_huge_or_deep_expression_is_a_problem_not_a_crash(source, words):
    message = check_syntax(source)
    wf = workflow({"v": ("data.value", {"value": 1}),
                   "e": ("data.expression", {"expr": source})}, ["v.out -> e.x"])
    if words is None:  # Python parses it, but evaluating it goes too deep: the node fails
        assert message is None
        outcome = run_sync(wf)
        assert outcome.status("e") == "failed" and "RecursionError" in outcome.result.error
        return
    assert message is not None and words in message
    with pytest.raises(CompileError) as info:
        compile_workflow(wf, core_registry())
    assert words in str(info.value) and "node 'e'" in str(info.value)


def test_the_string_the_expression_builds_is_evaluated_not_refused():
    outcome = run_sync(workflow({"v": ("data.value", {"value": 1}),
                                 "e": ("data.expression", {"expr": "'-'*1000+'1'"})},
                                ["v.out -> e.x"]))
    assert outcome.result.ok and outcome.output("e") == "-" * 1000 + "1"


# --- node boundaries ----------------------------------------------------------------------
@pytest.mark.parametrize("expr, kind", [("x.keys()", "dict_keys"), ("x.values()", "dict_values"),
                                        ("x.get", "builtin_function_or_method"),
                                        ("[1, {'a': x.items()}]", "dict_items at [1]['a']")])
def test_an_output_that_is_not_plain_data_fails_its_node_with_a_sentence(expr, kind, tmp_path):
    wf = workflow({"v": ("data.value", {"value": {"a": 1}}),
                   "e": ("data.expression", {"expr": expr}),
                   "out": ("flow.output", {"name": "r"})}, ["v.out -> e.x", "e.out -> out.in"])
    run = Run(compile_workflow(wf, core_registry()))
    with HistoryStore.open(tmp_path / "history.db") as store:
        recorder = HistoryRecorder(store, None, flush_interval_s=0.05).attach(run)
        result = asyncio.run(run.execute())
        recorder.close()
        row = get_run(store, run.run_id)
    assert result.status == "failed"
    assert f"it holds a {kind}" in result.nodes["e"].error
    assert result.error.startswith("node e failed: output 'out' is not plain data")
    assert result.nodes["out"].status == "skipped"
    assert row.status == "failed" and row.error == result.error


def test_an_output_nested_past_max_value_depth_fails_its_node():
    deep: list = []
    for _ in range(MAX_VALUE_DEPTH + 5):
        deep = [deep]
    outcome = run_sync(workflow({"v": ("data.value", {"value": deep}),
                                 "e": ("data.expression", {"expr": "len(x)"})}, ["v.out -> e.x"]))
    assert outcome.status("v") == "failed" and outcome.status("e") == "skipped"
    assert "nested more than 200 levels deep" in outcome.result.nodes["v"].error


def test_plain_data_is_every_json_like_value():
    assert not_plain({"a": [1, (2, 3), {4}, b"x", None, 1.5, True], 2: "b"}) is None
    assert not_plain({(1, 2): 3}) == "a dict key of type tuple at top"


def test_a_value_that_holds_itself_or_doubles_60_times_is_refused_at_once():
    looped: list = [1]
    looped.append({"again": looped})
    assert not_plain(looped) == "a value that contains itself (at [1]['again']...)"
    shared: list = [0]
    for _ in range(60):  # 60 bytes of memory, 2**60 items once printed
        shared = [shared, shared]
    started = time.perf_counter()
    assert "MAX_VALUE_ITEMS" in not_plain(shared)
    assert time.perf_counter() - started < 0.5
    for _ in range(40):
        shared = shared[0]
    assert not_plain(shared) is None, "shared but small: fine"


def test_a_run_that_never_reports_its_end_leaves_an_interrupted_row_not_a_running_one(
        tmp_path):
    wf = workflow({"h": ("test.hang", {})}, [])
    run = Run(compile_test(wf), services=Services(extra={"probe": Probe()}))
    with HistoryStore.open(tmp_path / "history.db") as store:
        recorder = HistoryRecorder(store, None, flush_interval_s=0.05).attach(run)

        async def stopped_midway() -> None:
            task = asyncio.ensure_future(run.execute())
            async with asyncio.timeout(5):
                while get_run(store, run.run_id) is None:  # the row is written as running
                    await asyncio.sleep(0.01)
            recorder.close()  # the host goes away before the run reports its end
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(stopped_midway())
        row = get_run(store, run.run_id)
    assert row.status == "interrupted"
    assert row.error == "the run stopped before it reported how it ended"


@pytest.mark.parametrize(("retry", "name"), [
    ({"max_attempts": 2, "backoff_s": 1e300}, "MAX_RETRY_DELAY_S"),
    ({"max_attempts": 10**9}, "MAX_RETRY_ATTEMPTS"),
])
def test_a_retry_policy_past_its_limits_is_a_problem_naming_the_limit(retry, name):
    wf = workflow({"v": ("data.value", {"value": 1}, {"retry": retry})}, [])
    with pytest.raises(CompileError) as info:
        compile_test(wf)
    assert f"the limit is {name}" in str(info.value)


def test_a_growing_retry_wait_never_passes_max_retry_delay():
    from engine.compile import RetryPolicy

    policy = RetryPolicy(max_attempts=50, backoff_s=1.0, factor=1e300)
    assert policy.delay(1) == 1.0
    assert policy.delay(40) == limits.MAX_RETRY_DELAY_S  # would overflow a float unbounded
