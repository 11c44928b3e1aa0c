"""data.* nodes through the real engine: JSON, paths, filter / map / sort."""

from __future__ import annotations

import pytest

from engine.compile import compile_workflow
from engine.errors import CompileError
from engine.model import Node
from nodes.data import get_path, parse_path, set_path
from tests.nodes.flowrun import REGISTRY, error_of, run_flow, run_one, wf


def test_paths_read_dots_indexes_and_quoted_keys():
    assert parse_path('user.tags[1]["a.b"].0') == ["user", "tags", 1, "a.b", 0]
    assert parse_path("") == []
    with pytest.raises(ValueError, match="column"):
        parse_path("a..b")


def test_get_path_says_which_key_is_missing_and_which_exist():
    with pytest.raises(KeyError) as info:
        get_path({"user": {"name": "Ada"}}, ["user", "email"])
    assert "user has no key 'email'" in info.value.args[0]
    assert "name" in info.value.args[0]


def test_set_path_copies_and_creates_missing_levels():
    original = {"a": {"b": 1}}
    changed = set_path(original, ["a", "c", "d"], 5)
    assert changed == {"a": {"b": 1, "c": {"d": 5}}}
    assert original == {"a": {"b": 1}}
    assert set_path({"l": [1]}, ["l", 1], 2) == {"l": [1, 2]}


@pytest.mark.asyncio
async def test_json_parse_and_format_round_trip():
    result, _ = await run_one("data.json_parse", inputs={"text": '{"a": [1, 2], "b": null}'})
    assert result.outputs["out"] == {"a": [1, 2], "b": None}
    result, _ = await run_one("data.json_format", {"indent": 0, "sort_keys": True},
                              inputs={"in": {"b": 1, "a": "é"}})
    assert result.outputs["text"] == '{"a": "é", "b": 1}'


@pytest.mark.asyncio
async def test_json_parse_error_names_line_and_column():
    result, _ = await run_one("data.json_parse", inputs={"text": '{\n "a": 1,\n}'})
    assert not result.ok
    assert "not valid JSON" in error_of(result) and "line 3" in error_of(result)


@pytest.mark.asyncio
async def test_get_returns_default_or_fails_when_asked():
    data = {"items": [{"id": 7}, {"id": 9}]}
    result, _ = await run_one("data.get", {"path": "items[-1].id"}, {"in": data})
    assert result.outputs["out"] == 9
    result, _ = await run_one("data.get", {"path": "items[5].id", "default": "none"},
                              {"in": data})
    assert result.outputs["out"] == "none"
    result, _ = await run_one("data.get", {"path": "items[5].id", "fail_if_missing": True},
                              {"in": data})
    assert "items has 2 items, so there is no item 5" in error_of(result)


@pytest.mark.asyncio
async def test_set_puts_the_value_without_changing_the_original_branch():
    wfl = wf(Node("v", "data.value", params={"value": {"a": 1}}),
             Node("s", "data.set", params={"path": "b.c"}),
             Node("x", "data.value", params={"value": [1, 2]}),
             Node("o1", "flow.output", params={"name": "changed"}),
             Node("o2", "flow.output", params={"name": "original"}),
             edges="v.out->s.in, x.out->s.value, s.out->o1.in, v.out->o2.in")
    result, _ = await run_flow(wfl)
    assert result.outputs == {"changed": {"a": 1, "b": {"c": [1, 2]}}, "original": {"a": 1}}


def test_bad_path_is_a_validation_problem_naming_the_node():
    wfl = wf(Node("v", "data.value"), Node("g", "data.get", params={"path": "a..b"}),
             edges="v.out->g.in")
    with pytest.raises(CompileError) as info:
        compile_workflow(wfl, REGISTRY)
    assert "node 'g'" in str(info.value) and "a..b" in str(info.value)


@pytest.mark.asyncio
async def test_filter_map_sort_by_expression():
    people = [{"name": "ada", "age": 36}, {"name": "bob", "age": 17}, {"name": "cy", "age": 52}]
    result, _ = await run_one("data.filter", {"condition": "item['age'] >= 18"},
                              {"items": people})
    assert [p["name"] for p in result.outputs["out"]] == ["ada", "cy"]
    result, _ = await run_one("data.map", {"expr": "item['name'].upper() + str(index)"},
                              {"items": people})
    assert result.outputs["out"] == ["ADA0", "BOB1", "CY2"]
    result, _ = await run_one("data.sort", {"key": "item['age']", "reverse": True},
                              {"items": people})
    assert [p["age"] for p in result.outputs["out"]] == [52, 36, 17]


@pytest.mark.asyncio
async def test_list_expression_errors_name_the_item():
    result, _ = await run_one("data.map", {"expr": "item['n'] * 2"},
                              {"items": [{"n": 1}, {"m": 2}]})
    assert not result.ok
    assert error_of(result).startswith("item 1:") and "item['n'] * 2" in error_of(result)
    result, _ = await run_one("data.sort", {"key": "item"}, {"items": [1, "a"]})
    assert "cannot be compared" in error_of(result)
